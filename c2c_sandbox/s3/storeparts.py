"""The parts of uploads whose bytes live in an external S3 store (:mod:`c2c_sandbox.s3.bucket`).

The device PUTs its parts straight to the store, so the sandbox does not see them arrive: a watcher thread asks
the store (``list_parts``) which parts of each open upload it holds, records each new one (number, size, ETag)
in SQLite as the embedded part store does, and once the set is complete has the store assemble the original
(``complete_multipart_upload``) and reads it back once for its SHA-256, which the asset records as today.

How often an upload is asked about is the sandbox's choice (its inference; Frame.io does not say how it
learns): every :data:`POLL_MIN` seconds after a part arrived, backing off to :data:`POLL_MAX` while nothing
changes, and never more than :data:`POLLS_PER_SECOND` questions a second for all uploads together (a set of a
hundred cameras is then asked about every few seconds). ``wait_for_asset`` asks at once (:meth:`poke`).

The original is on the store; :meth:`original` copies it into the data dir the first time the page or a
control asks for it. Reset removes the store's objects and aborts their uploads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from c2c_sandbox.domain import registrations
from c2c_sandbox.domain.records import OPEN_STATES, Asset, Part, UploadClosed
from c2c_sandbox.domain.store import Store
from c2c_sandbox.s3.bucket import Bucket, StoreRefused

log = logging.getLogger("c2c_sandbox.s3.storeparts")

POLL_MIN = 0.05  # seconds between two questions about an upload whose parts are arriving
POLL_MAX = 1.0  # ... and about one where nothing changed for a while
POLLS_PER_SECOND = 100  # questions to the store a second, for all open uploads together
ASSEMBLERS = 2  # uploads the store assembles (and the sandbox reads back) at once
#: The message of every feature that needs the part bytes to pass through the sandbox.
STORE_MODE = (
    "the part bytes go straight to the S3 store (Sandbox(s3=...), c2c sandbox --s3): {what} needs them to pass"
    " through the sandbox's own S3 gateway; start a sandbox without s3 for it"
)


def open_store(
    url: str | None, key: str | None, secret: str | None, profile: str | None, *, store: Store, data_dir: Path
) -> tuple[Bucket | None, StoreParts | None]:
    """The external store's bucket (created when missing) and the parts kept from it; (None, None) without a URL."""
    if url is None:
        return None, None
    bucket = Bucket(url, access_key=key, secret_key=secret, profile=profile)
    bucket.ensure()
    return bucket, StoreParts(bucket, store, data_dir)


def store_key(asset_id: str) -> str:
    """Where an asset's original lives in the bucket (the embedded gateway's URLs use the same key)."""
    return f"parts/{asset_id}/original"


