"""``upload_file``: the guide's three steps for a whole file, orchestrated.

Read it beside notebook 04. After checking everything that can be checked locally, :func:`upload_file`

1. creates the asset and gets its upload URLs (:meth:`~c2c_helpers.client.C2CClient.create_asset`), or reads
   back the asset of an interrupted run from its resume manifest (:mod:`c2c_helpers.resume.trust`);
2. splits the file into one chunk per URL (:func:`~c2c_helpers.chunks.plan_chunks`);
3. sends every chunk with a pool of workers (:func:`~c2c_helpers.pool.send_parts`, each part by
   :mod:`c2c_helpers.parts`).

Then it is done: every part PUT got its 200, and Frame.io assembles the file on its own. A device cannot ask
whether it did (C2C is "write, but don't read": no asset read, ``asset_read: false``), so nothing here
depends on it. Only with a sandbox's controls at hand (the client :func:`~c2c_helpers.connect` returns for a
sandbox carries them as ``client.controls``) does ``upload_file`` also wait until the sandbox has assembled
the file, to show it in the lessons; ``wait=True`` without them is refused before anything is sent.

If the URLs expire mid-upload it can start over once on a fresh asset (``on_expired="recreate"``). Every
failure raises a typed error (:mod:`c2c_helpers.errors`) that says which parts reached S3.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from c2c_helpers import resume as resuming
from c2c_helpers.asset import Asset
from c2c_helpers.chunks import Chunk, misplaced_urls, plan_chunks
from c2c_helpers.client import C2CClient, SandboxControls
from c2c_helpers.errors import (
    AssetIncomplete,
    InvalidFile,
    UploadError,
    UploadInterrupted,
    UploadURLExpired,
    describe_parts,
)
from c2c_helpers.parts import PartResult
from c2c_helpers.pool import ProgressEvent, send_parts
from c2c_helpers.request import DEFAULT_WORKERS, PART_TIMEOUT, OnExpired, UploadRequest, check_request
from c2c_helpers.resume import Manifest
from c2c_helpers.retry import RetryPolicy

__all__ = ["UploadResult", "assembled", "upload_file"]

logger = logging.getLogger("c2c_helpers")


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload_file` did.

    Parameters
    ----------
    asset : Asset
        The asset as created; with ``status`` and ``upload_completed_at`` from the sandbox when its assembly
        was waited for.
    parts : tuple of PartResult
        In part order.
    bytes : int
        File size.
    seconds : float
        Wall time from the asset-create call to the end (including the wait for assembly).
    attempts : int
        Part PUTs sent by this call, retries included.
    resumed : tuple of int
        Parts (1-based) an earlier, interrupted run had already sent, read from the resume manifest and not
        sent again (their ``PartResult.attempts`` is 0).
    recreated_from : str, optional
        With ``on_expired="recreate"``: the id of the asset whose upload URLs expired, abandoned for ``asset``.
    assembled : bool, optional
        True when a sandbox's controls showed the file assembled; None when nobody could look (a real device
        never can: for it, the upload is done when all parts are acknowledged).

    Examples
    --------
    >>> r = UploadResult(
    ...     asset=Asset(id="a1", name="clip.mp4", filetype="video/mp4", filesize=21136250, upload_urls=(),
    ...                 status="created", upload_completed_at=None),
    ...     parts=(PartResult(1, "e1", 1, 10568125), PartResult(2, "e2", 2, 10568125)),
    ...     bytes=21136250, seconds=0.5, attempts=3)
    >>> r.summary(timing=False)
    "uploaded 'clip.mp4': 21,136,250 bytes in 2 parts, 3 attempts (1 retry), all 2 parts acknowledged"
    >>> r.summary()
    "uploaded 'clip.mp4': 21,136,250 bytes in 2 parts, 3 attempts (1 retry), all 2 parts acknowledged in 0.50 s (42.3 MB/s)"
    >>> from dataclasses import replace
    >>> replace(r, parts=(PartResult(1, "e1", 0, 10568125), PartResult(2, "e2", 1, 10568125)), attempts=1,
    ...         resumed=(1,), assembled=True).summary(timing=False)
    "uploaded 'clip.mp4': 21,136,250 bytes in 2 parts (1 resumed), 1 attempt, all 2 parts acknowledged, assembled by the sandbox"
    """  # noqa: E501

    asset: Asset
    parts: tuple[PartResult, ...]
    bytes: int
    seconds: float
    attempts: int
    resumed: tuple[int, ...] = ()
    recreated_from: str | None = None
    assembled: bool | None = None

    @property
    def acknowledged(self) -> int:
        """Parts S3 acknowledged with a 200 (all of them: upload_file returns only then)."""
        return len(self.parts)

    @property
    def retries(self) -> int:
        """Attempts beyond the first of each part sent by this call."""
        return self.attempts - (len(self.parts) - len(self.resumed))

    @property
    def bytes_sent(self) -> int:
        """Bytes this call sent (resumed parts excluded; each part counted once)."""
        return sum(p.bytes for p in self.parts if p.number not in self.resumed)

    def summary(self, *, timing: bool = True) -> str:
        """One line saying what was uploaded; `timing=False` leaves out the (varying) time and speed."""
        n, r, k = len(self.parts), self.retries, len(self.resumed)
        line = (
            f"uploaded {self.asset.name!r}: {self.bytes:,} bytes in {n} part{'s' if n != 1 else ''}"
            + (f" ({k} resumed)" if k else "")
            + f", {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
            + (f" ({r} retr{'ies' if r != 1 else 'y'})" if r else "")
            + f", all {self.acknowledged} part{'s' if self.acknowledged != 1 else ''} acknowledged"
            + (", assembled by the sandbox" if self.assembled else "")
            + (", on a new asset (the first one's upload URLs expired)" if self.recreated_from else "")
        )
        if timing:
            rate = self.bytes_sent / self.seconds / 1e6 if self.seconds > 0 else float("inf")
            line += f" in {self.seconds:.2f} s ({rate:.1f} MB/s)"
        return line


