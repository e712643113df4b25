"""One part: its bytes streamed from disk to the presigned URL, retried, reported as it goes.

:func:`upload_chunk` sends one :class:`~c2c_helpers.chunks.Chunk` with a PUT to its presigned URL and the two
headers the URL was signed with (``Content-Type: <filetype>``, ``x-amz-acl: private``). The body is a
:class:`PartBody`: the part's bytes read from disk block by block into one reused buffer, so memory does not
grow with the part and no block is copied twice. Transient failures are retried according to a
:class:`~c2c_helpers.retry.RetryPolicy`; a part that fails for good raises
:class:`~c2c_helpers.errors.PartUploadError` naming the part, status, S3 code and attempts.

Each part is hashed (MD5) as it streams, and S3's answer is checked: the ``ETag`` of an unencrypted or SSE-S3
part is the MD5 of the bytes S3 stored, so a different one means the part was damaged on the way, and it is
sent again like any transient failure (:mod:`c2c_helpers.integrity`). An ETag that is not an MD5 (SSE-KMS,
``"<md5>-<n>"``) cannot be checked: the result says so (``PartResult.etag_verified`` is False).

The worker pool calls :func:`send_part`, which returns the last :class:`~c2c_helpers.retry.PartFailure`
instead of raising it, so that the error is built once, by the pool, with the asset and the parts sent.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import requests

from c2c_helpers._http import Timeout, install_log_redaction, new_session, normalize_timeout
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import FileChanged
from c2c_helpers.integrity import md5_hex, new_md5
from c2c_helpers.progress import PartProgress, State
from c2c_helpers.retry import PartFailure, RetryPolicy

__all__ = [
    "PART_TIMEOUT",
    "PROGRESS_STEP",
    "READ_BLOCK",
    "Cancelled",
    "PartBody",
    "PartResult",
    "part_session",
    "send_part",
    "upload_chunk",
    "warn_unverified",
]

logger = logging.getLogger("c2c_helpers")

#: Seconds to wait for S3 once a part's last byte is sent. S3 answers a part within seconds of its last byte
#: and drops sockets idle for ~20 s itself (RequestTimeout), so a minute of silence means the attempt is dead
#: and another attempt has a better chance.
PART_READ_TIMEOUT = 60.0
#: Seconds to wait for a connection to S3, and (urllib3 applies the connect timeout while the body is sent)
#: the longest one send of the body may block: a link that moves no byte for 10 s is stalled. Longer than
#: the API's 5 s, because a camera's uplink is often busy with the other parts.
PART_CONNECT_TIMEOUT = 10.0
#: ``(connect, read)`` timeouts of each part PUT.
PART_TIMEOUT: tuple[float, float] = (PART_CONNECT_TIMEOUT, PART_READ_TIMEOUT)
#: Progress is reported at most once per this many bytes of a part (and at its end): fine enough for a smooth
#: bar, coarse enough that a 5 GiB part does not flood the queue with 16 KiB events.
PROGRESS_STEP = 256 * 1024
#: Largest block read from disk and sent at once: bounds memory per worker (one buffer of this size).
READ_BLOCK = 1024 * 1024


class Cancelled(Exception):
    """Raised inside a worker when the upload was cancelled (another part failed, or Ctrl-C)."""


@dataclass(frozen=True)
class PartResult:
    """A part S3 accepted: its ``number`` (1-based), S3's ``etag``, how many ``attempts`` it took, its ``bytes``.

    ``md5`` is the hex MD5 of the bytes sent (for a part resumed from a manifest: of the file's bytes, re-read
    and found equal to what the manifest recorded); ``etag_verified`` says whether S3's ETag was found equal to
    it. It is False where the ETag is not an MD5 (e.g. SSE-KMS): then nothing vouches for the stored bytes.
    """

    number: int
    etag: str
    attempts: int
    bytes: int
    md5: str = ""
    etag_verified: bool = False


def part_session(workers: int = 1) -> requests.Session:
    """A session for part PUTs: no token (presigned URLs carry their own permission), one connection per
    worker, bodies sent :data:`READ_BLOCK` bytes at a time."""
    return new_session(connections=workers, send_block=READ_BLOCK)


class PartBody:
    """The body of one part PUT: bytes ``[start, end)`` of a file, read block by block into `buffer`.

    ``requests`` streams a body that has ``read()`` and takes its Content-Length from ``len()``, so a part is
    never in memory whole. Each ``read`` fills the one buffer, adds it to the part's MD5 and returns a view of
    it (urllib3 sends a block before it asks for the next, so :attr:`md5` is the digest of exactly what was
    sent). Reading past the file's end early means the file shrank: that raises
    :class:`~c2c_helpers.errors.FileChanged` rather than sending a short part.
    """

    def __init__(
        self,
        path: Path,
        chunk: Chunk,
        buffer: bytearray,
        *,
        on_read: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self._path, self._chunk, self._view = path, chunk, memoryview(buffer)
        self._on_read, self._cancel = on_read, cancel
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close(), after requests is done
        self._file.seek(chunk.start)
        self._sent = 0
        self._reported = 0
        self._md5 = new_md5()

    def __len__(self) -> int:
        return self._chunk.size

    def read(self, n: int | None = -1) -> memoryview | bytes:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled
        remaining = self._chunk.size - self._sent
        if remaining <= 0:
            return b""
        want = min(remaining, len(self._view) if n is None or n < 0 else n, len(self._view))
        got = self._file.readinto(self._view[:want])
        if not got:
            raise FileChanged(
                f"{self._path.name} shrank while part {self._chunk.number} was being read: it ended at byte "
                f"{self._chunk.start + self._sent:,}, before the part's end at {self._chunk.end:,}",
            )
        self._sent += got
        self._md5.update(self._view[:got])  # hashlib releases the GIL on 1 MiB blocks: workers hash in parallel
        if self._on_read is not None and (
            self._sent - self._reported >= PROGRESS_STEP or self._sent == self._chunk.size
        ):
            self._reported = self._sent
            self._on_read(self._sent)
        return self._view[:got]

    @property
    def sent(self) -> int:
        """Bytes read (and so sent) so far."""
        return self._sent

    @property
    def md5(self) -> str:
        """The hex MD5 of the bytes read so far (of the whole part once it was sent)."""
        return self._md5.hexdigest()

    def close(self) -> None:
        self._file.close()


def send_part(
    path: Path,
    chunk: Chunk,
    filetype: str,
    *,
    session: requests.Session,
    timeout: tuple[float, float],
    retry: RetryPolicy,
    progress: Callable[[PartProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> PartResult | PartFailure:
    """Send one chunk, retrying what may succeed; the result, or the failure that ended the attempts.

    Raises :class:`Cancelled` when `cancel` is set (mid-body or mid-backoff) and
    :class:`~c2c_helpers.errors.FileChanged` when the file ends before the chunk.
    """
    headers = {"Content-Type": filetype, "x-amz-acl": "private"}
    buffer = bytearray(min(READ_BLOCK, chunk.size))
    number, size = chunk.number, chunk.size

    def emit(state: State, part_bytes: int, *, attempt: int, **extra: Any) -> None:
        if progress is not None:
            progress(PartProgress(number, part_bytes, size, attempt, state, **extra))

    attempt = 0
    damaged: PartFailure | None = None  # the last attempt S3 stored with other bytes than were sent
    while True:
        attempt += 1
        if cancel is not None and cancel.is_set():
            raise Cancelled
        emit("sending", 0, attempt=attempt)
        body = PartBody(path, chunk, buffer, on_read=functools.partial(emit, "sending", attempt=attempt), cancel=cancel)
        started = time.monotonic()
        try:  # requests streams any body with read() and len(); its stubs know only bytes and str readers
            response = session.put(chunk.url, data=cast(Any, body), headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            failure = PartFailure.from_exception(exc, chunk, attempt, timeout)
        else:
            outcome = _checked(response, body, chunk, attempt)
            if isinstance(outcome, PartResult):
                logger.debug("part %d: 200 in %.3f s (attempt %d)", number, time.monotonic() - started, attempt)
                emit("done", size, attempt=attempt)
                return outcome
            failure = outcome
            damaged = failure if failure.damaged else damaged
        finally:
            body.close()
        if not failure.retryable or attempt >= retry.max_attempts:
            return failure.after(damaged) if damaged is not None else failure
        wait = retry.delay(attempt)
        logger.info("%s; retrying in %.2f s", failure.message, wait)
        emit("retrying", 0, attempt=attempt, message=failure.message, delay=wait)
        if cancel is not None and cancel.wait(wait):
            raise Cancelled
        if cancel is None:
            time.sleep(wait)


def _checked(response: requests.Response, body: PartBody, chunk: Chunk, attempt: int) -> PartResult | PartFailure:
    """S3's answer to a part: a result when it is a 200 whose ETag (when an MD5) is the MD5 of what was sent."""
    if response.status_code != 200:
        return PartFailure.from_response(response, chunk, attempt)
    etag = response.headers.get("ETag", "").strip().strip('"')
    stored = md5_hex(etag)
    sent = body.md5
    if body.sent != chunk.size or (stored is not None and stored != sent):
        return PartFailure.etag_mismatch(response, chunk, attempt, sent=sent, etag=etag, sent_bytes=body.sent)
    return PartResult(chunk.number, etag, attempt, chunk.size, md5=sent, etag_verified=stored is not None)


