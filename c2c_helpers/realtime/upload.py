"""``upload_growing_file``: upload a file while it is still being recorded, through the core's pool.

Read it beside notebook 08. While another process writes the file, it cuts a part of ``part_size`` bytes as
soon as its bytes are on disk (:mod:`c2c_helpers.realtime.growing`), registers the parts cut in one call
(:func:`~c2c_helpers.realtime.calls.register_parts`) and hands them to the same
:class:`~c2c_helpers.pool.PartPool` a basic upload uses (the same part sender, retries, progress events and
MD5/ETag check). When the recording ends (the caller's ``done`` signal, or no growth for ``idle_timeout``
seconds) it first makes sure every part already sent still holds the file's bytes: a writer may go back and
patch what it wrote (an MP4 muxer rewrites its header when it closes the file), so each acknowledged part is
hashed again and a part that changed is registered again (the service drops the bytes it held of it) and sent
again. Only then does it register and send the final part with ``asset_filesize``, which completes the set;
Frame.io then assembles the file. With ``resume=PATH`` it keeps a manifest (:mod:`c2c_helpers.resume`), so a
run stopped halfway can be started again and sends only what is missing.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from c2c_helpers.asset import Asset
from c2c_helpers.chunks import MIN_PART_SIZE, Chunk
from c2c_helpers.client import C2CClient
from c2c_helpers.errors import FileChanged, InvalidArgument, InvalidFile
from c2c_helpers.parts import PartResult, file_md5, warn_unverified
from c2c_helpers.pool import PartPool, ProgressEvent
from c2c_helpers.realtime.calls import MAX_BATCH, create_realtime_asset, register_parts
from c2c_helpers.realtime.growing import Done, GrowingFile, LivePart, plan_cuts
from c2c_helpers.request import DEFAULT_WORKERS, PART_TIMEOUT, UploadRequest, check_filetype, check_request
from c2c_helpers.resume import Manifest, ManifestLock, default_manifest_path
from c2c_helpers.retry import RetryPolicy
from c2c_helpers.upload import assembled

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PART_SIZE",
    "MAX_RESENDS",
    "RealtimeResult",
    "default_live_manifest_path",
    "upload_growing_file",
]

logger = logging.getLogger("c2c_helpers")

#: 8 MiB parts: above S3's 5 MiB floor, small enough that a part leaves the camera about every 6 s at the test
#: clip's 10.5 Mbit/s, and that the final part (at most this big) goes in well under a second on a good link.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
#: With no ``done`` signal, how long the file must stop growing before the recording counts as ended. A camera
#: that pauses writing for a while (a slow card) must not end the upload early, so it is generous: a device that
#: knows when it stops recording should say so with ``done``, which ends the upload at once.
DEFAULT_IDLE_TIMEOUT = 10.0
#: How often the file's size is looked at (and the workers' progress delivered).
DEFAULT_POLL_INTERVAL = 0.05
#: Before the final part, how many times parts found changed are sent again: a writer still rewriting its file
#: after that is not done with it, and the upload fails loudly rather than finish with stale bytes.
MAX_RESENDS = 3


@dataclass(frozen=True)
class RealtimeResult:
    """What :func:`upload_growing_file` did.

    ``parts`` in part order (the last is the final part); ``bytes`` the file's final size; ``seconds`` from the
    create call to the last acknowledgement; ``ended_by`` how the end of the recording was noticed
    (``"signal"`` or ``"idle"``); ``tail_seconds`` from noticing it to the last part acknowledged; ``resumed``
    the parts an earlier run had sent; ``resent`` the parts sent again because the file's bytes changed after
    they were sent; ``assembled`` True when a sandbox's controls showed the file assembled.

    >>> r = RealtimeResult("a1", "take.mp4", (PartResult(1, "e", 1, 8388608), PartResult(2, "e", 2, 5)),
    ...                    8388613, 3.0, 3, "signal", 0.12)
    >>> r.summary(timing=False)
    "uploaded 'take.mp4' while it was recorded: 8,388,613 bytes in 2 parts (the last one final), 3 attempts (1 retry), end of recording by signal"
    """  # noqa: E501

    asset_id: str
    name: str
    parts: tuple[PartResult, ...]
    bytes: int
    seconds: float
    attempts: int
    ended_by: str
    tail_seconds: float
    resumed: tuple[int, ...] = ()
    assembled: bool | None = None
    resent: tuple[int, ...] = ()

    def summary(self, *, timing: bool = True) -> str:
        n, retries = len(self.parts), self.attempts - (len(self.parts) - len(self.resumed))
        line = (
            f"uploaded {self.name!r} while it was recorded: {self.bytes:,} bytes in {n} part{'s' if n != 1 else ''}"
            + (" (the last one final)" if n > 1 else " (one final part)")
            + (f", {len(self.resumed)} resumed" if self.resumed else "")
            + (f", {len(self.resent)} sent again after the file changed" if self.resent else "")
            + f", {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
            + (f" ({retries} retr{'ies' if retries != 1 else 'y'})" if retries > 0 else "")
            + f", end of recording by {self.ended_by}"
            + (", assembled by the sandbox" if self.assembled else "")
        )
        if timing:
            line += f"; {self.seconds:.2f} s in all, {self.tail_seconds:.2f} s after the end of recording"
        return line


def default_live_manifest_path(file: str | os.PathLike[str]) -> Path:
    """``FILE.c2c-realtime.json``, next to the file (``c2c upload --realtime FILE --resume``)."""
    return default_manifest_path(file, realtime=True)


def upload_growing_file(
    path: str | os.PathLike[str],
    *,
    client: C2CClient | None = None,
    name: str | None = None,
    extension: str | None = None,
    final_name: str | None = None,
    filetype: str | None = None,
    channel: int | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    workers: int = DEFAULT_WORKERS,
    retry: RetryPolicy | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    done: Done | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    timeout: float | tuple[float, float] = PART_TIMEOUT,
    resume: str | os.PathLike[str] | None = None,
    wait: bool | float | None = None,
) -> RealtimeResult:
    """Upload a file while another process is still writing it (a camera recording, a render).

    Parameters
    ----------
    path : path-like
        The file being written (it may not exist yet: it is waited for, up to `idle_timeout`).
    client : C2CClient, optional
        Defaults to ``C2CClient()``; see :func:`c2c_helpers.connect`.
    name, extension : str, optional
        The create call's: a name with an extension (the file's name by default), or only an extension
        (``".mp4"``: the asset is named ``[new file].mp4``). `final_name` renames such an asset with the final
        part (``asset_name``).
    filetype : str, optional
        MIME type (required by the real-time create call); guessed from the name by default.
    part_size : int
        Bytes per part, at least 5 MiB (S3's smallest part but the last); the final part holds the rest.
    workers, retry, progress, timeout
        As for :func:`~c2c_helpers.upload.upload_file`: parts sent at once, per-part retries, progress events
        (on the calling thread; a part appears as ``queued`` when it is cut), part PUT timeouts.
    done : threading.Event or callable, optional
        The end of the recording: set by the recorder (or a function that returns True once it has ended). The
        upload then finishes at once; without it, the recording counts as ended after `idle_timeout` seconds
        without growth, which that much later.
    poll_interval : float
        How often the file's size is looked at.
    resume : path-like, optional
        A manifest (:mod:`c2c_helpers.resume`): written as the upload goes, removed at the end; when it exists,
        that asset is continued and only what it does not list as acknowledged is sent.
    wait : bool or float, optional
        Wait for a sandbox's assembly (only with a sandbox's controls; see ``upload_file``).

    Raises
    ------
    InvalidArgument
        Bad arguments; :class:`~c2c_helpers.errors.InvalidFile` for a manifest for another file or service
        (before anything is sent).
    APIError, TransportError, PartUploadError, AssetIncomplete
        As for ``upload_file``.
    FileChanged
        The file shrank, or kept changing bytes already sent (more than :data:`MAX_RESENDS` rounds).
    """
    path = Path(path)
    request = _check(path, client, name, extension, filetype, channel, part_size, workers, retry, timeout, wait, resume)
    if not isinstance(poll_interval, int | float) or not 0 < poll_interval <= 60:
        raise InvalidArgument(f"poll_interval must be between 0 and 60 seconds, got {poll_interval!r}")
    watcher = GrowingFile(path, done=done, idle_timeout=idle_timeout)
    lock = ManifestLock(resume).acquire() if resume is not None else None
    api = client if client is not None else C2CClient()
    try:
        started = time.monotonic()
        asset, manifest = _asset_and_manifest(api, request, name=name, extension=extension, part_size=part_size)

        def register(parts: list[LivePart], size: int | None) -> list[str]:
            return register_parts(api, asset.id, parts, asset_filesize=size, asset_name=final_name, retry=request.retry)

        acknowledged = None if manifest is None else lambda r: manifest.record(r.number, r.etag, md5=r.md5)
        with PartPool(request, asset, progress=progress, on_part=acknowledged) as pool:
            live = _LiveUpload(request, asset, pool, manifest, register, part_size)
            resumed = live.resume()
            tail = live.follow(watcher, poll_interval)
        results = tuple(pool.results[n] for n in sorted(pool.results))
        warn_unverified(list(results))
        result = RealtimeResult(
            asset.id, asset.name, results, live.filesize, time.monotonic() - started,
            sum(r.attempts for r in results), watcher.ended_by or "signal", tail, resumed, resent=tuple(live.resent),
        )  # fmt: skip
        if manifest is not None:
            manifest.remove()
        if request.wait_timeout is None or api.controls is None:
            return result
        whole = replace(asset, filesize=result.bytes)
        shown = assembled(api.controls, whole, request.wait_timeout, [p.number for p in results])
        return replace(result, assembled=shown.is_complete)
    finally:
        if client is None:
            api.close()
        if lock is not None:
            lock.release()


def _check(
    path: Path,
    client: C2CClient | None,
    name: str | None,
    extension: str | None,
    filetype: str | None,
    channel: int | None,
    part_size: int,
    workers: int,
    retry: RetryPolicy | None,
    timeout: float | tuple[float, float],
    wait: bool | float | None,
    resume: str | os.PathLike[str] | None,
) -> UploadRequest:
    """The arguments, checked before anything is sent: the core's checks of a growing file, and the part size."""
    if isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < MIN_PART_SIZE:
        raise InvalidArgument(
            f"part_size must be an int of at least {MIN_PART_SIZE:,} bytes (5 MiB, S3's smallest part)"
        )
    if filetype is None and extension and not name:
        filetype = check_filetype(Path(f"[new file]{extension}"), None)
    return check_request(
        path, name=name, filetype=filetype, channel=channel, workers=workers, retry=retry, timeout=timeout,
        wait=wait, controls=client.controls if client is not None else None, resume=resume, growing=True,
    )  # fmt: skip