def upload_file(
    path: str | os.PathLike[str],
    *,
    client: C2CClient | None = None,
    name: str | None = None,
    filetype: str | None = None,
    offset: int | None = None,
    parts: int | None = None,
    workers: int = DEFAULT_WORKERS,
    retry: RetryPolicy | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    wait: bool | float | None = None,
    channel: int | None = None,
    timeout: float | tuple[float, float] = PART_TIMEOUT,
    resume: str | os.PathLike[str] | None = None,
    on_expired: OnExpired = "raise",
    verify: bool = True,
) -> UploadResult:
    """Upload a file the way the guide does: create the asset, split, send every part.

    Everything that can be checked locally is checked before anything is sent: the file exists, is a regular
    file, is not empty, has a known MIME type (or `filetype` is given), and `parts` can split it.

    Parameters
    ----------
    path : path-like
        The file to upload.
    client : C2CClient, optional
        Defaults to ``C2CClient()`` (from ``C2C_API_URL`` / ``C2C_ACCESS_TOKEN``), closed before returning; see
        also :func:`c2c_helpers.connect`.
    name : str, optional
        Display name; the file name by default.
    filetype : str, optional
        MIME type; guessed from the file name by default.
    offset : int, optional
        Seconds since the file was created; from the file's timestamps by default.
    parts : int, optional
        Number of upload URLs to ask for; the service decides by default.
    workers : int
        Parts sent at once (1 = one after the other, in order).
    retry : RetryPolicy, optional
        Per-part retries (``RetryPolicy()`` when omitted).
    progress : callable, optional
        Called with each :class:`~c2c_helpers.pool.ProgressEvent` (a part's state and the file's total), on
        the calling thread.
    wait : bool or float, optional
        Wait until the sandbox has assembled the file (True: up to 120 s; a number: that many seconds). This
        needs the sandbox's controls (``client.controls``): a real device cannot see the assembly, and is done
        when every part is acknowledged. None (the default) waits when the controls are at hand; True without
        them raises :class:`~c2c_helpers.errors.ConfigurationError` before anything is sent.
    channel : int, optional
        Channel index for the asset.
    timeout : float or (float, float)
        Connect and read timeouts of each part PUT.
    resume : path-like, optional
        A resume manifest (see :mod:`c2c_helpers.resume.trust`). When the file does not exist, it is written
        right after the asset is created and each time S3 acknowledges a part; when it exists, the upload it
        describes is continued: only the parts it does not list are sent. It is removed once the upload is
        complete. It holds presigned URLs (never a token) and is created with mode 0600: keep it private.
        A file whose size or modification time changed since the manifest was written is refused with
        :class:`~c2c_helpers.errors.FileChanged` before anything is sent.
    on_expired : {"raise", "recreate"}
        When S3 answers that a part's URL expired: ``"raise"`` (the default) raises
        :class:`~c2c_helpers.errors.UploadURLExpired`; ``"recreate"`` logs a warning, creates a fresh asset
        (once) and sends the whole file again; the result's ``recreated_from`` names the abandoned asset.
    verify : bool
        True (the default): every part is hashed (MD5) as it streams and S3's ETag checked against it, so a
        part damaged on the way is sent again. False skips both, as rclone's ``--s3-disable-checksum`` does:
        on a CPU-bound loopback that is 2.5-4x faster (MD5 costs about 1.4 CPU s/GiB), but nothing then
        notices a part S3 stored with other bytes than were sent (TLS and TCP checksums remain). Worth it only
        on a weak CPU behind a fast link; on a camera's uplink the link, not MD5, is the limit.

    Returns
    -------
    UploadResult

    Raises
    ------
    InvalidArgument
        An argument was refused before anything was sent; :class:`~c2c_helpers.errors.InvalidFile` (a kind of
        InvalidArgument) when it is the file or the resume manifest.
    ConfigurationError
        ``wait`` was asked for without a sandbox's controls (before anything was sent).
    APIError, TransportError
        From creating the asset (e.g. :class:`~c2c_helpers.errors.ChannelPaused`), or from looking up a
        resumed one.
    PartUploadError
        A part failed for good (:class:`~c2c_helpers.errors.UploadURLExpired` if its URL expired); the
        other parts are stopped. ``asset`` and ``parts_sent`` say where the upload stands.
    FileChanged
        The file changed while it was being uploaded, or since the resume manifest was written.
    AssetIncomplete
        Only when waiting with a sandbox's controls: every part was sent, but the sandbox did not assemble the
        file in time (or its assembly failed).
    UploadInterrupted
        Ctrl-C: the workers were stopped; the error lists the parts that were sent.
    """
    path = Path(path)
    lock = resuming.ManifestLock(resume).acquire() if resume is not None else None  # one run at a time per manifest
    own_client = client is None
    try:
        manifest = Manifest.load(resume) if resume is not None else None
        request = check_request(  # everything local, once, before a single byte goes out
            path,
            name=name if name is not None or manifest is None else manifest.name,
            filetype=filetype if filetype is not None or manifest is None else manifest.filetype,
            offset=offset,
            parts=parts,
            channel=channel,
            workers=workers,
            retry=retry,
            timeout=timeout,
            wait=wait,
            controls=client.controls if client is not None else None,  # C2CClient() has none
            on_expired=on_expired,
            resume=resume,
            verify=verify,
        )
        if manifest is not None:
            resuming.check_resumable(manifest, request, name=name, filetype=filetype, parts=parts)
        client = client if client is not None else C2CClient()
        if manifest is not None and manifest.api_url != client.api_url:
            raise InvalidFile(
                f"{manifest.path}: this resume manifest is for the service at {manifest.api_url}, not "
                f"{client.api_url}; use that service, or delete the manifest to upload the file as a new asset",
                path=manifest.path,
            )
        return _upload(client, request, manifest, progress)
    finally:
        if own_client and client is not None:
            client.close()
        if lock is not None:
            lock.release()


