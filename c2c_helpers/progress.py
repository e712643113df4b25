"""Progress: one event per meaning, and the one place where the parts' bytes are summed.

- :class:`PartProgress`: where one part is (:func:`~c2c_helpers.parts.upload_chunk` emits it): its bytes sent
  in the current attempt, an *absolute* count that a retry resets to 0;
- :class:`ProgressEvent`: the same, plus where the whole file is (:func:`~c2c_helpers.upload.upload_file`
  emits it): ``bytes_sent`` of ``total``;
- :class:`ProgressTotals`: folds either kind into per-part counts and the file's total. The worker pool uses it
  to make each :class:`ProgressEvent`, the notebook panel and the terminal bar to draw. Since each part
  counts its absolute bytes, a retry moves its part back and the total never passes 100 %.

Examples
--------
>>> totals = ProgressTotals([10, 5])
>>> totals.add(PartProgress(part=1, part_bytes=4, part_size=10, attempt=1, state="sending"))
ProgressEvent(part=1, part_bytes=4, part_size=10, bytes_sent=4, total=15, attempt=1, state='sending', message=None, delay=None)
>>> totals.add(PartProgress(part=1, part_bytes=0, part_size=10, attempt=1, state="retrying")).bytes_sent
0
>>> totals.done, totals.fraction
(0, 0.0)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["PartProgress", "PartTally", "ProgressEvent", "ProgressTotals", "State"]

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


@dataclass(frozen=True)
class ProgressEvent:
    """Where one part is, and where the whole file is: what :func:`~c2c_helpers.upload.upload_file` reports.

    The part fields are :class:`PartProgress`'s; ``bytes_sent`` is the sum of every part's ``part_bytes``
    and ``total`` the file size, so ``bytes_sent`` never exceeds ``total``.

    >>> ProgressEvent(part=1, part_bytes=5, part_size=10, bytes_sent=15, total=30, attempt=1, state="sending").fraction
    0.5
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


@dataclass
class PartTally:
    """What :class:`ProgressTotals` knows of one part: its size, bytes sent, state and highest attempt."""

    size: int
    sent: int = 0
    state: State = "queued"
    attempts: int = 0


class ProgressTotals:
    """Per-part counts and the file's total, from :class:`PartProgress` or :class:`ProgressEvent` events.

    Parameters
    ----------
    part_sizes : iterable of int
        The parts' sizes, if known; otherwise each part is added when its first event arrives (an upload
        announces every part as ``queued`` first).
    """

    def __init__(self, part_sizes: Iterable[int] = ()) -> None:
        self.parts: list[PartTally] = [PartTally(size) for size in part_sizes]
        self.bytes_sent = 0
        self.total = sum(p.size for p in self.parts)

    def add(self, event: PartProgress | ProgressEvent) -> ProgressEvent:
        """Take one event into account; return it with the file's figures."""
        while len(self.parts) < event.part:
            self.parts.append(PartTally(0))
        tally = self.parts[event.part - 1]
        if tally.size != event.part_size:
            self.total += event.part_size - tally.size
            tally.size = event.part_size
        sent = min(event.part_bytes, tally.size)
        self.bytes_sent += sent - tally.sent
        tally.sent, tally.state, tally.attempts = sent, event.state, max(tally.attempts, event.attempt)
        return ProgressEvent(
            event.part,
            event.part_bytes,
            event.part_size,
            self.bytes_sent,
            self.total,
            event.attempt,
            event.state,
            event.message,
            event.delay,
        )

    def set_part(self, number: int, *, sent: int, state: State, attempts: int | None = None) -> None:
        """Set a part's figures directly (a view marking parts failed, or taking a result's final counts)."""
        tally = self.parts[number - 1]
        sent = min(sent, tally.size)
        self.bytes_sent += sent - tally.sent
        tally.sent, tally.state = sent, state
        if attempts is not None:
            tally.attempts = attempts

    @property
    def done(self) -> int:
        """How many parts are done."""
        return sum(p.state == "done" for p in self.parts)

    @property
    def fraction(self) -> float:
        """``bytes_sent / total``, between 0 and 1."""
        return self.bytes_sent / self.total if self.total else 1.0
