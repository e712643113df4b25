"""Shared fixtures: a real sandbox on loopback (tests talk to it over HTTP, never to a mock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from c2c_sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the session (poll interval 1 s so pairing tests are quick); faults reset per test."""
    with Sandbox(poll_interval=1) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _reset_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    """Leave the shared sandbox as the test found it: no planned faults, no pause, default URL lifetime."""
    yield
    if "sandbox" in request.fixturenames:
        sb: Sandbox = request.getfixturevalue("sandbox")
        sb.faults.clear()
        sb.resume()
        sb.set_url_ttl(86400)


@pytest.fixture
def fresh_sandbox(tmp_path) -> Iterator[Sandbox]:
    """A sandbox of its own, with its data dir under tmp_path (for tests that change global state)."""
    with Sandbox(data_dir=tmp_path / "sandbox", poll_interval=1) as sb:
        yield sb
