"""The soak: the guide's test clip uploaded again and again while S3 fails, drops, stalls and damages parts, and
the sandbox is stopped and started again under the uploads.

Run it alone (it prints its figures; about a minute on a 2-core machine)::

    .venv/bin/python -m pytest tests/sandbox/test_soak.py -s -q -p no:cacheprovider

It is marked ``soak``: ``make test-fast`` leaves it out, ``make test`` (and CI) run it.

Each upload keeps a resume manifest and is run again from it after a failure, as a camera's queue would, up to
:data:`RUNS` times. Around one upload in :data:`RESTART_EVERY` the sandbox is stopped mid-upload and a new one is
started on the same data dir and port. What must hold: no upload reports success with other bytes than the
clip's (a *silent corruption*), and no run of ``upload_file`` outlives :data:`BOUND` (a *hang*). An upload that
fails for good must have said why; when its asset was nonetheless assembled with other bytes (a damaged part that
was the last one missing is assembled at once), its error must say so.
"""

from __future__ import annotations

import concurrent.futures
import errno
import random
import socket
import time
from collections import Counter
from pathlib import Path

import pytest

from c2c_helpers import (
    TEST_CLIP_SHA256,
    TEST_CLIP_SIZE,
    C2CClient,
    C2CError,
    RetryPolicy,
    UploadResult,
    upload_file,
)
from c2c_sandbox import Sandbox

UPLOADS = 200
SEED = 2026
FAULT_RATE = 0.3
KINDS = ("slow_down", "internal_error", "request_timeout", "drop", "stall", "corrupt")
#: Read timeout of each part PUT; a stall holds the answer for STALL seconds, well past it.
READ_TIMEOUT, STALL = 0.5, 1.0
#: Three attempts with short backoff: with 30 % of attempts failing, parts run out of attempts now and then,
#: and a restart (a few hundred ms without a server) usually outlasts them: both lead to a resumed run.
RETRY = RetryPolicy(max_attempts=3, initial_delay=0.02, max_delay=0.1)
#: Runs of upload_file per upload: the first, then resumes from its manifest.
RUNS = 4
#: The sandbox is restarted during one upload in this many, at a seeded moment of it.
RESTART_EVERY = 8
#: No run of upload_file may take longer than this (the worst case is a few stalls and the clip twice: ~4 s).
BOUND = 20.0


def free_port() -> int:
    """A free port below the kernel's ephemeral range: while the sandbox restarts on it, no outgoing connection
    (of this test or any other process) can be given it as its local port."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.Random().sample(range(max(1024, low - 8000), low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


class Restartable:
    """One sandbox at a time on a data dir and a port; ``restart()`` stops it and starts a fresh one there."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.fired: Counter[str] = Counter()
        self.restarts = 0
        self.sb = self._start()

    def _start(self) -> Sandbox:
        deadline = time.monotonic() + 10
        while True:  # the stopped one's listener may take a moment to go
            try:
                return Sandbox(data_dir=self.data_dir, port=self.port, create_rate=10_000).start()
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def restart(self) -> None:
        self.fired.update(self.sb.faults.fired)
        self.sb.stop()
        self.sb = self._start()
        self.restarts += 1

    def stop(self) -> None:
        self.fired.update(self.sb.faults.fired)
        self.sb.stop()