#: ``register(parts, asset_filesize)`` -> their URLs, in order (asset_filesize only with the final part).
Register = Callable[[list[LivePart], int | None], list[str]]


def _asset_and_manifest(
    client: C2CClient, request: UploadRequest, *, name: str | None, extension: str | None, part_size: int
) -> tuple[Asset, Manifest | None]:
    """A new real-time asset (and its manifest, saved before anything is sent), or the manifest's asset."""
    where = request.manifest_path
    manifest = Manifest.load(where) if where is not None else None
    if manifest is not None:
        if (
            not manifest.is_realtime
            or manifest.api_url != client.api_url
            or manifest.file != str(request.path.resolve())
            or manifest.part_size != part_size
        ):
            raise InvalidFile(
                f"{manifest.path}: this manifest is not a real-time upload of {request.path.resolve()} at "
                f"{client.api_url} in {part_size:,}-byte parts; delete it to upload the file as a new asset",
                path=manifest.path,
            )
        logger.info(
            "asset %s: resuming a real-time upload (%d parts acknowledged)", manifest.asset_id, len(manifest.parts)
        )
        return Asset(manifest.asset_id, manifest.name, manifest.filetype, None, (), "uploading", None), manifest
    asset = create_realtime_asset(
        client,
        filetype=request.filetype,
        name=name or (None if extension else request.path.name),
        extension=extension,
        offset=request.offset,
        channel=request.channel,
    )
    if where is not None:
        manifest = Manifest.realtime(
            where,
            api_url=client.api_url,
            file=str(request.path.resolve()),
            asset_id=asset.id,
            name=asset.name,
            filetype=request.filetype,
            part_size=part_size,
        )
    return asset, manifest


