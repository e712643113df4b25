"""One part: its bytes streamed from disk to the presigned URL, hashed, retried, reported as it goes.

Where a part is, as it goes, is a :class:`PartProgress`: its bytes sent in the current attempt, an *absolute*
count that a retry resets to 0 (the pool sums them into the file's :class:`~c2c_helpers.pool.ProgressEvent`, so
the total never passes 100 %).

:func:`upload_chunk` sends one :class:`~c2c_helpers.chunks.Chunk` with a PUT to its presigned URL and the two
headers the URL was signed with (``Content-Type: <filetype>``, ``x-amz-acl: private``). The body is a
:class:`PartBody`: the part's bytes read from disk block by block into one reused buffer, so memory does not
grow with the part and no block is copied twice. Transient failures are retried according to a
:class:`~c2c_helpers.retry.RetryPolicy`; a part that fails for good raises
:class:`~c2c_helpers.errors.PartUploadError` naming the part, status, S3 code and attempts.

What was sent is what S3 stored. Frame.io's upload URLs sign only ``content-type;host;x-amz-acl``, so a client
cannot ask S3 to check a digest: S3 refuses a ``Content-MD5`` (or any ``x-amz-*`` header) the URL did not sign.
What S3 does give back is the part's ``ETag``, which for an unencrypted or SSE-S3 part is the hex MD5 of the
bytes it stored. So each part is hashed (MD5) as it streams and S3's answer is checked: a different ETag means
the part was damaged on the way, and it is sent again like any transient failure. An ETag that is not 32 hex
digits (SSE-KMS, or a multipart ``"<md5>-<n>"``) is not an MD5: the check is skipped and the result says so
(``PartResult.etag_verified`` is False). :func:`file_md5` re-reads a part of a file, as a resumed upload does
for every part it would skip.

The worker pool calls :func:`send_part` with the upload's :class:`~c2c_helpers.request.UploadRequest` (the file,
its type, the retry policy and timeouts); it returns the last :class:`~c2c_helpers.retry.PartFailure` instead of
raising it, so that the error is built once, by the pool, with the asset and the parts sent.

>>> is_md5_etag('"9e107d9d372bb6826bd81d3542a419d6"'), is_md5_etag("9e107d9d372bb6826bd81d3542a419d6-2")
(True, False)
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import requests

from c2c_helpers._http import Timeout, install_log_redaction, new_session, normalize_timeout
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import FileChanged, InvalidArgument
from c2c_helpers.request import PART_TIMEOUT, UploadRequest
from c2c_helpers.retry import PartFailure, RetryPolicy

__all__ = [
    "PROGRESS_EVERY",
    "PROGRESS_STEP",
    "READ_BLOCK",
    "Cancelled",
    "PartBody",
    "PartProgress",
    "PartResult",
    "State",
    "file_md5",
    "is_md5_etag",
    "md5_hex",
    "new_md5",
    "part_session",
    "send_part",
    "upload_chunk",
    "warn_unverified",
]

logger = logging.getLogger("c2c_helpers")

#: Progress is reported at most once per this many bytes of a part and once per :data:`PROGRESS_EVERY` seconds
#: (and after its first block, and at its end): fine enough for a smooth bar, coarse enough that the events cost
#: no measurable CPU (coalesced, as s3transfer batches its callbacks) however fast the link.
PROGRESS_STEP = 256 * 1024
PROGRESS_EVERY = 0.05
#: Largest block read from disk and sent at once (and hashed at once: large enough that hashlib releases the
#: GIL): bounds memory per worker (one buffer of this size).
READ_BLOCK = 1024 * 1024
_MD5_RE = re.compile(r"[0-9a-fA-F]{32}")


State = Literal["queued", "sending", "retrying", "done", "failed"]
"""Where a part is. ``retrying``: the attempt failed and the next starts after ``delay`` seconds. ``failed`` is
only ever set by a view (an event never says it: the error does)."""


@dataclass(frozen=True)
class PartProgress:
    """Where one part is.

    Parameters
    ----------
    part : int
        The part number (1-based, S3's ``partNumber``).
    part_bytes : int
        Bytes of this part sent in its current attempt: an absolute count, reset to 0 by a retry.
    part_size : int
        Size of the part.
    attempt : int
        1 for the first attempt (0 for a part an earlier run sent, or one still queued).
    state : {"queued", "sending", "retrying", "done"}
        ``retrying``: the attempt failed and the next one starts after ``delay`` seconds; ``message`` says why.
    message : str, optional
        Why a retry happens (redacted).
    delay : float, optional
        Seconds until the retry.
    """

    part: int
    part_bytes: int
    part_size: int
    attempt: int
    state: State
    message: str | None = None
    delay: float | None = None

    @property
    def fraction(self) -> float:
        """``part_bytes / part_size``, between 0 and 1."""
        return self.part_bytes / self.part_size if self.part_size else 1.0


class Cancelled(Exception):
    """Raised inside a worker when the upload was cancelled (another part failed, or Ctrl-C)."""


def new_md5() -> hashlib._Hash:
    """A fresh MD5 (S3's ETag algorithm: an integrity check, not security)."""
    return hashlib.md5(usedforsecurity=False)


def md5_hex(etag: str) -> str | None:
    """The MD5 an ETag stands for (lower-case hex, quotes stripped), or None when it is not an MD5."""
    value = etag.strip().strip('"')
    return value.lower() if _MD5_RE.fullmatch(value) else None


def is_md5_etag(etag: str) -> bool:
    """Whether S3's ETag is the MD5 of the part (32 hex digits): True for unencrypted and SSE-S3 parts."""
    return md5_hex(etag) is not None


def file_md5(path: str | os.PathLike[str], start: int, size: int) -> str | None:
    """The hex MD5 of bytes ``[start, start + size)`` of a file; None when the file ends before them."""
    md5 = new_md5()
    view = memoryview(bytearray(min(READ_BLOCK, max(size, 1))))
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        remaining = size
        while remaining > 0:
            got = f.readinto(view[: min(remaining, len(view))])
            if not got:
                return None
            md5.update(view[:got])  # hashlib releases the GIL on blocks this size: workers hash in parallel
            remaining -= got
    return md5.hexdigest()


@dataclass(frozen=True)
class PartResult:
    """A part S3 accepted: its ``number`` (1-based), S3's ``etag``, how many ``attempts`` it took, its ``bytes``.

    ``md5`` is the hex MD5 of the bytes sent (for a part resumed from a manifest: of the file's bytes, re-read
    and found equal to what the manifest recorded); ``etag_verified`` says whether S3's ETag was found equal to
    it. It is False where the ETag is not an MD5 (e.g. SSE-KMS): then nothing vouches for the stored bytes. With
    ``verify=False`` nothing is hashed: ``md5`` is then S3's (the ETag's, when it is an MD5) and ``etag_verified``
    False.
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
        verify: bool = True,
    ) -> None:
        self._path, self._chunk, self._view = path, chunk, memoryview(buffer)
        self._on_read, self._cancel = on_read, cancel
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close(), after requests is done
        self._file.seek(chunk.start)
        self._sent = 0
        self._reported, self._reported_at = 0, 0.0
        self._md5 = new_md5() if verify else None  # verify=False: nothing hashed, nothing checked

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
        if self._md5 is not None:
            self._md5.update(self._view[:got])  # hashlib releases the GIL on 1 MiB blocks: workers hash in parallel
        if self._on_read is not None and (self._sent == self._chunk.size or self._due()):
            self._reported, self._reported_at = self._sent, time.monotonic()
            self._on_read(self._sent)
        return self._view[:got]

    def _due(self) -> bool:
        """Whether the bytes read since the last report are worth one: the first block, or a step and a while."""
        if not self._reported:
            return True
        return self._sent - self._reported >= PROGRESS_STEP and time.monotonic() - self._reported_at >= PROGRESS_EVERY

    @property
    def sent(self) -> int:
        """Bytes read (and so sent) so far."""
        return self._sent

    @property
    def md5(self) -> str:
        """The hex MD5 of the bytes read so far (of the whole part once it was sent); "" when not verifying."""
        return self._md5.hexdigest() if self._md5 is not None else ""

    def close(self) -> None:
        self._file.close()


def send_part(
    request: UploadRequest,
    chunk: Chunk,
    *,
    session: requests.Session,
    progress: Callable[[PartProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> PartResult | PartFailure:
    """Send one chunk of ``request.path``, retrying what may succeed (``request.retry``, ``request.timeout``); the
    result, or the failure that ended the attempts.

    Raises :class:`Cancelled` when `cancel` is set (mid-body or mid-backoff) and
    :class:`~c2c_helpers.errors.FileChanged` when the file ends before the chunk.
    """
    path, retry, timeout = request.path, request.retry, request.timeout
    headers = {"Content-Type": request.filetype, "x-amz-acl": "private"}
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
        on_read = functools.partial(emit, "sending", attempt=attempt)
        body = PartBody(path, chunk, buffer, on_read=on_read, cancel=cancel, verify=request.verify)
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
    sent = body.md5  # "" when not verifying: S3's MD5 of what it stored is then the part's (for a resume)
    if body.sent != chunk.size or (stored is not None and sent and stored != sent):
        return PartFailure.etag_mismatch(response, chunk, attempt, sent=sent, etag=etag, sent_bytes=body.sent)
    verified = stored is not None and bool(sent)
    return PartResult(chunk.number, etag, attempt, chunk.size, md5=sent or stored or "", etag_verified=verified)


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
        Called with a :class:`PartProgress` as bytes go out, on retries, and at the end.
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
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidArgument(f"retry must be a RetryPolicy, got {type(retry).__name__}")
    request = UploadRequest(Path(path), filetype, retry or RetryPolicy(), normalize_timeout(timeout))
    http = session if session is not None else part_session()
    try:
        outcome = send_part(request, chunk, session=http, progress=progress, cancel=cancel)
    finally:
        if session is None:
            http.close()
    if isinstance(outcome, PartFailure):
        raise outcome.error()
    warn_unverified([outcome])
    return outcome
