"""Resuming an upload from its manifest, and what happens when upload URLs expire, against the real sandbox.

How these tests know which parts a run sent: the sandbox records when it received each part (a part sent again
gets a new ``received_at``), and a planned fault on a part is consumed by the first attempt at that part, so a
fault still pending after a run proves the run never tried that part.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import stat
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
    ProgressEvent,
    RetryPolicy,
    UploadURLExpired,
    plan_chunks,
    upload_chunk,
    upload_file,
)
from c2c_helpers.resume import Manifest, PartRecord, default_manifest_path
from c2c_helpers.tools.cli import main
from c2c_sandbox import Sandbox

MIB = 1024 * 1024
FOUR_PARTS = 21 * MIB  # four parts of 5.25 MiB: every part above S3's 5 MiB minimum
FAIL_FAST = RetryPolicy(max_attempts=1)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def received_at(sb: Sandbox, asset_id: str) -> dict[int, float]:
    return {p.part_number: p.received_at for p in sb.store.parts(asset_id)}


def sentinels(sb: Sandbox, parts: list[int]) -> None:
    """Plan one fault on each of `parts`: an attempt at that part would consume it."""
    sb.faults.clear()
    for n in parts:
        sb.faults.inject("internal_error", part=n, times=1)


def untouched(sb: Sandbox) -> list[int | None]:
    return sorted(f["part"] for f in sb.faults.pending())


def fail_after_part_1(path: Path, client: C2CClient, sb: Sandbox, manifest: Path, parts: int = 2) -> PartUploadError:
    """An upload (with a manifest) whose part 2 fails for good after part 1 was acknowledged."""
    sb.faults.inject("internal_error", part=2, times=1)
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=parts, workers=1, retry=FAIL_FAST, resume=manifest)
    sb.faults.clear()
    return info.value


def test_a_process_killed_with_sigkill_is_finished_by_c2c_upload_resume(
    make_file: Callable[..., Path],
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = make_file("take-07.mov", size=FOUR_PARTS)
    manifest = tmp_path / "take-07.resume.json"
    # Part 3's first attempt stalls (the server takes the body and never answers): the uploader is stuck there
    # with parts 1 and 2 acknowledged when it is killed.
    sandbox.faults.inject("stall", part=3, times=1, seconds=20)
    env = {**os.environ, "C2C_API_URL": sandbox.api_url, "C2C_ACCESS_TOKEN": sandbox.access_token}
    command = [sys.executable, "-m", "c2c_helpers.tools.cli", "upload", str(path), "--parts", "4", "--workers", "1"]
    process = subprocess.Popen(
        [*command, "--resume", str(manifest), "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (manifest.exists() and json.loads(manifest.read_text())["parts"].keys() == {"1", "2"}):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the uploader never acknowledged parts 1 and 2"
            time.sleep(0.02)
        while sandbox.faults.pending():  # part 3 has reached the stall
            assert time.monotonic() < deadline, "part 3 never reached the sandbox"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL

    saved = json.loads(manifest.read_text())
    asset_id = saved["asset_id"]
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert sandbox.access_token not in manifest.read_text()
    assert set(saved) == {
        "format", "version", "api_url", "file", "filesize", "mtime_ns", "asset_id", "name", "filetype",
        "upload_urls", "parts",
    }  # fmt: skip
    assert saved["filesize"] == FOUR_PARTS and saved["mtime_ns"] == path.stat().st_mtime_ns
    assert len(saved["upload_urls"]) == 4 and all(saved["parts"].values())  # ETags
    before = received_at(sandbox, asset_id)
    assert sorted(before) == [1, 2]  # the sandbox has what the manifest says, and nothing else

    sentinels(sandbox, [1, 2])
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url)
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    monkeypatch.setenv("C2C_SANDBOX_URL", sandbox.api_url)  # as `c2c lab` sets it: the upload waits for assembly
    assert main(["upload", str(path), "--workers", "1", "--resume", str(manifest), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert f"asset {asset_id}" in out
    assert "in 4 parts (2 resumed), 2 attempts, all 4 parts acknowledged, assembled by the sandbox" in out
    assert "2 part(s) were already sent" in err
    assert untouched(sandbox) == [1, 2]  # no attempt at part 1 or 2 ...
    after = received_at(sandbox, asset_id)
    assert {n: after[n] for n in (1, 2)} == before  # ... and they were not received again
    assert sorted(after) == [1, 2, 3, 4]
    assert sandbox.asset_sha256(asset_id) == sha256(path)
    assert not manifest.exists()  # complete: the manifest is gone


def test_resume_in_process_sends_only_the_missing_parts(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file(size=FOUR_PARTS)
    manifest = tmp_path / "m.json"
    err = fail_after_part_1(path, client, sandbox, manifest, parts=4)
    assert err.part_number == 2 and err.parts_sent == (1,)
    assert any(str(manifest) in note and "send only the missing parts" in note for note in err.__notes__)
    assert Manifest.load(manifest).parts.keys() == {1}  # type: ignore[union-attr]

    sentinels(sandbox, [1])
    events: list[ProgressEvent] = []
    result = upload_file(path, client=client, workers=2, resume=manifest, progress=events.append)
    assert untouched(sandbox) == [1]
    assert result.asset.id == err.asset.id and result.resumed == (1,)
    assert [(p.number, p.attempts) for p in result.parts] == [(1, 0), (2, 1), (3, 1), (4, 1)]
    assert result.retries == 0 and result.bytes_sent == FOUR_PARTS - plan_chunks(FOUR_PARTS, ["u"] * 4)[0].size
    first = events[0]  # the bar starts where the earlier run stopped
    assert (first.part, first.state, first.part_bytes) == (1, "done", first.part_size)
    assert events[-1].bytes_sent == FOUR_PARTS
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)
    assert not manifest.exists()


def test_a_completed_upload_removes_its_manifest(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file()
    manifest = tmp_path / "done.json"
    written: list[dict] = []

    def watch(event: ProgressEvent) -> None:  # the manifest exists while the parts go out
        if event.state == "done" and manifest.exists():
            written.append(json.loads(manifest.read_text()))

    result = upload_file(path, client=client, parts=2, workers=1, resume=manifest, progress=watch)
    assert written and written[0]["asset_id"] == result.asset.id
    assert not manifest.exists() and not list(tmp_path.glob(".*.tmp"))
    assert result.resumed == () and result.recreated_from is None


def finished_with_a_late_manifest(
    path: Path, client: C2CClient, sandbox: Sandbox, manifest: Path, recorded: tuple[int, ...]
) -> Manifest:
    """Both parts sent and assembled, and a manifest that recorded only the parts in `recorded`."""
    st = path.stat()
    asset = client.create_asset("done.mov", "video/quicktime", st.st_size, 0, parts=2)
    chunks = plan_chunks(st.st_size, asset.upload_urls)
    for chunk in chunks:
        upload_chunk(path, chunk, "video/quicktime")
    sandbox.wait_for_asset(asset.id)
    data = path.read_bytes()
    records = {}
    for chunk in chunks:
        if chunk.number in recorded:
            md5 = hashlib.md5(data[chunk.start : chunk.start + chunk.size]).hexdigest()  # noqa: S324
            records[chunk.number] = PartRecord(md5, md5, chunk.start, chunk.size)
    late = Manifest(
        manifest, client.api_url, str(path.resolve()), st.st_size, st.st_mtime_ns, asset.id,
        "done.mov", "video/quicktime", asset.upload_urls, records,
    )  # fmt: skip
    late.save()
    return late


def test_resuming_an_asset_whose_parts_were_all_recorded_sends_nothing(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A run killed after recording its last part, before it removed the manifest: nothing is left to send."""
    manifest = finished_with_a_late_manifest(make_file(), client, sandbox, tmp_path / "late.json", (1, 2))
    sandbox.faults.inject("internal_error", times=1)  # any part attempt would consume it
    result = upload_file(manifest.file, client=client, resume=manifest.path)
    assert untouched(sandbox) == [None]
    assert result.attempts == 0 and result.resumed == (1, 2) and result.acknowledged == 2
    assert result.asset.is_complete  # seen through the sandbox's controls (the client fixture has them)
    assert not manifest.path.exists()