def _upload(
    client: C2CClient,
    request: UploadRequest,
    manifest: Manifest | None,
    progress: Callable[[ProgressEvent], None] | None,
) -> UploadResult:
    """The three steps; once more on a fresh asset if the URLs expired and ``on_expired="recreate"``."""
    assert request.size is not None  # check_request took the size of a whole file
    started = time.monotonic()
    recreated_from: str | None = None
    while True:
        # 1. The asset and its upload URLs: created, or read back from the resume manifest.
        asset, done, manifest = _asset_and_manifest(client, request, manifest)
        # 2. The chunks: one per upload URL.
        chunks = _split(request.size, asset)
        if manifest is not None and done:  # the digests decide which parts an earlier run really sent
            done = resuming.trusted_parts(manifest, request.path, asset, chunks, workers=request.workers)
        if asset.is_complete:  # a run that was stopped after the last part, before the manifest went
            done = {c.number: done.get(c.number, PartResult(c.number, "", 0, c.size)) for c in chunks}
            results = list(done.values())
            break
        # 3. The parts, sent in parallel.
        try:
            results = _send(request, asset, chunks, done, manifest, progress)
        except UploadURLExpired as err:
            _raise_unless_recreating(err, request, manifest, recreated=recreated_from is not None)
            logger.warning(
                "asset %s: the upload URLs expired (part %d); creating a fresh asset and starting over",
                asset.id,
                err.part_number,
            )
            recreated_from, manifest = asset.id, None
            continue
        except (UploadError, UploadInterrupted) as err:
            resuming.note_manifest(err, manifest)
            raise
        break
    asset = _wait(client, request, asset, results, resumed=tuple(sorted(done)), manifest=manifest)
    if manifest is not None:
        manifest.remove()
    return UploadResult(
        asset=asset,
        parts=tuple(sorted(results, key=lambda r: r.number)),
        bytes=request.size,
        seconds=time.monotonic() - started,
        attempts=sum(r.attempts for r in results),
        resumed=tuple(sorted(done)),
        recreated_from=recreated_from,
        assembled=True if asset.is_complete else None,  # only a sandbox's controls can have said so
    )


