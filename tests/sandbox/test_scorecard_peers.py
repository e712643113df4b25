"""Other devices graded by the scorecard, each failing what it really fails, with its evidence:

- the guide's sequential curl loop (``tests/data/curl_device.sh``): the arithmetic and the headers, no retries;
- ``c2c upload`` in a shell loop: refreshes its token and keeps its heartbeat (as the device the session names),
  but a loop of one-file commands is no queue: after the power cut it starts the files over;
- frameioclient 1.1.0's uploader, replayed from ``tests/data/frameioclient_transcript.json`` (recorded by
  ``c2c check`` with ``tests/data/frameioclient_device.py`` in a throwaway venv: frameioclient needs an old
  urllib3 and is not a test dependency); its session is the older script (no power cut, no outage);
- ``frameio`` 4.0.0's chunked uploader (``tests/data/frameio_device.py``), run against the sandbox;
- the reference device again, pairing itself (``c2c check --pair``): the six-digit code it showed is graded.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from c2c_sandbox.scorecard.grader import grade
from c2c_sandbox.scorecard.run import run_check

DATA = Path(__file__).resolve().parents[1] / "data"
C2C = [sys.executable, "-c", "import sys; from c2c_helpers.tools.cli import main; sys.exit(main())"]


def run(command: list[str], **kwargs: object) -> dict[str, str]:
    session = run_check(command, seed=3, timeout=180, **kwargs)  # type: ignore[arg-type]
    return session.card.verdicts()


def test_the_guides_curl_loop_passes_arithmetic_and_headers_and_fails_the_retries() -> None:
    found = run(["bash", str(DATA / "curl_device.sh")])
    assert found["chunk_arithmetic"] == found["part_headers"] == found["client_version"] == "pass"
    assert found["auto_retry"] == found["aws_nonfatal"] == found["rate_limit_backoff"] == "fail"
    assert found["token_refresh"] == found["me_after_grant"] == "fail"  # (its heartbeat: none, judged by length)
    assert found["corrupt"] == "pass" and found["paused"] == "pass"  # on to the next file, whatever happened


def test_c2c_upload_in_a_loop_refreshes_and_beats_but_is_no_queue(tmp_path: Path) -> None:
    loop = f'for f in "$C2C_CHECK_DIR"/*; do {shlex.join(C2C)} upload "$f" --no-wait --no-progress || true; done'
    found = run(["bash", "-c", loop])
    passes = ("token_refresh", "heartbeat", "client_version", "chunk_arithmetic", "part_headers", "paused")
    assert {item: found[item] for item in passes} == dict.fromkeys(passes, "pass")  # a miss names its item
    assert found["queue_survives"] == found["resume"] == "fail"  # the second run starts the loop over


def test_frameioclients_uploader_is_caught_from_its_recorded_transcript() -> None:
    transcript = json.loads((DATA / "frameioclient_transcript.json").read_text())
    card = grade(transcript)
    found = card.verdicts()
    assert not card.passed
    assert found["auto_retry"] == found["aws_nonfatal"] == "fail"  # the failed parts were ignored
    assert "never retried" in card.item("auto_retry").detail
    assert found["chunk_arithmetic"] == found["part_headers"] == "pass"  # ceil split, both headers
    assert found["token_refresh"] == "fail"


def test_frameio_4s_chunked_uploader_retries_everything_alike_and_never_refreshes() -> None:
    pytest.importorskip("frameio")
    found = run([sys.executable, str(DATA / "frameio_device.py")])
    assert found["chunk_arithmetic"] == found["part_headers"] == found["parallel"] == "pass"
    assert found["no_retry_403"] == found["aws_nonfatal"] == "fail"  # it sends an expired URL three times
    assert found["token_refresh"] == found["rate_limit_backoff"] == "fail"


def test_the_reference_device_pairs_itself_and_shows_the_code() -> None:
    session = run_check([*C2C, "device"], seed=4, timeout=180, pair=True)
    found = session.card.verdicts()
    assert found["user_code"] == "pass", session.card.item("user_code")
    assert found["token_refresh"] == found["resume"] == found["me_after_grant"] == "pass"
    failed = [(i.id, i.detail) for i in session.card.items if i.verdict == "fail" and i.id != "throughput"]
    assert not failed, failed  # (the throughput is timing: judged, not asserted here)


def test_c2c_check_with_its_input_closed_waits_for_a_device_and_says_why(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")}
    done = subprocess.run(
        [*C2C, "check", "--timeout", "2", "--json", str(tmp_path / "card.json")],
        stdin=subprocess.DEVNULL,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "standard input is closed, so no Enter can end the session" in done.stderr
    card = json.loads((tmp_path / "card.json").read_text())
    assert done.returncode == 1 and card["counts"]["fail"] == 1  # nothing uploaded: only "corrupt" can tell


def test_the_reference_device_keeps_its_tokens_private_and_its_queue_across_runs(tmp_path: Path) -> None:
    from c2c_sandbox import Sandbox

    folder, state = tmp_path / "card", tmp_path / "state"
    folder.mkdir()
    (folder / "A001.mov").write_bytes(os.urandom(1024 * 1024))
    (folder / "A002.mov").write_bytes(os.urandom(1024 * 1024))
    cancel = subprocess.run([*C2C, "device", "--state", str(state), "--cancel", "A002.mov"], timeout=60, check=False)
    assert cancel.returncode == 0
    with Sandbox() as sb:
        env = {**os.environ, "C2C_API_URL": sb.api_url, "C2C_ACCESS_TOKEN": sb.access_token, "C2C_CHECK_MINUTE": "1"}
        for _ in range(2):  # the second run finds the file done: it sends nothing for it
            done = subprocess.run(
                [*C2C, "device", str(folder), "--state", str(state), "--exit-when-idle", "1"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr[-2000:]
        assert [a.name for a in sb.store.assets()].count("A001.mov") == 1
        assert "A002.mov" not in [a.name for a in sb.store.assets()]  # cancelled before it was sent
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "tokens.json").stat().st_mode) == 0o600
    queue = json.loads((state / "queue.json").read_text())
    assert queue["A001.mov"]["state"] == "done" and queue["A002.mov"]["state"] == "cancelled"
    assert sb.access_token not in done.stderr


def test_the_reference_device_uploads_a_file_still_being_recorded_in_real_time(tmp_path: Path) -> None:
    from c2c_helpers.lab.recording import start_recording
    from c2c_sandbox import Sandbox

    folder = tmp_path / "card"
    folder.mkdir()
    with Sandbox() as sb:
        env = {**os.environ, "C2C_API_URL": sb.api_url, "C2C_ACCESS_TOKEN": sb.access_token, "C2C_CHECK_MINUTE": "1"}
        recording = start_recording(folder / "A003.mp4", size=12 * 1024 * 1024, rate=4 * 1024 * 1024)  # 3 s
        done = subprocess.run(
            [*C2C, "device", str(folder), "--state", str(tmp_path / "state"), "--exit-when-idle", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        recording.wait()
        assert done.returncode == 0, done.stderr[-2000:]
        (asset,) = [a for a in sb.store.assets() if a.name == "A003.mp4"]
        assert asset.realtime and sb.model.wait_for_asset(asset.id, 30).sha256 == recording.sha256
