"""The resume manifest: one small JSON model for basic and real-time uploads, so an interrupted upload sends only
what is missing.

:func:`~c2c_helpers.upload.upload_file` (and :func:`~c2c_helpers.realtime.upload_growing_file`) with
``resume=PATH`` writes it right after the asset is created (before any part is sent), after each real-time parts
call (before those parts are sent), and each time S3 acknowledges a part; it is removed once the upload is
complete. A later run with the same ``resume=PATH`` (after a crash, a ``kill -9``, a dead battery) reads it and
sends only the parts it does not list as acknowledged (:mod:`c2c_helpers.resume.trust` decides which).

What it holds: the service's API URL, the file's absolute path, the asset's id, name and filetype, every part's
presigned URL (a basic upload's from the create call, in part order; a real-time upload's as each part is
registered, with the bytes it covers and whether it is the final one), and for each acknowledged part its ETag,
the MD5 of the bytes sent and where they came from (start offset and size), so a resumed run can re-read the
file and check that those bytes are still what the service holds. A basic upload also keeps the file's size and
``st_mtime_ns``; a real-time one its part size. It never holds the access token, the refresh token or a client
secret. Every URL is bound to its part: a URL signed for another ``partNumber`` is refused on load.

.. warning::
   The upload URLs are presigned: anyone holding one can PUT that part until it expires. The manifest is a
   secret-bearing file, written with mode ``0600`` and read only when it is safely its owner's
   (:mod:`c2c_helpers.resume.disk`). Do not commit, share or log it.

Examples
--------
>>> import tempfile, pathlib
>>> scratch = tempfile.TemporaryDirectory()  # removed at the end of the example
>>> where = pathlib.Path(scratch.name) / "clip.mp4.c2c-resume.json"
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
>>> live = Manifest.realtime(where, api_url="http://127.0.0.1:8765", file="/cards/take.mp4", asset_id="a2",
...                          name="take.mp4", filetype="video/mp4", part_size=8388608)
>>> live.register(1, start=0, size=8388608, is_final=False, url="https://s3.example/k?partNumber=1&X-Amz-Signature=s")
>>> sorted(Manifest.load(where).registered), Manifest.load(where).is_realtime
([1], True)
>>> m.remove(); where.exists()
False
>>> scratch.cleanup()
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c2c_helpers.chunks import chunk_size, misplaced_urls, part_number_of
from c2c_helpers.errors import InvalidFile
from c2c_helpers.parts import md5_hex
from c2c_helpers.resume.disk import read_private, write_private

__all__ = [
    "LIVE_MANIFEST_SUFFIX",
    "MANIFEST_FORMAT",
    "MANIFEST_SUFFIX",
    "MANIFEST_VERSION",
    "Manifest",
    "PartRecord",
    "Registration",
    "default_manifest_path",
]

MANIFEST_FORMAT = "c2c-upload-manifest"
#: 3: one model for basic and real-time uploads. Basic manifests of versions 1 (ETags only) and 2 are still
#: read, and so are real-time manifests of the earlier ``c2c-realtime-manifest`` format.
MANIFEST_VERSION = 3
_OLD_REALTIME_FORMAT = "c2c-realtime-manifest"
#: ``c2c upload FILE --resume`` keeps the manifest next to the file, as ``FILE`` + this suffix.
MANIFEST_SUFFIX = ".c2c-resume.json"
#: ``c2c upload --realtime FILE --resume`` keeps it as ``FILE`` + this suffix.
LIVE_MANIFEST_SUFFIX = ".c2c-realtime.json"


def default_manifest_path(file: str | os.PathLike[str], *, realtime: bool = False) -> Path:
    """Where ``c2c upload FILE --resume`` keeps the manifest: next to the file, ``FILE.c2c-resume.json``
    (``FILE.c2c-realtime.json`` for a real-time upload).

    >>> default_manifest_path("/cards/A001/clip.mov")
    PosixPath('/cards/A001/clip.mov.c2c-resume.json')
    """
    path = Path(file)
    return path.with_name(path.name + (LIVE_MANIFEST_SUFFIX if realtime else MANIFEST_SUFFIX))


@dataclass(frozen=True)
class PartRecord:
    """A part S3 acknowledged: its ``etag``, the ``md5`` of the bytes sent ("" when unknown, as in a version-1
    manifest whose ETag is not an MD5), and which bytes: ``start`` and ``size``."""

    etag: str
    md5: str
    start: int
    size: int


@dataclass(frozen=True)
class Registration:
    """A real-time part registered with the service: which bytes, whether it is the final one, its URL."""

    start: int
    size: int
    is_final: bool
    url: str


@dataclass(repr=False)
class Manifest:
    """Where an upload stands, as saved on disk (see the module docstring for what it holds and why 0600).

    ``parts`` maps the 1-based number of every part S3 acknowledged to its :class:`PartRecord`. A basic upload
    has ``upload_urls`` (and the file's ``filesize`` and ``mtime_ns``); a real-time one (:meth:`realtime`) has
    ``part_size`` and its ``registered`` parts instead. ``resend`` lists the parts a resumed run found changed in
    the file and is sending again (not saved: each run re-checks).
    """

    path: Path
    api_url: str
    file: str
    filesize: int | None
    mtime_ns: int | None
    asset_id: str
    name: str
    filetype: str
    upload_urls: tuple[str, ...] = ()
    parts: dict[int, PartRecord] = field(default_factory=dict)
    part_size: int | None = None
    registered: dict[int, Registration] = field(default_factory=dict)
    resend: tuple[int, ...] = field(default=(), compare=False)

    @classmethod
    def realtime(
        cls, path: Path, *, api_url: str, file: str, asset_id: str, name: str, filetype: str, part_size: int
    ) -> Manifest:
        """A new real-time upload's manifest, saved at once (before anything is sent)."""
        manifest = cls(path, api_url, file, None, None, asset_id, name, filetype, part_size=part_size)
        manifest.save()
        return manifest

    @property
    def is_realtime(self) -> bool:
        return self.part_size is not None

    def __repr__(self) -> str:
        n = len(self.upload_urls) or len(self.registered)
        return (
            f"Manifest(asset_id={self.asset_id!r}, file={self.file!r}, parts_acknowledged={sorted(self.parts)}, "
            f"upload_urls=<{n} presigned URL{'' if n == 1 else 's'}>)"
        )

    def span(self, number: int) -> tuple[int, int]:
        """``(start, size)`` of part `number` (1-based): as registered, or as planned from the size and URLs."""
        if number in self.registered:
            reg = self.registered[number]
            return reg.start, reg.size
        if self.filesize is None or not self.upload_urls:
            raise KeyError(f"part {number} is not registered")
        per_part = chunk_size(self.filesize, len(self.upload_urls))
        start = (number - 1) * per_part
        return start, max(0, min(per_part, self.filesize - start))

    # -- changing it (each change is saved) --------------------------------------------------------------

    def register(self, number: int, *, start: int, size: int, is_final: bool, url: str, save: bool = True) -> None:
        """Note a registered real-time part (and its URL); a part registered again forgets its acknowledgement
        (the service drops the bytes it held of it)."""
        self.registered[number] = Registration(start, size, is_final, url)
        self.parts.pop(number, None)
        if save:
            self.save()

    def record(self, number: int, etag: str, *, md5: str = "") -> None:
        """Note that S3 acknowledged part `number` (1-based) with `etag`, for bytes whose MD5 is `md5`; save."""
        self.parts[number] = PartRecord(etag.strip().strip('"'), md5, *self.span(number))
        self.save()

    def forget(self, numbers: list[int]) -> None:
        """Stop listing parts as acknowledged (they are to be sent again) and save."""
        for number in numbers:
            self.parts.pop(number, None)
        self.save()

    def save(self) -> None:
        """Write the manifest atomically and durably with mode 0600 (:func:`~c2c_helpers.resume.disk.write_private`)."""
        write_private(self.path, (json.dumps(self.to_json(), indent=1) + "\n").encode())

    def remove(self) -> None:
        """Delete the manifest (the upload is complete); no error if it is already gone."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def to_json(self) -> dict[str, Any]:
        """The JSON document that is saved (it contains the presigned URLs: treat it as a secret)."""
        data: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            **{k: getattr(self, k) for k in ("api_url", "file", "filesize", "mtime_ns", "asset_id", "name")},
            "filetype": self.filetype,
            "upload_urls": list(self.upload_urls),
            "parts": {str(n): vars(self.parts[n]).copy() for n in sorted(self.parts)},
        }
        if self.is_realtime:
            data["part_size"] = self.part_size
            data["registered"] = {str(n): vars(r).copy() for n, r in sorted(self.registered.items())}
        return data

    # -- reading ----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest | None:
        """Read a manifest; ``None`` when there is none at `path`.

        Raises
        ------
        InvalidFile
            The file is not safely this user's (:func:`~c2c_helpers.resume.disk.read_private`), or not a manifest
            this version can use (the message says what is wrong).
        """
        path = Path(path)
        raw = read_private(path)
        if raw is None:
            return None
        try:
            return _from_json(path, json.loads(raw.decode("utf-8")))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidFile(
                f"{path}: not a usable resume manifest ({type(exc).__name__}: {str(exc)[:200]}); delete it to "
                "upload the file as a new asset",
                path=path,
            ) from None


def _from_json(path: Path, data: Any) -> Manifest:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("format") == _OLD_REALTIME_FORMAT:
        data = _from_old_realtime(data)
    if data.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"the format is not {MANIFEST_FORMAT!r}")
    if data.get("version") not in (1, 2, MANIFEST_VERSION):
        raise ValueError(f"version {data.get('version')!r}, expected {MANIFEST_VERSION}")
    for key in ("api_url", "file", "asset_id", "name", "filetype"):
        if not isinstance(data[key], str) or not data[key]:
            raise ValueError(f"{key} must be a non-empty string")
    realtime = data.get("part_size") is not None
    urls = data.get("upload_urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls) or (not urls and not realtime):
        raise ValueError("upload_urls must be a non-empty list of URLs")
    for position, number in misplaced_urls(urls):
        raise ValueError(
            f"upload URL {position} is signed for part {number} (partNumber={number}): the URLs are not in part "
            "order, so a part would land in another part's place"
        )
    numbers = ("part_size",) if realtime else ("filesize", "mtime_ns")
    for key in numbers:
        _natural(key, data[key], minimum=1 if key != "mtime_ns" else 0)
    manifest = Manifest(
        path,
        data["api_url"],
        data["file"],
        None if realtime else data["filesize"],
        None if realtime else data["mtime_ns"],
        data["asset_id"],
        data["name"],
        data["filetype"],
        upload_urls=tuple(urls),
        part_size=data["part_size"] if realtime else None,
    )
    if realtime:
        for key, value in dict(data["registered"]).items():
            manifest.registered[int(key)] = _registration(manifest, int(key), value)
    for key, value in dict(data["parts"]).items():
        manifest.parts[int(key)] = _record(manifest, int(key), value)
    return manifest


def _registration(manifest: Manifest, number: int, value: Any) -> Registration:
    """A registered real-time part, checked: it must be the bytes the cut rule gives it, at its own URL."""
    reg = Registration(value["start"], value["size"], value["is_final"], value["url"])
    part_size = manifest.part_size or 0
    _natural("start", reg.start, minimum=0)
    _natural("size", reg.size, minimum=1)
    if not isinstance(reg.is_final, bool) or not isinstance(reg.url, str) or not reg.url:
        raise ValueError(f"part {number}: is_final must be true or false and url a URL")
    if reg.start != (number - 1) * part_size or (not reg.is_final and reg.size != part_size) or reg.size > part_size:
        raise ValueError(f"part {number}: bytes {reg.start}+{reg.size} are not part {number} of {part_size}-byte parts")
    if part_number_of(reg.url) not in (None, number):
        raise ValueError(f"part {number}: its URL is signed for part {part_number_of(reg.url)}")
    return reg


def _record(manifest: Manifest, number: int, value: Any) -> PartRecord:
    """An acknowledged part, checked: a part of this upload, the bytes it was planned to hold, a real MD5."""
    known = number in manifest.registered or (manifest.upload_urls and 1 <= number <= len(manifest.upload_urls))
    if not known:
        raise ValueError(f"part {number} is not one of the asset's parts")
    if isinstance(value, str):  # version 1: the ETag alone, which is the part's MD5 when it looks like one
        return PartRecord(value, md5_hex(value) or "", *manifest.span(number))
    record = PartRecord(str(value["etag"]), str(value["md5"]), value["start"], value["size"])
    _natural("start", record.start, minimum=0)
    _natural("size", record.size, minimum=0)
    if record.md5 and md5_hex(record.md5) != record.md5:
        raise ValueError(f"part {number}: md5 must be 32 lower-case hex digits")
    return record


def _natural(key: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer of at least {minimum}, got {value!r}")


def _from_old_realtime(data: dict[str, Any]) -> dict[str, Any]:
    """A real-time manifest of the earlier format, as version 3 says the same."""
    registered = dict(data["registered"])
    acknowledged = {
        key: {"etag": etag, "md5": md5, "start": registered[key]["start"], "size": registered[key]["size"]}
        for key, (etag, md5) in dict(data["acknowledged"]).items()
    }
    return {
        **data,
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "filesize": None,
        "mtime_ns": None,
        "upload_urls": [],
        "parts": acknowledged,
    }
