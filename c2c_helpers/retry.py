"""When to send again, and how long to wait: the part retry policy, S3's errors classified, the API's 429s.

What is retried: connection errors, timeouts, HTTP 408, 429 and 5xx, S3's ``RequestTimeout`` /
``SlowDown`` / ``InternalError`` / ``ServiceUnavailable``, and a 200 whose ETag is not the MD5 of the bytes sent
(the part was damaged on the way: see :mod:`c2c_helpers.parts`). What is not: any 403 (an expired URL becomes
:class:`~c2c_helpers.errors.UploadURLExpired`; a ``SignatureDoesNotMatch`` means a wrong header, which the same
request repeats) and other 4xx.

A failed attempt is first a :class:`PartFailure` (what S3 said, or why there was no answer, and whether
another attempt may help); the :class:`~c2c_helpers.errors.PartUploadError` is built from it once, by whoever
raises it, with the context known there (the asset, the parts sent).

The API's 429s: Frame.io allows 5 asset creates per 1,000 ms per device (a leaky bucket, reported in
``x-ratelimit-limit``, ``x-ratelimit-remaining`` and ``x-ratelimit-window`` on every answer). Threads that each
back off on their own after a 429 keep colliding, so a :class:`~c2c_helpers.client.C2CClient` holds one
:class:`TokenBucket`, its *create budget*, and every create (basic or real-time) takes a token before it sends:
a hundred threads creating through one client are served one after another at the allowed pace. The bucket
follows what the service says: ``x-ratelimit-limit`` and ``x-ratelimit-window`` set its pace,
``x-ratelimit-remaining`` caps the tokens it believes it has, and a 429 holds every thread back for the wait it
asks for (:func:`rate_limit_wait`).

Examples
--------
>>> RetryPolicy().max_attempts
5
>>> [RetryPolicy(jitter=0).delay(n) for n in (1, 2, 3, 4, 5, 6)]
[1.0, 2.0, 4.0, 8.0, 16.0, 20.0]
>>> bucket = TokenBucket(5, 1.0)
>>> [round(bucket.take(), 1) for _ in range(4)]  # a burst of one token less than the limit goes at once
[0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import requests

from c2c_helpers._http import describe_exception
from c2c_helpers._redact import redact_url
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import InvalidArgument, PartUploadError, UploadURLExpired

__all__ = [
    "CREATE_LIMIT",
    "CREATE_WINDOW",
    "RATE_LIMIT_MAX_WAIT",
    "PartFailure",
    "RetryPolicy",
    "TokenBucket",
    "is_retryable",
    "rate_limit_wait",
]

#: Longest wait after a 429 from the API, however the backoff grows.
RATE_LIMIT_MAX_WAIT = 30.0
#: Asset creates Frame.io allows per :data:`CREATE_WINDOW` seconds (its documented 5 per 1,000 ms).
CREATE_LIMIT = 5
#: The window of :data:`CREATE_LIMIT`, in seconds.
CREATE_WINDOW = 1.0
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
    c2c_helpers.errors.InvalidArgument: max_attempts must be at least 1
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 20.0
    multiplier: float = 2.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidArgument("max_attempts must be at least 1")
        if not self.initial_delay >= 0 or not self.max_delay >= 0:
            raise InvalidArgument("delays must be non-negative seconds")
        if not self.multiplier >= 1:
            raise InvalidArgument("multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise InvalidArgument("jitter must be between 0 and 1")

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


def rate_limit_wait(retry_after: float | None, attempt: int) -> float:
    """Seconds to wait after the API's 429 number `attempt` (0-based): the advertised window, doubling per
    repeated 429, capped at :data:`RATE_LIMIT_MAX_WAIT`, plus up to 10 % jitter."""
    base = retry_after if retry_after and retry_after > 0 else 1.0
    wait = min(RATE_LIMIT_MAX_WAIT, base * 2.0**attempt)
    return wait + random.uniform(0, wait / 10)


@dataclass(frozen=True)
class PartFailure:
    """One failed attempt at a part: what S3 answered (or why nothing came back), classified.

    :meth:`error` builds the :class:`~c2c_helpers.errors.PartUploadError` (``UploadURLExpired`` for an
    expired URL) once, where it is raised, with the asset and the parts sent when the raiser knows them.
    """

    chunk: Chunk
    attempt: int
    what: str
    status: int | None = None
    s3_code: str | None = None
    detail: str | None = None
    response: requests.Response | None = None
    expired: bool = False
    damaged: bool = False

    @classmethod
    def from_exception(
        cls, exc: requests.RequestException, chunk: Chunk, attempt: int, timeout: tuple[float, float]
    ) -> PartFailure:
        """No answer: a connection error, a timeout, a stalled send."""
        return cls(chunk, attempt, f"part {chunk.number}: {describe_exception(exc, timeout)}")

    @classmethod
    def from_response(cls, response: requests.Response, chunk: Chunk, attempt: int) -> PartFailure:
        """S3's error answer, from its XML ``<Code>`` and ``<Message>``."""
        text = response.text[:4000] if response.content else ""
        code_match, message_match = _S3_CODE_RE.search(text), _S3_MESSAGE_RE.search(text)
        s3_code = code_match.group(1) if code_match else None
        s3_message = message_match.group(1) if message_match else (response.reason or "")
        status = response.status_code
        what = f"part {chunk.number}: {status} {s3_code or response.reason}" + (f": {s3_message}" if s3_message else "")
        what = what.rstrip(".")  # S3's messages may end with a full stop; the sentences added below bring their own
        expired = status == 403 and s3_code == "AccessDenied" and "expired" in s3_message.lower()
        if expired:
            expires = _S3_EXPIRES_RE.search(text)
            when = f" at {expires.group(1)}" if expires else ""
            what += (
                f". The presigned URL expired{when}; retrying it cannot help: create the asset again to get fresh"
                " upload URLs"
            )
        elif s3_code == "SignatureDoesNotMatch":
            what += (
                ". The PUT must send exactly the asset's filetype as Content-Type and 'x-amz-acl: private', to the"
                " URL unchanged"
            )
        return cls(chunk, attempt, what, status, s3_code, s3_message, response, expired)

    @classmethod
    def etag_mismatch(
        cls, response: requests.Response, chunk: Chunk, attempt: int, *, sent: str, etag: str, sent_bytes: int
    ) -> PartFailure:
        """S3 answered 200, but its ETag is not the MD5 of the bytes sent: the part was damaged on the way."""
        if sent_bytes != chunk.size:
            what = f"part {chunk.number}: S3 answered 200 after {sent_bytes:,} of the part's {chunk.size:,} bytes"
        else:
            what = (
                f"part {chunk.number}: S3 stored other bytes than were sent: expected ETag (the MD5 of the bytes "
                f"sent) {sent}, got {etag}; the part was damaged on the way"
            )
        return cls(chunk, attempt, what, response.status_code, None, None, response, damaged=True)

    def after(self, damaged: PartFailure) -> PartFailure:
        """This last failure, saying what an earlier damaged attempt means for the asset when S3 closed the upload."""
        if self is damaged or self.s3_code != "NoSuchUpload":
            return self
        return replace(
            self,
            what=self.what + f". An earlier attempt was stored damaged ({damaged.what.split(': ', 1)[1]}) and the "
            "upload has been closed since: the service most likely assembled the asset with the damaged part, so "
            "the asset does not hold this file; upload the file again as a new asset",
        )

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed (a part damaged on the way may arrive intact the next time)."""
        return not self.expired and (self.damaged or is_retryable(self.status, self.s3_code))

    @property
    def message(self) -> str:
        """What failed, which bytes, which attempt and where (the URL redacted)."""
        chunk = self.chunk
        where = f"bytes {chunk.start:,}-{chunk.end - 1:,}, attempt {self.attempt}, PUT {redact_url(chunk.url)}"
        return f"{self.what} ({where})"

    def error(self, *, asset: object = None, parts_sent: Iterable[int] = ()) -> PartUploadError:
        """The error to raise for this failure, with what the raiser knows about the whole upload."""
        error_type = UploadURLExpired if self.expired else PartUploadError
        error = error_type(
            self.message,
            part_index=self.chunk.index,
            s3_code=self.s3_code,
            attempts=self.attempt,
            url=self.chunk.url,
            status=self.status,
            title=self.s3_code,
            detail=self.detail,
            response=self.response,
            retryable=self.retryable,
            asset=asset,
            parts_sent=parts_sent,
        )
        if self.retryable:
            error.add_note(f"gave up after {self.attempt} attempts (RetryPolicy.max_attempts)")
        return error


class TokenBucket:
    """``limit`` requests per ``window`` seconds, shared by every thread that calls :meth:`take`.

    The bucket holds at most ``limit - 1`` tokens (a burst one short of the service's bucket, whose level
    depends on when requests *arrive*: the spare token absorbs the network's jitter) and gains ``limit /
    window`` per second. A thread that finds it empty reserves the next token and sleeps until it is due, so
    threads are served in the order they asked. Thread-safe.
    """

    def __init__(
        self,
        limit: int = CREATE_LIMIT,
        window: float = CREATE_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep
        self._then = clock()
        self._configure(limit, window)
        self._tokens = self._capacity

    def _configure(self, limit: int, window: float) -> None:
        if limit < 1 or not window > 0:
            raise InvalidArgument("a rate limit needs limit >= 1 and window > 0")
        self.limit, self.window = limit, window
        self._capacity = float(max(1, limit - 1))
        self._rate = limit / window

    @property
    def pace(self) -> float:
        """Requests per second the bucket lets through once its burst is spent."""
        return self._rate

    def _refill(self, now: float) -> None:
        self._tokens = min(self._capacity, self._tokens + (now - self._then) * self._rate)
        self._then = now

    def take(self) -> float:
        """Wait until one more request may be sent; the seconds waited."""
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold(self, seconds: float) -> None:
        """After a 429: no thread sends for `seconds` (from now, or from the last token already promised)."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0) - max(0.0, seconds) * self._rate

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow a create answer's ``x-ratelimit-*`` headers (absent or malformed ones change nothing)."""
        limit = _number(headers.get("x-ratelimit-limit"))
        window_ms = _number(headers.get("x-ratelimit-window"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        with self._lock:
            self._refill(self._clock())
            given = (int(limit), window_ms / 1000) if limit and limit >= 1 and window_ms and window_ms > 0 else None
            if given is not None and given != (self.limit, self.window):
                self._configure(*given)
                self._tokens = min(self._tokens, self._capacity)
            if remaining is not None:
                self._tokens = min(self._tokens, max(0.0, remaining - 1))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
