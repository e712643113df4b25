"""Shaping a running sandbox's part uploads to a :class:`~c2c_sandbox.network.NetworkProfile`, with token buckets.

Every part body is read through a :class:`_ShapedBody`: after each block (about 10 ms of the slowest rate, 16 KiB
to 1 MiB) it takes the block's bytes from its connection's bucket, the shared uplink's and, when the profile
has one, its device's, and sleeps as long as the slowest of them says. The buckets lend nothing beyond a short
burst and queue their callers first come, first served, so parts in flight share the uplink evenly. A change of
profile (:meth:`Network.set`) replaces the buckets and reaches every part already waiting: a wait for a block's
bytes or a stall ends, a wait for the first byte or the answer is measured again against the new round trip,
and reads in flight follow the new buckets from their next block. Stalls and drops are drawn per part from a
generator seeded with the profile's ``seed``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from c2c_sandbox.network.profiles import NetworkProfile

__all__ = ["Network", "TokenBucket"]

QUANTUM_SECONDS = 0.01  # a shaped read takes about this much of a connection's time, at most 1 MiB
BURST_SECONDS = 0.02  # a bucket lends this much time's worth of bytes ahead (absorbs sleep jitter)
MIN_QUANTUM, MAX_QUANTUM = 16 * 1024, 1024 * 1024


class TokenBucket:
    """``rate`` bytes per second, ``burst`` bytes ahead; thread-safe. :meth:`reserve` never refuses: it says
    how long to wait, and later callers queue behind earlier ones (first come, first served: fair)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._level, self._then = burst, time.monotonic()
        self._lock = threading.Lock()

    def reserve(self, n: int) -> float:
        """Take ``n`` bytes' worth; returns the seconds to wait before they count as sent."""
        with self._lock:
            now = time.monotonic()
            self._level = min(self.burst, self._level + (now - self._then) * self.rate) - n
            self._then = now
            return max(0.0, -self._level / self.rate)


def _bucket(rate: float | None) -> TokenBucket | None:
    return None if rate is None else TokenBucket(rate, max(MIN_QUANTUM, rate * BURST_SECONDS))


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


@dataclass
class _State:
    """One profile's live buckets (replaced whole when the profile changes)."""

    profile: NetworkProfile
    uplink: TokenBucket | None
    devices: dict[str, TokenBucket]
    rng: random.Random
    quantum: int


class Network:
    """The conditions a running sandbox's S3 side applies; :meth:`set` changes them for every read from now on."""

    def __init__(self, profile: NetworkProfile, stop: threading.Event) -> None:
        self.initial = profile
        self._stop = stop
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when the profile changes, or the sandbox stops
        self._generation = 0
        self._state = self._new_state(profile)

    @staticmethod
    def _new_state(profile: NetworkProfile) -> _State:
        slowest = min((v for v in (profile.per_connection, profile.uplink, profile.device_uplink) if v), default=0)
        quantum = int(min(MAX_QUANTUM, max(MIN_QUANTUM, slowest * QUANTUM_SECONDS))) if slowest else MAX_QUANTUM
        return _State(profile, _bucket(profile.uplink), {}, random.Random(profile.seed), quantum)

    @property
    def profile(self) -> NetworkProfile:
        return self._state.profile

    def set(self, profile: NetworkProfile) -> None:
        """New conditions (and a freshly seeded generator), for every part from now on and every part waiting."""
        with self._changed:
            self._state = self._new_state(profile)
            self._generation += 1
            self._changed.notify_all()

    def reset(self) -> None:
        self.set(self.initial)

    def wake(self) -> None:
        """The sandbox stops: every wait ends now."""
        with self._changed:
            self._changed.notify_all()

    def wait(self, seconds: float) -> None:
        """Wait `seconds` (a block's bytes, a stall), unless the conditions change or the sandbox stops first."""
        deadline = time.monotonic() + seconds
        with self._changed:
            generation = self._generation
            while generation == self._generation and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(remaining)

    def _delay(self, of: Callable[[NetworkProfile], float]) -> None:
        """Wait the current conditions' delay (`of` the profile) from now: a change measures it again."""
        start = time.monotonic()
        with self._changed:
            while not self._stop.is_set():
                remaining = start + of(self._state.profile) - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(remaining)

    def first_byte(self) -> None:
        """A part request's round trip before its body flows."""
        self._delay(lambda profile: profile.ttfb)

    def answer(self) -> None:
        """Between a part's last byte and its answer."""
        self._delay(lambda profile: profile.response)

    def body(self, raw: Readable, length: int, device_id: str, on_drop: Callable[[], None]) -> Readable:
        """``raw`` (a part's body of ``length`` bytes) read at the current conditions' pace."""
        state = self._state
        with self._lock:
            stall = state.rng.random() < state.profile.stall_rate
            drop = state.rng.random() < state.profile.drop_rate
            at = state.rng.randrange(max(1, length))
        return _ShapedBody(
            self, raw, device_id, stall_at=at if stall else None, drop_at=at if drop else None, on_drop=on_drop
        )

    def _buckets(self, state: _State, device_id: str) -> tuple[TokenBucket | None, TokenBucket | None]:
        """The uplink's bucket and the device's (made on its first part)."""
        device = None
        if state.profile.device_uplink is not None:
            with self._lock:
                device = state.devices.get(device_id)
                if device is None:
                    device = state.devices[device_id] = _bucket(state.profile.device_uplink)  # type: ignore[assignment]
        return state.uplink, device


class _ShapedBody:
    """A part body whose reads are paced by the connection's bucket, the uplink's and the device's."""

    def __init__(
        self,
        network: Network,
        raw: Readable,
        device_id: str,
        *,
        stall_at: int | None,
        drop_at: int | None,
        on_drop: Callable[[], None],
    ) -> None:
        self.network, self.raw, self.device_id = network, raw, device_id
        self.stall_at, self.drop_at, self.on_drop = stall_at, drop_at, on_drop
        self.received = 0
        self._state: _State | None = None
        self._connection: TokenBucket | None = None

    def readinto(self, buffer: memoryview, /) -> int | None:
        state = self.network._state
        if state is not self._state:  # first read, or the conditions changed: this connection's own bucket
            self._state, self._connection = state, _bucket(state.profile.per_connection)
        n = self.raw.readinto(buffer[: state.quantum])
        if not n:
            return n
        self.received += n
        if self.drop_at is not None and self.received > self.drop_at:
            self.on_drop()  # the bytes of this block never arrive: the connection is gone
        uplink, device = self.network._buckets(state, self.device_id)
        wait = max((b.reserve(n) for b in (self._connection, uplink, device) if b is not None), default=0.0)
        if self.stall_at is not None and self.received > self.stall_at:
            self.stall_at, wait = None, wait + state.profile.stall_seconds
        self.network.wait(wait)
        return n