def test_resuming_an_asset_assembled_behind_the_manifest_s_back_says_what_to_do(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A run killed after its last part's 200, before recording it: a device cannot ask whether the asset was
    assembled (write, but don't read), so it sends that part again and S3 answers NoSuchUpload."""
    manifest = finished_with_a_late_manifest(make_file(), client, sandbox, tmp_path / "late.json", (1,))
    with pytest.raises(PartUploadError) as info:
        upload_file(manifest.file, client=client, resume=manifest.path)
    assert info.value.s3_code == "NoSuchUpload" and info.value.part_number == 2
    assert any("delete it" in note for note in info.value.__notes__)


@pytest.mark.parametrize("change", ["size", "mtime"])
def test_a_file_changed_since_the_manifest_is_refused_before_anything_is_sent(
    change: str, make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file()
    manifest = tmp_path / "m.json"
    fail_after_part_1(path, client, sandbox, manifest)
    if change == "size":
        with path.open("ab") as f:
            f.write(b"one more frame")
    else:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assets = len(sandbox.store.assets())
    sandbox.faults.inject("internal_error", times=1)
    with pytest.raises(FileChanged, match="since the resume manifest") as info:
        upload_file(path, client=client, resume=manifest)
    assert "nothing was sent" in str(info.value) and "delete the manifest" in str(info.value)
    assert info.value.parts_sent == (1,)
    assert untouched(sandbox) == [None] and len(sandbox.store.assets()) == assets
    assert manifest.exists()  # the user decides what to do with it


def test_expired_manifest_urls_raise_by_default_and_recreate_on_request(
    make_file: Callable[..., Path],
    client: C2CClient,
    sandbox: Sandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = make_file()
    manifest = tmp_path / "m.json"
    sandbox.set_url_ttl(2)  # signed to the second: alive 1 to 2 s, time enough for part 1 on a loaded machine
    first = fail_after_part_1(path, client, sandbox, manifest).asset.id
    sandbox.set_url_ttl(86400)
    time.sleep(3.1)  # the signing time has a one-second resolution

    with pytest.raises(UploadURLExpired) as info:
        upload_file(path, client=client, resume=manifest, retry=FAIL_FAST)
    err = info.value
    assert err.part_number == 2 and err.attempts == 1  # one look was enough: never retried
    assert any("on_expired='recreate'" in note for note in err.__notes__)
    assert manifest.exists()

    caplog.set_level(logging.WARNING, logger="c2c_helpers")
    result = upload_file(path, client=client, resume=manifest, on_expired="recreate")
    assert result.recreated_from == first and result.asset.id != first
    assert "on a new asset (the first one's upload URLs expired)" in result.summary()
    assert f"asset {first}: the upload URLs expired" in caplog.text
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)
    assert sandbox.store.asset(first).status != "complete"  # type: ignore[union-attr]
    assert not manifest.exists()


def test_urls_expiring_mid_upload_recreate_the_asset_and_say_so(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Part 1 is answered late (a 3 s delay); by then part 2's URL, alive for 1 to 2 s (a 2 s lifetime signed to
    the second), has expired, while part 1 was sent in time even on a loaded machine."""
    path = make_file()
    sandbox.set_url_ttl(2)
    sandbox.faults.inject("delay", part=1, times=1, seconds=3)
    states: list[tuple[int, str]] = []

    def progress(event: ProgressEvent) -> None:
        states.append((event.part, event.state))
        if (event.part, event.state) == (1, "done"):
            sandbox.set_url_ttl(86400)  # the recreated asset gets URLs that last

    caplog.set_level(logging.WARNING, logger="c2c_helpers")
    result = upload_file(
        path, client=client, parts=2, workers=1, timeout=(5, 5), progress=progress, on_expired="recreate"
    )
    assert result.recreated_from is not None and result.recreated_from != result.asset.id
    assert "the upload URLs expired (part 2); creating a fresh asset and starting over" in caplog.text
    assert states.count((1, "queued")) == 2  # the new asset's parts start from zero
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)
    assert [p.attempts for p in result.parts] == [1, 1]


def test_by_default_urls_expiring_mid_upload_raise(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    path = make_file()
    sandbox.set_url_ttl(2)  # alive 1 to 2 s: part 1 goes in time, part 2 goes after part 1's 3 s delay
    sandbox.faults.inject("delay", part=1, times=1, seconds=3)
    assets = len(sandbox.store.assets())
    with pytest.raises(UploadURLExpired) as info:
        upload_file(path, client=client, parts=2, workers=1, timeout=(5, 5))
    assert info.value.part_number == 2 and info.value.parts_sent == (1,)
    assert len(sandbox.store.assets()) == assets + 1  # no second asset behind the caller's back


def test_manifests_that_do_not_fit_are_refused_before_anything_is_sent(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make_file()
    manifest = tmp_path / "m.json"
    fail_after_part_1(path, client, sandbox, manifest)
    good = manifest.read_text()
    sandbox.faults.inject("internal_error", times=1)
    assets = len(sandbox.store.assets())

    with pytest.raises(InvalidFile, match=r"is for .*other\.mov"):
        upload_file(make_file("other.mov"), client=client, resume=manifest)
    with pytest.raises(InvalidFile, match=r"filetype='video/mp4' \(the manifest says 'video/quicktime'\)"):
        upload_file(path, client=client, resume=manifest, filetype="video/mp4")
    with pytest.raises(InvalidFile, match=r"parts=3"):
        upload_file(path, client=client, resume=manifest, parts=3)
    elsewhere = C2CClient("http://127.0.0.1:9", sandbox.access_token)
    with pytest.raises(InvalidFile, match="for the service at"):
        upload_file(path, client=elsewhere, resume=manifest)
    for broken in ("{", "[]", json.dumps({**json.loads(good), "version": 99}), json.dumps({"format": "x"})):
        manifest.write_text(broken)
        with pytest.raises(InvalidFile, match=r"not a usable resume manifest.*delete it"):
            upload_file(path, client=client, resume=manifest)
    assert untouched(sandbox) == [None] and len(sandbox.store.assets()) == assets


def test_resuming_asks_the_c2c_api_nothing(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A device cannot read its asset back, so a resumed run asks the API nothing: the manifest's presigned URLs
    are all it takes. They are capabilities, as on S3 (any holder can PUT those parts until they expire), which
    is why the manifest is private."""
    path = make_file()
    manifest = tmp_path / "m.json"
    fail_after_part_1(path, client, sandbox, manifest)
    seen: list[str] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response.url))
    with C2CClient(sandbox.api_url, "a-token-never-issued", session=session, controls=sandbox) as offline:
        result = upload_file(path, client=offline, resume=manifest)
    assert seen == [] and result.resumed == (1,) and result.asset.is_complete
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)


def test_the_manifest_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        m = Manifest(tmp_path / "m.json", "http://x", "/f", 1, 1, "a", "n", "video/mp4", ("https://s3/k?p=1",))
        m.save()
        m.record(1, "e")
    finally:
        os.umask(old)
    assert stat.S_IMODE(m.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left behind
    assert default_manifest_path(tmp_path / "a.mov") == tmp_path / "a.mov.c2c-resume.json"
