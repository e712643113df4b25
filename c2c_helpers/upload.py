"""Sending a file's parts to S3: streamed from disk, retried, in parallel, with progress events.

Two levels:

- :func:`upload_chunk` sends one :class:`~c2c_helpers.chunks.Chunk` with a PUT to its presigned URL, the two
  headers the URL was signed with (``Content-Type: <filetype>``, ``x-amz-acl: private``), reading the bytes
  from disk block by block (memory does not grow with the part), and retries transient failures according
  to a :class:`RetryPolicy`;
- :func:`upload_file` does the whole guide: checks the file, creates the asset, plans the chunks, sends them
  with a pool of worker threads, and (by default) waits until the service reports the file assembled.

What is retried: connection errors, timeouts, HTTP 408, 429 and 5xx, and S3's ``RequestTimeout`` /
``SlowDown`` / ``InternalError`` / ``ServiceUnavailable``. What is not: any 403 (an expired URL raises
:class:`~c2c_helpers.errors.UploadURLExpired`; a ``SignatureDoesNotMatch`` means a wrong header, which the
same request repeats) and other 4xx. A part that fails for good raises
:class:`~c2c_helpers.errors.PartUploadError` naming the part, status, S3 code and attempts; nothing is
printed and skipped.

urllib3 logs every request's full URL at DEBUG, which for a part PUT is the presigned URL with its
signature: importing this module adds a filter to urllib3's request loggers that passes each such line
through :func:`~c2c_helpers.errors.redact`, so turning on DEBUG logging on a camera does not leak part URLs.

Progress is a stream of :class:`ProgressEvent` carrying the *absolute* bytes sent of each part, so a retry
resets its part to 0 rather than adding to a total, and the total can never pass 100 %. In
:func:`upload_file` the workers put events on a queue and the calling thread delivers them, so a widget or
a terminal bar is only ever touched from the thread that created it.

Examples
--------
>>> RetryPolicy().max_attempts
5
>>> [RetryPolicy(jitter=0).delay(n) for n in (1, 2, 3, 4, 5, 6)]
[1.0, 2.0, 4.0, 8.0, 16.0, 20.0]
>>> ProgressEvent(part=1, part_bytes=5, part_size=10, bytes_sent=15, total=30, attempt=1, state="sending").fraction
0.5
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter

from c2c_helpers.chunks import MAX_PARTS, MIN_PART_SIZE, Chunk, chunk_size, plan_chunks
from c2c_helpers.client import WAIT_TIMEOUT, Asset, C2CClient, Timeout, normalize_timeout
from c2c_helpers.errors import (
    APIError,
    AssetIncomplete,
    FileChanged,
    InvalidFile,
    PartUploadError,
    UploadError,
    UploadInterrupted,
    UploadURLExpired,
    _describe_parts,
    redact,
    redact_url,
)
from c2c_helpers.manifest import Manifest
from c2c_helpers.media import creation_offset, guess_filetype

__all__ = [
    "DEFAULT_WORKERS",
    "PART_TIMEOUT",
    "OnExpired",
    "PartResult",
    "ProgressEvent",
    "RetryPolicy",
    "UploadResult",
    "is_retryable",
    "upload_chunk",
    "upload_file",
]

logger = logging.getLogger("c2c_helpers")


class _RedactingFilter(logging.Filter):
    """Rewrites a log record's message with :func:`redact` (presigned URL signatures, tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


#: urllib3's loggers that print request URLs ("PUT /bucket/key?...X-Amz-Signature=... 200") at DEBUG.
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection")
for _name in _URL_LOGGERS:
    _url_logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactingFilter) for f in _url_logger.filters):
        _url_logger.addFilter(_RedactingFilter())

#: Parts sent at once by :func:`upload_file`. Four saturates a typical uplink and a 2-core camera CPU
#: without opening so many connections that S3 answers SlowDown; the guide's clip has only two parts.
DEFAULT_WORKERS = 4
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
#: Largest block read from disk at once, whatever the HTTP library asks for: bounds memory per worker.
READ_BLOCK = 1024 * 1024
#: After a failure or Ctrl-C, how long to give the other workers to notice and stop before raising, so the
#: error can say accurately which parts were sent. Short: Ctrl-C must feel immediate.
CANCEL_GRACE = 0.5


