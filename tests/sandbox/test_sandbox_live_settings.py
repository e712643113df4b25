"""Live settings reach the work already waiting: a part held by the old network's round trip, stall or answer
delay goes on under the new one as soon as the network changes, and a stall or a delay fault ends once the
faults are cleared (Reset's ``/sandbox/reset``, ``DELETE /sandbox/faults``).

Every request goes to a real sandbox over HTTP, from a thread; every wait is bounded (a part that kept the old
delay would take 60 s: the tests give it 10).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from c2c_sandbox import Sandbox

PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}
OLD_DELAY = 60.0  # what a part would still wait under the old conditions
PATIENCE = 10.0  # how long the tests wait for it


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(data_dir=tmp_path / "sb") as sandbox:
        yield sandbox


def part_url(sb: Sandbox, size: int) -> str:
    created = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "a.mp4", "filetype": "video/mp4", "filesize": size},
        headers={"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"},
        timeout=10,
    )
    return str(created.json()["upload_urls"][0])


def put_in_background(url: str, data: bytes) -> tuple[threading.Thread, list[object]]:
    """PUT `data` from a thread; the list gets the answer (or the exception) and the seconds it took."""
    result: list[object] = []

    def put() -> None:
        started = time.monotonic()
        try:
            result.append(requests.put(url, data=data, headers=PUT_HEADERS, timeout=OLD_DELAY + 30))
        except requests.RequestException as exc:
            result.append(exc)
        result.append(time.monotonic() - started)

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    return thread, result


def after_change(sb: Sandbox, network: str, change: Callable[[], object], size: int = 100_000) -> list[object]:
    sb.set_network(network)
    thread, result = put_in_background(part_url(sb, size), os.urandom(size))
    time.sleep(0.5)  # the part is waiting now
    change()
    thread.join(PATIENCE)
    assert not thread.is_alive(), f"the part still waits for the old conditions after {PATIENCE:g} s"
    return result


@pytest.mark.parametrize(
    "network",
    [f"ttfb={OLD_DELAY:g}s", f"response={OLD_DELAY:g}s", f"stall_rate=1,stall_seconds={OLD_DELAY:g}"],
    ids=["round trip", "answer delay", "stall"],
)
def test_a_waiting_part_follows_a_change_of_network(sb: Sandbox, network: str) -> None:
    set_loopback = lambda: requests.post(f"{sb.api_url}/sandbox/network", json={"preset": "loopback"}, timeout=10)  # noqa: E731
    answer, took = after_change(sb, network, set_loopback)
    assert isinstance(answer, requests.Response) and answer.status_code == 200
    assert isinstance(took, float) and took < PATIENCE


def test_a_longer_round_trip_reaches_a_waiting_part_too(sb: Sandbox) -> None:
    """Measured again, not just cut short: the new round trip counts from when the part began to wait."""
    sb.set_network("ttfb=0.8s")
    thread, result = put_in_background(part_url(sb, 1000), os.urandom(1000))
    time.sleep(0.2)
    sb.set_network("ttfb=2s")
    thread.join(PATIENCE)
    answer, took = result
    assert isinstance(answer, requests.Response) and answer.status_code == 200
    assert isinstance(took, float) and 1.8 < took < PATIENCE


@pytest.mark.parametrize("kind", ["stall", "delay"])
def test_clearing_the_faults_ends_a_fault_that_waits(sb: Sandbox, kind: str) -> None:
    requests.post(f"{sb.api_url}/sandbox/faults", json={"kind": kind, "seconds": OLD_DELAY}, timeout=10)
    clear = lambda: requests.delete(f"{sb.api_url}/sandbox/faults", timeout=10)  # noqa: E731
    answer, took = after_change(sb, "loopback", clear)
    assert isinstance(took, float) and took < PATIENCE
    if kind == "delay":  # the part was in: its answer comes now
        assert isinstance(answer, requests.Response) and answer.status_code == 200
    else:  # a stall ends as it would have: the connection drops, and the client sends the part again
        assert isinstance(answer, requests.ConnectionError)
