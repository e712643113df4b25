"""Real-time uploads (Frame.io's "How to: Upload (Real-time)"): upload a file while it is still being recorded.

Read it beside notebook 08. The calls, each a plain function over a :class:`~c2c_helpers.client.C2CClient`:

1. :func:`create_realtime_asset`: ``POST /v2/devices/assets`` with ``"is_realtime_upload": true`` and no
   ``filesize``; the answer is only ``{"id", "name"}``;
2. :func:`register_parts`: ``POST /v2/devices/assets/{id}/realtime_upload/parts`` with
   ``{"parts": [{"number", "size", "is_final"}, ...]}`` (and ``asset_filesize`` with the final part): one
   presigned URL per part, in the order asked;
3. each URL is PUT as in the basic guide (:func:`~c2c_helpers.parts.send_part`: the same two headers, retries,
   progress, the MD5/ETag check).

:func:`upload_growing_file` does all three while another process writes the file: it cuts a part of
``part_size`` bytes as soon as its bytes are on disk (:mod:`c2c_helpers.realtime.growing`), registers the parts cut in
one call, sends them with a pool of workers, and when the recording ends (the caller's ``done`` signal, or no
growth for ``idle_timeout`` seconds) registers and sends the final part with ``asset_filesize``. Frame.io then
assembles the file. With ``resume=PATH`` it keeps a manifest (:mod:`c2c_helpers.resume.live`), so a run
stopped halfway can be started again and send only what is missing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c2c_helpers._http import json_answer, normalize_timeout
from c2c_helpers.assembly import assembled, wait_or_refuse
from c2c_helpers.asset import Asset
from c2c_helpers.client import CREATE_NOT_REPEATABLE, C2CClient, Timeout
from c2c_helpers.errors import C2CError, InvalidFile, RateLimited, UploadError
from c2c_helpers.integrity import part_number_of
from c2c_helpers.media import creation_offset, guess_filetype
from c2c_helpers.parts import PART_TIMEOUT, PartResult
from c2c_helpers.progress import ProgressEvent
from c2c_helpers.realtime.growing import MIN_PART_SIZE, Done, GrowingFile, LivePart
from c2c_helpers.realtime.livesend import LiveSender
from c2c_helpers.resume.live import LIVE_MANIFEST_SUFFIX, LiveManifest
from c2c_helpers.resume.manifest import ManifestLock
from c2c_helpers.retry import RetryPolicy, rate_limit_wait

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PART_SIZE",
    "RealtimeAsset",
    "RealtimeResult",
    "create_realtime_asset",
    "default_live_manifest_path",
    "register_parts",
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


@dataclass(frozen=True)
class RealtimeAsset:
    """A real-time asset as the create call answers it: only its ``id`` and ``name``."""

    id: str
    name: str


def create_realtime_asset(
    client: C2CClient,
    *,
    filetype: str,
    name: str | None = None,
    extension: str | None = None,
    offset: int = 0,
    channel: int | None = None,
) -> RealtimeAsset:
    """``POST /v2/devices/assets`` with ``is_realtime_upload: true``: no ``filesize``, no upload URLs.

    A name with an extension, or an ``extension`` (``".mp4"``: the asset is then named ``[new file].mp4``
    until the final parts call renames it). Shares the client's asset-create budget and waits out a 429 like
    :meth:`~c2c_helpers.client.C2CClient.create_asset`; never repeats the POST after a 5xx or no answer.
    """
    body: dict[str, Any] = {"filetype": filetype, "is_realtime_upload": True, "offset": offset}
    body.update({k: v for k, v in (("name", name), ("extension", extension), ("channel", channel)) if v is not None})
    context = "create real-time asset (POST /v2/devices/assets)"
    for attempt in range(client.rate_limit_retries + 1):
        client.create_budget.take()
        try:
            response = client.request(
                "POST", "/v2/devices/assets", json=body, context=context, not_repeatable=CREATE_NOT_REPEATABLE
            )
        except RateLimited as err:
            if attempt == client.rate_limit_retries:
                raise
            client.create_budget.hold(rate_limit_wait(err.retry_after, attempt))
            continue
        client.create_budget.observe(response.headers)
        answer = json_answer(response, context)
        return RealtimeAsset(str(answer["id"]), str(answer["name"]))
    raise AssertionError("unreachable")  # pragma: no cover


def register_parts(
    client: C2CClient,
    asset_id: str,
    parts: Sequence[LivePart],
    *,
    asset_filesize: int | None = None,
    asset_name: str | None = None,
    retry: RetryPolicy | None = None,
) -> list[str]:
    """``POST .../realtime_upload/parts``: register `parts`, return their presigned URLs in the same order.

    ``asset_filesize`` goes with a final part (required then). A registration can be repeated safely (a repeat
    replaces), so a 429, a 5xx or no answer is retried with `retry`'s backoff. Each URL is checked to be signed
    for its part's number.
    """
    body: dict[str, Any] = {"parts": [p.registration() for p in parts]}
    if any(p.is_final for p in parts):
        if asset_filesize is None:
            raise ValueError("asset_filesize is required with the final part")
        body["asset_filesize"] = asset_filesize
    if asset_name is not None:
        body["asset_name"] = asset_name
    path, policy = f"/v2/devices/assets/{asset_id}/realtime_upload/parts", retry or RetryPolicy()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            urls = json_answer(client.request("POST", path, json=body), f"POST {path}")["upload_urls"]
            break
        except C2CError as err:
            if not (err.retryable or isinstance(err, RateLimited)) or attempt == policy.max_attempts:
                raise
            wait = rate_limit_wait(err.retry_after, attempt) if isinstance(err, RateLimited) else policy.delay(attempt)
            logger.info("registering parts of %s: %s; again in %.2f s", asset_id, err, wait)
            time.sleep(wait)
    if len(urls) != len(parts) or any(part_number_of(u) != p.number for u, p in zip(urls, parts, strict=False)):
        raise UploadError(f"asset {asset_id}: the parts call's URLs do not match the parts asked for, in order")
    return [str(u) for u in urls]


def default_live_manifest_path(file: str | os.PathLike[str]) -> Path:
    """``FILE.c2c-realtime.json``, next to the file (``c2c upload --realtime FILE --resume``)."""
    path = Path(file)
    return path.with_name(path.name + LIVE_MANIFEST_SUFFIX)


@dataclass(frozen=True)
class RealtimeResult:
    """What :func:`upload_growing_file` did.

    ``parts`` in part order (the last is the final part); ``bytes`` the file's final size; ``seconds`` from the
    create call to the last acknowledgement; ``ended_by`` how the end of the recording was noticed
    (``"signal"`` or ``"idle"``); ``tail_seconds`` from noticing it to the last part acknowledged; ``resumed``
    the parts an earlier run had sent; ``assembled`` True when a sandbox's controls showed the file assembled.

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

    def summary(self, *, timing: bool = True) -> str:
        n, retries = len(self.parts), self.attempts - (len(self.parts) - len(self.resumed))
        line = (
            f"uploaded {self.name!r} while it was recorded: {self.bytes:,} bytes in {n} part{'s' if n != 1 else ''}"
            + (" (the last one final)" if n > 1 else " (one final part)")
            + (f", {len(self.resumed)} resumed" if self.resumed else "")
            + f", {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
            + (f" ({retries} retr{'ies' if retries != 1 else 'y'})" if retries > 0 else "")
            + f", end of recording by {self.ended_by}"
            + (", assembled by the sandbox" if self.assembled else "")
        )
        if timing:
            line += f"; {self.seconds:.2f} s in all, {self.tail_seconds:.2f} s after the end of recording"
        return line


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
    workers: int = 4,
    retry: RetryPolicy | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    done: Done | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    timeout: Timeout = PART_TIMEOUT,
    resume: str | os.PathLike[str] | None = None,
    wait: bool | float | None = None,
) -> RealtimeResult:
    """Upload a file while another process is still writing it (a camera recording, a render).

    Parameters
    ----------
    path : path-like
        The file being written (it may not exist yet: it is waited for, up to `idle_timeout`).
    client : C2CClient, optional
        Defaults to ``C2CClient()``; see :func:`c2c_helpers.lab.connect`.
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
        A manifest (:mod:`c2c_helpers.resume.live`): written as the upload goes, removed at the end; when it
        exists, that asset is continued and only what it does not list as acknowledged is sent.
    wait : bool or float, optional
        Wait for a sandbox's assembly (only with a sandbox's controls; see ``upload_file``).

    Raises
    ------
    InvalidFile
        Bad arguments, or a manifest for another file or service (before anything is sent).
    APIError, TransportError, PartUploadError, FileChanged, AssetIncomplete
        As for ``upload_file``; ``FileChanged`` when the file shrank.
    """
    path = Path(path)
    if not isinstance(part_size, int) or part_size < MIN_PART_SIZE:
        raise InvalidFile(f"part_size must be at least {MIN_PART_SIZE:,} bytes (5 MiB, S3's smallest part)", path=path)
    wait = wait_or_refuse(wait, client.controls if client is not None else None)
    lock = ManifestLock(resume).acquire() if resume is not None else None
    own_client = client is None
    api = client if client is not None else C2CClient()
    try:
        watcher = GrowingFile(path, done=done, idle_timeout=idle_timeout)
        try:
            filetype = filetype or guess_filetype(name or (f"x{extension}" if extension else path.name))
        except ValueError as exc:
            raise InvalidFile(str(exc), path=path) from None
        started = time.monotonic()
        asset, manifest = _asset_and_manifest(
            api, path, resume, filetype=filetype, name=name, extension=extension, channel=channel, part_size=part_size
        )
        sender = LiveSender(
            path, asset.id, filetype, part_size, workers=workers, retry=retry or RetryPolicy(),
            timeout=normalize_timeout(timeout),
            progress=progress, manifest=manifest,
            register=lambda parts, size: register_parts(
                api, asset.id, parts, asset_filesize=size, asset_name=final_name, retry=retry
            ),
        )  # fmt: skip
        results, resumed, tail = sender.run(watcher, poll_interval)
        result = RealtimeResult(
            asset.id, asset.name, results, sender.filesize, time.monotonic() - started,
            sum(r.attempts for r in results), watcher.ended_by or "signal", tail, resumed,
        )  # fmt: skip
        if manifest is not None:
            manifest.remove()
        return _waited(api, result, wait, filetype) if wait else result
    finally:
        if own_client:
            api.close()
        if lock is not None:
            lock.release()