class _PartAdapter(HTTPAdapter):
    """Sends part bodies ``READ_BLOCK`` bytes at a time; urllib3 reads a file body 16 KiB at a time otherwise,
    which halves the client's top speed (one ``read`` and one ``sendall`` per 16 KiB)."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs.setdefault("blocksize", READ_BLOCK)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def part_session(workers: int = 1) -> requests.Session:
    """A session for part PUTs: no token (presigned URLs carry their own permission), big send blocks."""
    session = requests.Session()
    adapter = _PartAdapter(pool_connections=1, pool_maxsize=max(1, workers))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_RETRYABLE_S3_CODES = frozenset({"RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable"})
_S3_CODE_RE = re.compile(r"<Code>([^<]{1,100})</Code>")
_S3_MESSAGE_RE = re.compile(r"<Message>([^<]{0,500})</Message>")
_S3_EXPIRES_RE = re.compile(r"<Expires>([^<]{1,40})</Expires>")


@dataclass(frozen=True)
class RetryPolicy:
    """How a part is retried: capped exponential backoff with jitter.

    The wait before retry *n* (1 = the first retry) is ``min(max_delay, initial_delay * multiplier**(n-1))``,
    minus a random share of up to ``jitter`` of it ("full jitter" at 1.0, as AWS recommends, so parallel
    workers that failed together do not retry together).

    Parameters
    ----------
    max_attempts : int
        Attempts per part, the first included (5). Transient S3 errors clear within seconds; five attempts
        ride out about 15 s of trouble (1 + 2 + 4 + 8 s), which is longer than a SlowDown burst lasts,
        and a part still failing after that has a problem retries will not fix.
    initial_delay : float
        Seconds before the first retry (1.0): the service's own guidance for 429 is to back off from about 1 s,
        and a faster retry mostly meets the same overload.
    max_delay : float
        Longest single wait (20.0): one S3 idle-timeout period; a camera should not sit silent for minutes.
    multiplier : float
        Growth per retry (2.0): the classic doubling.
    jitter : float
        Share of each wait that is randomised, 0..1 (1.0 = full jitter; 0 = deterministic, for tests).

    Examples
    --------
    >>> RetryPolicy(max_attempts=3, initial_delay=0.5, jitter=0).delay(2)
    1.0
    >>> RetryPolicy(max_attempts=0)
    Traceback (most recent call last):
    ...
    ValueError: max_attempts must be at least 1
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 20.0
    multiplier: float = 2.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.initial_delay >= 0 or not self.max_delay >= 0:
            raise ValueError("delays must be non-negative seconds")
        if not self.multiplier >= 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** max(0, retry - 1))
        if self.jitter:
            base -= (rng or random).uniform(0, base * self.jitter)
        return base


def is_retryable(status: int | None, s3_code: str | None = None) -> bool:
    """Whether a failed part PUT may succeed if sent again.

    ``status=None`` means no answer (connection error or timeout): retryable.

    Examples
    --------
    >>> is_retryable(None), is_retryable(503, "SlowDown"), is_retryable(400, "RequestTimeout")
    (True, True, True)
    >>> is_retryable(403, "AccessDenied"), is_retryable(403, "SignatureDoesNotMatch"), is_retryable(404)
    (False, False, False)
    """
    if status is None:
        return True
    if status == 403:
        return False
    return status in (408, 429) or status >= 500 or s3_code in _RETRYABLE_S3_CODES


State = Literal["queued", "sending", "retrying", "done"]
OnExpired = Literal["raise", "recreate"]
"""What :func:`upload_file` does when S3 says a part's URL expired: raise ``UploadURLExpired``, or create a
fresh asset once and start over."""


