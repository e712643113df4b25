"""Nothing silently wrong: each part checked against S3's ETag, resumed parts re-hashed, URLs bound to their part
number, one resume at a time per manifest. Every request goes to the real sandbox.

How these tests know which parts a run sent: a planned fault on a part is consumed by the first attempt at it,
so a fault still pending after a run proves the run never tried that part.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from c2c_helpers import (
    C2CClient,
    FileChanged,
    InvalidFile,
    PartUploadError,
    RetryPolicy,
    plan_chunks,
    upload_chunk,
    upload_file,
)
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import ManifestInUse, describe_fate
from c2c_helpers.parts import PartBody, _checked, file_md5
from c2c_helpers.resume import Manifest, ManifestLock, PartRecord
from c2c_sandbox import Sandbox

MIB = 1024 * 1024
FOUR_PARTS = 21 * MIB  # four parts of 5.25 MiB
FAIL_FAST = RetryPolicy(max_attempts=1)
QUICK = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sentinels(sb: Sandbox, parts: list[int]) -> None:
    """Plan one fault on each of `parts`: an attempt at that part would consume it."""
    sb.faults.clear()
    for n in parts:
        sb.faults.inject("internal_error", part=n, times=1)


def untouched(sb: Sandbox) -> list[int | None]:
    return sorted(f["part"] for f in sb.faults.pending())


def flip_a_byte_keeping_the_mtime(path: Path, offset: int) -> None:
    """Change one byte of the file and put its modification time back: size + mtime cannot see it."""
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns


def stop_after_two_parts(path: Path, client: C2CClient, sb: Sandbox, manifest: Path) -> str:
    """An upload of four parts (one at a time) whose part 3 fails for good: parts 1 and 2 are acknowledged."""
    sb.faults.inject("internal_error", part=3, times=1)
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=4, workers=1, retry=FAIL_FAST, resume=manifest)
    sb.faults.clear()
    assert info.value.parts_sent == (1, 2)
    return str(info.value.asset.id)


# -- each part against S3's ETag ----------------------------------------------------------------------------


def test_a_part_damaged_on_the_way_is_sent_again(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_file(size=FOUR_PARTS)
    sandbox.faults.inject("corrupt", part=2, times=1)  # part 2's first attempt is stored with one bit flipped
    caplog.set_level(logging.INFO, logger="c2c_helpers")
    result = upload_file(path, client=client, parts=4, workers=1, retry=QUICK)  # in order: part 2 is not the last
    sandbox.wait_for_asset(result.asset.id)
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)  # the damaged copy was replaced
    assert [(p.number, p.attempts) for p in result.parts] == [(1, 1), (2, 2), (3, 1), (4, 1)]
    assert all(p.etag_verified and p.etag == p.md5 for p in result.parts)
    chunk = plan_chunks(FOUR_PARTS, ["u"] * 4)[1]
    sent = file_md5(path, chunk.start, chunk.size)
    assert f"part 2: S3 stored other bytes than were sent: expected ETag (the MD5 of the bytes sent) {sent}, got " in (
        caplog.text
    )
    assert sandbox.faults.fired.get("corrupt") == 1


def test_a_part_damaged_every_time_fails_loudly_naming_both_digests(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    path = make_file(size=FOUR_PARTS)
    sandbox.faults.inject("corrupt", part=1, times=3)
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=4, workers=1, retry=QUICK)
    err = info.value
    chunk = plan_chunks(FOUR_PARTS, ["u"] * 4)[0]
    assert err.part_number == 1 and err.attempts == 3 and err.retryable and err.parts_sent == ()
    assert f"expected ETag (the MD5 of the bytes sent) {file_md5(path, chunk.start, chunk.size)}, got " in str(err)


def test_damage_to_the_last_missing_part_is_reported_not_called_success(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    """The damaged part completes the set, so the service assembles at once; the re-send finds the upload closed.
    The client cannot repair that, but it must not report success."""
    path = make_file()
    sandbox.faults.inject("corrupt", part=2, times=1)
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=2, workers=1, retry=QUICK)
    err = info.value
    assert err.part_number == 2 and err.s3_code == "NoSuchUpload" and err.parts_sent == (1,)
    assert "An earlier attempt was stored damaged" in str(err) and "does not hold this file" in str(err)
    assembled = sandbox.wait_for_asset(err.asset.id)
    assert assembled.status == "complete" and sandbox.asset_sha256(err.asset.id) != sha256(path)


def test_an_etag_that_is_not_an_md5_is_said_once_and_not_checked(
    make_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    """SSE-KMS parts get an ETag that is not their MD5 (the sandbox never answers one, so S3's answer is built
    here: no request is sent)."""
    path = make_file(size=1000)
    chunk = Chunk(0, 0, 1000, 1000, "https://s3.example/k?partNumber=1")
    answers = []
    for etag in ('"5a1d94e1bfd5b9b4e6b3b1c8d6a7f0e2-1"', "kms:abc"):
        response = requests.Response()
        response.status_code, response.headers["ETag"] = 200, etag
        body = PartBody(path, chunk, bytearray(1000))
        while body.read(1000):
            pass
        body.close()
        answers.append(_checked(response, body, chunk, 1))
    assert [(a.etag_verified, a.md5) for a in answers] == [(False, file_md5(path, 0, 1000))] * 2  # type: ignore[union-attr]


def test_upload_chunk_returns_the_md5_it_sent(make_file: Callable[..., Path], client: C2CClient) -> None:
    path = make_file()
    asset = client.create_asset("one.mov", "video/quicktime", path.stat().st_size, 0, parts=2)
    chunk = plan_chunks(path.stat().st_size, asset.upload_urls)[0]
    result = upload_chunk(path, chunk, "video/quicktime")
    assert result.etag_verified and result.md5 == result.etag == file_md5(path, chunk.start, chunk.size)


# -- resuming: the digests decide -------------------------------------------------------------------------------


def test_bytes_changed_with_the_mtime_restored_are_sent_again(
    make_file: Callable[..., Path],
    client: C2CClient,
    sandbox: Sandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "m.json"
    asset_id = stop_after_two_parts(path, client, sandbox, manifest)
    saved = json.loads(manifest.read_text())
    assert saved["version"] == 3 and set(saved["parts"]["1"]) == {"etag", "md5", "start", "size"}
    flip_a_byte_keeping_the_mtime(path, offset=1000)  # inside part 1
    sentinels(sandbox, [2])
    caplog.set_level(logging.WARNING, logger="c2c_helpers")
    result = upload_file(path, client=client, workers=2, resume=manifest)
    assert untouched(sandbox) == [2]  # part 2's bytes are unchanged: not sent again
    assert result.asset.id == asset_id and result.resumed == (2,)
    assert [(p.number, p.attempts) for p in result.parts] == [(1, 1), (2, 0), (3, 1), (4, 1)]
    assert f"asset {asset_id}: part 1 is sent again: the file's bytes changed since" in caplog.text
    sandbox.wait_for_asset(asset_id)
    assert sandbox.asset_sha256(asset_id) == sha256(path)  # exactly the file as it is now
    assert not manifest.exists()


def test_bytes_changed_after_the_asset_was_assembled_are_refused_clearly(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A run stopped after every part was acknowledged but before it removed its manifest: the service has
    assembled the asset from the earlier bytes, and S3 no longer takes a part for it."""
    path = make_file()
    st = path.stat()
    asset = client.create_asset("late.mov", "video/quicktime", st.st_size, 0, parts=2)
    records = {}
    for chunk in plan_chunks(st.st_size, asset.upload_urls):
        sent = upload_chunk(path, chunk, "video/quicktime")
        records[chunk.number] = PartRecord(sent.etag, sent.md5, chunk.start, chunk.size)
    before = sha256(path)
    manifest = Manifest(
        tmp_path / "late.json", client.api_url, str(path.resolve()), st.st_size, st.st_mtime_ns, asset.id,
        "late.mov", "video/quicktime", asset.upload_urls, records,
    )  # fmt: skip
    manifest.save()
    sandbox.wait_for_asset(asset.id)
    flip_a_byte_keeping_the_mtime(path, offset=7 * MIB)  # inside part 2
    with pytest.raises((FileChanged, PartUploadError)) as info:
        upload_file(path, client=client, resume=manifest.path, retry=QUICK)
    err = info.value
    said = "\n".join([str(err), *getattr(err, "__notes__", [])])
    if isinstance(err, PartUploadError):  # a device cannot see the assembly: S3's answer to the re-send says it
        assert err.part_number == 2 and err.s3_code == "NoSuchUpload"
        assert "part 2 was being sent again because the file's bytes differ" in said
        assert f"asset {asset.id} keeps the earlier bytes and can no longer be made to match the file" in said
    else:  # the client knew the asset was assembled: refused before sending
        assert "part 2 no longer hold" in said and "can no longer be fixed; nothing was sent" in said
    assert "send only the missing parts" not in said  # no advice that loops
    assert sandbox.asset_sha256(asset.id) == before  # the asset is what was sent then, and the error says so
    assert manifest.path.exists()


