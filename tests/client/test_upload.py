"""upload_file and upload_chunk against the sandbox: parts, order, parallelism, progress, faults, bad input, Ctrl-C."""

from __future__ import annotations

import _thread
import hashlib
import json
import logging
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from c2c_helpers import (
    TEST_CLIP_SHA256,
    TEST_CLIP_SIZE,
    C2CClient,
    ChannelPaused,
    ConfigurationError,
    FileChanged,
    InvalidArgument,
    InvalidFile,
    PartUploadError,
    ProgressEvent,
    RetryPolicy,
    UploadError,
    UploadInterrupted,
    UploadURLExpired,
    plan_chunks,
    upload_chunk,
    upload_file,
)
from c2c_helpers.chunks import Chunk
from c2c_helpers.parts import READ_BLOCK, PartResult
from c2c_helpers.retry import is_retryable
from c2c_helpers.upload import UploadResult
from c2c_sandbox import Sandbox

if TYPE_CHECKING:
    from conftest import StubServer

MIB = 1024 * 1024
QUICK = (0.5, 0.5)  # connect (also bounds a blocked send), read: stalls and delays noticed in 0.5 s


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def received(sb: Sandbox, asset_id: str) -> list[int]:
    detail = sb.asset_detail(asset_id)
    assert detail is not None
    return [p["number"] for p in detail["parts"] if p["received"]]


def asset_count(sb: Sandbox) -> int:
    return len(sb.store.assets())


# -- the clip, as the guide uploads it -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "workers", "expected_parts"),
    [(None, 1, 2), (None, 4, 2), (1, 1, 1), (4, 1, 4), (4, 4, 4)],
    ids=["guide-2-sequential", "guide-2-parallel", "1-part", "4-sequential", "4-parallel"],
)
def test_clip_uploads_and_the_original_matches(
    clip: Path, client: C2CClient, sandbox: Sandbox, parts: int | None, workers: int, expected_parts: int
) -> None:
    result = upload_file(clip, client=client, parts=parts, workers=workers)
    assert sandbox.asset_sha256(result.asset.id) == TEST_CLIP_SHA256
    assert result.asset.is_complete and result.asset.upload_completed_at
    assert result.asset.name == "C2C_TEST_CLIP.mp4" and result.asset.filetype == "video/mp4"
    assert [p.number for p in result.parts] == list(range(1, expected_parts + 1))
    assert all(p.etag and p.attempts == 1 for p in result.parts)
    assert sum(p.bytes for p in result.parts) == result.bytes == TEST_CLIP_SIZE
    assert result.attempts == expected_parts and result.retries == 0 and result.seconds > 0


def test_clip_parts_in_reverse_order(clip: Path, client: C2CClient, sandbox: Sandbox) -> None:
    asset = client.create_asset("reversed.mp4", "video/mp4", TEST_CLIP_SIZE, 10)
    chunks = plan_chunks(TEST_CLIP_SIZE, asset.upload_urls)
    assert [c.size for c in chunks] == [10_568_125, 10_568_125]
    for chunk in reversed(chunks):
        assert upload_chunk(clip, chunk, "video/mp4").number == chunk.number
    done = sandbox.wait_for_asset(asset.id, timeout=30)  # a sandbox control: a device cannot read it back
    assert done.upload_completed_at and sandbox.asset_sha256(asset.id) == TEST_CLIP_SHA256


def test_without_waiting_the_asset_completes_later(clip: Path, client: C2CClient, sandbox: Sandbox) -> None:
    result = upload_file(clip, client=client, wait=False, name="no-wait.mp4")
    assert result.summary(timing=False).endswith("all 2 parts acknowledged") and result.assembled is None
    assert sandbox.wait_for_asset(result.asset.id, timeout=30).status == "complete"


# -- progress -----------------------------------------------------------------------------------------------


def test_progress_is_absolute_per_part_and_delivered_on_the_callers_thread(clip: Path, client: C2CClient) -> None:
    events: list[tuple[int, ProgressEvent]] = []
    upload_file(clip, client=client, parts=4, workers=4, progress=lambda e: events.append((threading.get_ident(), e)))
    assert {ident for ident, _ in events} == {threading.get_ident()}
    evs = [e for _, e in events]
    assert [e.state for e in evs[:4]] == ["queued"] * 4 and [e.part for e in evs[:4]] == [1, 2, 3, 4]
    assert all(0 <= e.bytes_sent <= e.total == TEST_CLIP_SIZE for e in evs)
    assert evs[-1].bytes_sent == TEST_CLIP_SIZE and evs[-1].fraction == 1.0
    for part in (1, 2, 3, 4):
        mine = [e for e in evs if e.part == part]
        assert mine[-1].state == "done" and mine[-1].part_bytes == mine[-1].part_size
        assert len([e for e in mine if e.state == "sending"]) > 2  # streamed, reported as it goes


