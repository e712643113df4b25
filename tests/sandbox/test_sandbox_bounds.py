"""What uploads left open hold, and its bounds: descriptors, copies, parts; given back after an idle time, on
Reset and on stop, and nothing left for a restart to find.

Every request goes to a real sandbox over HTTP; the sandbox runs in this process, so its open files are this
process's (psutil lists them). Every loop is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.domain.model import EXPIRED_KEEP, PURGE_EVERY
from c2c_sandbox.s3.livefile import MAX_OPEN_ORIGINALS, ORIGINAL_IDLE
from c2c_sandbox.scorecard.recorder import LIMIT, MAX_ENTRIES

MiB = 1024 * 1024
PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}
ENTRY_BYTES = 2048  # what one recorded request may take, as JSON, whatever the device sent


def auth(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"}


def open_under(root: Path) -> list[str]:
    """The files under `root` this process holds open (the sandbox's, as it runs in this process)."""
    return [f.path for f in psutil.Process().open_files() if Path(f.path).is_relative_to(root)]


def growing(sb: Sandbox) -> list[Path]:
    return sorted((sb.data_dir / "originals").glob("*.tmp"))


def until(condition: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Live:
    """A real-time upload driven over HTTP."""

    def __init__(self, sb: Sandbox, session: requests.Session) -> None:
        self.sb, self.s = sb, session
        answer = session.post(
            f"{sb.api_url}/v2/devices/assets",
            json={"name": "live.mp4", "filetype": "video/mp4", "is_realtime_upload": True},
            headers=auth(sb),
            timeout=10,
        )
        self.id = answer.json()["id"]

    def register(self, *parts: tuple[int, int, bool], filesize: int | None = None) -> list[str]:
        body: dict[str, object] = {"parts": [{"number": n, "size": z, "is_final": f} for n, z, f in parts]}
        if filesize is not None:
            body["asset_filesize"] = filesize
        answer = self.s.post(
            f"{self.sb.api_url}/v2/devices/assets/{self.id}/realtime_upload/parts",
            json=body,
            headers=auth(self.sb),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json()["upload_urls"])

    def put(self, url: str, data: bytes) -> None:
        assert self.s.put(url, data=data, headers=PUT_HEADERS, timeout=30).status_code == 200

    def finish(self, first: bytes, last: bytes) -> None:
        """Register and send the final part 2, and check the original is part 1 + part 2, exactly."""
        (url,) = self.register((2, len(last), True), filesize=len(first) + len(last))
        self.put(url, last)
        asset = self.sb.wait_for_asset(self.id, 30)
        assert asset.status == "complete", asset.error
        assert asset.sha256 == hashlib.sha256(first + last).hexdigest()


def test_open_real_time_uploads_hold_at_most_max_open_originals_descriptors(tmp_path: Path) -> None:
    first, last = os.urandom(5 * MiB), os.urandom(1234)
    with Sandbox(data_dir=tmp_path / "sb", create_rate=1000) as sb, requests.Session() as s:
        uploads = []
        for _ in range(MAX_OPEN_ORIGINALS + 4):
            upload = Live(sb, s)
            (url,) = upload.register((1, 5 * MiB, False))
            upload.put(url, first)
            uploads.append(upload)
        assert until(lambda: len(growing(sb)) == len(uploads)), "every upload's original grows"
        held = open_under(sb.data_dir / "originals")
        assert len(held) <= MAX_OPEN_ORIGINALS, f"{len(held)} descriptors for {len(uploads)} open uploads"
        uploads[0].finish(first, last)  # the least recently appended: its descriptor was closed, then reopened
        uploads[-1].finish(first, last)
        assert len(open_under(sb.data_dir / "originals")) <= MAX_OPEN_ORIGINALS


def test_an_abandoned_real_time_upload_gives_back_its_descriptor_and_copy_after_the_idle_time(
    tmp_path: Path,
) -> None:
    assert ORIGINAL_IDLE == 60.0  # the documented idle time; this test waits a shortened one
    first, last = os.urandom(5 * MiB), os.urandom(4321)
    with Sandbox(data_dir=tmp_path / "sb") as sb, requests.Session() as s:
        sb.model.parts.live.idle = 0.5
        uploads = []
        for _ in range(3):
            upload = Live(sb, s)
            (url,) = upload.register((1, 5 * MiB, False))
            upload.put(url, first)
            uploads.append(upload)
        assert until(lambda: not growing(sb) and not open_under(sb.data_dir / "originals")), (
            "the originals of silent uploads were not released"
        )
        uploads[1].finish(first, last)  # resumed after the release: built again from part 1, exact


def test_tiny_parts_make_no_original_grow(sandbox: Sandbox) -> None:
    """A part but the final one under 5 MiB can be in no complete upload: it opens nothing, copies nothing."""
    with requests.Session() as s:
        tiny = Live(sandbox, s)
        urls = tiny.register((1, 5 * MiB, False), (2, 5 * MiB, False))
        tiny.put(urls[0], b"x")
        tiny.put(urls[1], os.urandom(5 * MiB))
        marker = Live(sandbox, s)  # the assembler takes parts in order: once this one grows, the tiny one was seen
        (url,) = marker.register((1, 5 * MiB, False))
        marker.put(url, os.urandom(5 * MiB))
        originals = sandbox.data_dir / "originals"
        assert until(lambda: any(p.name.startswith(marker.id) for p in originals.glob("*.tmp")))
        assert not list(originals.glob(f"{tiny.id}.*"))
        assert not [p for p in open_under(originals) if Path(p).name.startswith(tiny.id)]
        (final,) = tiny.register((3, 10, True), filesize=10 * MiB + 11)
        tiny.put(final, b"0123456789")
        done = sandbox.wait_for_asset(tiny.id, 30)
        assert done.status == "failed" and "EntityTooSmall" in (done.error or "")  # as before: S3's verdict


def test_reset_stop_and_restart_leave_nothing_of_open_uploads(tmp_path: Path) -> None:
    data = os.urandom(5 * MiB)
    with Sandbox(data_dir=tmp_path / "sb") as sb, requests.Session() as s:
        for _ in range(3):
            upload = Live(sb, s)
            (url,) = upload.register((1, 5 * MiB, False))
            upload.put(url, data)
        assert until(lambda: len(growing(sb)) == 3)
        assert requests.post(f"{sb.api_url}/sandbox/assets/clear", json={}, timeout=10).json() == {"cleared": 3}
        assert growing(sb) == [] and open_under(sb.data_dir / "originals") == []
        upload = Live(sb, s)
        (url,) = upload.register((1, 5 * MiB, False))
        upload.put(url, data)
        assert until(lambda: len(growing(sb)) == 1)
    assert open_under(tmp_path / "sb") == [], "a stopped sandbox still holds files of its data dir"
    with Sandbox(data_dir=tmp_path / "sb") as again:
        assert growing(again) == []
        assert [p.name for p in (again.data_dir / "parts").iterdir()] == [upload.id]  # the upload itself stays


# -- the recorder ---------------------------------------------------------------------------------------------
def test_the_recorder_keeps_bounded_fields_of_whatever_a_device_sends(tmp_path: Path) -> None:
    with Sandbox(data_dir=tmp_path / "sb", create_rate=1000) as sb, requests.Session() as s:
        headers = {**auth(sb), "User-Agent": "u" * 8000, "x-client-version": "9" * 8000}
        for _ in range(10):
            s.request("X" * 60_000, f"{sb.api_url}/v2/devices/heartbeat", headers=headers, timeout=10)
            s.post(
                f"{sb.api_url}/v2/devices/assets",
                data=json.dumps({"name": "a.mp4", "filesize": int("9" * 4000), "offset": -int("9" * 4000)}),
                headers={**headers, "Content-Type": "application/json"},
                timeout=10,
            )
        entries = s.get(f"{sb.api_url}/sandbox/devices/{sb.device.id}/requests", timeout=10).json()["requests"]
        assert len(entries) == 20
        largest = max(len(json.dumps(e)) for e in entries)
        assert largest <= ENTRY_BYTES, f"an entry of {largest:,} bytes"


def test_the_recorder_keeps_at_most_max_entries_in_all(tmp_path: Path) -> None:
    assert MAX_ENTRIES == 10 * LIMIT  # shortened below: 12 entries in all, whatever the number of devices
    with Sandbox(data_dir=tmp_path / "sb") as sb, requests.Session() as s:
        sb.model.recorder.max_entries = 12
        devices = [sb.store.ensure_device(f"SN-BOUND-{n}", f"Camera {n}", "Sandbox Project") for n in range(3)]
        for device in devices:
            token, _ = sb.store.issue_tokens(device.id, "asset_create offline", 3600, 3600)
            for _ in range(5):
                beat = s.post(
                    f"{sb.api_url}/v2/devices/heartbeat", headers={**auth(sb), "Authorization": f"Bearer {token}"}
                )
                assert beat.status_code == 204
        kept = {
            d.id: s.get(f"{sb.api_url}/sandbox/devices/{d.id}/requests", timeout=10).json()["requests"] for d in devices
        }
        assert [len(kept[d.id]) for d in devices] == [0, 5, 5]  # the least recently heard from went first


# -- tokens and pairing codes ---------------------------------------------------------------------------------
def test_expired_tokens_and_pairing_codes_are_deleted_after_expired_keep(tmp_path: Path) -> None:
    assert (EXPIRED_KEEP, PURGE_EVERY) == (86400.0, 60.0)  # the documented times; shortened below
    with Sandbox(data_dir=tmp_path / "sb", code_ttl=1, token_ttl=1, poll_interval=0) as sb, requests.Session() as s:
        form = {"client_id": "SN-PURGE", "client_secret": sb.client_secret, "scope": "asset_create"}
        codes = [s.post(f"{sb.api_url}/v2/auth/device/code", data=form, timeout=10).json() for _ in range(5)]
        time.sleep(1.2)  # the codes and the sandbox's own access token have expired

        def poll(code: dict[str, str]) -> str:
            grant = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "SN-PURGE", **form}
            answer = s.post(
                f"{sb.api_url}/v2/auth/token", data={**grant, "device_code": code["device_code"]}, timeout=10
            )
            return str(answer.json()["error"])

        def beat() -> int:
            s.post(f"{sb.api_url}/v2/devices/heartbeat", headers=auth(sb), timeout=10)
            return int(s.get(f"{sb.api_url}/sandbox/devices/{sb.device.id}/requests", timeout=10).json()["recorded"])

        assert {poll(c) for c in codes} == {"expired_token"} and beat() == 1  # known, expired: still its
        sb.model.expired_keep, sb.model.purge_every = 0.0, 0.0
        assert until(lambda: poll(codes[0]) == "invalid_grant"), "expired codes were kept"
        assert {poll(c) for c in codes} == {"invalid_grant"}
        assert beat() == 1  # an unknown token is nobody's: the expired one was deleted