def _raise_unless_recreating(
    err: UploadURLExpired, request: UploadRequest, manifest: Manifest | None, *, recreated: bool
) -> None:
    """Re-raise an expired URL's error (saying what to do) unless a fresh asset is to be made, once."""
    if request.on_expired == "recreate" and not recreated:
        return
    err.add_note(
        "the upload URLs of this asset expired: pass on_expired='recreate' (c2c upload --recreate-expired) to "
        "create a fresh asset and send the whole file again"
        if request.on_expired == "raise"
        else "the fresh asset's URLs expired too: the service's URL lifetime is shorter than this upload"
    )
    resuming.note_manifest(err, manifest)
    raise err


def _asset_and_manifest(
    client: C2CClient, request: UploadRequest, manifest: Manifest | None
) -> tuple[Asset, dict[int, PartResult], Manifest | None]:
    """Step 1: a new asset (and its manifest, written before any part is sent), or the manifest's asset and the
    parts it lists as sent."""
    if manifest is not None:
        return *resuming.resumed_asset(manifest), manifest
    r = request
    assert r.size is not None  # a whole file, checked
    asset = client.create_asset(r.name, r.filetype, r.size, r.offset, parts=r.parts, channel=r.channel)
    if not asset.upload_urls:
        raise UploadError(f"asset {asset.id}: the service returned no upload URLs, so nothing can be sent", asset=asset)
    return asset, {}, resuming.save_first(request, asset, client.api_url)


