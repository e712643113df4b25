"""The original of a real-time upload, assembled while the file is still being recorded.

A basic upload is assembled once every part is in: the part store concatenates them (:mod:`c2c_sandbox.s3.partstore`).
A real-time upload cannot wait for that: its last part arrives seconds after the recording stops, and copying a
gigabyte then would take longer than the whole point of uploading in real time. So each time a part arrives,
the assembler appends every *leading* part now present (1, 2, ... up to the first gap) to a growing
``originals/<asset id>.<random>.tmp``, SHA-256 computed on the way, and fsyncs it. When the final part and
every part before it are in, only what is left (usually the final part alone) is appended before the file is
renamed into place.

A part that is replaced after it was appended (sent again, or registered again) changes the prefix: the growing
file is then thrown away and built again from part 1 (rare; correct first). The state lives in memory only: after
a restart the part store's recovery removes ``.tmp`` files, and the next part starts the growing file afresh.

What an upload in progress holds is bounded: at most :data:`MAX_OPEN_ORIGINALS` descriptors for all of them;
nothing past a part that can be in no complete upload (a part but the final one under 5 MiB); and nothing once
it has been silent for :data:`ORIGINAL_IDLE` seconds (the assembler sweeps), is deleted (Reset) or the sandbox
stops. Its parts stay: they are the upload, which can still be finished.

Only the assembler thread of :class:`~c2c_sandbox.s3.partstore.PartStore` appends; Reset (another thread)
may discard an original at any moment. One lock guards every descriptor: the appender writes each block and
fsyncs under it, after checking that its original was not discarded, and a discard closes the descriptor
under it. So a descriptor is never closed while it is written, and never written once closed (the number
could by then belong to any other file of the process, or to a connection).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c2c_sandbox.domain.records import Part

BLOCK = 1024 * 1024
TMP = ".tmp"
MIN_PART_SIZE = 5 * 1024**2  # 5 MiB: S3's smallest part but the last
#: Growing originals holding a descriptor at once. A process starts with 1,024 descriptors (``ulimit -n``), which
#: the server shares with its connections, the parts being received and SQLite; past this many, the least
#: recently appended original is closed, and its next part reopens it (in append mode).
MAX_OPEN_ORIGINALS = 32
#: Seconds without a new part after which a growing original is released (descriptor closed, copy deleted; a
#: part arriving later builds it again from part 1). A recording sends a part every few seconds: a minute of
#: silence is an upload paused for long, or abandoned.
ORIGINAL_IDLE = 60.0
_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


@dataclass
class _Growing:
    """One growing original: its ``.tmp`` file, the running SHA-256, and the parts appended (number, file)."""

    path: Path
    fd: int  # -1 while closed (more originals grow than MAX_OPEN_ORIGINALS): the next part reopens it
    sha: Any = field(default_factory=hashlib.sha256)
    appended: list[tuple[int, str]] = field(default_factory=list)
    size: int = 0
    gone: bool = False  # discarded: its descriptor is closed, and nothing may be written under its name
    last: float = field(default_factory=time.monotonic)  # when a part was last appended


class Discarded(OSError):
    """The original being appended was discarded meanwhile (Reset, or a changed prefix): stop appending."""


class LiveOriginals:
    """The growing originals of the real-time uploads in progress, under ``originals_dir``.

    ``max_open`` and ``idle`` are :data:`MAX_OPEN_ORIGINALS` and :data:`ORIGINAL_IDLE` unless changed.
    """

    def __init__(self, originals_dir: Path, parts_dir: Path) -> None:
        self.originals_dir, self.parts_dir = originals_dir, parts_dir
        self.max_open, self.idle = MAX_OPEN_ORIGINALS, ORIGINAL_IDLE
        self._growing: dict[str, _Growing] = {}
        self._lock = threading.Lock()  # guards _growing and every descriptor in it (see the module docstring)

    def advance(self, asset_id: str, parts: list[Part], final: int = 0, numbers: list[int] | None = None) -> int:
        """Append every leading part of `parts` (the asset's received parts, in number order) not yet appended;
        return how many parts the growing original holds. A changed prefix starts it again from part 1.

        `numbers` are the registered part numbers in order (1, 2, 3, ... unless told): a number nobody registered
        is no gap, since Frame.io concatenates the registered parts in number order, skipped numbers and all.

        `final` is the final part's number (0 while none is registered): a part before it under 5 MiB can be in
        no complete upload (S3's ``EntityTooSmall``), so the original stops growing before such a part, and an
        upload of tiny parts holds no original (no descriptor, no copy) at all.
        """
        with self._lock:
            growing = self._growing.get(asset_id)
            if growing is not None and not _same_prefix(growing, parts):
                self._discard(asset_id)
                growing = None
            todo = _appendable(parts, len(growing.appended) if growing else 0, final, numbers)
            if not todo:
                return len(growing.appended) if growing else 0
            growing = self._open(asset_id, growing)
        view = memoryview(bytearray(BLOCK))
        for part in todo:
            with open(self.parts_dir / asset_id / part.file, "rb", buffering=0) as source:
                if os.fstat(source.fileno()).st_size != part.size:
                    raise OSError(f"part {part.part_number} on disk is not the size it was acknowledged with")
                while n := source.readinto(view):
                    growing.sha.update(view[:n])
                    with self._lock:
                        _write_all(_live(growing), view[:n])
            growing.appended.append((part.part_number, part.file))
            growing.size += part.size
        with self._lock:  # a little at a time: the final fsync then has only the last part to write
            _fdatasync(_live(growing))
            growing.last = time.monotonic()
        return len(growing.appended)

    def _open(self, asset_id: str, growing: _Growing | None) -> _Growing:
        """The asset's original with an open descriptor: made, or reopened; the least recently appended one is
        closed first when :attr:`max_open` are open (the caller holds the lock)."""
        if growing is not None and growing.fd >= 0:
            return growing
        held = [g for g in self._growing.values() if g.fd >= 0]
        if len(held) >= self.max_open:
            oldest = min(held, key=lambda g: g.last)
            os.close(oldest.fd)
            oldest.fd = -1
        if growing is None:
            path = self.originals_dir / f"{asset_id}.{secrets.token_hex(6)}{TMP}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            growing = self._growing[asset_id] = _Growing(path, fd)
        else:
            growing.fd = os.open(growing.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        return growing

    def finish(self, asset_id: str, parts: list[Part], final: Path) -> str:
        """Append what is left of `parts` (all of them are in), rename the original to `final`; its SHA-256."""
        numbers = [p.part_number for p in parts]
        if self.advance(asset_id, parts, final=numbers[-1] if numbers else 0, numbers=numbers) != len(parts):
            raise OSError("the parts are not all in")
        with self._lock:
            growing = self._growing.pop(asset_id, None)
            if growing is None or growing.gone:
                raise Discarded(f"the original of {asset_id} was discarded")
            growing.gone = True
            if growing.fd >= 0:
                os.close(growing.fd)
            os.replace(growing.path, final)
        fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return str(growing.sha.hexdigest())

    def discard(self, asset_id: str) -> None:
        """Throw away the growing original of an asset (failed, deleted, or its prefix changed); from any thread:
        it waits for the block being written, and the appender stops at its next one."""
        with self._lock:
            self._discard(asset_id)

    def sweep(self) -> int:
        """Release the originals no part was appended to for :attr:`idle` seconds; how many were released."""
        with self._lock:
            idle = [a for a, g in self._growing.items() if time.monotonic() - g.last >= self.idle]
            for asset_id in idle:
                self._discard(asset_id)
        return len(idle)

    def close(self) -> None:
        """Release every growing original (the sandbox stops: its next start builds them again)."""
        with self._lock:
            for asset_id in list(self._growing):
                self._discard(asset_id)

    def _discard(self, asset_id: str) -> None:
        growing = self._growing.pop(asset_id, None)
        if growing is not None:
            growing.gone = True
            if growing.fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(growing.fd)
            growing.path.unlink(missing_ok=True)


def _live(growing: _Growing) -> int:
    """The descriptor of an original still growing (the caller holds the lock); Discarded once it was discarded."""
    if growing.gone:
        raise Discarded(f"{growing.path.name} was discarded while it was appended")
    return growing.fd


def _appendable(parts: list[Part], done: int, final: int, numbers: list[int] | None = None) -> list[Part]:
    """The parts after the first `done` that can be appended now: up to the first gap in `numbers` (the
    registered numbers; 1, 2, 3, ... when None) or the first part under 5 MiB that is not the final one."""
    todo: list[Part] = []
    for part in parts[done:]:
        at = done + len(todo)
        expected = (numbers[at] if at < len(numbers) else -1) if numbers is not None else at + 1
        if part.part_number != expected or (part.size < MIN_PART_SIZE and part.part_number != final):
            break
        todo.append(part)
    return todo


def _same_prefix(growing: _Growing, parts: list[Part]) -> bool:
    """Whether the parts appended are still, file for file, the asset's first parts."""
    if len(parts) < len(growing.appended):
        return False
    return all((p.part_number, p.file) == done for p, done in zip(parts, growing.appended, strict=False))


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]
