"""Sending a growing file's parts as they are cut: the real-time upload's worker pool.

:class:`LiveSender` follows a :class:`~c2c_helpers.realtime.growing.GrowingFile`: each time its size is looked at, the
parts that can be cut (:func:`~c2c_helpers.realtime.growing.plan_cuts`) are registered in one call and handed to a pool of
workers, each part sent by :func:`~c2c_helpers.parts.send_part` exactly as :func:`~c2c_helpers.upload.upload_file`
sends one (the same headers, retries, progress and MD5/ETag check). Progress events and results come back on
the calling thread through one queue, as in :mod:`c2c_helpers.pool`, so a widget is only touched from the thread
that shows it. When the recording ends, the final part is registered (with ``asset_filesize``) and sent, and
the sender returns once every part is acknowledged. A part that fails for good stops the others and raises its
error; whatever happens, no worker is left running and the part session is closed.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import FileChanged, InvalidFile, UploadInterrupted
from c2c_helpers.integrity import file_md5
from c2c_helpers.parts import PartResult, part_session, send_part, warn_unverified
from c2c_helpers.progress import PartProgress, ProgressEvent, ProgressTotals
from c2c_helpers.realtime.growing import GrowingFile, LivePart, plan_cuts
from c2c_helpers.resume.live import LiveManifest
from c2c_helpers.retry import PartFailure, RetryPolicy

__all__ = ["LiveSender", "Register"]

logger = logging.getLogger("c2c_helpers")

#: Parts registered in one call at most.
MAX_BATCH = 16
#: ``register(parts, asset_filesize)`` -> their URLs, in order (asset_filesize only with the final part).
Register = Callable[[list[LivePart], int | None], list[str]]
_Item = PartProgress | concurrent.futures.Future[PartResult | PartFailure]


class LiveSender:
    """The parts of one real-time upload: cut, registered, sent, acknowledged."""

    def __init__(
        self,
        path: Path,
        asset_id: str,
        filetype: str,
        part_size: int,
        *,
        workers: int,
        retry: RetryPolicy,
        timeout: tuple[float, float],
        progress: Callable[[ProgressEvent], None] | None,
        manifest: LiveManifest | None,
        register: Register,
    ) -> None:
        self.path, self.asset_id, self.filetype, self.part_size = path, asset_id, filetype, part_size
        self.retry, self.timeout, self.progress, self.manifest = retry, timeout, progress, manifest
        self.register = register
        self.totals = ProgressTotals()
        self.events: queue.Queue[_Item] = queue.Queue()
        self.cancel = threading.Event()
        self.session = part_session(workers)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="c2c-live")
        self.pending: dict[concurrent.futures.Future[PartResult | PartFailure], LivePart] = {}
        self.results: dict[int, PartResult] = {}
        self.cut = 0  # full parts cut so far
        self.final: LivePart | None = None

    @property
    def filesize(self) -> int:
        """The file's final size, once the final part is cut (0 before)."""
        return self.final.start + self.final.size if self.final is not None else 0

    # -- the run --------------------------------------------------------------------------------------------
    def run(self, watcher: GrowingFile, poll: float) -> tuple[tuple[PartResult, ...], tuple[int, ...], float]:
        """Follow the file to the end; every part's result in order, the parts resumed, and the seconds from
        noticing the end of the recording to the last acknowledgement."""
        try:
            resumed = self._resume()
            while self.final is None:
                ended = watcher.ended()  # before the size: a signal set after the last write sees all of it
                size = watcher.poll()
                if ended and size == 0:
                    raise InvalidFile(
                        f"{self.path}: nothing was recorded (the file is empty or missing)", path=self.path
                    )
                if size < self.cut * self.part_size:
                    raise FileChanged(f"{self.path.name} shrank to {size:,} bytes while it was being uploaded")
                parts = plan_cuts(size, self.part_size, cut=self.cut, final=ended)
                if parts:
                    self._register_and_send(parts, size if ended else None)
                if not ended:
                    self._drain(poll)
            noticed = time.monotonic()
            while self.pending:
                self._drain(poll)
        except KeyboardInterrupt:
            self._stop()
            raise UploadInterrupted(
                asset=self.asset_id, parts_sent=sorted(self.results), parts_total=self.cut + 1
            ) from None
        except BaseException:
            self._stop()
            raise
        self._stop()
        ordered = tuple(self.results[n] for n in sorted(self.results))
        warn_unverified(list(ordered))
        return ordered, resumed, time.monotonic() - noticed

    def _register_and_send(self, parts: list[LivePart], filesize: int | None) -> None:
        for start in range(0, len(parts), MAX_BATCH):
            batch = parts[start : start + MAX_BATCH]
            final = batch[-1].is_final
            urls = self.register(batch, filesize if final else None)
            if self.manifest is not None:  # saved before any of these parts is sent
                for part, url in zip(batch, urls, strict=True):
                    self.manifest.register(
                        part.number, start=part.start, size=part.size, is_final=part.is_final, url=url, save=False
                    )
                self.manifest.save()
            for part, url in zip(batch, urls, strict=True):
                self._send(part, url)
        self.cut = max([self.cut, *(p.number for p in parts if not p.is_final)])
        self.final = next((p for p in parts if p.is_final), None)

    def _send(self, part: LivePart, url: str) -> None:
        self._deliver(PartProgress(part.number, 0, part.size, 0, "queued"))
        chunk = Chunk(part.number - 1, part.start, part.size, part.start + part.size, url)
        future = self.executor.submit(
            send_part,
            self.path,
            chunk,
            self.filetype,
            session=self.session,
            timeout=self.timeout,
            retry=self.retry,
            progress=self.events.put,
            cancel=self.cancel,
        )
        self.pending[future] = part
        future.add_done_callback(self.events.put)

    def _drain(self, timeout: float) -> None:
        """Deliver what the workers reported, waiting up to `timeout` for the first item; raise a part's failure."""
        try:
            item = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if isinstance(item, PartProgress):
                self._deliver(item)
            else:
                self._collect(item)
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return

    def _collect(self, future: concurrent.futures.Future[PartResult | PartFailure]) -> None:
        part = self.pending.pop(future, None)
        if part is None:
            return
        outcome = future.result()  # a worker's FileChanged (or a bug) is raised here, on the caller's thread
        if isinstance(outcome, PartFailure):
            error = outcome.error(asset=self.asset_id, parts_sent=sorted(self.results))
            error.add_note(f"real-time asset {self.asset_id}: parts {sorted(self.results)} were acknowledged")
            raise error
        self.results[part.number] = outcome
        if self.manifest is not None:
            self.manifest.acknowledge(part.number, etag=outcome.etag, md5=outcome.md5)

    def _deliver(self, event: PartProgress) -> None:
        file_event = self.totals.add(event)
        if self.progress is not None:
            self.progress(file_event)

    def _stop(self) -> None:
        self.cancel.set()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.session.close()

    # -- resuming ---------------------------------------------------------------------------------------------
    def _resume(self) -> tuple[int, ...]:
        """Take up an earlier run from the manifest: its acknowledged parts (re-hashed: the file must still hold
        what was sent), then every other registered part: not acknowledged, or acknowledged but changed since.
        Those are registered again first, so that the service drops whatever it holds of them before anything
        else can complete the upload (a part whose 200 the earlier run never saw may be in with older bytes),
        then sent."""
        if self.manifest is None or not self.manifest.registered:
            return ()
        resumed: list[int] = []
        changed: list[tuple[LivePart, str]] = []
        for number, reg in sorted(self.manifest.registered.items()):
            part = LivePart(number, reg.start, reg.size, reg.is_final)
            ack = self.manifest.acknowledged.get(number)
            if ack is not None and file_md5(self.path, reg.start, reg.size) == ack[1]:
                self.results[number] = PartResult(number, ack[0], 0, reg.size, md5=ack[1], etag_verified=True)
                self._deliver(PartProgress(number, reg.size, reg.size, 0, "done", message="sent by an earlier run"))
                resumed.append(number)
            else:
                changed.append((part, reg.url))
            self.cut = max(self.cut, 0 if reg.is_final else number)
            self.final = part if reg.is_final else self.final
        if changed:
            logger.info(
                "asset %s: part(s) %s not acknowledged, or changed since: registered again",
                self.asset_id,
                [p.number for p, _ in changed],
            )
            parts = [p for p, _ in changed]
            urls = self.register(parts, self.filesize if any(p.is_final for p in parts) else None)
            for part, url in zip(parts, urls, strict=True):
                if self.manifest is not None:
                    self.manifest.register(
                        part.number, start=part.start, size=part.size, is_final=part.is_final, url=url
                    )
            changed = list(zip(parts, urls, strict=True))
        for part, url in changed:
            self._send(part, url)
        logger.info("asset %s: %d part(s) resumed, %d sent again", self.asset_id, len(resumed), len(self.pending))
        return tuple(resumed)