def test_swapped_upload_urls_in_a_manifest_are_refused_before_anything_is_sent(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "m.json"
    asset_id = stop_after_two_parts(path, client, sandbox, manifest)
    saved = json.loads(manifest.read_text())
    urls = saved["upload_urls"]
    urls[2], urls[3] = urls[3], urls[2]  # parts 3 and 4 would each land in the other's place
    manifest.write_text(json.dumps(saved))
    assets = len(sandbox.store.assets())
    stored = {p.part_number: p.received_at for p in sandbox.store.parts(asset_id)}  # the URLs are valid: any
    with pytest.raises(InvalidFile, match=r"upload URL 3 is signed for part 4 \(partNumber=4\)"):  # PUT lands
        upload_file(path, client=client, resume=manifest)
    assert {p.part_number: p.received_at for p in sandbox.store.parts(asset_id)} == stored and sorted(stored) == [1, 2]
    assert len(sandbox.store.assets()) == assets  # (this asset's own parts: no other test's traffic counts)


def test_a_version_1_manifest_is_still_read_and_its_md5_etags_checked(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "m.json"
    asset_id = stop_after_two_parts(path, client, sandbox, manifest)
    saved = json.loads(manifest.read_text())
    saved["version"] = 1
    saved["parts"] = {"1": saved["parts"]["1"]["etag"], "2": "not-an-md5"}  # as version 1 wrote them
    manifest.write_text(json.dumps(saved))
    loaded = Manifest.load(manifest)
    assert loaded is not None and loaded.parts[1].md5 == loaded.parts[1].etag and loaded.parts[2].md5 == ""
    sentinels(sandbox, [1])
    result = upload_file(path, client=client, workers=2, resume=manifest)
    assert untouched(sandbox) == [1] and result.resumed == (1,)  # part 2 had no digest: sent again
    sandbox.wait_for_asset(asset_id)
    assert sandbox.asset_sha256(asset_id) == sha256(path)


def test_a_part_sent_again_is_in_before_the_part_that_completes_the_file(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """S3 assembles once its last missing part lands. A resumed run that sends part 2 again (its digest is
    unknown) beside the never-sent parts 3 and 4 must not let them complete the file from part 2's earlier
    bytes first: here part 2's answer is late (the sandbox stores it after a 1 s wait), so without the ordering
    parts 3 and 4 would land first and part 2 would be refused (NoSuchUpload) by an assembled asset."""
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "m.json"
    asset_id = stop_after_two_parts(path, client, sandbox, manifest)
    saved = json.loads(manifest.read_text())
    saved["parts"]["2"]["md5"] = ""  # as if its ETag had not been an MD5: the resume cannot vouch for it
    manifest.write_text(json.dumps(saved))
    sandbox.faults.inject("delay", part=2, times=1, seconds=1)
    result = upload_file(path, client=client, workers=3, resume=manifest)
    assert result.resumed == (1,) and [p.attempts for p in result.parts] == [0, 1, 1, 1]
    sandbox.wait_for_asset(asset_id)
    assert sandbox.asset_sha256(asset_id) == sha256(path)


# -- one resume at a time -----------------------------------------------------------------------------------


def test_a_second_run_of_a_manifest_in_use_fails_at_once_naming_the_holder(
    make_file: Callable[..., Path], sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "take.resume.json"
    sandbox.faults.inject("stall", part=2, times=1, seconds=20)  # the first run sits in part 2
    env = {**os.environ, "C2C_API_URL": sandbox.api_url, "C2C_ACCESS_TOKEN": sandbox.access_token}
    command = [sys.executable, "-m", "c2c_helpers.tools.cli", "upload", str(path), "--parts", "4", "--workers", "1"]
    first = subprocess.Popen(
        [*command, "--resume", str(manifest), "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lock = Path(f"{manifest}.lock")
    try:
        deadline = time.monotonic() + 30
        while sandbox.faults.pending():  # part 2 has reached the stall: the first run holds the manifest
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.02)
        started = time.monotonic()
        with C2CClient(sandbox.api_url, sandbox.access_token) as client, pytest.raises(ManifestInUse) as info:
            upload_file(path, client=client, workers=1, resume=manifest)
        assert time.monotonic() - started < 3  # at once, not after waiting for the first run (stalled)
        assert f"held by pid {first.pid} on " in str(info.value) and str(lock) in str(info.value)
        assert info.value.retryable
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    sandbox.faults.clear()
    with C2CClient(sandbox.api_url, sandbox.access_token) as client:  # the kernel let go of a killed holder's lock
        result = upload_file(path, client=client, workers=2, resume=manifest)
    sandbox.wait_for_asset(result.asset.id)
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)
    assert not manifest.exists() and not lock.exists()


def test_the_lock_is_per_manifest_and_released_by_every_ending(tmp_path: Path) -> None:
    first = ManifestLock(tmp_path / "a.json").acquire()
    with pytest.raises(ManifestInUse, match=f"held by pid {os.getpid()} on "):
        ManifestLock(tmp_path / "a.json").acquire()  # in one process too: two runs would still collide
    with ManifestLock(tmp_path / "b.json"):  # another manifest: free
        pass
    first.release()
    with ManifestLock(tmp_path / "a.json"):
        assert (tmp_path / "a.json.lock").read_text().startswith(f"pid {os.getpid()} on ")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(InvalidFile, match="cannot create its lock file"):
        ManifestLock(tmp_path / "no-such-dir" / "m.json").acquire()


def test_a_refused_run_releases_the_manifest(make_file: Callable[..., Path], client: C2CClient, tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    with pytest.raises(InvalidFile):
        upload_file(tmp_path / "missing.mov", client=client, resume=manifest)
    ManifestLock(manifest).acquire().release()  # free again


# -- FileChanged says what becomes of the asset -------------------------------------------------------------


def test_file_changed_says_what_becomes_of_the_asset() -> None:
    assert (
        describe_fate([], 3)
        == "no part of 3 was acknowledged: the asset stays an empty placeholder and never completes"
    )
    assert describe_fate([1, 3], 3).startswith("parts 1, 3 of 3 were acknowledged and stay; the asset completes only")
    assert describe_fate([1, 2, 3], 3, mixed=True).startswith(
        "every part (3 of 3) was acknowledged, so the service assembles the asset anyway, from the bytes as they"
    )


def test_a_file_changed_since_the_manifest_says_which_parts_stay(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "m.json"
    stop_after_two_parts(path, client, sandbox, manifest)
    with path.open("ab") as f:
        f.write(b"another frame")
    with pytest.raises(FileChanged) as info:
        upload_file(path, client=client, resume=manifest)
    assert "so nothing was sent" in str(info.value)
    assert (
        "parts 1, 2 of 4 were acknowledged and stay; the asset completes only once every part has arrived, so it"
        in (str(info.value))
    )
