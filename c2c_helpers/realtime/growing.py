"""A file that is still being written: which parts can be cut from it now, and when the recording has ended.

Pure arithmetic first (no I/O), then :class:`GrowingFile`, which watches a file's size.

The rule for cutting: a part of ``part_size`` bytes is cut as soon as its bytes, **and at least one byte after
them**, are on disk. Holding back that one byte costs nothing while the camera records (the next byte comes a
fraction of a millisecond later) and guarantees that the final part, cut when the recording ends, is never
empty: it holds the rest of the file, 1 to ``part_size`` bytes, and it may be the only part. Every part but the
final one is then exactly ``part_size`` bytes, at least 5 MiB, as S3 wants.

>>> MiB = 1024 * 1024
>>> [p.number for p in plan_cuts(17 * MiB, 8 * MiB, cut=0, final=False)]  # 16 MiB and a byte more are in
[1, 2]
>>> plan_cuts(16 * MiB, 8 * MiB, cut=0, final=False)[-1].number  # exactly 16 MiB: part 2 waits for a byte
1
>>> plan_cuts(16 * MiB, 8 * MiB, cut=1, final=True)  # the recording ended at exactly 16 MiB
[LivePart(number=2, start=8388608, size=8388608, is_final=True)]
>>> final_part(21_136_250, 8 * MiB)  # the guide's clip, in 8 MiB parts
LivePart(number=3, start=16777216, size=4359034, is_final=True)
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c2c_helpers.errors import InvalidArgument

__all__ = [
    "Done",
    "GrowingFile",
    "LivePart",
    "final_part",
    "full_parts",
    "plan_cuts",
]

#: What says the recording has ended: an event the recorder sets, or a function that returns True.
Done = threading.Event | Callable[[], bool]


@dataclass(frozen=True)
class LivePart:
    """A part cut from a growing file: bytes ``[start, start + size)``; ``is_final`` for the last one."""

    number: int
    start: int
    size: int
    is_final: bool

    def registration(self) -> dict[str, Any]:
        """The entry of the parts call's ``parts`` list: ``{"number", "size", "is_final"}``."""
        return {"number": self.number, "size": self.size, "is_final": self.is_final}


def full_parts(available: int, part_size: int) -> int:
    """How many parts of ``part_size`` can be cut from ``available`` bytes, keeping one byte back.

    >>> full_parts(8 * 1024 * 1024, 8 * 1024 * 1024), full_parts(8 * 1024 * 1024 + 1, 8 * 1024 * 1024)
    (0, 1)
    """
    return max(0, (available - 1) // part_size)


def final_part(filesize: int, part_size: int) -> LivePart:
    """The final part of a file of ``filesize`` bytes (at least 1) cut in parts of ``part_size``."""
    if filesize < 1:
        raise InvalidArgument("nothing was recorded: the file is empty")
    number = max(1, math.ceil(filesize / part_size))
    start = (number - 1) * part_size
    return LivePart(number, start, filesize - start, True)


def plan_cuts(available: int, part_size: int, *, cut: int, final: bool) -> list[LivePart]:
    """The parts to cut now, after the first ``cut``: the full ones, and with ``final`` the final one."""
    if not final:
        last = full_parts(available, part_size)
        return [LivePart(n, (n - 1) * part_size, part_size, False) for n in range(cut + 1, last + 1)]
    end = final_part(available, part_size)
    full = [LivePart(n, (n - 1) * part_size, part_size, False) for n in range(cut + 1, end.number)]
    return [*full, end]


class GrowingFile:
    """Watch a file another process is writing: its size, and whether the recording has ended.

    The recording has ended when ``done`` says so (an event set, or a function returning True: the recorder's
    own signal, the fast path), or when the file has not grown for ``idle_timeout`` seconds (the fallback for a
    writer that gives no signal: it adds ``idle_timeout`` to the time before the upload can finish).
    """

    def __init__(self, path: Path, *, done: Done | None, idle_timeout: float) -> None:
        if isinstance(idle_timeout, bool) or not isinstance(idle_timeout, int | float) or not 0 < idle_timeout < 1e9:
            raise InvalidArgument(f"idle_timeout must be a positive number of seconds, got {idle_timeout!r}")
        self.path, self.done, self.idle_timeout = path, done, idle_timeout
        self.size = 0
        self.grew_at = time.monotonic()
        self.ended_by: str | None = None

    def poll(self) -> int:
        """The file's size now (0 while it does not exist yet); notes when it last grew."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = 0
        if size != self.size:
            self.size, self.grew_at = size, time.monotonic()
        return size

    def ended(self) -> bool:
        """Whether the recording has ended (``ended_by`` says how: ``"signal"`` or ``"idle"``)."""
        if self.ended_by is None:
            signalled = self.done is not None and (
                self.done.is_set() if isinstance(self.done, threading.Event) else bool(self.done())
            )
            if signalled:
                self.ended_by = "signal"
            elif time.monotonic() - self.grew_at >= self.idle_timeout:
                self.ended_by = "idle"
        return self.ended_by is not None
