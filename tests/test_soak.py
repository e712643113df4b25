"""The soak: 200 uploads of the guide's test clip while S3 fails about 30 % of part attempts.

Run it alone (it prints its figures; about a minute on a 2-core machine)::

    .venv/bin/python -m pytest tests/test_soak.py -s -q -p no:cacheprovider

It is marked ``slow`` but nothing deselects ``slow`` by default, so ``make test`` (and CI) run it.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import time
from collections import Counter
from pathlib import Path

import pytest

from c2c_helpers import (
    TEST_CLIP_SHA256,
    TEST_CLIP_SIZE,
    C2CClient,
    C2CError,
    PartUploadError,
    ProgressEvent,
    RetryPolicy,
    UploadResult,
    plan_chunks,
    upload_file,
)
from c2c_sandbox import Sandbox

UPLOADS = 200
SEED = 2026
FAULT_RATE = 0.3
KINDS = ("slow_down", "internal_error", "request_timeout", "drop", "stall")
#: Read timeout of each part PUT; a stall holds the answer for STALL seconds, well past it.
READ_TIMEOUT, STALL = 0.5, 1.0
#: Three attempts with millisecond backoff: with 30 % of attempts failing, about 1 part in 37 runs out of
#: attempts, so the soak sees both outcomes (completed, and the typed error) many times.
RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)
#: No upload may take longer than this (the worst case is three stalls plus the clip twice: about 2 s).
BOUND = 20.0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_soak_200_uploads_under_random_s3_faults(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every upload completes with the clip's exact bytes or raises PartUploadError naming the part; none hangs.

    Replayable: the sandbox's fault generator is re-seeded with ``SEED + i`` before upload ``i`` and parts
    go one at a time (``workers=1``), so which attempt fails, and how, is the same on every run. (With two
    workers the two parts would race for the generator's draws.)
    """
    expected = {c.number: c.size for c in plan_chunks(TEST_CLIP_SIZE, ["u", "u"])}
    completed = failed = retries = attempts = 0
    failed_parts: Counter[int] = Counter()
    untyped: list[str] = []
    slowest = 0.0
    started = time.monotonic()
    with (
        Sandbox(data_dir=tmp_path / "sandbox", create_rate=10_000) as sb,
        C2CClient(sb.api_url, sb.access_token, controls=sb) as client,  # controls: wait=10 sees the assembly
    ):
        runner = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="soak")
        for i in range(UPLOADS):
            sb.faults.random(FAULT_RATE, kinds=KINDS, seed=SEED + i, seconds=STALL)
            events: list[ProgressEvent] = []
            began = time.monotonic()
            future = runner.submit(
                upload_file, clip, client=client, workers=1, retry=RETRY, timeout=(5, READ_TIMEOUT),
                progress=events.append, wait=10,
            )  # fmt: skip
            try:
                result: UploadResult = future.result(timeout=BOUND)
            except concurrent.futures.TimeoutError:
                pytest.fail(f"upload {i} (seed {SEED + i}) still running after {BOUND} s: it hangs")
            except PartUploadError as err:
                failed += 1
                failed_parts[err.part_number] += 1
                assert err.part_number in expected and str(err).startswith(f"part {err.part_number}: ")
                assert err.retryable and err.attempts == RETRY.max_attempts, err
                assert err.asset is not None and err.part_number not in err.parts_sent
                state = sb.store.asset(err.asset.id)
                assert state is not None and state.status in ("created", "uploading"), state  # never complete
                assert err.part_number not in {p.part_number for p in sb.store.parts(err.asset.id)}
            except C2CError as err:  # any other error of ours would be a bug here: collect, fail below
                untyped.append(f"upload {i}: {type(err).__name__}: {err}")
            else:
                completed += 1
                assert result.asset.is_complete and [p.number for p in result.parts] == [1, 2]
                assert sb.asset_sha256(result.asset.id) == TEST_CLIP_SHA256, f"upload {i}: wrong bytes"
                assert {p.part_number: p.size for p in sb.store.parts(result.asset.id)} == expected
                original = sb.asset_path(result.asset.id)
                if i % 40 == 0:  # the recorded sha256 is the file's: check it now and then
                    assert hashlib.sha256(original.read_bytes()).hexdigest() == TEST_CLIP_SHA256
                original.unlink()  # 200 originals would be 4 GB
            slowest = max(slowest, time.monotonic() - began)
            retries += sum(e.state == "retrying" for e in events)
            attempts += len({(e.part, e.attempt) for e in events if e.state == "sending"})
        sb.faults.clear()
        runner.shutdown()
        fired = dict(sorted(sb.faults.fired.items()))
    seconds = time.monotonic() - started
    total_fired = sum(fired.values())
    with capsys.disabled():
        print(
            f"\nsoak: {UPLOADS} uploads of the {TEST_CLIP_SIZE:,}-byte clip in {seconds:.1f} s (seed {SEED}, "
            f"{FAULT_RATE:.0%} of part attempts faulted, {RETRY.max_attempts} attempts per part)\n"
            f"  completed with the clip's sha256: {completed}\n"
            f"  failed with PartUploadError naming the part: {failed} (part 1: {failed_parts[1]}, "
            f"part 2: {failed_parts[2]})\n"
            f"  retries: {retries}; part attempts: {attempts}; slowest upload: {slowest:.2f} s\n"
            f"  faults fired: {total_fired} ({', '.join(f'{k} {v}' for k, v in fired.items())})"
        )
    assert not untyped, untyped
    assert completed + failed == UPLOADS
    assert completed >= 0.9 * UPLOADS and failed >= 1  # both outcomes happened
    assert set(fired) == set(KINDS) and min(fired.values()) >= 5  # every kind of fault, several times
    assert 0.2 < total_fired / attempts < 0.4
    # Every retry and every final failure was an injected fault (nothing else failed); a fault can also hit
    # the other part's attempt that was under way when an upload was stopped, hence up to `failed` more.
    assert retries + failed <= total_fired <= retries + 2 * failed
    assert slowest < BOUND and seconds < 180
