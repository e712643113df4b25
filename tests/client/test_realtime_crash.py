"""Crash safety of a real-time upload: ``c2c upload --realtime --resume`` is SIGKILLed at seeded random moments
while the file is being recorded, and started again (the recording goes on meanwhile); the recorder also goes back
and rewrites bytes it wrote earlier, as a muxer patches its header. Every take must end byte-identical at the
sandbox: 0 silent corruptions, 0 hangs. S3 meanwhile fails, drops and damages part attempts at random (seeded).
Every loop is bounded (attempts per take, seconds per run)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from c2c_sandbox import Sandbox

MiB = 1024 * 1024
TAKES = 4
KILLS_PER_TAKE = 2
RUN_LIMIT = 60.0  # seconds one run may take before it counts as a hang
SEED = 2026
#: S3 faults on about this share of part attempts: the part sender's retries and MD5/ETag check must absorb them
FAULT_RATE = 0.3
FAULT_KINDS = ("slow_down", "internal_error", "drop", "corrupt")


def _record(path: Path, size: int, rng: random.Random, stop: threading.Event) -> None:
    """Write `size` bytes at about 12 MiB/s in 256 KiB appends, rewriting a few earlier bytes on the way."""
    with open(path, "wb", buffering=0) as f:
        written = 0
        while written < size and not stop.is_set():
            block = rng.randbytes(min(256 * 1024, size - written))
            f.seek(written)
            f.write(block)
            written += len(block)
            if written > MiB and rng.random() < 0.05:  # go back and patch something already written
                f.seek(rng.randrange(0, written - 16))
                f.write(b"patched!")
            time.sleep(0.02)
        f.seek(0)
        f.write(b"HEADER-AT-CLOSE")  # the muxer's last word: the file's first bytes, rewritten at the end


@pytest.mark.soak
def test_killed_and_restarted_mid_recording_every_take_ends_exact(sandbox: Sandbox, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    env = {**os.environ, "C2C_API_URL": sandbox.api_url, "C2C_ACCESS_TOKEN": sandbox.access_token}
    kills = restarts = 0
    sandbox.faults.random(FAULT_RATE, kinds=FAULT_KINDS, seed=SEED, seconds=1.0)  # cleared after the test
    for take in range(TAKES):
        path = tmp_path / f"take{take}.mp4"
        manifest = tmp_path / f"take{take}.json"
        stop = threading.Event()
        writer = threading.Thread(target=_record, args=(path, rng.randrange(12 * MiB, 20 * MiB), rng, stop))
        writer.start()
        command = [
            sys.executable, "-m", "c2c_helpers.tools.cli", "upload", "--realtime", str(path), "--resume",
            str(manifest), "--part-size", str(5 * MiB), "--idle-timeout", "1", "--no-progress", "--attempts", "8",
        ]  # fmt: skip
        try:
            for attempt in range(KILLS_PER_TAKE + 3):  # bounded: the kills, then runs left alone
                run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                if attempt < KILLS_PER_TAKE:
                    time.sleep(rng.uniform(0.1, 1.2))
                    if run.poll() is None:
                        run.send_signal(signal.SIGKILL)
                        kills += 1
                try:
                    out, err = run.communicate(timeout=RUN_LIMIT)
                except subprocess.TimeoutExpired:
                    run.kill()
                    run.communicate()
                    pytest.fail(f"take {take}: a run hung for {RUN_LIMIT:.0f} s")
                if run.returncode == 0:
                    break
                restarts += 1
            else:
                pytest.fail(f"take {take}: no run finished: {err[-500:]}")
        finally:
            stop.set()
            writer.join(30)
        asset_id = next(w for w in out.split() if len(w) == 36 and w.count("-") == 4)
        asset = sandbox.wait_for_asset(asset_id, 30)
        assert asset.status == "complete", asset.error
        assert asset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), f"take {take}: silent corruption"
        assert not manifest.exists()
    fired = dict(sandbox.faults.fired)
    assert sum(fired.values()) >= 3, fired  # S3 did fail under the uploads
    print(
        f"real-time crash test: {TAKES} takes, {kills} kills, {restarts} restarts, faults {fired}, "
        "0 silent corruptions, 0 hangs"
    )
