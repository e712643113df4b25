"""Resuming an upload: whether a manifest fits this run, which of its parts can be trusted, and the glue.

The manifest itself (what it holds) is :mod:`c2c_helpers.resume.manifest`; why it is private, and its lock,
:mod:`c2c_helpers.resume.disk`. Before a
manifest is used, :func:`check_resumable` refuses one written for another file, for this file before its size
or modification time changed, or for other arguments; :func:`resumed_asset` rebuilds the asset from the
manifest alone (a device cannot read its assets back).

Size and modification time are only the quick first check: a file can change and keep both. So
:func:`trusted_parts` re-reads every part the manifest lists as sent (the workers hash in parallel) and keeps
only those whose MD5 is still the MD5 of the bytes that were sent. The others are sent again (re-sending a part
replaces it), or, when the asset is already assembled from the earlier bytes and so can no longer be fixed,
the run is refused with :class:`~c2c_helpers.errors.FileChanged` before anything is sent.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from pathlib import Path

from c2c_helpers.asset import Asset
from c2c_helpers.chunks import Chunk
from c2c_helpers.errors import FileChanged, InvalidFile, PartUploadError, UploadError, describe_fate
from c2c_helpers.parts import PartResult, file_md5, md5_hex
from c2c_helpers.request import UploadRequest
from c2c_helpers.resume.manifest import Manifest

__all__ = ["check_resumable", "note_manifest", "recorder", "resumed_asset", "save_first", "trusted_parts"]

logger = logging.getLogger("c2c_helpers")


def check_resumable(
    manifest: Manifest,
    request: UploadRequest,
    *,
    name: str | None,
    filetype: str | None,
    parts: int | None,
) -> None:
    """Refuse (before anything is sent) a manifest written for another file, or for this file before it changed
    (`name`, `filetype`, `parts`: what the caller asked, which must not contradict the manifest)."""
    path, signature = request.path, request.signature
    if manifest.is_realtime or signature is None or manifest.filesize is None:
        raise InvalidFile(
            f"{manifest.path}: this is a real-time upload's manifest; continue it with upload_growing_file "
            "(c2c upload --realtime), or delete it to upload the file as a new asset",
            path=manifest.path,
        )
    if Path(manifest.file) != path.resolve():
        raise InvalidFile(
            f"{manifest.path}: this resume manifest is for {manifest.file}, not {path.resolve()}; pass the "
            "manifest of this file, or delete it to upload the file as a new asset",
            path=manifest.path,
        )
    if (manifest.filesize, manifest.mtime_ns) != signature:
        what = (
            f"changed size from {manifest.filesize:,} to {signature[0]:,} bytes"
            if manifest.filesize != signature[0]
            else "was modified (same size, new modification time)"
        )
        raise FileChanged(
            f"{path.name} {what} since the resume manifest {manifest.path} was written for asset "
            f"{manifest.asset_id}, so nothing was sent: the earlier parts cannot be mixed with the new content. "
            f"For that asset, {describe_fate(manifest.parts, len(manifest.upload_urls))}; delete the manifest to "
            "upload the file as a new asset",
            parts_sent=manifest.parts,
        )
    conflicts = [
        f"{what}={given!r} (the manifest says {have!r})"
        for what, given, have in (
            ("name", name, manifest.name),
            ("filetype", filetype, manifest.filetype),
            ("parts", parts, len(manifest.upload_urls)),
        )
        if given is not None and given != have
    ]
    if conflicts:
        raise InvalidFile(
            f"{manifest.path}: resuming asset {manifest.asset_id} but {', '.join(conflicts)}; the asset already "
            "exists as the manifest says: leave these out, or delete the manifest to upload a new asset",
            path=manifest.path,
        )


def resumed_asset(manifest: Manifest) -> tuple[Asset, dict[int, PartResult]]:
    """The manifest's asset and the parts it lists as sent, from the manifest alone: a device cannot read its
    assets back (C2C is "write, but don't read"), and needs nothing but the presigned URLs to send the parts
    still missing."""
    asset = Asset(
        id=manifest.asset_id,
        name=manifest.name,
        filetype=manifest.filetype,
        filesize=manifest.filesize,
        upload_urls=manifest.upload_urls,
        status=None,
        upload_completed_at=None,
    )
    return asset, {n: PartResult(n, r.etag, 0, r.size, md5=r.md5) for n, r in manifest.parts.items()}


def save_first(request: UploadRequest, asset: Asset, api_url: str) -> Manifest | None:
    """A new asset's manifest (when the request asked for one), written before any part is sent; a manifest
    that cannot be written stops the upload."""
    if request.manifest_path is None:
        return None
    assert request.size is not None and request.signature is not None  # a whole file, checked
    manifest = Manifest(
        request.manifest_path,
        api_url,
        str(request.path.resolve()),
        request.size,
        request.signature[1],
        asset.id,
        request.name,
        request.filetype,
        asset.upload_urls,
    )
    try:
        manifest.save()
    except OSError as exc:
        raise UploadError(
            f"asset {asset.id} was created, but the resume manifest {manifest.path} cannot be written "
            f"({exc.strerror or type(exc).__name__}); nothing was sent. Pick a writable place for it",
            asset=asset,
        ) from None
    return manifest


def recorder(manifest: Manifest | None) -> Callable[[PartResult], None] | None:
    """What to call with each part S3 acknowledges: record it in the manifest (a failure to write is logged)."""
    if manifest is None:
        return None

    def record(result: PartResult) -> None:
        try:
            manifest.record(result.number, result.etag, md5=result.md5)
        except OSError as exc:  # the upload itself is fine: keep going, but say that resuming will resend
            logger.warning(
                "part %d was sent but the resume manifest %s could not be updated (%s); a resumed run would "
                "send it again",
                result.number,
                manifest.path,
                exc.strerror or type(exc).__name__,
            )

    return record


def trusted_parts(
    manifest: Manifest, path: Path, asset: Asset, chunks: list[Chunk], *, workers: int
) -> dict[int, PartResult]:
    """The parts the manifest lists whose bytes in the file are still the bytes that were sent (re-read and
    hashed, `workers` at a time); the others are dropped from the manifest, to be sent again.

    Raises :class:`~c2c_helpers.errors.FileChanged` when a part differs and the asset is already assembled
    (from the earlier bytes): then it can no longer be fixed.
    """
    listed = sorted(manifest.parts)

    def why_not(number: int) -> str | None:  # why part `number` cannot be trusted, or None
        record, chunk = manifest.parts[number], chunks[number - 1]
        if (record.start, record.size) != (chunk.start, chunk.size):
            return f"it was recorded as bytes {record.start:,}+{record.size:,}, not {chunk.start:,}+{chunk.size:,}"
        if not record.md5:
            return "the manifest has no MD5 for it (its ETag is not one)"
        now = file_md5(path, chunk.start, chunk.size)
        return None if now == record.md5 else f"the file's bytes changed since (MD5 sent {record.md5}, now {now})"

    with concurrent.futures.ThreadPoolExecutor(max(1, min(workers, len(listed))), "c2c-rehash") as pool:
        reasons = dict(zip(listed, pool.map(why_not, listed), strict=True))
    redo = {n: why for n, why in reasons.items() if why is not None}
    if redo and asset.is_complete:
        raise FileChanged(
            f"{path.name}: {_plural(redo)} no longer hold the bytes an earlier run sent for asset {asset.id} "
            f"({'; '.join(f'part {n}: {why}' for n, why in redo.items())}), and the service has already assembled "
            "the asset from those earlier bytes, so it can no longer be fixed; nothing was sent. Delete "
            f"{manifest.path} to upload the file as a new asset",
            asset=asset,
            parts_sent=manifest.parts,
        )
    for number, why in redo.items():
        logger.warning("asset %s: part %d is sent again: %s", asset.id, number, why)
    if redo:
        manifest.forget(sorted(redo))
        manifest.resend = tuple(sorted(redo))
    return {
        n: PartResult(n, r.etag, 0, r.size, md5=r.md5, etag_verified=md5_hex(r.etag) == r.md5)
        for n, r in ((n, manifest.parts[n]) for n in listed if n not in redo)
    }


def _plural(numbers: dict[int, str]) -> str:
    nums = sorted(numbers)
    return f"part{'s' if len(nums) > 1 else ''} {', '.join(map(str, nums))}"


def note_manifest(err: BaseException, manifest: Manifest | None) -> None:
    """Add to an error on its way up what the manifest means for the next run."""
    if (
        isinstance(err, PartUploadError)
        and not err.retryable
        and manifest is not None
        and err.part_number in manifest.resend
    ):
        err.add_note(
            f"part {err.part_number} was being sent again because the file's bytes differ from those an earlier "
            f"run sent, and S3 refused it ({err.s3_code or err.status}): asset {manifest.asset_id} keeps the "
            "earlier bytes and can no longer be made to match the file. Delete "
            f"{manifest.path} to upload the file as a new asset"
        )
        return
    if isinstance(err, PartUploadError) and err.s3_code == "NoSuchUpload" and manifest is not None:
        err.add_note(
            f"S3 no longer accepts parts for asset {manifest.asset_id}: the service has assembled it from the parts "
            "it holds, or dropped it. Some of those parts may come from an attempt or a run that never saw S3's "
            "answer, so nothing checked their MD5: this client cannot tell whether the asset holds this file's "
            f"bytes. Running again with {manifest.path} cannot change that: delete it, and upload the file again "
            "as a new asset to be sure"
        )
        return
    if isinstance(err, FileChanged):
        if manifest is not None and manifest.path.exists():
            err.add_note(f"a resumed run would refuse the changed file: delete {manifest.path} once it is final")
        return
    if manifest is not None and manifest.path.exists():
        err.add_note(
            f"progress is saved in {manifest.path} (parts acknowledged: "
            f"{', '.join(map(str, sorted(manifest.parts))) or 'none'}): run the upload again with this manifest "
            "(resume=..., c2c upload --resume) to send only the missing parts"
        )