@pytest.mark.soak
@pytest.mark.timeout(240)
def test_soak_uploads_under_faults_and_restarts(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    runs: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    silent: list[str] = []
    hangs: list[str] = []
    unexplained: list[str] = []
    slowest = 0.0
    started = time.monotonic()
    box = Restartable(tmp_path / "sandbox")
    client = C2CClient(box.sb.api_url, box.sb.access_token)
    runner = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="soak")
    try:
        for i in range(UPLOADS):
            manifest = tmp_path / f"upload-{i}.resume.json"
            restart_at = rng.uniform(0.0, 0.15) if i % RESTART_EVERY == RESTART_EVERY - 1 else None
            result: UploadResult | None = None
            last: C2CError | None = None
            for run in range(1, RUNS + 1):
                box.sb.faults.random(FAULT_RATE, kinds=KINDS, seed=SEED * 1000 + i * 10 + run, seconds=STALL)
                began = time.monotonic()
                future = runner.submit(
                    upload_file, clip, client=client, workers=2, retry=RETRY, timeout=(2, READ_TIMEOUT),
                    wait=False, resume=manifest,
                )  # fmt: skip
                if restart_at is not None and run == 1:  # mid-upload: parts in flight, some acknowledged
                    time.sleep(restart_at)
                    box.restart()
                try:
                    result = future.result(timeout=BOUND)
                except concurrent.futures.TimeoutError:
                    hangs.append(f"upload {i} run {run}")
                    break
                except C2CError as err:
                    last = err
                    errors[type(err).__name__ if err.retryable else f"{type(err).__name__} (final)"] += 1
                    if not err.retryable:  # as a camera's queue would: this one is not worth another run
                        break
                    continue
                finally:
                    slowest = max(slowest, time.monotonic() - began)
                runs[run] += 1
                break
            if hangs:
                break
            if result is not None:
                sb = box.sb
                sb.wait_for_asset(result.asset.id, timeout=15)
                if sb.asset_sha256(result.asset.id) != TEST_CLIP_SHA256:
                    silent.append(f"upload {i}: asset {result.asset.id} reported sent, holds other bytes")
                    continue
                outcomes["completed exact"] += 1
                sb.asset_path(result.asset.id).unlink()  # 200 originals would be 4 GB
                continue
            assert last is not None
            said = "\n".join([str(last), *getattr(last, "__notes__", [])])
            asset = getattr(last, "asset", None)
            state = box.sb.store.asset(asset.id) if asset is not None else None
            if state is not None and state.status == "processing":  # being assembled: see how it ends
                state = box.sb.wait_for_asset(state.id, timeout=15)
            if state is not None and state.status == "complete":
                if box.sb.asset_sha256(asset.id) == TEST_CLIP_SHA256:  # type: ignore[union-attr]
                    outcomes["failed, yet the asset is exact"] += 1
                elif "does not hold this file" in said or "cannot tell whether the asset holds" in said:
                    outcomes["failed, saying the asset may hold other bytes"] += 1
                else:
                    unexplained.append(f"upload {i}: {type(last).__name__}: {said}")
            else:
                outcomes["failed loudly, asset incomplete"] += 1
    finally:
        runner.shutdown(wait=False, cancel_futures=True)
        client.close()
        box.stop()
    seconds = time.monotonic() - started
    fired = dict(sorted(box.fired.items()))

    def listed(counts: dict[str, int] | Counter[str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

    needed = ", ".join(f"{n} in {k}" for k, n in sorted(runs.items()))
    with capsys.disabled():
        print(
            f"\nsoak: {UPLOADS} uploads of the {TEST_CLIP_SIZE:,}-byte clip in {seconds:.1f} s (seed {SEED}; "
            f"{FAULT_RATE:.0%} of part attempts faulted; {box.restarts} sandbox restarts mid-upload; "
            f"{RETRY.max_attempts} attempts per part; up to {RUNS} runs per upload, resumed from its manifest)\n"
            + "".join(f"  {what}: {n}\n" for what, n in sorted(outcomes.items()))
            + f"  uploads that succeeded, by the run that did it: {needed}\n"
            f"  errors that ended a run: {sum(errors.values())} ({listed(errors)})\n"
            f"  silent corruptions: {len(silent)}; hangs: {len(hangs)}; slowest run: {slowest:.2f} s\n"
            f"  faults fired: {sum(fired.values())} ({listed(fired)})"
        )
    assert not silent, silent
    assert not hangs, hangs
    assert not unexplained, unexplained
    assert sum(outcomes.values()) == UPLOADS
    assert outcomes["completed exact"] >= 0.8 * UPLOADS  # a damaged part that completes the set is assembled as is
    assert box.restarts == UPLOADS // RESTART_EVERY
    assert set(fired) == set(KINDS) and min(fired.values()) >= 5  # every kind of fault, several times
    assert slowest < BOUND