class StoreParts:
    """The part records of store-backed uploads, kept up to date from the store; a watcher and assemblers."""

    def __init__(self, bucket: Bucket, store: Store, data_dir: Path) -> None:
        self.bucket, self.store = bucket, store
        self.originals_dir = data_dir / "originals"
        self.originals_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._due: dict[str, tuple[float, float]] = {}  # asset id -> (when to ask next, the current interval)
        self._assembling: set[str] = set()
        self._stale: set[tuple[str, str]] = set()  # (asset id, "etag time") of parts registered again
        self._lock = threading.Lock()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._pool = ThreadPoolExecutor(ASSEMBLERS, thread_name_prefix="c2c-sandbox-assembler")
        self._watcher = threading.Thread(target=self._watch, name="c2c-sandbox-store-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._watcher.join(timeout=30)
        self._pool.shutdown(wait=True)

    # -- what the model asks of a part store ------------------------------------------------------------
    def poke(self, asset_id: str) -> None:
        """Ask the store about this upload now."""
        with self._lock:
            self._due[asset_id] = (0.0, POLL_MIN)
        self._wake.set()

    submit = poke

    def forget(self, asset_id: str, file: str) -> None:
        """A real-time part registered again: the store keeps its old bytes until the device sends new ones, so
        that listing (``file`` is its ETag and time) no longer counts as the part."""
        with self._lock:
            self._stale.add((asset_id, file))

    def original(self, asset: Asset) -> Path | None:
        """The original of a complete asset, copied from the store into the data dir on first use."""
        if asset.status != "complete":
            return None
        path = self.originals_dir / asset.id
        if not path.is_file():
            tmp = path.with_name(f"{asset.id}.{secrets.token_hex(6)}.tmp")
            try:
                with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    for block in self.bucket.chunks(store_key(asset.id)):
                        out.write(block)
                os.replace(tmp, path)
            except (ClientError, BotoCoreError, OSError):
                log.warning("reading the original of %s from the store failed", asset.id, exc_info=True)
                tmp.unlink(missing_ok=True)
                return None
        return path

    def clear(self, asset_ids: list[str]) -> None:
        for asset_id in asset_ids:
            self.bucket.remove(store_key(asset_id))
            (self.originals_dir / asset_id).unlink(missing_ok=True)

    def recover(self) -> list[str]:
        """After a restart: assemble what was claimed, and watch every open upload."""
        ready = [a.id for a in self.store.assets(states=("processing",))]
        for asset_id in ready:
            self._assemble_later(asset_id)
        for asset in self.store.assets(states=OPEN_STATES):
            self.poke(asset.id)
        return ready

    # -- the watcher ----------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:  # keep watching: a store that does not answer now may answer later
                log.exception("asking the store about its uploads")
                self._stop.wait(POLL_MAX)

    def _round(self) -> None:
        now = time.monotonic()
        open_assets = {a.id: a for a in self.store.assets(states=OPEN_STATES)}
        with self._lock:
            for asset_id in list(self._due):
                if asset_id not in open_assets:
                    del self._due[asset_id]
            for asset_id in open_assets:
                self._due.setdefault(asset_id, (now, POLL_MIN))
            due = sorted((when, asset_id) for asset_id, (when, _) in self._due.items() if when <= now)
        for _, asset_id in due[:POLLS_PER_SECOND]:
            if self._stop.is_set():
                return
            grew = self._look(open_assets[asset_id])
            with self._lock:
                interval = POLL_MIN if grew else min(self._due.get(asset_id, (0, POLL_MIN))[1] * 1.5, POLL_MAX)
                spread = max(interval, len(open_assets) / POLLS_PER_SECOND)
                self._due[asset_id] = (time.monotonic() + spread, interval)
        with self._lock:
            upcoming = min((when for when, _ in self._due.values()), default=now + POLL_MAX)
        self._wake.wait(max(0.01, min(upcoming - time.monotonic(), POLL_MAX)))
        self._wake.clear()

    def _look(self, asset: Asset) -> bool:
        """Record the parts the store holds that the records lack; True when one was new."""
        try:
            listed = self.bucket.parts(asset.s3_key, asset.upload_id)
        except (ClientError, BotoCoreError):
            log.debug("listing the parts of %s", asset.id, exc_info=True)
            return False
        known = {p.part_number: p.etag for p in self.store.parts(asset.id)}
        sizes = (
            {r.number: r.size for r in registrations.registered_parts(self.store, asset.id)} if asset.realtime else {}
        )
        grew = False
        for item in listed:
            number, etag, size = int(item["PartNumber"]), str(item["ETag"]).strip('"'), int(item["Size"])
            seen = f"{etag} {item.get('LastModified', '')}"  # what this listing of the part is (its record's file)
            if known.get(number) == etag or (asset.realtime and sizes.get(number) != size):
                continue  # known already, or bytes of a real-time part registered again with another size
            with self._lock:
                if (asset.id, seen) in self._stale:
                    continue  # the bytes of a part registered again: the new ones are still to come
            try:
                _, complete = self.store.record_part(Part(asset.id, number, size, etag, time.time(), seen))
            except UploadClosed:
                return grew
            grew = True
            if complete:
                self._assemble_later(asset.id)
        return grew

    # -- assembly by the store ------------------------------------------------------------------------
    def _assemble_later(self, asset_id: str) -> None:
        with self._lock:
            if asset_id in self._assembling:
                return
            self._assembling.add(asset_id)
        self._pool.submit(self._assemble, asset_id)

    def _assemble(self, asset_id: str) -> None:
        try:
            asset = self.store.asset(asset_id)
            if asset is None or asset.status != "processing":
                return
            error, sha256 = None, None
            try:
                parts = [p for p in self.bucket.parts(asset.s3_key, asset.upload_id) if p["PartNumber"] <= asset.parts]
                self.bucket.complete(asset.s3_key, asset.upload_id, parts)
                sha256, size = self.bucket.sha256(asset.s3_key)
                if size != asset.filesize:
                    error, sha256 = (
                        f"size mismatch: the store assembled {size} bytes, the asset announced {asset.filesize}",
                        None,
                    )
            except StoreRefused as exc:
                error = f"the store refused to complete the upload: {exc}"
            except (ClientError, BotoCoreError) as exc:
                error = f"assembly failed: {type(exc).__name__}: {exc}"
            self.store.finish_assembly(asset_id, error=error, sha256=sha256)
        except Exception:
            log.exception("assembling %s in the store failed", asset_id)
            with contextlib.suppress(Exception):
                self.store.finish_assembly(asset_id, error="assembly failed: see the sandbox's log")
        finally:
            with self._lock:
                self._assembling.discard(asset_id)