def _split(size: int, asset: Asset) -> list[Chunk]:
    """Step 2: the chunks, one per upload URL; an UploadError if the service's URLs cannot carry the file."""
    try:
        chunks = plan_chunks(size, asset.upload_urls)
    except ValueError as exc:
        raise UploadError(f"asset {asset.id}: {exc}", asset=asset) from None
    for position, number in misplaced_urls(asset.upload_urls):  # S3 places a part by its URL's partNumber
        raise UploadError(
            f"asset {asset.id}: upload URL {position} is signed for part {number} (partNumber={number}), not part "
            f"{position}: the URLs are not in part order, and a part sent to another part's URL would land in its "
            "place; nothing was sent",
            asset=asset,
        )
    logger.info(
        "asset %s: %s bytes in %d part(s) of %s bytes", asset.id, f"{size:,}", len(chunks), f"{chunks[0].size:,}"
    )
    return chunks


def _send(
    request: UploadRequest,
    asset: Asset,
    chunks: list[Chunk],
    done: dict[int, PartResult],
    manifest: Manifest | None,
    progress: Callable[[ProgressEvent], None] | None,
) -> list[PartResult]:
    """Step 3: every part not already sent, by the worker pool; each acknowledged part goes in the manifest."""
    if done:
        logger.info("asset %s: resuming; %s", asset.id, describe_parts(done, len(chunks), "already sent"))
    resent = manifest.resend if manifest is not None else ()  # parts S3 holds, sent again (see trusted_parts)
    on_part = resuming.recorder(manifest)
    return send_parts(request, asset, chunks, done=done, progress=progress, on_part=on_part, resent=resent)


def _wait(
    client: C2CClient,
    request: UploadRequest,
    asset: Asset,
    results: list[PartResult],
    *,
    resumed: tuple[int, ...],
    manifest: Manifest | None,
) -> Asset:
    """After the parts: the file must not have changed meanwhile; then, with a sandbox's controls and a
    ``wait``, wait until the sandbox has assembled it."""
    sent = sorted(r.number for r in results)
    try:
        request.unchanged(asset, sent=sent, total=len(results))
        if request.wait_timeout is None or asset.is_complete or client.controls is None:
            return asset
        return assembled(client.controls, asset, request.wait_timeout, sent)
    except UploadError as err:
        if resumed and isinstance(err, AssetIncomplete):
            err.add_note(
                f"parts {', '.join(map(str, resumed))} were sent by an earlier run; if the service lost "
                "them, delete the resume manifest and upload the file as a new asset"
            )
        resuming.note_manifest(err, manifest)
        raise
    except KeyboardInterrupt:
        raise UploadInterrupted(asset=asset, parts_sent=sent, parts_total=len(results)) from None


def assembled(controls: SandboxControls, asset: Asset, timeout: float, sent: list[int]) -> Asset:
    """The asset as a sandbox's controls show it once assembled; :class:`~c2c_helpers.errors.AssetIncomplete` if
    it is not assembled in time, or its assembly failed. `sent` (the parts sent) goes on the error."""
    try:
        controls.wait_for_asset(asset.id, timeout)
    except TimeoutError:
        status = (controls.asset_detail(asset.id) or {}).get("status")
        raise AssetIncomplete(
            f"asset {asset.id}: every part was acknowledged, but the sandbox had not assembled it after "
            f"{timeout:g} s (status {status!r}); a part may be missing",
            asset=asset,
            parts_sent=sent,
        ) from None
    except LookupError:
        raise AssetIncomplete(
            f"asset {asset.id}: the sandbox's controls do not know this asset (are they this client's sandbox?)",
            asset=asset,
            parts_sent=sent,
        ) from None
    detail = controls.asset_detail(asset.id) or {}
    asset = replace(asset, status=detail.get("status"), upload_completed_at=detail.get("upload_completed_at"))
    if asset.status == "failed":
        raise AssetIncomplete(
            f"asset {asset.id}: the sandbox reports its assembly failed ({detail.get('error') or 'no reason given'})",
            asset=asset,
            parts_sent=sent,
        )
    return asset
