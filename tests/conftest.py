"""Shared fixtures: a real sandbox on loopback (tests talk to it over HTTP, never to a mock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from c2c_sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the session; faults reset per test.

    Pairing polls every second so tests are quick, and asset creation is not rate limited to 5/s as in
    Frame.io (tests create assets back to back; ``fresh_sandbox`` keeps the real limit).
    """
    with Sandbox(poll_interval=1, create_rate=10_000) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _reset_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    """Leave the shared sandbox as the test found it: no planned faults, no pause window, default URL lifetime."""
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


@pytest.fixture
def fresh_sandbox(tmp_path) -> Iterator[Sandbox]:
    """A sandbox of its own, with its data dir under tmp_path (for tests that change global state)."""
    with Sandbox(data_dir=tmp_path / "sandbox", poll_interval=1) as sb:
        yield sb
