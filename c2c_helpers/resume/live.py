"""The resume manifest of a real-time upload: the asset, every part registered (its bytes and URL), every part
S3 acknowledged (its ETag and MD5).

:func:`~c2c_helpers.realtime.upload.upload_growing_file` with ``resume=PATH`` writes it right after the asset is
created, after each parts call (before any of those parts is sent) and each time S3 acknowledges a part; it is
removed once every part, the final one included, is acknowledged. A later run with the same ``resume=PATH``
continues that asset: it keeps the acknowledged parts whose bytes the file still holds, registers every other
registered part again (so the service drops whatever it may hold of them: a 200 can be lost before it reaches
the manifest) and sends those, and then follows the file as before. Like the basic upload's manifest
(:mod:`c2c_helpers.resume.manifest`) it holds presigned URLs, never a token: it is written with mode 0600,
atomically, and one run at a time holds its lock (:class:`~c2c_helpers.resume.manifest.ManifestLock`).

>>> import tempfile, pathlib
>>> where = pathlib.Path(tempfile.mkdtemp()) / "take.mp4.c2c-realtime.json"
>>> m = LiveManifest(where, api_url="http://127.0.0.1:8765", file="/cards/take.mp4", asset_id="a1",
...                  name="take.mp4", filetype="video/mp4", part_size=8388608)
>>> m.register(1, start=0, size=8388608, is_final=False, url="https://s3.example/k?partNumber=1&X-Amz-Signature=s")
>>> m.acknowledge(1, etag='"0f343b0931126a20f133d67c2b018a3b"', md5="0f343b0931126a20f133d67c2b018a3b")
>>> LiveManifest.load(where).acknowledged
{1: ('0f343b0931126a20f133d67c2b018a3b', '0f343b0931126a20f133d67c2b018a3b')}
>>> m
LiveManifest(asset_id='a1', file='/cards/take.mp4', registered=[1], acknowledged=[1])
>>> oct(where.stat().st_mode & 0o777); m.remove()
'0o600'
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c2c_helpers.errors import InvalidFile
from c2c_helpers.resume.manifest import write_private

__all__ = ["LIVE_MANIFEST_FORMAT", "LIVE_MANIFEST_SUFFIX", "LiveManifest", "Registration"]

LIVE_MANIFEST_FORMAT = "c2c-realtime-manifest"
#: ``c2c upload --realtime FILE --resume`` keeps the manifest next to the file, as ``FILE`` + this suffix.
LIVE_MANIFEST_SUFFIX = ".c2c-realtime.json"


@dataclass(frozen=True)
class Registration:
    """A registered part: which bytes of the file, whether it is the final one, and its presigned URL."""

    start: int
    size: int
    is_final: bool
    url: str


@dataclass(repr=False)
class LiveManifest:
    """Where a real-time upload stands, as saved on disk (see the module docstring)."""

    path: Path
    api_url: str
    file: str
    asset_id: str
    name: str
    filetype: str
    part_size: int
    registered: dict[int, Registration] = field(default_factory=dict)
    #: part number -> (ETag, MD5 of the bytes sent)
    acknowledged: dict[int, tuple[str, str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"LiveManifest(asset_id={self.asset_id!r}, file={self.file!r}, registered={sorted(self.registered)}, "
            f"acknowledged={sorted(self.acknowledged)})"
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LiveManifest | None:
        """Read a manifest; None when there is none. InvalidFile when it is not a usable one."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != LIVE_MANIFEST_FORMAT:
                raise ValueError(f"the format is not {LIVE_MANIFEST_FORMAT!r}")
            manifest = cls(
                path,
                api_url=str(data["api_url"]),
                file=str(data["file"]),
                asset_id=str(data["asset_id"]),
                name=str(data["name"]),
                filetype=str(data["filetype"]),
                part_size=int(data["part_size"]),
            )
            for key, r in dict(data["registered"]).items():
                manifest.registered[int(key)] = Registration(
                    int(r["start"]), int(r["size"]), bool(r["is_final"]), str(r["url"])
                )
            for key, (etag, md5) in dict(data["acknowledged"]).items():
                manifest.acknowledged[int(key)] = (str(etag), str(md5))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidFile(
                f"{path}: not a usable real-time resume manifest ({type(exc).__name__}: {str(exc)[:200]}); delete it "
                "to upload the file as a new asset",
                path=path,
            ) from None
        return manifest

    def to_json(self) -> dict[str, Any]:
        return {
            "format": LIVE_MANIFEST_FORMAT,
            "version": 1,
            "api_url": self.api_url,
            "file": self.file,
            "asset_id": self.asset_id,
            "name": self.name,
            "filetype": self.filetype,
            "part_size": self.part_size,
            "registered": {str(n): vars(r) for n, r in sorted(self.registered.items())},
            "acknowledged": {str(n): list(v) for n, v in sorted(self.acknowledged.items())},
        }

    def save(self) -> None:
        """Write atomically (a temporary file beside it, fsync, rename) with mode 0600."""
        write_private(self.path, (json.dumps(self.to_json(), indent=1) + "\n").encode())

    def register(self, number: int, *, start: int, size: int, is_final: bool, url: str, save: bool = True) -> None:
        """Note a registered part (and its URL); a part registered again forgets its acknowledgement."""
        self.registered[number] = Registration(start, size, is_final, url)
        self.acknowledged.pop(number, None)
        if save:
            self.save()

    def acknowledge(self, number: int, *, etag: str, md5: str) -> None:
        """Note that S3 acknowledged part `number`; save."""
        self.acknowledged[number] = (etag.strip().strip('"'), md5)
        self.save()

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