class _LiveUpload:
    """One real-time upload's parts: cut as the file grows, registered, handed to the pool, checked at the end."""

    def __init__(
        self,
        request: UploadRequest,
        asset: Asset,
        pool: PartPool,
        manifest: Manifest | None,
        register: Register,
        part_size: int,
    ) -> None:
        self.request, self.asset, self.pool, self.manifest = request, asset, pool, manifest
        self.register, self.part_size = register, part_size
        self.cut = 0  # full parts cut so far
        self.final: LivePart | None = None
        self.sent: dict[int, LivePart] = {}  # every part handed to the pool (or resumed)
        self.resent: list[int] = []

    @property
    def filesize(self) -> int:
        """The file's final size, once the final part is cut (0 before)."""
        return self.final.start + self.final.size if self.final is not None else 0

    def follow(self, watcher: GrowingFile, poll: float) -> float:
        """Follow the file to the end of the recording; the seconds from noticing it to the last part
        acknowledged."""
        final = self.final  # a resumed run may have registered its final part already
        while final is None:
            ended = watcher.ended()  # before the size: a signal set after the last write sees all of it
            size = watcher.poll()
            if ended and size == 0:
                raise InvalidFile(f"{self.request.path}: nothing was recorded (the file is empty or missing)")
            if size < self.cut * self.part_size:
                raise FileChanged(f"{self.request.path.name} shrank to {size:,} bytes while it was being uploaded")
            parts = plan_cuts(size, self.part_size, cut=self.cut, final=ended)
            full = [p for p in parts if not p.is_final]
            if full:
                self._register_and_send(full, None)
            if ended:
                final = parts[-1]
            else:
                self.pool.wait(poll)
        noticed = time.monotonic()
        if self.final is None:
            self._verify_sent(before=final)
            self._register_and_send([final], final.start + final.size)
        self.pool.wait()
        return time.monotonic() - noticed

    def resume(self) -> tuple[int, ...]:
        """Take up an earlier run from the manifest: its acknowledged parts whose bytes the file still holds;
        every other registered part (not acknowledged, or changed since) is registered again first, so the service
        drops whatever it holds of it before anything else can complete the upload (a part whose 200 the
        earlier run never saw may be in with older bytes), then sent."""
        if self.manifest is None or not self.manifest.registered:
            return ()
        resumed: list[int] = []
        again: list[LivePart] = []
        for number, reg in sorted(self.manifest.registered.items()):
            part = LivePart(number, reg.start, reg.size, reg.is_final)
            ack = self.manifest.parts.get(number)
            if ack is not None and ack.md5 and file_md5(self.request.path, reg.start, reg.size) == ack.md5:
                self.pool.resumed(PartResult(number, ack.etag, 0, reg.size, md5=ack.md5, etag_verified=True))
                self.sent[number] = part
                resumed.append(number)
            else:
                again.append(part)
            self.cut = max(self.cut, 0 if reg.is_final else number)
            self.final = part if reg.is_final else self.final
        if again:
            logger.info(
                "asset %s: part(s) %s not acknowledged, or changed since: registered again",
                self.asset.id,
                [p.number for p in again],
            )
            self._register_and_send(again, self.filesize if self.final is not None else None)
        return tuple(resumed)

    def _register_and_send(self, parts: list[LivePart], filesize: int | None) -> None:
        for start in range(0, len(parts), MAX_BATCH):
            batch = parts[start : start + MAX_BATCH]
            urls = self.register(batch, filesize if batch[-1].is_final else None)
            if self.manifest is not None:  # saved before any of these parts is sent
                for part, url in zip(batch, urls, strict=True):
                    self.manifest.register(
                        part.number, start=part.start, size=part.size, is_final=part.is_final, url=url, save=False
                    )
                self.manifest.save()
            for part, url in zip(batch, urls, strict=True):
                self.sent[part.number] = part
                self.pool.send(Chunk(part.number - 1, part.start, part.size, part.start + part.size, url))
        self.cut = max([self.cut, *(p.number for p in parts if not p.is_final)])
        self.final = next((p for p in parts if p.is_final), self.final)

    def _verify_sent(self, *, before: LivePart) -> None:
        """Before `before` (the final part) completes the set: every part sent must still hold the file's bytes.
        Those that changed are registered and sent again, at most :data:`MAX_RESENDS` times."""
        for _ in range(MAX_RESENDS + 1):
            self.pool.wait()
            changed = self._changed()
            if not changed:
                return
            logger.warning(
                "asset %s: the file's bytes changed in part(s) %s after they were sent: sending them again",
                self.asset.id,
                [p.number for p in changed],
            )
            self.resent.extend(p.number for p in changed if p.number not in self.resent)
            self._register_and_send(changed, None)
        raise FileChanged(
            f"{self.request.path.name} kept changing bytes it had already written (parts "
            f"{', '.join(str(p.number) for p in self._changed())}) after {MAX_RESENDS} rounds of sending them again, "
            f"so the final part {before.number} was not sent and the asset {self.asset.id} stays incomplete. Upload "
            "the file again once it is final",
            asset=self.asset,
            parts_sent=sorted(self.pool.results),
        )

    def _changed(self) -> list[LivePart]:
        """The parts sent whose bytes in the file are no longer the bytes S3 acknowledged (hashed in parallel)."""
        sent = [(self.sent[n], r) for n, r in sorted(self.pool.results.items()) if n in self.sent]

        def differs(item: tuple[LivePart, PartResult]) -> bool:
            part, result = item
            return file_md5(self.request.path, part.start, part.size) != result.md5

        with concurrent.futures.ThreadPoolExecutor(max(1, min(self.request.workers, len(sent))), "c2c-verify") as ex:
            flags = list(ex.map(differs, sent))
        return [part for (part, _), flag in zip(sent, flags, strict=True) if flag]