def test_a_retry_resets_its_part_so_the_total_never_passes_100_percent(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, fast_retry: RetryPolicy
) -> None:
    path = make_file()
    sandbox.faults.inject("drop", part=1, times=1)  # closes the connection after half of part 1
    events: list[ProgressEvent] = []
    result = upload_file(path, client=client, parts=2, workers=2, retry=fast_retry, progress=events.append)
    assert result.attempts == 3 and result.parts[0].attempts == 2
    part1 = [e for e in events if e.part == 1]
    retry_at = next(i for i, e in enumerate(part1) if e.state == "retrying")
    assert part1[retry_at].part_bytes == 0 and "part 1" in (part1[retry_at].message or "")
    assert max(e.part_bytes for e in part1[:retry_at]) > 0  # it had sent bytes before the drop
    assert max(e.bytes_sent for e in events) == path.stat().st_size
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)


# -- faults ------------------------------------------------------------------------------------------------

FAULT_SECONDS = {"stall": 1.5, "delay": 0.1}


@pytest.mark.parametrize("kind", ["slow_down", "internal_error", "request_timeout", "drop", "stall", "delay"])
def test_each_fault_once_is_survived(
    kind: str, make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, fast_retry: RetryPolicy
) -> None:
    path = make_file()
    sandbox.faults.inject(kind, part=2, times=1, seconds=FAULT_SECONDS.get(kind))
    result = upload_file(path, client=client, parts=2, workers=2, retry=fast_retry, timeout=QUICK)
    retried = kind != "delay"  # a short delay is just a slow answer
    assert [p.attempts for p in result.parts] == [1, 2 if retried else 1]
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)


@pytest.mark.parametrize(
    ("kind", "status", "s3_code", "words"),
    [
        ("slow_down", 503, "SlowDown", "Please reduce your request rate"),
        ("internal_error", 500, "InternalError", "internal error"),
        ("request_timeout", 400, "RequestTimeout", "socket connection"),
        ("drop", None, None, "connection failed or was closed"),
        ("stall", None, None, "no answer within 0.5 s"),
        ("delay", None, None, "no answer within 0.5 s"),  # the sandbox takes the body, then answers late
    ],
)
def test_each_fault_outlasting_the_retries_is_raised_with_its_context(
    kind: str,
    status: int | None,
    s3_code: str | None,
    words: str,
    make_file: Callable[..., Path],
    client: C2CClient,
    sandbox: Sandbox,
    fast_retry: RetryPolicy,
) -> None:
    path = make_file()
    sandbox.faults.inject(kind, part=2, times=50, seconds=1.5 if kind in ("stall", "delay") else None)
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=2, workers=2, retry=fast_retry, timeout=QUICK)
    err = info.value
    assert not isinstance(err, UploadURLExpired)
    assert (err.part_index, err.part_number, err.attempts) == (1, 2, 3)
    assert err.status == status and err.s3_code == s3_code and err.retryable
    assert str(err).startswith("part 2: ") and words in str(err) and "attempt 3" in str(err)
    assert err.url is not None and "partNumber=2" in err.url and "X-Amz" not in err.url
    assert "X-Amz" not in str(err) + "".join(err.__notes__)
    assert any("gave up after 3 attempts" in note for note in err.__notes__)
    assert err.asset is not None and err.parts_sent in ((), (1,))
    assert any(err.asset.id in note for note in err.__notes__)
    if kind == "delay":  # the sandbox took each body and stores it late: the asset may complete after all
        sandbox.wait_for_asset(err.asset.id, timeout=10)  # let the late answers land before the next test
    else:
        assert sandbox.store.asset(err.asset.id).status != "complete"


def test_expired_url_raises_upload_url_expired_and_is_not_retried(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, fast_retry: RetryPolicy
) -> None:
    path = make_file()
    sandbox.set_url_ttl(1)

    def linger(event: ProgressEvent) -> None:
        if event.state == "queued" and event.part == 1:
            time.sleep(2.05)  # the URLs (signed to the second, valid 1 s) are dead before the first PUT

    with pytest.raises(UploadURLExpired) as info:
        upload_file(path, client=client, parts=2, retry=fast_retry, progress=linger)
    err = info.value
    assert err.status == 403 and err.s3_code == "AccessDenied" and err.attempts == 1 and not err.retryable
    assert "Request has expired" in str(err) and "create the asset again" in str(err)
    assert err.parts_sent == () and received(sandbox, err.asset.id) == []


