"""The worker pool: parts sent in parallel, progress delivered on the caller's thread, clean stops.

One mechanism for every upload. A :class:`PartPool` runs ``request.workers`` threads (each with its own
connection of one shared part session) that send the chunks given to :meth:`~PartPool.send` with
:func:`~c2c_helpers.parts.send_part`; :meth:`~PartPool.wait` delivers their progress and results on the
calling thread, so a widget or a terminal bar is only ever touched from the thread that created it.

Progress: each part reports its *absolute* bytes (:class:`~c2c_helpers.parts.PartProgress`, which a retry
resets to 0); :class:`ProgressTotals` is the one place where they are summed, into the file-level
:class:`ProgressEvent` the pool delivers (the notebook panel and the terminal bar use the same totals). Since
each part counts its absolute bytes, a retry moves its part back and the total never passes 100 %.

>>> totals = ProgressTotals([10, 5])
>>> totals.add(PartProgress(part=1, part_bytes=4, part_size=10, attempt=1, state="sending")).bytes_sent
4
>>> totals.add(PartProgress(part=1, part_bytes=0, part_size=10, attempt=1, state="retrying")).bytes_sent
0
>>> totals.done, totals.fraction
(0, 0.0)

:func:`send_parts` is the basic upload: every chunk of a file whose URLs are all known. A real-time upload
(:mod:`c2c_helpers.realtime`) keeps a pool open and hands it each part as soon as it is cut.

When a part fails for good, or on Ctrl-C, the others are cancelled (a worker stops at its next block or
backoff), the pool waits briefly for them, and the part session is closed: whatever happens, no worker is left
sending and no connection is left open. The error says which parts reached S3.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

import requests

from c2c_helpers.asset import Asset
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import FileChanged, UploadInterrupted, describe_parts
from c2c_helpers.parts import PartProgress, PartResult, State, part_session, send_part, warn_unverified
from c2c_helpers.request import UploadRequest
from c2c_helpers.retry import PartFailure

__all__ = ["CANCEL_GRACE", "PartPool", "PartTally", "ProgressEvent", "ProgressTotals", "send_parts"]

logger = logging.getLogger("c2c_helpers")

#: After a failure or Ctrl-C, how long to give the other workers to notice and stop before raising, so the
#: error can say accurately which parts were sent. Short: Ctrl-C must feel immediate.
CANCEL_GRACE = 0.5
#: How long the calling thread waits for an event before looking again (keeps Ctrl-C deliverable everywhere).
POLL = 0.25

Outcome = PartResult | PartFailure


def send_parts(
    request: UploadRequest,
    asset: Asset,
    chunks: list[Chunk],
    *,
    done: dict[int, PartResult] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    on_part: Callable[[PartResult], None] | None = None,
    resent: tuple[int, ...] = (),
) -> list[PartResult]:
    """Send every chunk not in `done`; return every part's result in part order.

    `progress` gets each :class:`ProgressEvent` and `on_part` each new result, both on the calling thread.
    `resent` are parts S3 already holds from an earlier run that go again: S3 assembles the file once its last
    missing part lands, so that part waits until every resent one is acknowledged. Raises the first part's
    :class:`~c2c_helpers.errors.PartUploadError` (with the asset and the parts sent),
    :class:`~c2c_helpers.errors.FileChanged`, or :class:`~c2c_helpers.errors.UploadInterrupted` on Ctrl-C,
    after stopping the other workers.
    """
    done = done or {}
    to_send = [c for c in chunks if c.number not in done]
    workers = max(1, min(request.workers, len(to_send)))
    sizes = (c.size for c in chunks)
    with PartPool(request, asset, workers=workers, sizes=sizes, progress=progress, on_part=on_part) as pool:
        for c in chunks:
            if c.number in done:
                pool.resumed(done[c.number])
            else:
                pool.announce(c)
        request.unchanged(asset, sent=sorted(done), total=len(chunks))  # before a single part goes out
        last = [c for c in to_send if c.number not in resent][-1:] if resent else []  # the part that completes it
        for c in to_send:
            if c not in last:
                pool.send(c)
        if last:
            pool.wait()  # every resent part acknowledged first: no assembly from their earlier bytes
            pool.send(last[0])
        pool.wait()
        results = pool.results
    ordered = [results[c.number] for c in chunks]
    if request.verify:
        warn_unverified(ordered)  # once per upload, not once per part
    return ordered


class PartPool:
    """The parts of one upload: queued, sent by a pool of threads, acknowledged.

    Use it as a context manager: leaving it stops and cleans up (on an error: cancels the workers first).
    `sizes` are the parts' sizes when known up front (a growing file's parts are added as they come);
    `progress` gets each :class:`ProgressEvent` and `on_part` each part S3 acknowledged, on the calling thread.
    """

    def __init__(
        self,
        request: UploadRequest,
        asset: Asset,
        *,
        workers: int | None = None,
        sizes: Iterable[int] = (),
        progress: Callable[[ProgressEvent], None] | None = None,
        on_part: Callable[[PartResult], None] | None = None,
    ) -> None:
        self.request, self.asset, self.progress, self.on_part = request, asset, progress, on_part
        workers = workers or request.workers
        self.totals = ProgressTotals(sizes)
        self.results: dict[int, PartResult] = {}
        self.events: queue.Queue[PartProgress | concurrent.futures.Future[Outcome]] = queue.Queue()
        self.cancel = threading.Event()
        self.session: requests.Session = part_session(workers)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="c2c-part")
        self.pending: dict[concurrent.futures.Future[Outcome], Chunk] = {}
        self._futures: list[concurrent.futures.Future[Outcome]] = []
        self._parts: set[int] = set()
        self._announced: set[int] = set()
        self._stopped = False

    @property
    def total(self) -> int:
        """Parts this pool was told of (sent, or resumed from an earlier run)."""
        return len(self._parts)

    def resumed(self, result: PartResult) -> None:
        """A part an earlier run sent: counted as done, not sent."""
        self._parts.add(result.number)
        self.results[result.number] = result
        earlier = PartProgress(result.number, result.bytes, result.bytes, 0, "done", message="sent by an earlier run")
        self._deliver(earlier)

    def announce(self, chunk: Chunk) -> None:
        """Show `chunk` as queued before it is sent (a basic upload announces all its parts first)."""
        self._parts.add(chunk.number)
        self._announced.add(chunk.number)
        self._deliver(PartProgress(chunk.number, 0, chunk.size, 0, "queued"))

    def send(self, chunk: Chunk) -> None:
        """Queue `chunk` for a worker (a part sent again replaces what an earlier attempt left)."""
        if chunk.number not in self._announced:
            self.announce(chunk)
        self._announced.discard(chunk.number)
        self.results.pop(chunk.number, None)
        future = self.executor.submit(self._work, chunk)
        self.pending[future] = chunk
        self._futures.append(future)
        future.add_done_callback(self.events.put)

    def wait(self, timeout: float | None = None) -> None:
        """Deliver events until no part is pending (`timeout` None), or for `timeout` seconds; raise the first
        part that failed for good (the other workers are stopped when the pool is left)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending or deadline is not None:
            left = POLL if deadline is None else min(POLL, deadline - time.monotonic())
            if left <= 0:
                break
            try:
                item = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self._handle(item)
        while not self.events.empty():  # the last progress events of the last part
            self._handle(self.events.get_nowait())

    def _work(self, chunk: Chunk) -> Outcome:
        return send_part(self.request, chunk, session=self.session, progress=self.events.put, cancel=self.cancel)

    def _handle(self, item: PartProgress | concurrent.futures.Future[Outcome]) -> None:
        if isinstance(item, PartProgress):
            self._deliver(item)
            return
        chunk = self.pending.pop(item, None)
        if chunk is None:
            return
        outcome = item.result()  # a worker's FileChanged (or a bug) is raised here, on the caller's thread
        if isinstance(outcome, PartFailure):
            error = outcome.error(asset=self.asset, parts_sent=self._stop())
            sent = describe_parts(error.parts_sent, self.total, "sent")
            error.add_note(f"asset {self.asset.id}: {sent}; the rest were stopped")
            raise error
        self._record(outcome)

    def _record(self, result: PartResult) -> None:
        if result.number not in self.results:
            self.results[result.number] = result
            if self.on_part is not None:
                self.on_part(result)

    def _deliver(self, event: PartProgress) -> None:
        file_event = self.totals.add(event)
        if self.progress is not None:
            self.progress(file_event)

    def _stop(self) -> list[int]:
        """Cancel the workers, give them a moment to stop, keep what they finished; the parts acknowledged."""
        if self._stopped:
            return sorted(self.results)
        self._stopped = True
        self.cancel.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        running = [f for f in self._futures if not f.done()]
        if running:
            concurrent.futures.wait(running, timeout=CANCEL_GRACE)
        for future in self._futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                outcome = future.result()
                if isinstance(outcome, PartResult) and future in self.pending:
                    self.pending.pop(future)
                    self._record(outcome)
        still = sum(not f.done() for f in self._futures)
        if still:
            logger.info("%d part worker(s) still waiting for S3's answer; their results are ignored", still)
        return sorted(self.results)

    def __enter__(self) -> PartPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self.executor.shutdown(wait=True)
                return
            sent = self._stop()
            if exc_type is KeyboardInterrupt:
                raise UploadInterrupted(asset=self.asset, parts_sent=sent, parts_total=self.total) from None
            if isinstance(exc, FileChanged) and exc.asset is None:  # the body found the file shorter than its part
                try:
                    self.request.unchanged(self.asset, sent=sent, total=self.total)
                except FileChanged as whole:  # the whole picture: which parts stay, what becomes of the asset
                    raise whole from None
        finally:
            self.session.close()


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