def _asset_and_manifest(
    client: C2CClient,
    path: Path,
    resume: str | os.PathLike[str] | None,
    *,
    filetype: str,
    name: str | None,
    extension: str | None,
    channel: int | None,
    part_size: int,
) -> tuple[RealtimeAsset, LiveManifest | None]:
    """A new real-time asset (and its manifest, saved before anything is sent), or the manifest's asset."""
    manifest = LiveManifest.load(resume) if resume is not None else None
    if manifest is not None:
        return _resumed(manifest, client, path, part_size), manifest
    offset = creation_offset(path) if path.exists() else 0  # a recording that is starting: created now
    asset = create_realtime_asset(
        client,
        filetype=filetype,
        name=name or (None if extension else path.name),
        extension=extension,
        offset=offset,
        channel=channel,
    )
    if resume is not None:
        manifest = LiveManifest(
            Path(resume), client.api_url, str(path.resolve()), asset.id, asset.name, filetype, part_size
        )
        manifest.save()
    return asset, manifest


def _resumed(manifest: LiveManifest, client: C2CClient, path: Path, part_size: int) -> RealtimeAsset:
    """The asset of an earlier run, after checking the manifest is for this file, service and part size."""
    if manifest.api_url != client.api_url or manifest.file != str(path.resolve()) or manifest.part_size != part_size:
        raise InvalidFile(
            f"{manifest.path}: this real-time manifest is for {manifest.file} at {manifest.api_url} in "
            f"{manifest.part_size:,}-byte parts; delete it to upload the file as a new asset",
            path=manifest.path,
        )
    logger.info(
        "asset %s: resuming a real-time upload (%d parts acknowledged)", manifest.asset_id, len(manifest.acknowledged)
    )
    return RealtimeAsset(manifest.asset_id, manifest.name)


def _waited(client: C2CClient, result: RealtimeResult, wait: bool | float, filetype: str) -> RealtimeResult:
    """With a sandbox's controls: wait until the sandbox has assembled the file."""
    assert client.controls is not None  # wait_or_refuse saw to it
    asset = Asset(result.asset_id, result.name, filetype, result.bytes, (), "created", None)
    timeout = 120.0 if wait is True else float(wait)
    done = assembled(client.controls, asset, timeout, [p.number for p in result.parts])
    return RealtimeResult(**{**vars(result), "assembled": done.is_complete})
