"""The worker pool: a file's parts sent in parallel, progress delivered on the caller's thread, clean stops.

:func:`send_parts` starts one thread per worker (each with its own connection of one shared part session),
hands each a part, and delivers the workers' progress on the calling thread, so a widget or a terminal bar is
only ever touched from the thread that created it. A :class:`~c2c_helpers.progress.ProgressTotals` turns each
part's :class:`~c2c_helpers.progress.PartProgress` into a file-level
:class:`~c2c_helpers.progress.ProgressEvent`.

When a part fails for good, or on Ctrl-C, the others are cancelled (a worker stops at its next block or
backoff), the pool waits briefly for them, and the part session is closed: whatever happens, no worker is left
sending and no connection is left open by this function. The error says which parts reached S3.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from c2c_helpers.asset import Asset
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import FileChanged, UploadInterrupted, describe_parts
from c2c_helpers.parts import PartResult, part_session, send_part, warn_unverified
from c2c_helpers.progress import PartProgress, ProgressEvent, ProgressTotals
from c2c_helpers.request import check_unchanged
from c2c_helpers.retry import PartFailure, RetryPolicy

__all__ = ["CANCEL_GRACE", "Job", "send_parts"]

logger = logging.getLogger("c2c_helpers")

#: After a failure or Ctrl-C, how long to give the other workers to notice and stop before raising, so the
#: error can say accurately which parts were sent. Short: Ctrl-C must feel immediate.
CANCEL_GRACE = 0.5
#: How long the calling thread waits for an event before looking again (keeps Ctrl-C deliverable everywhere).
_POLL = 0.25

Outcome = PartResult | PartFailure


@dataclass(frozen=True)
class Job:
    """What the pool needs to know about the upload: the file, its planned chunks, and the asset they are for."""

    path: Path
    chunks: list[Chunk]
    filetype: str
    asset: Asset
    signature: tuple[int, int]
    retry: RetryPolicy
    timeout: tuple[float, float]


def send_parts(
    job: Job,
    *,
    workers: int,
    progress: Callable[[ProgressEvent], None] | None = None,
    done: dict[int, PartResult] | None = None,
    on_part: Callable[[PartResult], None] | None = None,
) -> list[PartResult]:
    """Send every chunk not in `done`; return every part's result in part order.

    `progress` gets each :class:`~c2c_helpers.progress.ProgressEvent` and `on_part` each new result, both on
    the calling thread. Raises the first part's :class:`~c2c_helpers.errors.PartUploadError` (with the asset
    and the parts sent), :class:`~c2c_helpers.errors.FileChanged`, or
    :class:`~c2c_helpers.errors.UploadInterrupted` on Ctrl-C, after stopping the other workers.
    """
    totals = ProgressTotals(c.size for c in job.chunks)
    results: dict[int, PartResult] = dict(done or {})

    def deliver(event: PartProgress) -> None:
        file_event = totals.add(event)
        if progress is not None:
            progress(file_event)

    for c in job.chunks:
        if c.number in results:
            deliver(PartProgress(c.number, c.size, c.size, 0, "done", message="sent by an earlier run"))
        else:
            deliver(PartProgress(c.number, 0, c.size, 0, "queued"))
    check_unchanged(job.path, job.signature, job.asset, sent=sorted(results), total=len(job.chunks))
    to_send = [c for c in job.chunks if c.number not in results]
    if to_send:
        _Run(job, to_send, min(workers, len(to_send)), deliver, results, on_part).run()
    ordered = [results[c.number] for c in job.chunks]
    warn_unverified(ordered)  # once per upload, not once per part
    return ordered


class _Run:
    """One pool run: its threads, its session, its event queue, and how it stops."""

    def __init__(
        self,
        job: Job,
        to_send: list[Chunk],
        workers: int,
        deliver: Callable[[PartProgress], None],
        results: dict[int, PartResult],
        on_part: Callable[[PartResult], None] | None,
    ) -> None:
        self.job, self.to_send, self.deliver, self.results, self.on_part = job, to_send, deliver, results, on_part
        self.events: queue.Queue[PartProgress | concurrent.futures.Future[Outcome]] = queue.Queue()
        self.cancel = threading.Event()
        self.session: requests.Session = part_session(workers)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="c2c-part")
        self.futures: dict[concurrent.futures.Future[Outcome], Chunk] = {}

    def work(self, chunk: Chunk) -> Outcome:
        j = self.job
        return send_part(
            j.path,
            chunk,
            j.filetype,
            session=self.session,
            timeout=j.timeout,
            retry=j.retry,
            progress=self.events.put,
            cancel=self.cancel,
        )

    def run(self) -> None:
        try:
            for chunk in self.to_send:
                future = self.executor.submit(self.work, chunk)
                self.futures[future] = chunk
                future.add_done_callback(self.events.put)
            failure = self.collect()
        except KeyboardInterrupt:
            raise UploadInterrupted(
                asset=self.job.asset, parts_sent=self.stop(), parts_total=len(self.job.chunks)
            ) from None
        except FileChanged:
            sent = self.stop()  # the body found the file shorter than its part: say so with the whole picture
            check_unchanged(self.job.path, self.job.signature, self.job.asset, sent=sent, total=len(self.job.chunks))
            raise
        except BaseException:
            self.stop()
            raise
        else:
            if failure is not None:
                sent = self.stop()
                error = failure.error(asset=self.job.asset, parts_sent=sent)
                error.add_note(
                    f"asset {self.job.asset.id}: {describe_parts(sent, len(self.job.chunks), 'sent')}; "
                    "the rest were stopped"
                )
                raise error
            self.close(wait=True)

    def collect(self) -> PartFailure | None:
        """Deliver events until every part is sent (None) or one failed for good (its failure)."""
        pending = set(self.futures)
        while pending:
            try:
                item = self.events.get(timeout=_POLL)
            except queue.Empty:
                continue
            if isinstance(item, PartProgress):
                self.deliver(item)
                continue
            pending.discard(item)
            outcome = item.result()  # a worker's FileChanged (or a bug) is raised here, on the caller's thread
            if isinstance(outcome, PartFailure):
                return outcome
            self.record(outcome)
        while not self.events.empty():  # the last progress events of the last part
            item = self.events.get_nowait()
            if isinstance(item, PartProgress):
                self.deliver(item)
        return None

    def record(self, result: PartResult) -> None:
        if result.number not in self.results:
            self.results[result.number] = result
            if self.on_part is not None:
                self.on_part(result)

    def stop(self) -> list[int]:
        """Cancel the workers, give them a moment to stop, close the session; the part numbers that were sent."""
        self.cancel.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        running = [f for f in self.futures if not f.done()]
        if running:
            concurrent.futures.wait(running, timeout=CANCEL_GRACE)
        for future in self.futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                outcome = future.result()
                if isinstance(outcome, PartResult):
                    self.record(outcome)
        self.close(wait=False)
        still = sum(not f.done() for f in self.futures)
        if still:
            logger.info("%d part worker(s) still waiting for S3's answer; their results are ignored", still)
        return sorted(self.results)

    def close(self, *, wait: bool) -> None:
        self.executor.shutdown(wait=wait)
        self.session.close()
