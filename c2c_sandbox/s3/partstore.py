"""Parts on disk and their assembly: the only module that reads or writes the bytes of an upload.

Layout under the data dir::

    parts/<asset id>/<part number, 5 digits>.<random>        a part that got its 200 (recorded in SQLite)
    parts/<asset id>/<part number, 5 digits>.<random>.tmp    a part being received
    originals/<asset id>                                     an assembled original
    originals/<asset id>.<random>.tmp                        an original being assembled

**A part is durable before its 200.** The body streams, 1 MiB at a time, into a ``.tmp`` file beside its final
name, its MD5 (the ETag) computed on the way; the file is fsynced and renamed into place, the directory
fsynced, and only then is the part recorded (number, size, ETag, file name) in SQLite, in the transaction
that also notices when the set of parts became complete. A crash before that commit leaves a file that no
record names (the client got no 200 and sends the part again); the next start removes it. A re-sent part gets
a file of its own and the commit switches the record to it: the replacement is atomic, the old file is
removed after.

**Assembly** runs when the commit that recorded the last missing part moves the asset to ``processing``,
whatever else is in flight (a late re-send of a part then finds the upload closed: 404 ``NoSuchUpload``, as on
S3). One worker thread concatenates the parts in number order into a ``.tmp`` original, SHA-256 computed while
writing, fsyncs and renames it, then records the digest and ``upload_completed_at`` and removes the parts.
Parts that break S3's rules (a part but the last under 5 MiB: ``EntityTooSmall``) or add up to another size
than announced make the asset ``failed`` with the reason. Assembly is idempotent: it acts only on an asset in
``processing``, and leaves it only by a guarded transition in SQLite.

**On start**, :meth:`PartStore.recover` removes ``.tmp`` files and files no record names, forgets records
whose bytes are gone, and queues every asset whose parts are all in but not assembled.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from c2c_sandbox.domain import registrations
from c2c_sandbox.domain.records import OPEN_STATES, Asset, Part, UploadClosed
from c2c_sandbox.domain.store import Store
from c2c_sandbox.s3.livefile import MIN_PART_SIZE as MIN_PART_SIZE  # S3's limits live here, with the others
from c2c_sandbox.s3.livefile import Discarded, LiveOriginals

log = logging.getLogger("c2c_sandbox.s3.partstore")

BLOCK = 1024 * 1024
MAX_PART_SIZE = 5 * 1024**3  # 5 GiB: S3's largest part
MAX_PARTS = 10_000
TMP = ".tmp"
SWEEP_EVERY = 1.0  # seconds between the assembler's sweeps of idle real-time originals


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


class IncompleteBody(ConnectionAbortedError):
    """The client closed the connection before the whole part arrived."""


@dataclass(frozen=True)
class Received:
    """A part's bytes, fsynced in a ``.tmp`` file, not yet acknowledged."""

    asset_id: str
    number: int
    size: int
    etag: str
    tmp: Path


