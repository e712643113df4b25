"""A pytest plugin for :mod:`benchmarks.disk`: the bytes each test writes (``-p benchmarks.diskplugin``).

For each test: the block-output count of its process and of the processes it waited for, from setup to
teardown (what the kernel counts as written, temporary files included); one JSON line per test appended to
``$C2C_DISK_LOG``. Does nothing when that variable is unset. A module- or session-scoped fixture is counted
with the test that first needs it.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Iterator

import pytest


def _written() -> int:
    """Bytes written so far by this process and the processes it waited for (the kernel's 512-byte blocks)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_oublock
    return (own + resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock) * 512


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    log = os.environ.get("C2C_DISK_LOG")
    start = _written()
    yield
    if log:
        entry = {"nodeid": item.nodeid, "bytes": _written() - start}
        with open(log, "a") as out:  # one short line per write: whole lines from several workers
            out.write(json.dumps(entry) + "\n")
