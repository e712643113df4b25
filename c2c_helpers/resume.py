"""Resuming: the manifest, a small JSON file that lets an interrupted upload send only its missing parts.

:func:`~c2c_helpers.upload.upload_file` with ``resume=PATH`` writes it right after the asset is created
(before any part is sent) and again each time S3 acknowledges a part, and removes it once the upload is
complete. A later run with the same ``resume=PATH`` (after a crash, a ``kill -9``, a dead battery) reads it
and sends only the parts it does not list.

What it holds: the service's API URL, the file's absolute path, size and ``st_mtime_ns`` (a file that changed
since is refused), the asset's id, name and filetype, its presigned upload URLs, and each acknowledged part's
ETag. It never holds the access token, the refresh token or a client secret.

Before a manifest is used, :func:`check_resumable` refuses one written for another file, for this file before
it changed, or for other arguments; :func:`resumed_asset` reads the asset back from the service.

.. warning::
   The upload URLs are presigned: anyone holding one can PUT that part until it expires (24 h on Frame.io).
   The manifest is therefore a secret-bearing file. It is created with mode ``0600`` (owner read/write only)
   and replaced atomically (write to a temporary file in the same directory, ``fsync``, ``os.replace``), so a
   crash mid-write leaves the previous manifest, never half of one. Do not commit, share or log it.

Examples
--------
>>> import tempfile, pathlib
>>> where = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4.c2c-resume.json"
>>> m = Manifest(where, api_url="http://127.0.0.1:8765", file="/data/clip.mp4", filesize=21136250,
...              mtime_ns=1, asset_id="a1", name="clip.mp4", filetype="video/mp4",
...              upload_urls=("https://s3.example/k?partNumber=1&X-Amz-Signature=s1",
...                           "https://s3.example/k?partNumber=2&X-Amz-Signature=s2"))
>>> m.save(); m.record(2, "etag-2")
>>> oct(where.stat().st_mode & 0o777)
'0o600'
>>> Manifest.load(where).parts
{2: 'etag-2'}
>>> m  # the URLs carry signatures: the repr only counts them
Manifest(asset_id='a1', file='/data/clip.mp4', parts_acknowledged=[2], upload_urls=<2 presigned URLs>)
>>> m.remove(); where.exists()
False
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from c2c_helpers.asset import Asset
from c2c_helpers.client import C2CClient
from c2c_helpers.errors import APIError, AssetIncomplete, FileChanged, InvalidFile, UploadError
from c2c_helpers.parts import PartResult

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_SUFFIX",
    "MANIFEST_VERSION",
    "Manifest",
    "check_resumable",
    "default_manifest_path",
    "note_manifest",
    "recorder",
    "resumed_asset",
    "save_first",
]

logger = logging.getLogger("c2c_helpers")

MANIFEST_FORMAT = "c2c-upload-manifest"
MANIFEST_VERSION = 1
#: ``c2c upload FILE --resume`` keeps the manifest next to the file, as ``FILE`` + this suffix.
MANIFEST_SUFFIX = ".c2c-resume.json"
_MODE = 0o600
_counter = 0
_counter_lock = threading.Lock()


def default_manifest_path(file: str | os.PathLike[str]) -> Path:
    """Where ``c2c upload FILE --resume`` keeps the manifest: next to the file, ``FILE.c2c-resume.json``.

    >>> default_manifest_path("/cards/A001/clip.mov")
    PosixPath('/cards/A001/clip.mov.c2c-resume.json')
    """
    path = Path(file)
    return path.with_name(path.name + MANIFEST_SUFFIX)


@dataclass(repr=False)
class Manifest:
    """Where an upload stands, as saved on disk (see the module docstring for what it holds and why 0600).

    ``parts`` maps the 1-based part number of every part S3 acknowledged to its ETag.
    """

    path: Path
    api_url: str
    file: str
    filesize: int
    mtime_ns: int
    asset_id: str
    name: str
    filetype: str
    upload_urls: tuple[str, ...]
    parts: dict[int, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        n = len(self.upload_urls)
        return (
            f"Manifest(asset_id={self.asset_id!r}, file={self.file!r}, parts_acknowledged={sorted(self.parts)}, "
            f"upload_urls=<{n} presigned URL{'' if n == 1 else 's'}>)"
        )

    # -- reading ----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest | None:
        """Read a manifest; ``None`` when there is none at `path`.

        Raises
        ------
        InvalidFile
            The file exists but is not a manifest this version can use (the message says what is wrong).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidFile(f"{path}: cannot read the resume manifest ({exc})", path=path) from None
        with contextlib.suppress(OSError):
            if path.stat().st_mode & 0o077:
                logger.warning("%s: the resume manifest is readable by others; it holds presigned URLs", path)
        try:
            data = json.loads(text)
            return cls._from_json(path, data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidFile(
                f"{path}: not a usable resume manifest ({type(exc).__name__}: {str(exc)[:120]}); delete it to "
                "upload the file as a new asset",
                path=path,
            ) from None

    @classmethod
    def _from_json(cls, path: Path, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"the format is not {MANIFEST_FORMAT!r}")
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {MANIFEST_VERSION}")
        urls = data["upload_urls"]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ValueError("upload_urls must be a non-empty list of URLs")
        parts = {int(k): str(v) for k, v in dict(data["parts"]).items()}
        if any(not 1 <= n <= len(urls) for n in parts):
            raise ValueError("a part number is outside the asset's parts")
        for key in ("api_url", "file", "asset_id", "name", "filetype"):
            if not isinstance(data[key], str) or not data[key]:
                raise ValueError(f"{key} must be a non-empty string")
        for key in ("filesize", "mtime_ns"):
            if isinstance(data[key], bool) or not isinstance(data[key], int):
                raise ValueError(f"{key} must be an integer")
        return cls(
            path=path,
            api_url=data["api_url"],
            file=data["file"],
            filesize=data["filesize"],
            mtime_ns=data["mtime_ns"],
            asset_id=data["asset_id"],
            name=data["name"],
            filetype=data["filetype"],
            upload_urls=tuple(urls),
            parts=parts,
        )

    # -- writing ----------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The JSON document that is saved (it contains the presigned URLs: treat it as a secret)."""
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "api_url": self.api_url,
            "file": self.file,
            "filesize": self.filesize,
            "mtime_ns": self.mtime_ns,
            "asset_id": self.asset_id,
            "name": self.name,
            "filetype": self.filetype,
            "upload_urls": list(self.upload_urls),
            "parts": {str(n): self.parts[n] for n in sorted(self.parts)},
        }

    def save(self) -> None:
        """Write the manifest atomically with mode 0600 (a temporary file in the same directory, then rename)."""
        global _counter
        with _counter_lock:
            _counter += 1
            unique = _counter
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{unique}.tmp")
        data = (json.dumps(self.to_json(), indent=1) + "\n").encode()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, _MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def record(self, number: int, etag: str) -> None:
        """Note that S3 acknowledged part `number` (1-based) and save."""
        self.parts[number] = etag
        self.save()

    def remove(self) -> None:
        """Delete the manifest (the upload is complete); no error if it is already gone."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# -- the checks and the glue upload_file uses ------------------------------------------------------------


def check_resumable(
    manifest: Manifest,
    path: Path,
    signature: tuple[int, int],
    *,
    name: str | None,
    filetype: str | None,
    parts: int | None,
) -> None:
    """Refuse (before anything is sent) a manifest written for another file, or for this file before it changed."""
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
            f"{manifest.asset_id}; nothing was sent. Its parts cannot be mixed with the new content: delete the "
            "manifest to upload the file as a new asset",
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


def resumed_asset(client: C2CClient, manifest: Manifest) -> Asset:
    """The manifest's asset as the service sees it now, with the manifest's upload URLs."""
    try:
        current = client.get_asset(manifest.asset_id)
    except APIError as err:
        err.add_note(
            f"resuming asset {manifest.asset_id} from {manifest.path}: the service did not return it; if it is "
            "gone (or belongs to another device), delete the manifest to upload the file as a new asset"
        )
        raise
    if current.status == "failed":
        raise AssetIncomplete(
            f"asset {current.id}: the service reports this upload failed, so it cannot be resumed; delete "
            f"{manifest.path} to upload the file as a new asset",
            asset=current,
            parts_sent=manifest.parts,
        )
    return replace(current, upload_urls=manifest.upload_urls)


def save_first(manifest: Manifest, asset: Asset) -> None:
    """Write a new manifest before any part is sent; a manifest that cannot be written stops the upload."""
    try:
        manifest.save()
    except OSError as exc:
        raise UploadError(
            f"asset {asset.id} was created, but the resume manifest {manifest.path} cannot be written "
            f"({exc.strerror or type(exc).__name__}); nothing was sent. Pick a writable place for it",
            asset=asset,
        ) from None


def recorder(manifest: Manifest | None) -> Callable[[PartResult], None] | None:
    """What to call with each part S3 acknowledges: record it in the manifest (a failure to write is logged)."""
    if manifest is None:
        return None

    def record(result: PartResult) -> None:
        try:
            manifest.record(result.number, result.etag)
        except OSError as exc:  # the upload itself is fine: keep going, but say that resuming will resend
            logger.warning(
                "part %d was sent but the resume manifest %s could not be updated (%s); a resumed run would "
                "send it again",
                result.number,
                manifest.path,
                exc.strerror or type(exc).__name__,
            )

    return record


def note_manifest(err: BaseException, manifest: Manifest | None) -> None:
    """Add to an error on its way up what the manifest means for the next run."""
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