def test_wrong_content_type_is_signature_mismatch_and_not_retried(
    make_file: Callable[..., Path], client: C2CClient, fast_retry: RetryPolicy
) -> None:
    path = make_file(size=10)
    asset = client.create_asset("typed.mov", "video/quicktime", 10, 0)
    (chunk,) = plan_chunks(10, asset.upload_urls)
    with pytest.raises(PartUploadError) as info:
        upload_chunk(path, chunk, "video/mp4", retry=fast_retry)
    err = info.value
    assert (err.status, err.s3_code, err.attempts, err.retryable) == (403, "SignatureDoesNotMatch", 1, False)
    assert "Content-Type" in str(err)


def test_a_part_of_a_finished_upload_is_no_such_upload(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, fast_retry: RetryPolicy
) -> None:
    path = make_file(size=10)
    asset = client.create_asset("done.mov", "video/quicktime", 10, 0)
    (chunk,) = plan_chunks(10, asset.upload_urls)
    upload_chunk(path, chunk, "video/quicktime")
    sandbox.wait_for_asset(asset.id, timeout=10)
    with pytest.raises(PartUploadError) as info:
        upload_chunk(path, chunk, "video/quicktime", retry=fast_retry)
    assert (info.value.status, info.value.s3_code, info.value.attempts) == (404, "NoSuchUpload", 1)


