"""A client's asset-create budget: one token bucket shared by every thread that creates through the client.

Frame.io allows 5 asset creates per 1,000 ms per device (a leaky bucket, reported in ``x-ratelimit-limit``,
``x-ratelimit-remaining`` and ``x-ratelimit-window`` on every answer). Threads that each back off on their own
after a 429 keep colliding, and with a few retries each, many of them end ``RateLimited``. So a
:class:`~c2c_helpers.client.C2CClient` holds one :class:`TokenBucket` and every ``create_asset`` takes a token
before it sends: a hundred threads creating through one client are served one after another at the allowed
pace, all of them successfully, just slower.

The bucket follows what the service says: a create answer's ``x-ratelimit-limit`` and ``x-ratelimit-window``
set its pace (a service that allows more is not slowed down to 5/s), ``x-ratelimit-remaining`` caps the tokens
it believes it has (another client may share the device's budget), and a 429 holds every thread back for the
wait it asks for.

Examples
--------
>>> bucket = TokenBucket(5, 1.0)
>>> [round(bucket.take(), 1) for _ in range(4)]  # a burst of one token less than the limit goes at once ...
[0.0, 0.0, 0.0, 0.0]
>>> bucket.pace
5.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

__all__ = ["CREATE_LIMIT", "CREATE_WINDOW", "TokenBucket"]

#: Asset creates Frame.io allows per :data:`CREATE_WINDOW` seconds (its documented 5 per 1,000 ms).
CREATE_LIMIT = 5
#: The window of :data:`CREATE_LIMIT`, in seconds.
CREATE_WINDOW = 1.0


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
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
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
