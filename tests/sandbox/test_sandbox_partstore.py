"""Parts on disk: they survive restarts, assembly starts whatever is in flight and runs once, one sandbox per
data dir, and each sandbox keeps its own state and settings."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.domain.records import Asset, Part
from c2c_sandbox.domain.store import Store
from c2c_sandbox.s3.partstore import PartStore
from c2c_sandbox.server import DataDirInUse

MiB = 1024 * 1024
HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


def new_asset(sb: Sandbox, size: int, parts: int) -> dict:
    response = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        headers={"Authorization": f"Bearer {sb.access_token}"},
        json={"name": "p.mp4", "filetype": "video/mp4", "filesize": size, "offset": 0, "parts": parts},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def pieces(data: bytes, n: int) -> list[bytes]:
    size = -(-len(data) // n)
    return [data[i * size : (i + 1) * size] for i in range(n)]


def put(url: str, body: bytes) -> requests.Response:
    return requests.put(url, data=body, headers=HEADERS, timeout=20)


def received(sb: Sandbox, asset_id: str) -> list[bool]:
    detail = sb.asset_detail(asset_id)
    assert detail is not None
    return [p["received"] for p in detail["parts"]]


def held_put(url: str, body: bytes, send: int) -> socket.socket:
    """A part PUT whose first ``send`` bytes are sent and the rest held back (the socket is returned open)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: video/mp4\r\n"
        f"x-amz-acl: private\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body[:send])
    return sock


# -- restarts ---------------------------------------------------------------------------------------------
def test_a_clean_restart_keeps_acknowledged_parts(tmp_path: Path) -> None:
    data = os.urandom(11 * MiB)
    first, second = pieces(data, 2)
    with Sandbox(data_dir=tmp_path) as sb:
        asset = new_asset(sb, len(data), 2)
        assert put(asset["upload_urls"][0], first).status_code == 200
        port = sb.port
    with Sandbox(port=port, data_dir=tmp_path) as again:  # the URLs name this port
        assert again.store.asset(asset["id"]).status == "uploading"  # type: ignore[union-attr]
        assert received(again, asset["id"]) == [True, False]
        assert put(asset["upload_urls"][1], second).status_code == 200  # the same URLs, the other part only
        done = again.wait_for_asset(asset["id"])
        assert done.status == "complete" and done.sha256 == hashlib.sha256(data).hexdigest()
        assert again.asset_bytes(asset["id"]) == data