def test_paused_device_raises_channel_paused_before_any_part(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    path = make_file(size=10)
    sandbox.pause()
    before = asset_count(sandbox)
    with pytest.raises(ChannelPaused):
        upload_file(path, client=client, offset=0)
    assert asset_count(sandbox) == before


# -- bad input: refused before anything is sent ----------------------------------------------------------


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, dict[str, Any], str]]:
    (tmp / "folder.mov").mkdir()
    (tmp / "empty.mov").write_bytes(b"")
    (tmp / "mystery.qqq").write_bytes(b"x" * 10)
    (tmp / "small.mov").write_bytes(b"x" * 11 * MIB)
    return {
        "missing": (tmp / "nope.mov", {}, "no such file"),
        "directory": (tmp / "folder.mov", {}, "is a directory"),
        "empty": (tmp / "empty.mov", {}, "the file is empty"),
        "unknown-type": (tmp / "mystery.qqq", {}, "cannot tell the MIME type"),
        "bad-filetype": (tmp / "small.mov", {"filetype": "movie"}, "filetype must be a MIME type"),
        "parts-too-small": (tmp / "small.mov", {"parts": 3}, "at least 5,242,880 bytes"),
        "parts-leave-url-empty": (tmp / "mystery.qqq", {"parts": 6, "filetype": "x/y"}, "leave 1 URL empty"),
        "parts-zero": (tmp / "small.mov", {"parts": 0}, "parts must be between 1 and 10000"),
        "no-name": (tmp / "small.mov", {"name": " "}, "name must be a non-empty string"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "directory",
        "empty",
        "unknown-type",
        "bad-filetype",
        "parts-too-small",
        "parts-leave-url-empty",
        "parts-zero",
        "no-name",
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    case: str, tmp_path: Path, client: C2CClient, sandbox: Sandbox
) -> None:
    path, kwargs, message = _bad_inputs(tmp_path)[case]
    before = asset_count(sandbox)
    with pytest.raises(InvalidArgument, match=message) as info:  # InvalidFile when it is the file's fault
        upload_file(path, client=client, **kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, InvalidFile) == (case != "parts-zero")
    assert asset_count(sandbox) == before


def test_unknown_type_message_says_how_to_pass_one(tmp_path: Path, client: C2CClient, sandbox: Sandbox) -> None:
    path = tmp_path / "capture.qqq"
    path.write_bytes(b"data")
    with pytest.raises(InvalidFile, match="filetype='video/mp4'"):
        upload_file(path, client=client)
    result = upload_file(path, client=client, filetype="application/octet-stream")
    assert sandbox.asset_bytes(result.asset.id) == b"data"


def test_bad_workers_and_wait(make_file: Callable[..., Path], client: C2CClient) -> None:
    path = make_file(size=10)
    with pytest.raises(ValueError, match="workers"):
        upload_file(path, client=client, workers=0)
    with pytest.raises(ValueError, match="wait"):
        upload_file(path, client=client, wait=-1)


def test_no_client_and_no_environment_is_a_configuration_error(
    make_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.delenv("C2C_API_URL", raising=False)
    monkeypatch.delenv("C2C_ACCESS_TOKEN", raising=False)
    before = asset_count(sandbox)
    with pytest.raises(ConfigurationError):
        upload_file(make_file(size=10))
    assert asset_count(sandbox) == before


def test_client_from_the_environment(
    make_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url)
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    result = upload_file(make_file(size=1000))
    assert result.assembled is None  # a client made from the environment has no sandbox controls: no wait
    assert sandbox.wait_for_asset(result.asset.id).sha256 is not None


def test_an_asset_without_upload_urls_is_an_upload_error(
    make_file: Callable[..., Path], stub_server: StubServer
) -> None:
    body = {"id": "a-1", "name": "x.mov", "filetype": "video/quicktime", "filesize": 10, "upload_urls": []}
    stub_server.handler = lambda *a: (200, {"Content-Type": "application/json"}, json.dumps(body).encode())
    with pytest.raises(UploadError, match="no upload URLs") as info:
        upload_file(make_file(size=10), client=C2CClient(stub_server.url, "stub-token-value"))
    assert info.value.asset.id == "a-1"
    assert [m for m, _ in stub_server.requests] == ["POST"]  # no PUT went anywhere


# -- files that change -------------------------------------------------------------------------------------


def test_file_changed_before_the_parts_are_sent(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    path = make_file()

    def grow(event: ProgressEvent) -> None:
        if event.state == "queued" and event.part == 1:
            with path.open("ab") as f:
                f.write(b"more")

    with pytest.raises(FileChanged, match="changed size from 11,534,336 to 11,534,340 bytes") as info:
        upload_file(path, client=client, parts=2, progress=grow)
    assert info.value.parts_sent == () and received(sandbox, info.value.asset.id) == []


def test_file_grown_while_uploading(make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox) -> None:
    path = make_file()

    def grow(event: ProgressEvent) -> None:
        if event.state == "done" and event.part == 1:
            with path.open("ab") as f:
                f.write(b"more")

    with pytest.raises(FileChanged, match=r"every part \(2 of 2\) was acknowledged, so the service assembles") as info:
        upload_file(path, client=client, parts=2, workers=1, progress=grow)
    assert info.value.parts_sent == (1, 2) and info.value.asset is not None


def test_file_shrunk_under_a_part_is_not_sent_short(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, fast_retry: RetryPolicy
) -> None:
    path = make_file()
    size = path.stat().st_size
    asset = client.create_asset("shrinks.mov", "video/quicktime", size, 0, parts=2)
    chunks = plan_chunks(size, asset.upload_urls)
    with path.open("r+b") as f:
        f.truncate(6 * MIB)  # part 2 starts at 5.5 MiB: its reader runs dry half a MiB in
    with pytest.raises(FileChanged, match="shrank while part 2 was being read"):
        upload_chunk(path, chunks[1], "video/quicktime", retry=fast_retry)
    assert received(sandbox, asset.id) == []


# -- Ctrl-C --------------------------------------------------------------------------------------------------


def test_ctrl_c_in_the_progress_callback_stops_the_workers(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    path = make_file()
    sandbox.faults.inject("delay", part=2, seconds=4)

    def interrupt(event: ProgressEvent) -> None:
        if event.state == "done" and event.part == 1:
            raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(UploadInterrupted) as info:
        upload_file(path, client=client, parts=2, workers=2, progress=interrupt)
    assert time.monotonic() - started < 3  # did not wait for the delayed part (4 s)
    err = info.value
    assert isinstance(err, KeyboardInterrupt) and not isinstance(err, Exception)
    assert (err.parts_sent, err.parts_total) == ((1,), 2)
    assert str(err) == "upload interrupted: part 1 of 2 was sent; part 2 was not"
    assert err.asset is not None


def test_ctrl_c_signal_in_the_callers_thread(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox
) -> None:
    path = make_file()
    sandbox.faults.inject("delay", part=1, seconds=4)
    sandbox.faults.inject("delay", part=2, seconds=4)
    timer = threading.Timer(0.3, _thread.interrupt_main)  # what Ctrl-C does to the main thread
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(UploadInterrupted) as info:
            upload_file(path, client=client, parts=2, workers=2)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3  # the parts' 4 s delays were not waited for
    assert info.value.parts_sent == () and "no part of 2 was sent" in str(info.value)


# -- streaming, timeouts, headers ------------------------------------------------------------------------


def test_a_part_is_streamed_with_bounded_memory(tmp_path: Path, stub_server: StubServer) -> None:
    size = 64 * MIB
    path = tmp_path / "big.mov"
    with path.open("wb") as f:
        f.truncate(size)  # sparse: no disk, all zeros
    seen: dict[str, Any] = {}

    def sink(method: str, target: str, headers: Any, stream: Any) -> tuple[int, dict[str, str], bytes]:
        seen["headers"] = dict(headers)
        seen["received"] = stub_server.read_body(headers, stream)
        return 200, {"ETag": '"abc"'}, b""

    stub_server.handler = sink
    sent: list[Any] = []

    class Recording(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            sent.append((request.body, dict(request.headers), kwargs.get("timeout")))
            return super().send(request, **kwargs)

    session = requests.Session()
    session.mount("http://", Recording())
    chunk = Chunk(0, 0, size, size, f"{stub_server.url}/b/k?partNumber=1&X-Amz-Signature=feed")
    result = upload_chunk(path, chunk, "video/quicktime", session=session)
    assert result == PartResult(number=1, etag="abc", attempts=1, bytes=size, md5=result.md5, etag_verified=False)
    assert len(result.md5) == 32  # hashed while streamed; "abc" is no MD5, so nothing was checked against it
    assert seen["received"] == size
    # Memory, measured in a process of its own: here, other tests' sandbox threads allocate too.
    probe = (
        "import sys, tracemalloc\n"
        "from c2c_helpers.chunks import Chunk\n"
        "from c2c_helpers.parts import upload_chunk\n"
        "tracemalloc.start()\n"
        f"upload_chunk({str(path)!r}, Chunk(0, 0, {size}, {size}, {chunk.url!r}), 'video/quicktime')\n"
        "print(tracemalloc.get_traced_memory()[1])\n"
    )
    peak = int(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60).stdout
    )
    assert peak < 4 * READ_BLOCK, f"peak {peak:,} bytes while sending {size:,}"
    ((body, headers, timeout),) = sent
    assert not isinstance(body, bytes | bytearray)  # a stream, not the part in memory
    assert headers["Content-Length"] == str(size) and "Transfer-Encoding" not in headers
    assert headers["Content-Type"] == "video/quicktime" and headers["x-amz-acl"] == "private"
    assert "Authorization" not in headers  # the bearer token never goes to S3
    assert isinstance(timeout, tuple) and len(timeout) == 2 and all(t > 0 for t in timeout)


def test_logs_and_errors_never_carry_signatures_or_tokens(
    make_file: Callable[..., Path],
    client: C2CClient,
    sandbox: Sandbox,
    fast_retry: RetryPolicy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = make_file()
    sandbox.faults.inject("slow_down", part=1, times=1)
    sandbox.faults.inject("internal_error", part=2, times=50)
    caplog.set_level(logging.DEBUG, logger="c2c_helpers")
    with pytest.raises(PartUploadError) as info:
        upload_file(path, client=client, parts=2, workers=2, retry=fast_retry)
    err = info.value
    shown = "\n".join(
        [caplog.text, str(err), repr(err), *err.__notes__, repr(err.asset), repr(client), err.url or ""]
        + [repr(c) for c in plan_chunks(path.stat().st_size, err.asset.upload_urls)]
    )
    assert "retrying in" in caplog.text  # the retry was logged...
    for secret in ("X-Amz-Signature", "X-Amz-Credential", sandbox.access_token, sandbox.client_secret):
        assert secret not in shown  # ...without a secret
    signatures = [u.split("X-Amz-Signature=")[1] for u in err.asset.upload_urls]
    assert not any(s in shown for s in signatures)


# -- pure parts ---------------------------------------------------------------------------------------------


def test_retry_delays_are_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=20.0, multiplier=2.0, jitter=1.0)
    rng = random.Random(7)
    for retry in range(1, 12):
        cap = min(20.0, 2.0 ** (retry - 1))
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # jitter spreads them over the range
    assert RetryPolicy(jitter=0).delay(50) == 20.0


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"initial_delay": -1}, {"multiplier": 0.5}, {"jitter": 2}, {"max_attempts": True}]
)
def test_retry_policy_refuses_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_retry_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().max_attempts = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (None, None, True),
        (408, None, True),
        (429, None, True),
        (500, "InternalError", True),
        (503, "SlowDown", True),
        (503, "ServiceUnavailable", True),
        (400, "RequestTimeout", True),
        (403, "AccessDenied", False),
        (403, "SignatureDoesNotMatch", False),
        (404, "NoSuchUpload", False),
        (400, "EntityTooLarge", False),
    ],
)
def test_what_is_retried(status: int | None, code: str | None, expected: bool) -> None:
    assert is_retryable(status, code) is expected