@dataclass(frozen=True)
class ProgressEvent:
    """Where one part is, and where the whole upload is.

    Parameters
    ----------
    part : int
        The part number (1-based, S3's ``partNumber``).
    part_bytes : int
        Bytes of this part sent in its current attempt: an absolute count, reset to 0 by a retry.
    part_size : int
        Size of the part.
    bytes_sent : int
        Sum of ``part_bytes`` over all parts (from :func:`upload_chunk` alone: the part's own bytes). Never
        more than ``total``.
    total : int
        File size (from :func:`upload_chunk` alone: the part size).
    attempt : int
        1 for the first attempt.
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
    bytes_sent: int
    total: int
    attempt: int
    state: State
    message: str | None = None
    delay: float | None = None

    @property
    def fraction(self) -> float:
        """``bytes_sent / total``, between 0 and 1."""
        return self.bytes_sent / self.total if self.total else 1.0


@dataclass(frozen=True)
class PartResult:
    """A part S3 accepted: its ``number`` (1-based), S3's ``etag``, how many ``attempts`` it took, its ``bytes``."""

    number: int
    etag: str
    attempts: int
    bytes: int


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload_file` did.

    Parameters
    ----------
    asset : Asset
        The asset; with ``upload_completed_at`` set when the upload was waited for.
    parts : tuple of PartResult
        In part order.
    bytes : int
        File size.
    seconds : float
        Wall time from the asset-create call to the end (including the wait for assembly).
    attempts : int
        Part PUTs sent by this call, retries included.
    resumed : tuple of int
        Parts (1-based) an earlier, interrupted run had already sent, read from the resume manifest and not
        sent again (their ``PartResult.attempts`` is 0).
    recreated_from : str, optional
        With ``on_expired="recreate"``: the id of the asset whose upload URLs expired, abandoned for ``asset``.

    Examples
    --------
    >>> r = UploadResult(
    ...     asset=Asset(id="a1", name="clip.mp4", filetype="video/mp4", filesize=21136250, upload_urls=(),
    ...                 status="complete", upload_completed_at="2026-01-01T00:00:00Z"),
    ...     parts=(PartResult(1, "e1", 1, 10568125), PartResult(2, "e2", 2, 10568125)),
    ...     bytes=21136250, seconds=0.5, attempts=3)
    >>> r.summary(timing=False)
    "uploaded 'clip.mp4': 21,136,250 bytes in 2 parts, 3 attempts (1 retry), complete"
    >>> r.summary()
    "uploaded 'clip.mp4': 21,136,250 bytes in 2 parts, 3 attempts (1 retry), complete in 0.50 s (42.3 MB/s)"
    >>> replace(r, parts=(PartResult(1, "e1", 0, 10568125), PartResult(2, "e2", 1, 10568125)), attempts=1,
    ...         resumed=(1,), recreated_from=None).summary(timing=False)
    "uploaded 'clip.mp4': 21,136,250 bytes in 2 parts (1 resumed), 1 attempt, complete"
    """

    asset: Asset
    parts: tuple[PartResult, ...]
    bytes: int
    seconds: float
    attempts: int
    resumed: tuple[int, ...] = ()
    recreated_from: str | None = None

    @property
    def retries(self) -> int:
        """Attempts beyond the first of each part sent by this call."""
        return self.attempts - (len(self.parts) - len(self.resumed))

    @property
    def bytes_sent(self) -> int:
        """Bytes this call sent (resumed parts excluded; each part counted once)."""
        return sum(p.bytes for p in self.parts if p.number not in self.resumed)

    def summary(self, *, timing: bool = True) -> str:
        """One line saying what was uploaded; `timing=False` leaves out the (varying) time and speed."""
        n, r, k = len(self.parts), self.retries, len(self.resumed)
        line = (
            f"uploaded {self.asset.name!r}: {self.bytes:,} bytes in {n} part{'s' if n != 1 else ''}"
            + (f" ({k} resumed)" if k else "")
            + f", {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
            + (f" ({r} retr{'ies' if r != 1 else 'y'})" if r else "")
            + (", complete" if self.asset.is_complete else ", sent (completion not awaited)")
            + (", on a new asset (the first one's upload URLs expired)" if self.recreated_from else "")
        )
        if timing:
            rate = self.bytes_sent / self.seconds / 1e6 if self.seconds > 0 else float("inf")
            line += f" in {self.seconds:.2f} s ({rate:.1f} MB/s)"
        return line


class _Cancelled(Exception):
    """Raised inside a worker when the upload was cancelled (another part failed, or Ctrl-C)."""


class _FileSlice:
    """A read-only, bounded view of bytes ``[start, start + size)`` of a file, read block by block.

    ``requests`` sends a body with ``read()`` as a stream and takes its Content-Length from ``len()``, so a
    part is never in memory whole. Reading past the file's end early means the file shrank: that raises
    :class:`FileChanged` rather than sending a short part.
    """

    def __init__(
        self,
        path: Path,
        chunk: Chunk,
        *,
        on_read: Callable[[int], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self._path, self._chunk = path, chunk
        self._on_read, self._cancel = on_read, cancel
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close(), after requests is done with it
        self._file.seek(chunk.start)
        self._sent = 0
        self._reported = 0

    def __len__(self) -> int:
        return self._chunk.size

    def read(self, n: int | None = -1) -> bytes:
        if self._cancel is not None and self._cancel.is_set():
            raise _Cancelled
        remaining = self._chunk.size - self._sent
        if remaining <= 0:
            return b""
        want = remaining if n is None or n < 0 else min(n, remaining)
        data = self._file.read(min(want, READ_BLOCK))
        if not data:
            raise FileChanged(
                f"{self._path.name} shrank while part {self._chunk.number} was being read: it ended at byte "
                f"{self._chunk.start + self._sent:,}, before the part's end at {self._chunk.end:,}",
            )
        self._sent += len(data)
        if self._on_read is not None and (
            self._sent - self._reported >= PROGRESS_STEP or self._sent == self._chunk.size
        ):
            self._reported = self._sent
            self._on_read(self._sent)
        return data

    def close(self) -> None:
        self._file.close()


def upload_chunk(
    path: str | os.PathLike[str],
    chunk: Chunk,
    filetype: str,
    *,
    session: requests.Session | None = None,
    timeout: Timeout = PART_TIMEOUT,
    retry: RetryPolicy | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
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
        Called with a :class:`ProgressEvent` (for this part alone) as bytes go out, on retries, and at the end.
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
        Any other failure that is not retryable, or the last of ``retry.max_attempts`` retryable ones.
    FileChanged
        The file ended before the chunk did.
    """
    path = Path(path)
    retry = retry if retry is not None else RetryPolicy()
    timeout = normalize_timeout(timeout)
    own_session = session is None
    http = session if session is not None else part_session()
    headers = {"Content-Type": filetype, "x-amz-acl": "private"}
    number, size = chunk.number, chunk.size

    def emit(state: State, part_bytes: int, attempt: int, **extra: Any) -> None:
        if progress is not None:
            progress(ProgressEvent(number, part_bytes, size, part_bytes, size, attempt, state, **extra))

    try:
        attempt = 0
        while True:
            attempt += 1
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            emit("sending", 0, attempt)
            body = _FileSlice(path, chunk, on_read=lambda sent, a=attempt: emit("sending", sent, a), cancel=cancel)
            started = time.monotonic()
            try:
                response = http.put(chunk.url, data=body, headers=headers, timeout=timeout)
            except requests.RequestException as exc:
                failure = _part_error(
                    chunk,
                    attempt,
                    f"part {number}: {_describe_exception(exc, timeout)}",
                    status=None,
                    s3_code=None,
                    response=None,
                )
            else:
                if response.status_code == 200:
                    etag = response.headers.get("ETag", "").strip('"')
                    logger.debug("part %d: 200 in %.3f s (attempt %d)", number, time.monotonic() - started, attempt)
                    emit("done", size, attempt)
                    return PartResult(number=number, etag=etag, attempts=attempt, bytes=size)
                failure = _error_from_s3_response(response, chunk, attempt)
            finally:
                body.close()
            if not failure.retryable or attempt >= retry.max_attempts:
                if failure.retryable:
                    failure.add_note(f"gave up after {attempt} attempts (RetryPolicy.max_attempts)")
                raise failure
            wait = retry.delay(attempt)
            logger.info("%s; retrying in %.2f s", failure, wait)
            emit("retrying", 0, attempt, message=failure.message, delay=wait)
            if cancel is not None:
                if cancel.wait(wait):
                    raise _Cancelled
            else:
                time.sleep(wait)
    finally:
        if own_session:
            http.close()


def _describe_exception(exc: requests.RequestException, timeout: tuple[float, float]) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect within {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout[1]:g} s (read timeout)"
    if _caused_by_timeout(exc):
        # urllib3 applies the connect timeout to each send of the body: the receiver stopped reading
        return f"stalled while sending: no progress for {timeout[0]:g} s (send timeout)"
    # requests' messages carry the URL with its signature: keep them only redacted, and short
    detail = " ".join(redact(str(exc)).split())[:300]
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed or was closed before an answer ({type(exc).__name__}: {detail})"
    return f"request failed ({type(exc).__name__}: {detail})"


def _caused_by_timeout(exc: BaseException, depth: int = 0) -> bool:
    """Whether a socket timeout hides inside `exc` (requests wraps urllib3 wraps the socket's TimeoutError)."""
    if isinstance(exc, TimeoutError):
        return True
    if depth > 4:
        return False
    inner = [a for a in exc.args if isinstance(a, BaseException)] + [
        e for e in (exc.__cause__, exc.__context__) if e is not None
    ]
    return any(_caused_by_timeout(e, depth + 1) for e in inner)


def _error_from_s3_response(response: requests.Response, chunk: Chunk, attempt: int) -> PartUploadError:
    text = response.text[:4000] if response.content else ""
    code_match, message_match = _S3_CODE_RE.search(text), _S3_MESSAGE_RE.search(text)
    s3_code = code_match.group(1) if code_match else None
    s3_message = message_match.group(1) if message_match else (response.reason or "")
    status = response.status_code
    what = f"part {chunk.number}: {status} {s3_code or response.reason}" + (f": {s3_message}" if s3_message else "")
    what = what.rstrip(".")  # S3's messages may end with a full stop; the sentences added below bring their own
    if status == 403 and s3_code == "AccessDenied" and "expired" in s3_message.lower():
        expires = _S3_EXPIRES_RE.search(text)
        when = f" at {expires.group(1)}" if expires else ""
        what += (
            f". The presigned URL expired{when}; retrying it cannot help: create the asset again to get fresh"
            " upload URLs"
        )
        return _part_error(
            chunk,
            attempt,
            what,
            status=status,
            s3_code=s3_code,
            response=response,
            detail=s3_message,
            error=UploadURLExpired,
        )
    if s3_code == "SignatureDoesNotMatch":
        what += (
            ". The PUT must send exactly the asset's filetype as Content-Type and 'x-amz-acl: private', to the URL"
            " unchanged"
        )
    return _part_error(chunk, attempt, what, status=status, s3_code=s3_code, response=response, detail=s3_message)


def _part_error(
    chunk: Chunk,
    attempt: int,
    what: str,
    *,
    status: int | None,
    s3_code: str | None,
    response: requests.Response | None,
    detail: str | None = None,
    error: type[PartUploadError] = PartUploadError,
) -> PartUploadError:
    retryable = is_retryable(status, s3_code)
    return error(
        f"{what} (bytes {chunk.start:,}-{chunk.end - 1:,}, attempt {attempt}, PUT {redact_url(chunk.url)})",
        part_index=chunk.index,
        s3_code=s3_code,
        attempts=attempt,
        url=chunk.url,
        status=status,
        title=s3_code,
        detail=detail,
        response=response,
        retryable=retryable,
    )


# -- the whole file ------------------------------------------------------------------------------------


def upload_file(
    path: str | os.PathLike[str],
    *,
    client: C2CClient | None = None,
    name: str | None = None,
    filetype: str | None = None,
    offset: int | None = None,
    parts: int | None = None,
    workers: int = DEFAULT_WORKERS,
    retry: RetryPolicy | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    wait: bool | float = True,
    channel: int | None = None,
    timeout: Timeout = PART_TIMEOUT,
    resume: str | os.PathLike[str] | None = None,
    on_expired: OnExpired = "raise",
) -> UploadResult:
    """Upload a file the way the guide does: create the asset, split, send every part, wait for completion.

    Everything that can be checked locally is checked before anything is sent: the file exists, is a regular
    file, is not empty, has a known MIME type (or `filetype` is given), and `parts` can split it.

    Parameters
    ----------
    path : path-like
        The file to upload.
    client : C2CClient, optional
        Defaults to ``C2CClient()`` (from ``C2C_API_URL`` / ``C2C_ACCESS_TOKEN``); see also
        :func:`c2c_helpers.connect`.
    name : str, optional
        Display name; the file name by default.
    filetype : str, optional
        MIME type; guessed from the file name by default.
    offset : int, optional
        Seconds since the file was created; from the file's timestamps by default.
    parts : int, optional
        Number of upload URLs to ask for; the service decides by default.
    workers : int
        Parts sent at once (1 = one after the other, in order).
    retry : RetryPolicy, optional
        Per-part retries (``RetryPolicy()`` when omitted).
    progress : callable, optional
        Called with each :class:`ProgressEvent`, on the calling thread.
    wait : bool or float
        Wait until the service reports the asset complete (True: up to 120 s; a number: that many seconds).
    channel : int, optional
        Channel index for the asset.
    timeout : float or (float, float)
        Connect and read timeouts of each part PUT.
    resume : path-like, optional
        A resume manifest (see :mod:`c2c_helpers.manifest`). When the file does not exist, it is written
        right after the asset is created and each time S3 acknowledges a part; when it exists, the upload it
        describes is continued: only the parts it does not list are sent. It is removed once the upload is
        complete. It holds presigned URLs (never a token) and is created with mode 0600: keep it private.
        A file whose size or modification time changed since the manifest was written is refused with
        :class:`~c2c_helpers.errors.FileChanged` before anything is sent.
    on_expired : {"raise", "recreate"}
        When S3 answers that a part's URL expired: ``"raise"`` (the default) raises
        :class:`~c2c_helpers.errors.UploadURLExpired`; ``"recreate"`` logs a warning, creates a fresh asset
        (once) and sends the whole file again; the result's ``recreated_from`` names the abandoned asset.

    Returns
    -------
    UploadResult

    Raises
    ------
    InvalidFile
        The file, the arguments or the resume manifest were refused before anything was sent.
    APIError, TransportError
        From creating the asset (e.g. :class:`~c2c_helpers.errors.ChannelPaused`), or from looking up a
        resumed one.
    PartUploadError
        A part failed for good (:class:`~c2c_helpers.errors.UploadURLExpired` if its URL expired); the
        other parts are stopped. ``asset`` and ``parts_sent`` say where the upload stands.
    FileChanged
        The file changed while it was being uploaded, or since the resume manifest was written.
    AssetIncomplete
        Every part was sent but the service did not report the asset complete in time.
    UploadInterrupted
        Ctrl-C: the workers were stopped; the error lists the parts that were sent.
    """
    path = Path(path)
    retry = retry if retry is not None else RetryPolicy()
    timeout = normalize_timeout(timeout)
    if on_expired not in ("raise", "recreate"):
        raise ValueError(f"on_expired must be 'raise' or 'recreate', got {on_expired!r}")
    # 1. Everything local, before a single byte goes out.
    size, signature = _check_file(path)
    manifest_path = Path(resume) if resume is not None else None
    manifest = Manifest.load(manifest_path) if manifest_path is not None else None
    if manifest is not None:
        _check_resumable(manifest, path, signature, name=name, filetype=filetype, parts=parts)
        name, filetype = manifest.name, manifest.filetype
    filetype = _check_filetype(path, filetype)
    name = path.name if name is None else name
    if not isinstance(name, str) or not name.strip():
        raise InvalidFile("name must be a non-empty string", path=path)
    if offset is None:
        offset = creation_offset(path)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if parts is not None:
        _check_parts(path, size, parts)
    wait_timeout = _wait_timeout(wait)
    if client is None:
        client = C2CClient()
    if manifest is not None and manifest.api_url != client.api_url:
        raise InvalidFile(
            f"{manifest.path}: this resume manifest is for the service at {manifest.api_url}, not "
            f"{client.api_url}; use that service, or delete the manifest to upload the file as a new asset",
            path=manifest.path,
        )

    started = time.monotonic()
    recreated_from: str | None = None
    while True:
        # 2. The asset and its upload URLs: created, or read back from the manifest.
        if manifest is None:
            asset = client.create_asset(name, filetype, size, offset, parts=parts, channel=channel)
            if not asset.upload_urls:
                raise UploadError(
                    f"asset {asset.id}: the service returned no upload URLs, so nothing can be sent", asset=asset
                )
            done: dict[int, PartResult] = {}
            if manifest_path is not None:
                manifest = Manifest(
                    manifest_path,
                    client.api_url,
                    str(path.resolve()),
                    size,
                    signature[1],
                    asset.id,
                    name,
                    filetype,
                    asset.upload_urls,
                )
                _save_first(manifest, asset)
        else:
            asset = _resumed_asset(client, manifest)
            done = {n: PartResult(n, etag, 0, 0) for n, etag in manifest.parts.items()}
        try:
            chunks = plan_chunks(size, asset.upload_urls)
        except ValueError as exc:
            raise UploadError(f"asset {asset.id}: {exc}", asset=asset) from None
        done = {n: replace(r, bytes=chunks[n - 1].size) for n, r in done.items()}
        if done:
            logger.info("asset %s: resuming; %s", asset.id, _describe_parts(done, len(chunks), "already sent"))
        else:
            logger.info(
                "asset %s: %s bytes in %d part(s) of %s bytes",
                asset.id,
                f"{size:,}",
                len(chunks),
                f"{chunks[0].size:,}",
            )
        if asset.is_complete:  # a run that was stopped after the last part, before the manifest went
            done = {c.number: done.get(c.number, PartResult(c.number, "", 0, c.size)) for c in chunks}
            results = list(done.values())
            break

        # 3. The parts.
        try:
            results = _send_parts(
                path,
                chunks,
                filetype,
                asset,
                signature,
                workers,
                retry,
                progress,
                timeout,
                done=done,
                on_part=_recorder(manifest),
            )
        except UploadURLExpired as err:
            if on_expired == "raise" or recreated_from is not None:
                err.add_note(
                    "the upload URLs of this asset expired: pass on_expired='recreate' (c2c upload "
                    "--recreate-expired) to create a fresh asset and send the whole file again"
                    if on_expired == "raise"
                    else "the fresh asset's URLs expired too: the service's URL lifetime is shorter than this upload"
                )
                _note_manifest(err, manifest)
                raise
            logger.warning(
                "asset %s: the upload URLs expired (part %d); creating a fresh asset and starting over",
                asset.id,
                err.part_number,
            )
            recreated_from, manifest = asset.id, None
            continue
        except (UploadError, UploadInterrupted) as err:
            _note_manifest(err, manifest)
            raise
        break

    # 4. Completion.
    resumed = tuple(sorted(done))
    try:
        _check_unchanged(path, signature, asset, sent=[r.number for r in results], total=len(chunks))
        if wait_timeout is not None and not asset.is_complete:
            try:
                asset = client.wait_until_complete(asset.id, timeout=wait_timeout)
            except AssetIncomplete as err:
                err.parts_sent = tuple(r.number for r in results)
                if resumed:
                    err.add_note(
                        f"parts {', '.join(map(str, resumed))} were sent by an earlier run; if the service lost "
                        "them, delete the resume manifest and upload the file as a new asset"
                    )
                _note_manifest(err, manifest)
                raise
    except KeyboardInterrupt:
        raise UploadInterrupted(asset=asset, parts_sent=[r.number for r in results], parts_total=len(chunks)) from None
    if manifest is not None:
        manifest.remove()
    return UploadResult(
        asset=asset,
        parts=tuple(sorted(results, key=lambda r: r.number)),
        bytes=size,
        seconds=time.monotonic() - started,
        attempts=sum(r.attempts for r in results),
        resumed=resumed,
        recreated_from=recreated_from,
    )


def _check_resumable(
    manifest: Manifest,
    path: Path,
    signature: tuple[int, int],
    *,
    name: str | None,
    filetype: str | None,
    parts: int | None,
) -> None:
    """Refuse (before anything is sent) a manifest written for another file, or for this file before it changed."""
    if Path(manifest.file) != path.resolve():
        raise InvalidFile(
            f"{manifest.path}: this resume manifest is for {manifest.file}, not {path.resolve()}; pass the "
            "manifest of this file, or delete it to upload the file as a new asset",
            path=manifest.path,
        )
    if (manifest.filesize, manifest.mtime_ns) != signature:
        what = (
            f"changed size from {manifest.filesize:,} to {signature[0]:,} bytes"
            if manifest.filesize != signature[0]
            else "was modified (same size, new modification time)"
        )
        raise FileChanged(
            f"{path.name} {what} since the resume manifest {manifest.path} was written for asset "
            f"{manifest.asset_id}; nothing was sent. Its parts cannot be mixed with the new content: delete the "
            "manifest to upload the file as a new asset",
            parts_sent=manifest.parts,
        )
    conflicts = [
        f"{what}={given!r} (the manifest says {have!r})"
        for what, given, have in (
            ("name", name, manifest.name),
            ("filetype", filetype, manifest.filetype),
            ("parts", parts, len(manifest.upload_urls)),
        )
        if given is not None and given != have
    ]
    if conflicts:
        raise InvalidFile(
            f"{manifest.path}: resuming asset {manifest.asset_id} but {', '.join(conflicts)}; the asset already "
            "exists as the manifest says: leave these out, or delete the manifest to upload a new asset",
            path=manifest.path,
        )


def _resumed_asset(client: C2CClient, manifest: Manifest) -> Asset:
    """The manifest's asset as the service sees it now, with the manifest's upload URLs."""
    try:
        current = client.get_asset(manifest.asset_id)
    except APIError as err:
        err.add_note(
            f"resuming asset {manifest.asset_id} from {manifest.path}: the service did not return it; if it is "
            "gone (or belongs to another device), delete the manifest to upload the file as a new asset"
        )
        raise
    if current.status == "failed":
        raise AssetIncomplete(
            f"asset {current.id}: the service reports this upload failed, so it cannot be resumed; delete "
            f"{manifest.path} to upload the file as a new asset",
            asset=current,
            parts_sent=manifest.parts,
        )
    return replace(current, upload_urls=manifest.upload_urls)


def _save_first(manifest: Manifest, asset: Asset) -> None:
    """Write a new manifest before any part is sent; a manifest that cannot be written stops the upload."""
    try:
        manifest.save()
    except OSError as exc:
        raise UploadError(
            f"asset {asset.id} was created, but the resume manifest {manifest.path} cannot be written "
            f"({exc.strerror or type(exc).__name__}); nothing was sent. Pick a writable place for it",
            asset=asset,
        ) from None


def _recorder(manifest: Manifest | None) -> Callable[[PartResult], None] | None:
    if manifest is None:
        return None

    def record(result: PartResult) -> None:
        try:
            manifest.record(result.number, result.etag)
        except OSError as exc:  # the upload itself is fine: keep going, but say that resuming will resend
            logger.warning(
                "part %d was sent but the resume manifest %s could not be updated (%s); a resumed run would "
                "send it again",
                result.number,
                manifest.path,
                exc.strerror or type(exc).__name__,
            )

    return record


def _note_manifest(err: BaseException, manifest: Manifest | None) -> None:
    if isinstance(err, FileChanged):
        if manifest is not None and manifest.path.exists():
            err.add_note(f"a resumed run would refuse the changed file: delete {manifest.path} once it is final")
        return
    if manifest is not None and manifest.path.exists():
        err.add_note(
            f"progress is saved in {manifest.path} (parts acknowledged: "
            f"{', '.join(map(str, sorted(manifest.parts))) or 'none'}): run the upload again with this manifest "
            "(resume=..., c2c upload --resume) to send only the missing parts"
        )


def _send_parts(
    path: Path,
    chunks: list[Chunk],
    filetype: str,
    asset: Asset,
    signature: tuple[int, int],
    workers: int,
    retry: RetryPolicy,
    progress: Callable[[ProgressEvent], None] | None,
    timeout: tuple[float, float],
    *,
    done: dict[int, PartResult] | None = None,
    on_part: Callable[[PartResult], None] | None = None,
) -> list[PartResult]:
    """Send every chunk not in `done` with a thread pool; deliver progress and `on_part` on this thread;
    stop everything on failure."""
    total = sum(c.size for c in chunks)
    current = {c.number: 0 for c in chunks}  # absolute bytes per part: the total is their sum
    events: queue.Queue[ProgressEvent | concurrent.futures.Future[PartResult]] = queue.Queue()
    cancel = threading.Event()
    results: dict[int, PartResult] = dict(done or {})
    recorded = set(results)

    def deliver(event: ProgressEvent) -> None:
        current[event.part] = event.part_bytes
        if progress is not None:
            progress(replace(event, bytes_sent=sum(current.values()), total=total))

    def record_new() -> None:
        for number in sorted(set(results) - recorded):
            recorded.add(number)
            if on_part is not None:
                on_part(results[number])

    for c in chunks:
        if c.number in results:
            deliver(ProgressEvent(c.number, c.size, c.size, 0, total, 0, "done", message="sent by an earlier run"))
        else:
            deliver(ProgressEvent(c.number, 0, c.size, 0, total, 0, "queued"))
    _check_unchanged(path, signature, asset, sent=sorted(results), total=len(chunks))  # e.g. rewritten since
    to_send = [c for c in chunks if c.number not in results]
    if not to_send:
        return [results[c.number] for c in chunks]

    workers = min(workers, len(to_send))
    session = part_session(workers)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="c2c-part")

    def work(chunk: Chunk) -> PartResult:
        return upload_chunk(
            path, chunk, filetype, session=session, timeout=timeout, retry=retry, progress=events.put, cancel=cancel
        )

    futures: dict[concurrent.futures.Future[PartResult], Chunk] = {}
    clean = False
    try:
        for c in to_send:
            future = pool.submit(work, c)
            futures[future] = c
            future.add_done_callback(events.put)
        pending = set(futures)
        while pending:
            try:
                item = events.get(timeout=0.25)  # a timeout keeps Ctrl-C deliverable on every platform
            except queue.Empty:
                continue
            if isinstance(item, ProgressEvent):
                deliver(item)
                continue
            pending.discard(item)
            result = item.result()  # raises the part's error here, on the caller's thread
            results[result.number] = result
            record_new()
        while not events.empty():  # the last progress events of the last part
            item = events.get_nowait()
            if isinstance(item, ProgressEvent):
                deliver(item)
        clean = True
    except KeyboardInterrupt:
        sent = _stop(pool, futures, cancel, results)
        record_new()
        raise UploadInterrupted(asset=asset, parts_sent=sent, parts_total=len(chunks)) from None
    except BaseException as exc:
        sent = _stop(pool, futures, cancel, results)
        record_new()
        if isinstance(exc, UploadError):
            exc.asset = asset
            exc.parts_sent = tuple(sent)
            exc.add_note(f"asset {asset.id}: {_describe_parts(sent, len(chunks), 'sent')}; the rest were stopped")
        raise
    finally:
        if clean:
            pool.shutdown(wait=True)
            session.close()
    return [results[c.number] for c in chunks]


def _stop(
    pool: concurrent.futures.ThreadPoolExecutor,
    futures: dict[concurrent.futures.Future[PartResult], Chunk],
    cancel: threading.Event,
    results: dict[int, PartResult],
) -> list[int]:
    """Cancel the workers, give them a moment to stop, and return the part numbers that were sent."""
    cancel.set()
    pool.shutdown(wait=False, cancel_futures=True)
    running = [f for f in futures if not f.done()]
    if running:
        concurrent.futures.wait(running, timeout=CANCEL_GRACE)
    for future, chunk in futures.items():
        if future.done() and not future.cancelled() and future.exception() is None:
            results.setdefault(chunk.number, future.result())
    return sorted(results)


def _check_file(path: Path) -> tuple[int, tuple[int, int]]:
    """Size and (size, mtime) signature of a file we may upload; InvalidFile otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidFile(f"{path}: no such file", path=path) from None
    except OSError as exc:
        raise InvalidFile(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})", path=path) from None
    if path.is_dir():
        raise InvalidFile(f"{path}: is a directory; upload_file takes one file", path=path)
    if not path.is_file():
        raise InvalidFile(f"{path}: not a regular file", path=path)
    if st.st_size == 0:
        raise InvalidFile(f"{path}: the file is empty (0 bytes); C2C needs a filesize of at least 1", path=path)
    if not os.access(path, os.R_OK):
        raise InvalidFile(f"{path}: not readable", path=path)
    return st.st_size, (st.st_size, st.st_mtime_ns)


def _check_filetype(path: Path, filetype: str | None) -> str:
    if filetype is None:
        try:
            return guess_filetype(path)
        except ValueError as exc:
            raise InvalidFile(
                f"{exc} Pass filetype='type/subtype' (e.g. filetype='video/mp4') to upload it anyway.", path=path
            ) from None
    if not isinstance(filetype, str) or not re.fullmatch(r"[\w.+!#$&^-]+/[\w.+!#$&^-]+", filetype.strip()):
        raise InvalidFile(f"filetype must be a MIME type such as 'video/mp4', got {filetype!r}", path=path)
    return filetype.strip()


def _check_parts(path: Path, size: int, parts: int) -> None:
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_PARTS:
        raise InvalidFile(f"parts must be an int from 1 to {MAX_PARTS:,}, got {parts!r}", path=path)
    try:
        plan_chunks(size, ["planned"] * parts)
    except ValueError as exc:
        raise InvalidFile(f"{path.name}: {exc}", path=path) from None
    part = chunk_size(size, parts)
    if parts > 1 and part < MIN_PART_SIZE:
        most = max(1, size // MIN_PART_SIZE)
        raise InvalidFile(
            f"{path.name}: parts={parts} gives {part:,}-byte parts, but S3 needs every part but the last to have "
            f"at least {MIN_PART_SIZE:,} bytes (5 MiB); at most {most} part{'s' if most > 1 else ''} fit "
            f"{size:,} bytes",
            path=path,
        )


def _check_unchanged(path: Path, signature: tuple[int, int], asset: Asset, *, sent: list[int], total: int) -> None:
    try:
        st = path.stat()
        now = (st.st_size, st.st_mtime_ns)
    except OSError:
        now = (-1, -1)
    if now != signature:
        what = (
            "disappeared"
            if now[0] < 0
            else f"changed size from {signature[0]:,} to {now[0]:,} bytes"
            if now[0] != signature[0]
            else "was modified (same size, new modification time)"
        )
        raise FileChanged(
            f"{path.name} {what} after its asset {asset.id} was created for {signature[0]:,} bytes; "
            f"{_describe_parts(sent, total, 'sent')}. The asset will not complete: upload the file again once "
            "it is final",
            asset=asset,
            parts_sent=sent,
        )


def _wait_timeout(wait: bool | float) -> float | None:
    if wait is True:
        return WAIT_TIMEOUT
    if wait is False or wait is None:
        return None
    if isinstance(wait, int | float) and wait > 0:
        return float(wait)
    raise ValueError(f"wait must be True, False or a positive number of seconds, got {wait!r}")