def warn_unverified(results: list[PartResult]) -> None:
    """Say once, for a set of parts just sent, that S3's ETags could not vouch for some of them."""
    unverified = [r for r in results if r.attempts and not r.etag_verified]
    if unverified:
        logger.warning(
            "S3's ETag of part(s) %s is not an MD5 (e.g. %r: SSE-KMS encryption, or a multipart ETag), so the "
            "bytes S3 stored could not be checked against the bytes sent (PartResult.etag_verified is False)",
            ", ".join(str(r.number) for r in unverified),
            unverified[0].etag[:40],
        )


def upload_chunk(
    path: str | os.PathLike[str],
    chunk: Chunk,
    filetype: str,
    *,
    session: requests.Session | None = None,
    timeout: Timeout = PART_TIMEOUT,
    retry: RetryPolicy | None = None,
    progress: Callable[[PartProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> PartResult:
    """PUT one chunk of a file to its presigned URL, streaming it from disk, retrying transient failures.

    Parameters
    ----------
    path : path-like
        The file.
    chunk : Chunk
        Which bytes, and the URL to send them to (from :func:`~c2c_helpers.chunks.plan_chunks`).
    filetype : str
        The asset's MIME type, sent as ``Content-Type`` (the URL is signed with it).
    session : requests.Session, optional
        Session for the PUT; a new one per call when omitted. Never the API client's session: presigned
        URLs must not carry the bearer token.
    timeout : float or (float, float)
        Connect and read timeouts of each attempt.
    retry : RetryPolicy, optional
        Attempts and backoff (``RetryPolicy()`` when omitted).
    progress : callable, optional
        Called with a :class:`~c2c_helpers.progress.PartProgress` as bytes go out, on retries, and at the end.
        Called on this thread.
    cancel : threading.Event, optional
        Set it to stop the upload (mid-body or mid-backoff).

    Returns
    -------
    PartResult

    Raises
    ------
    UploadURLExpired
        403 ``AccessDenied`` "Request has expired" (never retried).
    PartUploadError
        Any other failure that is not retryable, or the last of ``retry.max_attempts`` retryable ones (an ETag
        that is an MD5 but not the MD5 of the bytes sent is retryable: the part was damaged on the way).
    FileChanged
        The file ended before the chunk did.
    """
    install_log_redaction()  # whatever session sends it, a part URL is a credential: keep it out of the logs
    http = session if session is not None else part_session()
    try:
        outcome = send_part(
            Path(path),
            chunk,
            filetype,
            session=http,
            timeout=normalize_timeout(timeout),
            retry=retry if retry is not None else RetryPolicy(),
            progress=progress,
            cancel=cancel,
        )
    finally:
        if session is None:
            http.close()
    if isinstance(outcome, PartFailure):
        raise outcome.error()
    warn_unverified([outcome])
    return outcome