def test_upload_result_summary() -> None:
    from c2c_helpers import Asset

    asset = Asset("id", "a.mov", "video/quicktime", 3, (), "created", None)
    result = UploadResult(asset, (PartResult(1, "e", 1, 3),), 3, 0.0, 1)
    assert result.summary(timing=False) == "uploaded 'a.mov': 3 bytes in 1 part, 1 attempt, all 1 part acknowledged"
    assembled = UploadResult(asset, (PartResult(1, "e", 1, 3),), 3, 0.0, 1, assembled=True)
    assert assembled.summary(timing=False).endswith("all 1 part acknowledged, assembled by the sandbox")


# -- cleaning up ---------------------------------------------------------------------------------------------


def test_a_failed_upload_closes_its_part_session_and_stops_its_workers(
    make_file: Callable[..., Path],
    client: C2CClient,
    sandbox: Sandbox,
    fast_retry: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import c2c_helpers.pool

    closed: list[bool] = []
    real_session = c2c_helpers.pool.part_session

    def spy_session(workers: int) -> requests.Session:
        session = real_session(workers)
        real_close = session.close
        session.close = lambda: (closed.append(True), real_close())[1]  # type: ignore[method-assign]
        return session

    monkeypatch.setattr(c2c_helpers.pool, "part_session", spy_session)
    sandbox.faults.inject("internal_error", part=2, times=50)
    with pytest.raises(PartUploadError):
        upload_file(make_file(), client=client, parts=2, workers=2, retry=fast_retry)
    assert closed == [True]
    deadline = time.monotonic() + 5
    while any(t.name.startswith("c2c-part") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name.startswith("c2c-part") for t in threading.enumerate())


def test_upload_file_closes_the_client_it_created(
    clip: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url)
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    closed: list[C2CClient] = []
    real_close = C2CClient.close
    monkeypatch.setattr(C2CClient, "close", lambda self: (closed.append(self), real_close(self))[1])
    result = upload_file(clip, wait=False)
    assert len(closed) == 1 and result.parts
    given = C2CClient(sandbox.api_url, sandbox.access_token)
    upload_file(clip, client=given, wait=False)
    assert len(closed) == 1  # a client the caller passed stays open


# -- verify=False ---------------------------------------------------------------------------------------------


def test_verify_false_hashes_nothing_and_the_bytes_still_arrive(
    make_file: Callable[..., Path], client: C2CClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_file(size=11 * 1024 * 1024)
    with caplog.at_level(logging.WARNING, logger="c2c_helpers"):
        result = upload_file(path, client=client, parts=2, verify=False)
    assert not any(p.etag_verified for p in result.parts)
    assert [p.md5 for p in result.parts] == [p.etag.strip('"') for p in result.parts]  # S3's MD5, not one of ours
    assert not [r for r in caplog.records if "could not be checked" in r.getMessage()]  # asked for: no warning
    assert sandbox.asset_sha256(result.asset.id) == sha256(path)


def test_verify_false_does_not_notice_a_part_damaged_on_the_way(
    make_file: Callable[..., Path], fresh_sandbox: Sandbox
) -> None:
    """The trade-off, shown: the ``corrupt`` fault flips a bit that verify=True catches (and sends again)."""
    path = make_file(size=11 * 1024 * 1024)
    fresh_sandbox.faults.inject("corrupt", part=1, times=1)
    with C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token, controls=fresh_sandbox) as client:
        result = upload_file(path, client=client, parts=2, verify=False)
    assert result.parts[0].attempts == 1 and fresh_sandbox.asset_sha256(result.asset.id) != sha256(path)


def test_verify_must_be_a_bool(make_file: Callable[..., Path], client: C2CClient) -> None:
    with pytest.raises(InvalidArgument, match="verify must be True or False"):
        upload_file(make_file(), client=client, verify="no")  # type: ignore[arg-type]
