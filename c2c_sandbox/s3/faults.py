"""Planned S3 faults: what a lesson or a test asks the next part attempts to suffer.

``slow_down`` (503 SlowDown), ``internal_error`` (500 InternalError), ``request_timeout`` (400 RequestTimeout),
``drop`` (the connection closes after half the body), ``stall`` (the body is read, the answer never comes),
``delay`` (the part is stored, the answer comes late), ``corrupt`` (one bit of the part flips on the way in: the
part is stored damaged and answered 200 with the MD5 of the stored bytes as its ETag, as S3 answers a bit flipped
on the wire). The S3 gateway (:mod:`c2c_sandbox.s3.gateway`) consumes them,
one per attempt; the controls (``/sandbox/faults``) plan and show them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from c2c_sandbox.s3.partstore import MAX_PARTS

FAULT_KINDS = ("slow_down", "internal_error", "request_timeout", "drop", "stall", "delay", "corrupt")


@dataclass
class Fault:
    kind: str
    part: int | None
    times: int
    seconds: float
    asset: str | None = None  # only attempts at this asset's parts (None: any asset)


class Faults:
    """Planned S3 faults, consumed by part attempts.

    ``inject(kind, part=None, times=1, seconds=None)`` makes the next ``times`` attempts at part ``part``
    (the URL's 1-based ``partNumber``; None means any part) fail as ``kind``; ``asset=`` narrows it to one
    asset's parts (the scorecard's scenario plays its faults that way). ``random(rate, seed=...)``
    makes about ``rate`` of all attempts fail with a kind drawn from ``kinds``, replayable from the seed.
    """

    def __init__(self, stop: threading.Event) -> None:
        self._lock = threading.Lock()
        self._cleared = threading.Condition(self._lock)  # notified when the faults are cleared, or the sandbox stops
        self._generation = 0
        self._planned: list[Fault] = []
        self._random: tuple[float, tuple[str, ...], random.Random, float] | None = None
        self._stop = stop
        self.fired: dict[str, int] = {}
        #: why no fault can be planned (the parts go to an external store, :mod:`c2c_sandbox.s3.storeparts`), or None
        self.refused: str | None = None

    def inject(
        self, kind: str, part: int | None = None, times: int = 1, seconds: float | None = None, asset: str | None = None
    ) -> None:
        if self.refused is not None:
            raise ValueError(self.refused)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if part is not None and (isinstance(part, bool) or not isinstance(part, int) or not 1 <= part <= MAX_PARTS):
            raise ValueError(f"part must be a part number from 1 to {MAX_PARTS} (or None for any part)")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        default = 30.0 if kind == "stall" else 1.0
        secs = default if seconds is None else float(seconds)
        if not 0 <= secs <= 3600:
            raise ValueError("seconds must be between 0 and 3600")
        with self._lock:
            self._planned.append(Fault(kind, part, times, secs, asset))

    def random(
        self, rate: float, *, kinds: Iterable[str] = FAULT_KINDS, seed: int | None = None, seconds: float = 30.0
    ) -> None:
        """Fail about ``rate`` (0..1) of all part attempts with a kind drawn from ``kinds`` (seeded)."""
        kinds = tuple(kinds)
        if self.refused is not None:
            raise ValueError(self.refused)
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._random = (rate, kinds, random.Random(seed), seconds)

    def clear(self) -> None:
        """No more faults: planned ones are forgotten, and a fault waiting (a stall, a delay) ends now."""
        with self._cleared:
            self._planned.clear()
            self._random = None
            self._generation += 1
            self._cleared.notify_all()

    def wake(self) -> None:
        """The sandbox stops: every wait ends now."""
        with self._cleared:
            self._cleared.notify_all()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in vars(f).items() if k != "asset" or v is not None} for f in self._planned]

    def take(self, part: int, asset: str | None = None) -> Fault | None:
        """The fault this attempt at ``part`` (of ``asset``) must suffer, if any (consumes one planned time)."""
        with self._lock:
            for fault in self._planned:
                if (fault.part is None or fault.part == part) and (fault.asset is None or fault.asset == asset):
                    fault.times -= 1
                    if fault.times == 0:
                        self._planned.remove(fault)
                    self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1
                    return Fault(fault.kind, fault.part, 1, fault.seconds, fault.asset)
            if self._random is not None:
                rate, kinds, rng, seconds = self._random
                if kinds and rng.random() < rate:
                    kind = rng.choice(kinds)
                    self.fired[kind] = self.fired.get(kind, 0) + 1
                    return Fault(kind, part, 1, seconds if kind == "stall" else rng.uniform(0.05, 0.3))
        return None

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the faults are cleared or the sandbox stops."""
        deadline = time.monotonic() + seconds
        with self._cleared:
            generation = self._generation
            while generation == self._generation and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cleared.wait(remaining)