def test_a_sigkilled_sandbox_keeps_acknowledged_parts(tmp_path: Path) -> None:
    """The crash test (test_sandbox_crash.py) does this 50 times at random points; here once, step by step."""
    data = os.urandom(11 * MiB)
    first, second = pieces(data, 2)
    command = [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip().partition("=")[2]
    token = process.stdout.readline().strip().partition("=")[2]
    asset = requests.post(
        f"{url}/v2/devices/assets",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": "k.mp4", "filetype": "video/mp4", "filesize": len(data), "parts": 2},
        timeout=10,
    ).json()
    assert put(asset["upload_urls"][0], first).status_code == 200
    held = held_put(asset["upload_urls"][1], second, len(second) // 2)  # mid-body at the moment of the kill
    time.sleep(0.2)
    process.kill()
    process.wait(10)
    held.close()
    port = int(urlsplit(url).port or 0)
    with Sandbox(port=port, data_dir=tmp_path) as again:  # the URLs name this port
        assert received(again, asset["id"]) == [True, False]
        assert not list((tmp_path / "parts").rglob("*.tmp"))  # the half-received part is gone
        assert put(asset["upload_urls"][1], second).status_code == 200
        assert again.wait_for_asset(asset["id"]).sha256 == hashlib.sha256(data).hexdigest()


# -- assembly ---------------------------------------------------------------------------------------------
def test_the_last_part_completes_the_asset_while_a_resend_is_held_mid_body(sandbox: Sandbox) -> None:
    """A re-send of part 1 is mid-body when part 2 (the last missing) arrives, then is aborted: still complete."""
    data = os.urandom(11 * MiB)
    first, second = pieces(data, 2)
    asset = new_asset(sandbox, len(data), 2)
    assert put(asset["upload_urls"][0], first).status_code == 200
    held = held_put(asset["upload_urls"][0], first, MiB)
    try:
        time.sleep(0.2)  # the re-send is in the part store, waiting for the rest of its body
        assert put(asset["upload_urls"][1], second).status_code == 200
        done = sandbox.wait_for_asset(asset["id"], timeout=10)
        assert done.status == "complete" and done.sha256 == hashlib.sha256(data).hexdigest()
    finally:
        held.close()  # the client gives up on the re-send
    time.sleep(0.2)
    assert sandbox.store.asset(asset["id"]).status == "complete"  # type: ignore[union-attr]
    assert sandbox.asset_bytes(asset["id"]) == data


def test_a_resend_that_ends_after_completion_gets_no_such_upload(sandbox: Sandbox) -> None:
    data = os.urandom(11 * MiB)
    first, second = pieces(data, 2)
    asset = new_asset(sandbox, len(data), 2)
    assert put(asset["upload_urls"][0], first).status_code == 200
    held = held_put(asset["upload_urls"][0], b"X" * len(first), MiB)  # other bytes: they must not get in
    with held:
        time.sleep(0.2)
        assert put(asset["upload_urls"][1], second).status_code == 200
        sandbox.wait_for_asset(asset["id"], timeout=10)
        held.sendall(b"X" * (len(first) - MiB))
        answer = b""
        while chunk := held.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404") and b"<Code>NoSuchUpload</Code>" in answer
    assert sandbox.asset_bytes(asset["id"]) == data


def make_asset(store: Store, size: int, parts: int) -> Asset:
    now = time.time()
    asset = Asset(
        str(uuid.uuid4()), "dev", "proj", "parent", "a.mov", "video/quicktime", size, 0, 0, parts,
        uuid.uuid4().hex, "k", "created", now, now, None, None, None,
    )  # fmt: skip
    store.add_asset(asset)
    return asset


def wait_status(store: Store, asset_id: str, status: str) -> Asset:
    deadline = time.monotonic() + 10
    while (asset := store.asset(asset_id)) is None or asset.status != status:
        assert time.monotonic() < deadline and (asset is None or asset.status != "failed"), asset
        time.sleep(0.01)
    return asset


def test_assembly_runs_once_and_again_is_a_no_op(tmp_path: Path) -> None:
    store = Store(tmp_path)
    parts = PartStore(tmp_path, store)
    try:
        data = os.urandom(11 * MiB)
        asset = make_asset(store, len(data), 2)
        for number, piece in enumerate(pieces(data, 2), start=1):
            parts.put(asset.id, number, io.BytesIO(piece), len(piece))
        done = wait_status(store, asset.id, "complete")
        original = tmp_path / "originals" / asset.id
        stat = original.stat()
        parts.assemble(asset.id)  # again, directly
        parts.submit(asset.id)  # and queued
        assert not store.claim_assembly(asset.id)
        parts.close()  # drains the queue
        assert store.asset(asset.id) == done and original.stat().st_mtime_ns == stat.st_mtime_ns
        assert done.sha256 == hashlib.sha256(data).hexdigest() == hashlib.sha256(original.read_bytes()).hexdigest()
        assert not (tmp_path / "parts" / asset.id).exists()  # parts removed once assembled
    finally:
        parts.close()
        store.close()


def test_recovery_assembles_what_a_crash_left_in_processing(tmp_path: Path) -> None:
    """A crash right after the last part was recorded (asset claimed, assembly not run) or mid-assembly."""
    store = Store(tmp_path)
    parts = PartStore(tmp_path, store)
    data = os.urandom(11 * MiB)
    first, second = pieces(data, 2)
    asset = make_asset(store, len(data), 2)
    parts.put(asset.id, 1, io.BytesIO(first), len(first))
    last = parts.receive(asset.id, 2, io.BytesIO(second), len(second))
    final = last.tmp.with_name(last.tmp.name.removesuffix(".tmp"))
    last.tmp.rename(final)  # as commit() does, but the crash comes before the assembly is queued
    store.record_part(Part(asset.id, 2, last.size, last.etag, time.time(), final.name))
    assert store.asset(asset.id).status == "processing"  # type: ignore[union-attr]
    (tmp_path / "originals" / f"{asset.id}.half.tmp").write_bytes(b"half an original")  # mid-assembly
    (tmp_path / "parts" / asset.id / "00001.stray.tmp").write_bytes(b"a part being received")
    (tmp_path / "parts" / asset.id / "00002.unrecorded").write_bytes(b"renamed, never recorded")
    parts.close()
    store.close()

    store = Store(tmp_path)
    parts = PartStore(tmp_path, store)
    try:
        assert parts.recover() == [asset.id]
        done = wait_status(store, asset.id, "complete")
        assert done.sha256 == hashlib.sha256(data).hexdigest()
        assert (tmp_path / "originals" / asset.id).read_bytes() == data
        assert [p.name for p in (tmp_path / "originals").iterdir()] == [asset.id]
        parts.close()  # drains the queue: the assembly removes the parts just after it marks the asset complete
        assert not (tmp_path / "parts" / asset.id).exists()
    finally:
        parts.close()
        store.close()


def test_a_resent_part_replaces_the_old_one_on_disk(tmp_path: Path) -> None:
    store = Store(tmp_path)
    parts = PartStore(tmp_path, store)
    try:
        asset = make_asset(store, 12 * MiB, 2)
        etag = parts.put(asset.id, 1, io.BytesIO(b"a" * 6 * MiB), 6 * MiB)
        again = parts.put(asset.id, 1, io.BytesIO(b"b" * 6 * MiB), 6 * MiB)
        assert etag != again == hashlib.md5(b"b" * 6 * MiB).hexdigest()  # noqa: S324
        files = list((tmp_path / "parts" / asset.id).iterdir())
        assert [p.name for p in files] == [store.parts(asset.id)[0].file] and files[0].read_bytes()[:1] == b"b"
        assert files[0].stat().st_mode & 0o777 == 0o600
    finally:
        parts.close()
        store.close()


# -- one sandbox per data dir -----------------------------------------------------------------------------
def test_a_second_sandbox_on_a_data_dir_in_use_refuses_to_start(tmp_path: Path) -> None:
    data = os.urandom(11 * MiB)
    with Sandbox(data_dir=tmp_path) as first:
        port = first.port
        asset = new_asset(first, len(data), 2)
        assert put(asset["upload_urls"][0], pieces(data, 2)[0]).status_code == 200
        holder = f"process {os.getpid()} on port {first.port}"
        with pytest.raises(DataDirInUse, match=holder):
            Sandbox(data_dir=tmp_path).start()
        command = [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(tmp_path)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and holder in result.stderr and str(tmp_path) in result.stderr
        assert first.store.asset(asset["id"]).status == "uploading"  # type: ignore[union-attr]  # untouched
        assert received(first, asset["id"]) == [True, False]
        assert put(asset["upload_urls"][1], pieces(data, 2)[1]).status_code == 200
        assert first.wait_for_asset(asset["id"]).status == "complete"
    with Sandbox(port=port, data_dir=tmp_path) as after:  # free again once the first one stopped
        assert after.asset_bytes(asset["id"]) == data


# -- each sandbox its own ---------------------------------------------------------------------------------
def test_reset_goes_back_to_the_constructors_url_ttl(tmp_path: Path) -> None:
    with Sandbox(data_dir=tmp_path, url_ttl=600) as sb:
        sb.set_url_ttl(5)
        assert "X-Amz-Expires=5&" in new_asset(sb, 10, 1)["upload_urls"][0]
        sb.reset()
        assert sb.url_ttl == 600 and "X-Amz-Expires=600&" in new_asset(sb, 10, 1)["upload_urls"][0]
        sb.set_url_ttl(7)
        assert requests.post(f"{sb.api_url}/sandbox/reset", timeout=5).json()["url_ttl"] == 600


def test_two_sandboxes_in_one_process_share_no_state(tmp_path: Path) -> None:
    data = os.urandom(6 * MiB)
    with Sandbox(data_dir=tmp_path / "one") as one, Sandbox(data_dir=tmp_path / "two") as two:
        assert one.bucket != two.bucket and one.signer.access_key != two.signer.access_key
        one.faults.inject("internal_error", times=100)
        one.set_url_ttl(30)
        one.pause()
        asset = new_asset(two, len(data), 1)
        assert "X-Amz-Expires=86400&" in asset["upload_urls"][0]  # not one's URL lifetime, not one's pause
        assert put(asset["upload_urls"][0], data).status_code == 200  # not one's faults
        assert two.wait_for_asset(asset["id"]).status == "complete"
        assert one.store.asset(asset["id"]) is None and one.asset_detail(asset["id"]) is None
        elsewhere = asset["upload_urls"][0].replace(f":{two.port}/{two.bucket}/", f":{one.port}/{one.bucket}/")
        refused = put(elsewhere, data)  # another sandbox's URL, pointed here, means nothing here
        assert refused.status_code == 403 and "<Code>InvalidAccessKeyId</Code>" in refused.text
        assert one.faults.pending()[0]["times"] == 100 and two.faults.pending() == []


def test_starting_a_sandbox_changes_no_logger(tmp_path: Path) -> None:
    names = ["", "werkzeug", "botocore", "botocore.auth", "c2c_sandbox", "c2c_sandbox.http"]

    def loggers() -> dict[str, tuple[int, list[logging.Handler]]]:
        return {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in names}

    before = loggers()
    with Sandbox(data_dir=tmp_path) as sb:
        asset = new_asset(sb, 10, 1)
        assert put(asset["upload_urls"][0], b"0123456789").status_code == 200
        assert requests.get(f"{sb.api_url}/no/such/page", timeout=5).status_code == 404
        sb.wait_for_asset(asset["id"])
    assert loggers() == before
