"""What is checked before anything is sent, and whether the file stayed the same while it was sent.

Everything that can be refused locally is refused before the asset is created (:func:`check_request`), with an
:class:`~c2c_helpers.errors.InvalidFile` that says what to do: a missing, empty, unreadable or special file,
an unknown MIME type, a number of parts S3 cannot assemble. A file's *signature* (size and modification time)
is taken then, and :func:`check_unchanged` compares it again before and after the parts are sent: a file that
changed under an upload stops it with :class:`~c2c_helpers.errors.FileChanged`, which says what becomes of the
asset (the service keeps the parts it acknowledged, and assembles the asset once it has them all).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from c2c_helpers._http import Timeout, normalize_timeout
from c2c_helpers.asset import Asset
from c2c_helpers.chunks import MAX_PARTS, MIN_PART_SIZE, chunk_size, plan_chunks
from c2c_helpers.client import WAIT_TIMEOUT
from c2c_helpers.errors import FileChanged, InvalidFile, describe_fate
from c2c_helpers.media import creation_offset, guess_filetype
from c2c_helpers.resume.trust import Manifest, check_resumable
from c2c_helpers.retry import RetryPolicy

__all__ = [
    "OnExpired",
    "UploadRequest",
    "check_file",
    "check_filetype",
    "check_parts",
    "check_request",
    "check_unchanged",
]

OnExpired = Literal["raise", "recreate"]
"""What :func:`~c2c_helpers.upload.upload_file` does when S3 says a part's URL expired: raise
``UploadURLExpired``, or create a fresh asset once and start over."""


@dataclass(frozen=True)
class UploadRequest:
    """What :func:`~c2c_helpers.upload.upload_file` was asked to do, checked: nothing here needs the network."""

    path: Path
    size: int
    signature: tuple[int, int]  # (size, mtime_ns): the file must still have it when the parts are sent
    name: str
    filetype: str
    offset: int
    parts: int | None
    channel: int | None
    workers: int
    retry: RetryPolicy
    timeout: tuple[float, float]
    wait_timeout: float | None
    on_expired: OnExpired
    manifest_path: Path | None


def check_request(
    path: Path,
    manifest: Manifest | None,
    *,
    name: str | None,
    filetype: str | None,
    offset: int | None,
    parts: int | None,
    channel: int | None,
    workers: int,
    retry: RetryPolicy | None,
    timeout: Timeout,
    wait: bool | float,
    on_expired: OnExpired,
    resume: str | os.PathLike[str] | None,
) -> UploadRequest:
    """Everything :func:`~c2c_helpers.upload.upload_file` can check without the network; InvalidFile or ValueError
    otherwise. With a resume `manifest`, the name and type are the manifest's and must not contradict it."""
    seconds = normalize_timeout(timeout)
    if on_expired not in ("raise", "recreate"):
        raise ValueError(f"on_expired must be 'raise' or 'recreate', got {on_expired!r}")
    size, signature = check_file(path)
    if manifest is not None:
        check_resumable(manifest, path, signature, name=name, filetype=filetype, parts=parts)
        name, filetype = manifest.name, manifest.filetype
    filetype = check_filetype(path, filetype)
    name = path.name if name is None else name
    if not isinstance(name, str) or not name.strip():
        raise InvalidFile("name must be a non-empty string", path=path)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if parts is not None:
        check_parts(path, size, parts)
    return UploadRequest(
        path=path,
        size=size,
        signature=signature,
        name=name,
        filetype=filetype,
        offset=creation_offset(path) if offset is None else offset,
        parts=parts,
        channel=channel,
        workers=workers,
        retry=retry if retry is not None else RetryPolicy(),
        timeout=seconds,
        wait_timeout=_wait_timeout(wait),
        on_expired=on_expired,
        manifest_path=Path(resume) if resume is not None else None,
    )


def _wait_timeout(wait: bool | float) -> float | None:
    if wait is True:
        return WAIT_TIMEOUT
    if wait is False or wait is None:
        return None
    if isinstance(wait, int | float) and wait > 0:
        return float(wait)
    raise ValueError(f"wait must be True, False or a positive number of seconds, got {wait!r}")


def check_file(path: Path) -> tuple[int, tuple[int, int]]:
    """Size and (size, mtime) signature of a file we may upload; InvalidFile otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidFile(f"{path}: no such file", path=path) from None
    except OSError as exc:
        raise InvalidFile(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})", path=path) from None
    if path.is_dir():
        raise InvalidFile(f"{path}: is a directory; upload_file takes one file", path=path)
    if not path.is_file():
        raise InvalidFile(f"{path}: not a regular file", path=path)
    if st.st_size == 0:
        raise InvalidFile(f"{path}: the file is empty (0 bytes); C2C needs a filesize of at least 1", path=path)
    if not os.access(path, os.R_OK):
        raise InvalidFile(f"{path}: not readable", path=path)
    return st.st_size, (st.st_size, st.st_mtime_ns)


def check_filetype(path: Path, filetype: str | None) -> str:
    """`filetype`, or the type guessed from the file name; InvalidFile for a type that is not ``type/subtype``."""
    if filetype is None:
        try:
            return guess_filetype(path)
        except ValueError as exc:
            raise InvalidFile(
                f"{exc} Pass filetype='type/subtype' (e.g. filetype='video/mp4') to upload it anyway.", path=path
            ) from None
    if not isinstance(filetype, str) or not re.fullmatch(r"[\w.+!#$&^-]+/[\w.+!#$&^-]+", filetype.strip()):
        raise InvalidFile(f"filetype must be a MIME type such as 'video/mp4', got {filetype!r}", path=path)
    return filetype.strip()


def check_parts(path: Path, size: int, parts: int) -> None:
    """Refuse a number of parts S3 cannot assemble for `size` bytes (before the asset is created)."""
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_PARTS:
        raise InvalidFile(f"parts must be an int from 1 to {MAX_PARTS:,}, got {parts!r}", path=path)
    try:
        plan_chunks(size, ["planned"] * parts)
    except ValueError as exc:
        raise InvalidFile(f"{path.name}: {exc}", path=path) from None
    part = chunk_size(size, parts)
    if parts > 1 and part < MIN_PART_SIZE:
        most = max(1, size // MIN_PART_SIZE)
        raise InvalidFile(
            f"{path.name}: parts={parts} gives {part:,}-byte parts, but S3 needs every part but the last to have "
            f"at least {MIN_PART_SIZE:,} bytes (5 MiB); at most {most} part{'s' if most > 1 else ''} fit "
            f"{size:,} bytes",
            path=path,
        )


def check_unchanged(path: Path, signature: tuple[int, int], asset: Asset, *, sent: list[int], total: int) -> None:
    """FileChanged (with the asset and the parts `sent` of `total`) if the file is no longer what was planned."""
    try:
        st = path.stat()
        now = (st.st_size, st.st_mtime_ns)
    except OSError:
        now = (-1, -1)
    if now != signature:
        what = (
            "disappeared"
            if now[0] < 0
            else f"changed size from {signature[0]:,} to {now[0]:,} bytes"
            if now[0] != signature[0]
            else "was modified (same size, new modification time)"
        )
        raise FileChanged(
            f"{path.name} {what} after its asset {asset.id} was created for {signature[0]:,} bytes, so the "
            f"upload stopped: {describe_fate(sent, total, mixed=bool(sent))}. Upload the file again, as a new "
            "asset, once it is final",
            asset=asset,
            parts_sent=sent,
        )
