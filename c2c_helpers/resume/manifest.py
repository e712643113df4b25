"""The resume manifest on disk: a small JSON file that lets an interrupted upload send only its missing parts.

:func:`~c2c_helpers.upload.upload_file` with ``resume=PATH`` writes it right after the asset is created
(before any part is sent) and again each time S3 acknowledges a part, and removes it once the upload is
complete. A later run with the same ``resume=PATH`` (after a crash, a ``kill -9``, a dead battery) reads it
and sends only the parts it does not list (:mod:`c2c_helpers.resume.trust` decides which).

What it holds: the service's API URL, the file's absolute path, size and ``st_mtime_ns``, the asset's id, name
and filetype, its presigned upload URLs, and for each acknowledged part its ETag, the MD5 of the bytes sent,
and where they came from (start offset and size), so that a resumed run can re-read the file and check that
those bytes are still what the service holds. It never holds the access token, the refresh token or a client
secret.

**One run at a time.** :class:`ManifestLock` takes an exclusive lock (``flock``) on ``PATH.lock`` for the
whole run and writes its process id into it; a second run with the same manifest fails at once with
:class:`~c2c_helpers.errors.ManifestInUse`, naming that process. The lock file goes when the run ends.

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
>>> m.save(); m.record(2, '"0f343b0931126a20f133d67c2b018a3b"', md5="0f343b0931126a20f133d67c2b018a3b")
>>> oct(where.stat().st_mode & 0o777)
'0o600'
>>> part = Manifest.load(where).parts[2]  # the ETag (quotes stripped), the MD5 sent, which bytes
>>> part.etag == part.md5, part.start, part.size
(True, 10568125, 10568125)
>>> m  # the URLs carry signatures: the repr only counts them
Manifest(asset_id='a1', file='/data/clip.mp4', parts_acknowledged=[2], upload_urls=<2 presigned URLs>)
>>> m.remove(); where.exists()
False
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from c2c_helpers.chunks import chunk_size
from c2c_helpers.errors import InvalidFile, ManifestInUse
from c2c_helpers.integrity import md5_hex, misplaced_urls

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock; one run per manifest is then up to you
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_SUFFIX",
    "MANIFEST_FORMAT",
    "MANIFEST_SUFFIX",
    "MANIFEST_VERSION",
    "Manifest",
    "ManifestLock",
    "PartRecord",
    "default_manifest_path",
]

logger = logging.getLogger("c2c_helpers")

MANIFEST_FORMAT = "c2c-upload-manifest"
#: 2 records each part's MD5, start and size; version 1 manifests (ETags only) are still read.
MANIFEST_VERSION = 2
#: ``c2c upload FILE --resume`` keeps the manifest next to the file, as ``FILE`` + this suffix.
MANIFEST_SUFFIX = ".c2c-resume.json"
#: The lock of manifest ``PATH`` is ``PATH`` + this suffix.
LOCK_SUFFIX = ".lock"
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


@dataclass(frozen=True)
class PartRecord:
    """What the manifest keeps of a part S3 acknowledged: its ``etag``, the ``md5`` of the bytes sent ("" when
    unknown, as in a version-1 manifest whose ETag is not an MD5), and which bytes: ``start`` and ``size``."""

    etag: str
    md5: str
    start: int
    size: int


@dataclass(repr=False)
class Manifest:
    """Where an upload stands, as saved on disk (see the module docstring for what it holds and why 0600).

    ``parts`` maps the 1-based part number of every part S3 acknowledged to its :class:`PartRecord`;
    ``resend`` lists the parts a resumed run found changed in the file and is sending again (not saved).
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
    parts: dict[int, PartRecord] = field(default_factory=dict)
    #: Parts a resumed run found changed in the file and is sending again (not saved: each run re-checks).
    resend: tuple[int, ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        n = len(self.upload_urls)
        return (
            f"Manifest(asset_id={self.asset_id!r}, file={self.file!r}, parts_acknowledged={sorted(self.parts)}, "
            f"upload_urls=<{n} presigned URL{'' if n == 1 else 's'}>)"
        )

    def span(self, number: int) -> tuple[int, int]:
        """``(start, size)`` of part `number` (1-based) of the file, as planned from the size and the URLs."""
        per_part = chunk_size(self.filesize, len(self.upload_urls))
        start = (number - 1) * per_part
        return start, max(0, min(per_part, self.filesize - start))

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
                f"{path}: not a usable resume manifest ({type(exc).__name__}: {str(exc)[:200]}); delete it to "
                "upload the file as a new asset",
                path=path,
            ) from None

    @classmethod
    def _from_json(cls, path: Path, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"the format is not {MANIFEST_FORMAT!r}")
        if data.get("version") not in (1, MANIFEST_VERSION):
            raise ValueError(f"version {data.get('version')!r}, expected {MANIFEST_VERSION}")
        urls = data["upload_urls"]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ValueError("upload_urls must be a non-empty list of URLs")
        for position, number in misplaced_urls(urls):
            raise ValueError(
                f"upload URL {position} is signed for part {number} (partNumber={number}): the URLs are not in "
                "part order, so a part would land in another part's place"
            )
        for key in ("api_url", "file", "asset_id", "name", "filetype"):
            if not isinstance(data[key], str) or not data[key]:
                raise ValueError(f"{key} must be a non-empty string")
        for key in ("filesize", "mtime_ns"):
            if isinstance(data[key], bool) or not isinstance(data[key], int):
                raise ValueError(f"{key} must be an integer")
        manifest = cls(
            path=path,
            api_url=data["api_url"],
            file=data["file"],
            filesize=data["filesize"],
            mtime_ns=data["mtime_ns"],
            asset_id=data["asset_id"],
            name=data["name"],
            filetype=data["filetype"],
            upload_urls=tuple(urls),
        )
        for key, value in dict(data["parts"]).items():
            number = int(key)
            if not 1 <= number <= len(urls):
                raise ValueError("a part number is outside the asset's parts")
            manifest.parts[number] = manifest._record_from_json(number, value)
        return manifest

    def _record_from_json(self, number: int, value: Any) -> PartRecord:
        if isinstance(value, str):  # version 1: the ETag alone, which is the part's MD5 when it looks like one
            return PartRecord(value, md5_hex(value) or "", *self.span(number))
        record = PartRecord(str(value["etag"]), str(value["md5"]), value["start"], value["size"])
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (record.start, record.size)):
            raise ValueError(f"part {number}: start and size must be non-negative integers")
        if record.md5 and md5_hex(record.md5) != record.md5:
            raise ValueError(f"part {number}: md5 must be 32 lower-case hex digits")
        return record

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
            "parts": {str(n): vars(self.parts[n]).copy() for n in sorted(self.parts)},
        }

    def save(self) -> None:
        """Write the manifest atomically with mode 0600 (:func:`write_private`)."""
        write_private(self.path, (json.dumps(self.to_json(), indent=1) + "\n").encode())

    def record(self, number: int, etag: str, *, md5: str = "") -> None:
        """Note that S3 acknowledged part `number` (1-based) with `etag`, for bytes whose MD5 is `md5`; save."""
        self.parts[number] = PartRecord(etag.strip().strip('"'), md5, *self.span(number))
        self.save()

    def forget(self, numbers: list[int]) -> None:
        """Stop listing parts as acknowledged (they are to be sent again) and save."""
        for number in numbers:
            self.parts.pop(number, None)
        self.save()

    def remove(self) -> None:
        """Delete the manifest (the upload is complete); no error if it is already gone."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class ManifestLock:
    """An exclusive, non-blocking ``flock`` on ``<manifest>.lock`` for one run; the file names its holder.

    Use it as a context manager (or :meth:`acquire` / :meth:`release`). A second lock on the same manifest,
    from this process or another, raises :class:`~c2c_helpers.errors.ManifestInUse` at once. The lock file
    is removed on release (a run that acquires it checks that the file it locked is still the one in place).
    """

    def __init__(self, manifest: str | os.PathLike[str]) -> None:
        self.manifest = Path(manifest)
        self.path = self.manifest.with_name(self.manifest.name + LOCK_SUFFIX)
        self._fd: int | None = None

    def acquire(self) -> ManifestLock:
        while self._fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), _MODE)
            except OSError as exc:
                raise InvalidFile(
                    f"{self.manifest}: cannot create its lock file {self.path} ({exc.strerror or exc}); nothing "
                    "was sent. Pick a writable place for the resume manifest",
                    path=self.manifest,
                ) from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.pread(fd, 300, 0).decode(errors="replace").strip()
                    os.close(fd)
                    raise ManifestInUse(self.manifest, self.path, holder) from None
            try:  # the holder before us may have removed the file between our open and our lock: try again
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}\n".encode(), 0)
            self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # while still locked: nobody can be holding the file we remove
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ManifestLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically and durably, mode 0600: a temporary file in the same directory
    (created exclusively, never through a symlink), fsync, rename, then fsync the directory where possible."""
    global _counter
    with _counter_lock:
        _counter += 1
        unique = _counter
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{unique}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, _MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