class PartStore:
    """Parts and originals under ``data_dir``, with their records in ``store``; one assembly worker."""

    def __init__(self, data_dir: Path, store: Store) -> None:
        self.store = store
        self.parts_dir = data_dir / "parts"
        self.originals_dir = data_dir / "originals"
        self.parts_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # files 0600 (c2c_sandbox.datadir)
        self.originals_dir.mkdir(exist_ok=True, mode=0o700)
        #: real-time uploads' originals, appended as their leading parts arrive (:mod:`c2c_sandbox.s3.livefile`)
        self.live = LiveOriginals(self.originals_dir, self.parts_dir)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker = threading.Thread(target=self._assemble_queued, name="c2c-sandbox-assembler", daemon=True)
        self._worker.start()

    def close(self) -> None:
        """Finish the queued assemblies, stop the worker, release the growing originals."""
        self._queue.put(None)
        self._worker.join(timeout=60)
        self.live.close()

    # -- receiving parts ------------------------------------------------------------------------------
    def put(self, asset_id: str, number: int, body: Readable, length: int) -> str:
        """Receive and acknowledge a part in one go; returns its ETag (the MD5 of its bytes, in hex)."""
        return self.commit(self.receive(asset_id, number, body, length))

    def receive(self, asset_id: str, number: int, body: Readable, length: int) -> Received:
        """Stream ``length`` bytes of ``body`` to a ``.tmp`` file (MD5 on the way) and fsync it."""
        folder = self.parts_dir / asset_id
        if not folder.is_dir():
            folder.mkdir(exist_ok=True, mode=0o700)
            _fsync_dir(self.parts_dir)
        tmp = folder / f"{number:05d}.{secrets.token_hex(6)}{TMP}"
        md5 = hashlib.md5(usedforsecurity=False)  # S3's ETag, not security
        view = memoryview(bytearray(min(length, BLOCK) or 1))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:  # Reset removed the asset's folder since it was made
            raise UploadClosed(asset_id) from None
        try:
            remaining = length
            while remaining > 0:
                n = body.readinto(view[: min(remaining, BLOCK)])
                if not n:
                    raise IncompleteBody(f"the connection closed {remaining} bytes before the end of part {number}")
                md5.update(view[:n])  # hashlib and os.write release the GIL on blocks this size
                _write_all(fd, view[:n])
                remaining -= n
            _fdatasync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return Received(asset_id, number, length, md5.hexdigest(), tmp)

    def commit(self, received: Received) -> str:
        """Rename the part into place and record it: from here on it is acknowledged. Raises UploadClosed."""
        final = received.tmp.with_name(received.tmp.name.removesuffix(TMP))
        try:
            _durable_rename(received.tmp, final)
        except FileNotFoundError:  # the asset was assembled (or failed) meanwhile, and its parts removed
            raise UploadClosed(received.asset_id) from None
        part = Part(received.asset_id, received.number, received.size, received.etag, time.time(), final.name)
        try:
            replaced, complete = self.store.record_part(part)
        except BaseException:
            final.unlink(missing_ok=True)
            if self.store.asset(received.asset_id) is None:  # deleted meanwhile: its folder goes too
                _remove(final.parent)
            raise
        if replaced is not None and replaced != final.name:
            (final.parent / replaced).unlink(missing_ok=True)
        if complete or self._is_realtime(received.asset_id):  # a real-time original grows with each part
            self.submit(received.asset_id)
        return received.etag

    def _is_realtime(self, asset_id: str) -> bool:
        asset = self.store.asset(asset_id)
        return asset is not None and asset.realtime

    def forget(self, asset_id: str, file: str) -> None:
        """Remove the bytes of a part whose record was dropped (a real-time part registered again)."""
        (self.parts_dir / asset_id / file).unlink(missing_ok=True)

    @staticmethod
    def discard(received: Received) -> None:
        received.tmp.unlink(missing_ok=True)

    # -- originals ------------------------------------------------------------------------------------
    def original(self, asset: Asset) -> Path | None:
        """The assembled original of a complete asset, or None."""
        path = self.originals_dir / asset.id
        return path if asset.status == "complete" and path.is_file() else None

    # -- assembly -------------------------------------------------------------------------------------
    def submit(self, asset_id: str) -> None:
        """Queue an asset for assembly (the worker skips it unless it is ``processing``)."""
        self._queue.put(asset_id)

    def _assemble_queued(self) -> None:
        swept = time.monotonic()
        while True:
            try:
                asset_id = self._queue.get(timeout=SWEEP_EVERY)
            except queue.Empty:
                asset_id = ""
            if asset_id is None:
                return
            if time.monotonic() - swept >= SWEEP_EVERY:  # between items too: a busy assembler still sweeps
                self.live.sweep()
                swept = time.monotonic()
            if not asset_id:
                continue
            try:
                self.assemble(asset_id)
            except Exception as exc:  # keep serving; the asset says what went wrong
                log.exception("assembling %s failed", asset_id)
                with contextlib.suppress(Exception):
                    self.store.finish_assembly(asset_id, error=f"assembly failed: {type(exc).__name__}: {exc}")
                    self.drop(asset_id)

    def assemble(self, asset_id: str) -> None:
        """Build the original of an asset in ``processing``; grow a real-time upload's original with the leading
        parts that are in (:mod:`c2c_sandbox.s3.livefile`); nothing for an asset in any other state."""
        asset = self.store.asset(asset_id)
        if asset is not None and asset.realtime and asset.status in OPEN_STATES:
            try:
                numbers = [r.number for r in registrations.registered_parts(self.store, asset_id)]
                self.live.advance(asset_id, self.store.parts(asset_id), final=asset.parts, numbers=numbers)
            except OSError:  # a part replaced or forgotten meanwhile: start again with the next part
                log.debug("growing the original of %s: starting again", asset_id, exc_info=True)
                self.live.discard(asset_id)
            return
        if asset is None or asset.status != "processing":
            return
        parts = self.store.parts(asset_id)
        error = _refusal(asset, parts)
        sha256 = None
        if error is None:
            try:
                if asset.realtime:
                    sha256 = self.live.finish(asset_id, parts, self.originals_dir / asset.id)
                else:
                    sha256 = self._concatenate(asset, parts)
            except FileNotFoundError as exc:
                error = f"the bytes of a part are gone: {Path(str(exc.filename)).name}"
            except Discarded:  # deleted (Reset) while its last parts were appended
                error = "the upload was deleted while it was assembled"
        self.live.discard(asset_id)
        self.store.finish_assembly(asset_id, error=error, sha256=sha256)
        self.drop(asset_id)

    def _concatenate(self, asset: Asset, parts: list[Part]) -> str:
        """Write the parts, in number order, to ``originals/<id>``; return the SHA-256 of what was written."""
        sha = hashlib.sha256()
        view = memoryview(bytearray(BLOCK))
        tmp = self.originals_dir / f"{asset.id}.{secrets.token_hex(6)}{TMP}"
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            for part in parts:
                with open(self.parts_dir / asset.id / part.file, "rb", buffering=0) as source:
                    if os.fstat(source.fileno()).st_size != part.size:
                        raise OSError(f"part {part.part_number} on disk is not the size it was acknowledged with")
                    while n := source.readinto(view):
                        sha.update(view[:n])
                        _write_all(out, view[:n])
            _fdatasync(out)
        except BaseException:
            os.close(out)
            tmp.unlink(missing_ok=True)
            raise
        os.close(out)
        _durable_rename(tmp, self.originals_dir / asset.id)
        return sha.hexdigest()

    def drop(self, asset_id: str) -> None:
        """Remove the part files of an asset (after assembly, or when it failed)."""
        shutil.rmtree(self.parts_dir / asset_id, ignore_errors=True)

    def clear(self, asset_ids: list[str]) -> None:
        """Remove the parts and originals of assets the store has forgotten (and any stray original)."""
        for asset_id in asset_ids:
            self.live.discard(asset_id)
            self.drop(asset_id)
            (self.originals_dir / asset_id).unlink(missing_ok=True)
        for path in self.originals_dir.iterdir():
            if path.is_file() and self.store.asset(path.name.split(".")[0]) is None:
                path.unlink(missing_ok=True)

    # -- after a restart ------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Tidy the data dir after a stop or a crash; queue and return the assets ready to assemble."""
        for tmp in self.originals_dir.glob(f"*{TMP}"):
            tmp.unlink(missing_ok=True)
        live = (*OPEN_STATES, "processing")
        for folder in self.parts_dir.iterdir():
            asset = self.store.asset(folder.name)
            if asset is None or asset.status not in live or not folder.is_dir():
                _remove(folder)
                continue
            named = {part.file for part in self.store.parts(asset.id)}
            for path in folder.iterdir():
                if path.name not in named:
                    _remove(path)
        ready = []
        for asset in self.store.assets(states=live):
            for part in self.store.parts(asset.id):
                if asset.status != "processing" and not (self.parts_dir / asset.id / part.file).is_file():
                    self.store.forget_part(asset.id, part.part_number)  # bytes that did not survive: send again
            if asset.status == "processing" or self.store.claim_assembly(asset.id):
                ready.append(asset.id)
                self.submit(asset.id)
        return ready


def _refusal(asset: Asset, parts: list[Part]) -> str | None:
    """Why S3 would not complete these parts into this asset, or None."""
    numbers = [p.part_number for p in parts]  # a real-time upload's registered numbers may skip some
    if numbers != list(range(1, asset.parts + 1)) and not (asset.realtime and numbers and numbers[-1] == asset.parts):
        return f"parts missing: expected 1..{asset.parts}, have {numbers}"
    for part in parts[:-1]:
        if part.size < MIN_PART_SIZE:
            return (
                f"EntityTooSmall: part {part.part_number} has {part.size} bytes; every part but the last must"
                f" have at least {MIN_PART_SIZE}"
            )
    total = sum(p.size for p in parts)
    if total != asset.filesize:
        return f"size mismatch: the parts add up to {total} bytes, the asset announced {asset.filesize}"
    return None


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _durable_rename(tmp: Path, final: Path) -> None:
    """The one atomic write: rename a written and fsynced file into place, then fsync its directory."""
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
