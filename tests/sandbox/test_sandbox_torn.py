"""Shared state under a running upload: Reset (and anything else that deletes assets) while parts are being
written or a real-time original is being appended.

Every request goes to a real sandbox over HTTP. The sandbox runs in this process (as ``connect()``'s embedded one
does in a notebook), so a descriptor it closed under its own writer can be reused by any file this process
opens next: the tests open such files and check that not one byte of an upload lands in them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from c2c_sandbox import Sandbox

MiB = 1024 * 1024
PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}
ROUNDS = 8  # each lands a Reset in the middle of an append; without the lock 7 of 8 rounds tore
STATE_FILES = {"sandbox.lock", "sandbox.sqlite3", "sandbox.sqlite3-wal", "sandbox.sqlite3-shm"}
PARTS = 16  # parts appended in one go once part 1 arrives: 80 MiB, about 0.2 s of appending here


def auth(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"}


def realtime_asset(sb: Sandbox, parts: int) -> tuple[str, list[str]]:
    created = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "live.mp4", "filetype": "video/mp4", "is_realtime_upload": True},
        headers=auth(sb),
        timeout=10,
    )
    asset_id = created.json()["id"]
    registered = requests.post(
        f"{sb.api_url}/v2/devices/assets/{asset_id}/realtime_upload/parts",
        json={"parts": [{"number": n, "size": 5 * MiB, "is_final": False} for n in range(1, parts + 1)]},
        headers=auth(sb),
        timeout=10,
    )
    assert registered.status_code == 200, registered.text
    return asset_id, registered.json()["upload_urls"]


def growing_size(sb: Sandbox, asset_id: str) -> int:
    for path in (sb.data_dir / "originals").glob(f"{asset_id}.*.tmp"):
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0
    return 0


def open_under(root: Path) -> list[str]:
    """The files under `root` this process holds open (the sandbox is in this process)."""
    return [f.path for f in psutil.Process().open_files() if Path(f.path).is_relative_to(root)]


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads take turns every 0.1 ms instead of every 5 ms: a race window of a millisecond is then reachable."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)
    yield
    sys.setswitchinterval(before)


def grab_descriptors(folder: Path, stop: threading.Event, opened: list[int], limit: int = 4000) -> None:
    """Open files (and keep them open) as fast as possible until `stop`: each gets the lowest free descriptor,
    so a descriptor the sandbox closes is taken at once, as any file a notebook opens would take it."""
    while not stop.is_set() and len(opened) < limit:
        opened.append(os.open(folder / f"{len(opened)}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def test_reset_while_a_real_time_original_is_appended_writes_into_no_other_file(
    tmp_path: Path, fast_switching: None
) -> None:
    block = os.urandom(5 * MiB)
    with Sandbox(data_dir=tmp_path / "sb") as sb, requests.Session() as s:
        for round_ in range(ROUNDS):
            asset_id, urls = realtime_asset(sb, PARTS)
            for url in urls[1:]:  # all but part 1: nothing can be appended yet
                assert s.put(url, data=block, headers=PUT_HEADERS, timeout=30).status_code == 200
            assert s.put(urls[0], data=block, headers=PUT_HEADERS, timeout=30).status_code == 200
            deadline = time.monotonic() + 10
            while growing_size(sb, asset_id) < 5 * MiB and time.monotonic() < deadline:
                time.sleep(0.001)  # the assembler is appending the 16 parts now
            assert growing_size(sb, asset_id) < PARTS * 5 * MiB, "the append ended before the Reset could land"

            victims = tmp_path / f"victims-{round_}"
            victims.mkdir()
            opened: list[int] = []
            stop = threading.Event()
            grabber = threading.Thread(target=grab_descriptors, args=(victims, stop, opened))
            grabber.start()
            try:
                cleared = requests.post(f"{sb.api_url}/sandbox/assets/clear", json={}, timeout=30)
                time.sleep(0.05)
            finally:
                stop.set()
                grabber.join(10)
            time.sleep(0.3)  # whatever the assembler still writes, it has written by now
            written = {fd: os.fstat(fd).st_size for fd in opened if os.fstat(fd).st_size}
            for fd in opened:
                os.close(fd)
            assert cleared.status_code == 200 and cleared.json() == {"cleared": 1}
            assert not written, f"round {round_}: an upload's bytes went into {len(written)} file(s) of this process"
            assert list((sb.data_dir / "originals").iterdir()) == []
            assert open_under(sb.data_dir / "originals") == []


def test_reset_during_a_part_body_answers_no_such_upload_and_leaves_no_folder(tmp_path: Path) -> None:
    """The neighbouring case: a basic part still streaming in when Reset deletes its asset."""
    with Sandbox(data_dir=tmp_path / "sb", network="per_connection=2MB/s") as sb:
        created = requests.post(
            f"{sb.api_url}/v2/devices/assets",
            json={"name": "slow.mp4", "filetype": "video/mp4", "filesize": 2_000_000},
            headers=auth(sb),
            timeout=10,
        ).json()
        answers: list[requests.Response] = []
        sender = threading.Thread(
            target=lambda: answers.append(
                requests.put(created["upload_urls"][0], data=os.urandom(2_000_000), headers=PUT_HEADERS, timeout=30)
            )
        )
        sender.start()
        time.sleep(0.4)  # about 0.8 MB in
        assert requests.post(f"{sb.api_url}/sandbox/assets/clear", json={}, timeout=30).json() == {"cleared": 1}
        sender.join(30)
        (answer,) = answers
        assert answer.status_code == 404 and answer.headers["Content-Type"] == "application/xml"
        assert ET.fromstring(answer.content).findtext("Code") == "NoSuchUpload"
        assert list((sb.data_dir / "parts").iterdir()) == []
        assert {Path(p).name for p in open_under(sb.data_dir)} <= STATE_FILES  # no part left open
