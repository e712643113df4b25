"""upload_growing_file against the sandbox: a file uploaded while it is recorded, ended by a signal or by a pause,
resumed after a failure; the recorder; ``c2c upload --realtime`` and ``c2c record``."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from c2c_helpers import C2CClient, InvalidArgument, InvalidFile, PartUploadError, RetryPolicy
from c2c_helpers.lab.recording import TEST_CLIP_RATE, record_test_clip, start_recording
from c2c_helpers.lab.testclip import TEST_CLIP_SHA256, TEST_CLIP_SIZE
from c2c_helpers.pool import ProgressEvent
from c2c_helpers.realtime.growing import plan_cuts
from c2c_helpers.realtime.upload import RealtimeResult, upload_growing_file
from c2c_helpers.resume import Manifest
from c2c_sandbox import Sandbox

MiB = 1024 * 1024


def complete(sandbox: Sandbox, result: RealtimeResult, sha256: str | None) -> None:
    asset = sandbox.wait_for_asset(result.asset_id, 30)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == sha256 and asset.filesize == result.bytes


def test_the_clip_recorded_while_it_uploads_arrives_whole_soon_after_the_last_byte(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path
) -> None:
    events: list[ProgressEvent] = []
    recording = record_test_clip(tmp_path / "take.mp4", speed=8)  # 2 s instead of 16
    result = upload_growing_file(
        tmp_path / "take.mp4", client=device_client, done=recording.done, part_size=5 * MiB, progress=events.append
    )
    asset = sandbox.wait_for_asset(result.asset_id, 30)
    assert recording.finished_at is not None and asset.upload_completed_at is not None
    latency = asset.upload_completed_at - recording.finished_epoch
    assert asset.status == "complete" and asset.sha256 == TEST_CLIP_SHA256 == recording.sha256
    assert result.bytes == TEST_CLIP_SIZE and [p.number for p in result.parts] == [1, 2, 3, 4, 5]
    assert result.ended_by == "signal" and latency < 5, latency  # the benchmark holds it to 2 s
    queued = [e.part for e in events if e.state == "queued"]
    assert queued == [1, 2, 3, 4, 5]  # each part appeared as it was cut, in order
    first_done = min(i for i, e in enumerate(events) if e.state == "done")
    assert first_done < events.index(next(e for e in events if e.part == 5))  # parts left while recording
    assert all(e.bytes_sent <= e.total for e in events) and events[-1].total == TEST_CLIP_SIZE


def test_the_end_of_recording_by_a_pause_in_growth(sandbox: Sandbox, device_client: C2CClient, tmp_path: Path) -> None:
    recording = start_recording(tmp_path / "paused.mov", size=11 * MiB, rate=40 * MiB)
    started = time.monotonic()
    result = upload_growing_file(tmp_path / "paused.mov", client=device_client, part_size=5 * MiB, idle_timeout=0.6)
    assert result.ended_by == "idle" and time.monotonic() - started >= 0.6
    assert [p.bytes for p in result.parts] == [5 * MiB, 5 * MiB, MiB]
    complete(sandbox, result, recording.sha256)


@pytest.mark.parametrize("size", [1, 1000, 5 * MiB, 10 * MiB])
def test_small_files_and_part_boundaries(sandbox: Sandbox, device_client: C2CClient, tmp_path: Path, size: int) -> None:
    """A file smaller than a part is one final part; one that ends on a part boundary ends with a full final part."""
    recording = start_recording(tmp_path / f"{size}.mp4", size=size)
    recording.wait(10)
    result = upload_growing_file(tmp_path / f"{size}.mp4", client=device_client, part_size=5 * MiB, done=lambda: True)
    expected = [p.size for p in plan_cuts(size, 5 * MiB, cut=0, final=True)]
    assert [p.bytes for p in result.parts] == expected and expected[-1] >= 1
    complete(sandbox, result, recording.sha256)


def test_a_final_part_only_upload_of_an_extension_named_asset(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path
) -> None:
    recording = start_recording(tmp_path / "card.bin", size=123_456)
    recording.wait(10)
    result = upload_growing_file(
        tmp_path / "card.bin", client=device_client, extension=".mp4", final_name="A001C007.mp4", done=recording.done
    )
    assert len(result.parts) == 1 and result.name == "[new file].mp4"
    complete(sandbox, result, recording.sha256)
    assert sandbox.asset_detail(result.asset_id)["name"] == "A001C007.mp4"


def test_resume_sends_only_what_is_missing(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path, fast_retry: RetryPolicy
) -> None:
    path, manifest = tmp_path / "resumed.mp4", tmp_path / "resumed.mp4.c2c-realtime.json"
    recording = start_recording(path, size=16 * MiB + 7, rate=64 * MiB)
    sandbox.faults.inject("internal_error", part=2, times=100)
    with pytest.raises(PartUploadError) as failed:
        upload_growing_file(
            path, client=device_client, part_size=5 * MiB, done=recording.done, retry=fast_retry, resume=manifest
        )
    assert failed.value.part_number == 2 and manifest.exists()
    sandbox.faults.clear()
    recording.wait(10)
    result = upload_growing_file(path, client=device_client, part_size=5 * MiB, done=lambda: True, resume=manifest)
    assert 1 in result.resumed and 2 not in result.resumed and not manifest.exists()
    assert [p.number for p in result.parts] == [1, 2, 3, 4] and result.parts[-1].bytes == MiB + 7
    complete(sandbox, result, recording.sha256)


def first_run_fails_on_part_2(
    sandbox: Sandbox, client: C2CClient, path: Path, manifest: Path, retry: RetryPolicy
) -> None:
    """Record 6 MiB, then upload it in two parts with S3 failing part 2 until the run gives up."""
    start_recording(path, size=6 * MiB).wait(10)
    sandbox.faults.inject("internal_error", part=2, times=100)
    try:
        with pytest.raises(PartUploadError):
            upload_growing_file(path, client=client, part_size=5 * MiB, done=lambda: True, retry=retry, resume=manifest)
    finally:
        sandbox.faults.clear()


def test_a_resumed_part_whose_bytes_changed_is_sent_again(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path, fast_retry: RetryPolicy
) -> None:
    path, manifest = tmp_path / "changed.mp4", tmp_path / "changed.json"
    first_run_fails_on_part_2(sandbox, device_client, path, manifest, fast_retry)
    with open(path, "r+b") as f:  # part 1's bytes are not what was sent any more
        f.write(b"changed")
    result = upload_growing_file(path, client=device_client, part_size=5 * MiB, done=lambda: True, resume=manifest)
    assert result.resumed == () and [p.attempts for p in result.parts] == [1, 1]
    complete(sandbox, result, hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_part_in_at_the_service_but_not_in_the_manifest_is_registered_again(
    sandbox: Sandbox, device_client: C2CClient, tmp_path: Path, fast_retry: RetryPolicy
) -> None:
    # The earlier run's 200 for part 1 never reached its manifest (a crash between the two), and the file changed
    # since: the service holds part 1's old bytes. Sent again to its old URL, part 2 could complete the upload with
    # them first; registered again, part 1's old bytes are dropped before anything is sent.
    path, manifest = tmp_path / "lost_ack.mp4", tmp_path / "lost_ack.json"
    first_run_fails_on_part_2(sandbox, device_client, path, manifest, fast_retry)
    kept = Manifest.load(manifest)
    assert kept is not None
    deadline = time.monotonic() + 5  # part 1's PUT may still be finishing at the service
    while time.monotonic() < deadline and not received(sandbox, kept.asset_id, 1):
        time.sleep(0.05)
    assert received(sandbox, kept.asset_id, 1)
    kept.parts.pop(1, None)
    kept.save()
    with open(path, "r+b") as f:
        f.write(b"changed")
    result = upload_growing_file(path, client=device_client, part_size=5 * MiB, done=lambda: True, resume=manifest)
    complete(sandbox, result, hashlib.sha256(path.read_bytes()).hexdigest())


def received(sandbox: Sandbox, asset_id: str, number: int) -> bool:
    detail = sandbox.asset_detail(asset_id) or {}
    return any(p["number"] == number and p["received"] for p in detail.get("parts", []))


def test_refusals_before_anything_is_sent(device_client: C2CClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="5 MiB"):
        upload_growing_file(tmp_path / "x.mp4", client=device_client, part_size=MiB)
    with pytest.raises(InvalidFile, match="nothing was recorded"):
        upload_growing_file(tmp_path / "never.mp4", client=device_client, done=lambda: True)
    with pytest.raises(InvalidFile):
        upload_growing_file(tmp_path / "no-extension", client=device_client, done=lambda: True)


def test_the_recorder_keeps_to_its_rate(tmp_path: Path) -> None:
    started = time.monotonic()
    recording = start_recording(tmp_path / "paced.bin", size=2 * MiB, rate=4 * MiB)
    assert recording.wait(10) and 0.45 < time.monotonic() - started < 2.5
    assert recording.sha256 == hashlib.sha256((tmp_path / "paced.bin").read_bytes()).hexdigest()
    assert TEST_CLIP_RATE == TEST_CLIP_SIZE / 16
    stopped = start_recording(tmp_path / "stopped.bin", size=100 * MiB, rate=MiB)
    threading.Timer(0.2, stopped.stop).start()
    assert stopped.wait(5) and stopped.bytes_written < 100 * MiB


def test_c2c_record_and_c2c_upload_realtime(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {"C2C_API_URL": sandbox.api_url, "C2C_ACCESS_TOKEN": sandbox.access_token, "PATH": "/usr/bin:/bin"}
    take = tmp_path / "cli-take.mp4"
    record = subprocess.Popen(
        [sys.executable, "-m", "c2c_helpers.tools.cli", "record", str(take), "--rate", str(8 * TEST_CLIP_RATE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    options = ["--part-size", str(5 * MiB), "--idle-timeout", "1.5", "--no-progress"]
    upload = subprocess.run(
        [sys.executable, "-m", "c2c_helpers.tools.cli", "upload", "--realtime", str(take), *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    recorded, _ = record.communicate(timeout=60)
    assert record.returncode == 0 and TEST_CLIP_SHA256 in recorded
    assert upload.returncode == 0, upload.stderr
    assert "while it was recorded: 21,136,250 bytes in 5 parts" in upload.stdout
    asset_id = upload.stdout.strip().rsplit(" ", 1)[-1]
    assert sandbox.wait_for_asset(asset_id, 30).sha256 == TEST_CLIP_SHA256


def test_the_real_time_benchmark_runs() -> None:
    """``python -m benchmarks.realtime`` on a small recording: its table, a latency, a flat client."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.realtime", "--sizes", "12MiB", "--runs", "1", "--part-size", "5MiB"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("| 12 MiB |"))
    assert "| 3 |" in row and row.endswith("| ok |")
