"""The sandbox's state: devices, pairing codes, tokens, assets, parts and pause windows in SQLite.

Everything lives in ``<data_dir>/sandbox.sqlite3`` (the bytes of parts and originals sit beside it, kept by
:mod:`c2c_sandbox.s3.partstore`), so a sandbox stopped and started again on the same data dir still knows its
devices, tokens, assets and every part it acknowledged. Commits are durable (WAL, ``synchronous=FULL``): what a
commit recorded survives a crash of the process or of the machine.

Secrets are stored as SHA-256 digests only: a token is shown once, when it is issued, and the database
never holds it in the clear. Times are POSIX seconds (floats); the API renders them as ISO 8601 UTC.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from c2c_sandbox.domain.records import (
    OPEN_STATES,
    Asset,
    Device,
    DeviceCode,
    Part,
    Pause,
    Token,
    UploadClosed,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, client_id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    project_id TEXT NOT NULL, project_name TEXT NOT NULL, created_at REAL NOT NULL, last_seen REAL,
    firmware TEXT
);
CREATE TABLE IF NOT EXISTS device_codes (
    code_hash TEXT PRIMARY KEY, user_code TEXT NOT NULL, client_id TEXT NOT NULL, name TEXT NOT NULL,
    scope TEXT NOT NULL, expires_at REAL NOT NULL, interval REAL NOT NULL, last_poll REAL,
    device_id TEXT, consumed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, grant_id TEXT NOT NULL,
    scope TEXT NOT NULL, expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS assets (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, project_id TEXT NOT NULL, parent_id TEXT NOT NULL,
    name TEXT NOT NULL, filetype TEXT NOT NULL, filesize INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    channel INTEGER NOT NULL, parts INTEGER NOT NULL, upload_id TEXT UNIQUE NOT NULL, s3_key TEXT NOT NULL,
    status TEXT NOT NULL, inserted_at REAL NOT NULL, file_created_at REAL NOT NULL,
    upload_completed_at REAL, sha256 TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS parts (
    asset_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    received_at REAL NOT NULL, file TEXT NOT NULL DEFAULT '', PRIMARY KEY (asset_id, part_number)
);
CREATE TABLE IF NOT EXISTS realtime_parts (
    asset_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL, is_final INTEGER NOT NULL,
    registered_at REAL NOT NULL, PRIMARY KEY (asset_id, part_number)
);
CREATE TABLE IF NOT EXISTS pauses (
    id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, channel INTEGER,
    start REAL NOT NULL, "end" REAL
);
"""


def digest(secret: str) -> str:
    """SHA-256 hex digest of a secret: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Store:
    """Thread-safe access to the sandbox database (one connection, one lock: the load is tiny)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(data_dir / "sandbox.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(parts)")}
            if "file" not in columns:  # a data dir from before parts were kept on disk: those parts are gone
                self._db.execute("ALTER TABLE parts ADD COLUMN file TEXT NOT NULL DEFAULT ''")
            if "firmware" not in {row["name"] for row in self._db.execute("PRAGMA table_info(devices)")}:
                self._db.execute("ALTER TABLE devices ADD COLUMN firmware TEXT")  # a data dir from before /me had it
            asset_columns = {row["name"] for row in self._db.execute("PRAGMA table_info(assets)")}
            for column in ("realtime", "default_name"):  # a data dir from before real-time uploads
                if column not in asset_columns:
                    self._db.execute(f"ALTER TABLE assets ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()  # type: ignore[no-any-return]

    def _all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _exec(self, sql: str, *args: Any) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def meta_or_create(self, key: str, make: Any) -> str:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row["value"])
            value = str(make())
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return value

    # -- meta, devices --------------------------------------------------------------------------------
    def device(self, device_id: str) -> Device | None:
        row = self._one("SELECT * FROM devices WHERE id = ?", device_id)
        return Device(**row) if row else None

    def device_by_client_id(self, client_id: str) -> Device | None:
        row = self._one("SELECT * FROM devices WHERE client_id = ?", client_id)
        return Device(**row) if row else None

    def devices(self) -> list[Device]:
        return [Device(**r) for r in self._all("SELECT * FROM devices ORDER BY created_at")]

    def ensure_device(self, client_id: str, name: str, project_name: str) -> Device:
        """The device paired under ``client_id``, created on first pairing (pairing again reuses it)."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM devices WHERE client_id = ?", (client_id,)).fetchone()
            if row:
                return Device(**row)
            project = db.execute(
                "SELECT project_id FROM devices WHERE project_name = ? LIMIT 1", (project_name,)
            ).fetchone()
            project_id = project["project_id"] if project else str(uuid.uuid4())
            device = Device(str(uuid.uuid4()), client_id, name, project_id, project_name, time.time(), None)
            db.execute(
                "INSERT INTO devices (id, client_id, name, project_id, project_name, created_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (device.id, client_id, name, project_id, project_name, device.created_at, None),
            )
            return device

    def touch_device(self, device_id: str, firmware: str | None = None) -> None:
        """Note that the device was seen now (and, when given, the version it runs)."""
        if firmware is None:
            self._exec("UPDATE devices SET last_seen = ? WHERE id = ?", time.time(), device_id)
        else:
            self._exec("UPDATE devices SET last_seen = ?, firmware = ? WHERE id = ?", time.time(), firmware, device_id)

    # -- pairing codes ------------------------------------------------------------------------------
    def add_device_code(self, client_id: str, name: str, scope: str, ttl: float, interval: float) -> tuple[str, str]:
        """A new (device_code, user_code) pair; the user code is six digits, unique among live codes."""
        device_code = secrets.token_urlsafe(32)
        now = time.time()
        with self.transaction() as db:
            while True:
                user_code = f"{secrets.randbelow(1_000_000):06d}"
                clash = db.execute(
                    "SELECT 1 FROM device_codes WHERE user_code = ? AND expires_at > ? AND consumed = 0",
                    (user_code, now),
                ).fetchone()
                if not clash:
                    break
            db.execute(
                "INSERT INTO device_codes VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0)",
                (digest(device_code), user_code, client_id, name, scope, now + ttl, interval),
            )
        return device_code, user_code

    def device_code(self, device_code: str) -> DeviceCode | None:
        row = self._one("SELECT * FROM device_codes WHERE code_hash = ?", digest(device_code))
        return _device_code(row) if row else None

    def pending_code(self, user_code: str) -> DeviceCode | None:
        """The live, not yet approved code a person typed, or None."""
        row = self._one(
            "SELECT * FROM device_codes WHERE user_code = ? AND expires_at > ? AND consumed = 0"
            " AND device_id IS NULL ORDER BY expires_at DESC LIMIT 1",
            user_code,
            time.time(),
        )
        return _device_code(row) if row else None

    def pending_codes(self) -> list[DeviceCode]:
        rows = self._all(
            "SELECT * FROM device_codes WHERE expires_at > ? AND consumed = 0 AND device_id IS NULL"
            " ORDER BY expires_at",
            time.time(),
        )
        return [_device_code(r) for r in rows]

    def approve_code(self, code_hash: str, device_id: str) -> None:
        self._exec("UPDATE device_codes SET device_id = ? WHERE code_hash = ?", device_id, code_hash)

    def record_poll(self, code_hash: str, when: float, interval: float) -> None:
        self._exec("UPDATE device_codes SET last_poll = ?, interval = ? WHERE code_hash = ?", when, interval, code_hash)

    def consume_code(self, code_hash: str) -> bool:
        """Mark a code used; False when another poll consumed it first."""
        return self._exec("UPDATE device_codes SET consumed = 1 WHERE code_hash = ? AND consumed = 0", code_hash) == 1

    # -- tokens -------------------------------------------------------------------------------------
    def issue_tokens(
        self, device_id: str, scope: str, access_ttl: float, refresh_ttl: float, grant_id: str | None = None
    ) -> tuple[str, str]:
        """A new (access_token, refresh_token) pair for a device; the pair shares a grant id.

        A refresh token comes only with the ``offline`` scope, as in Frame.io: without it the second item is "".
        Issuing for an existing grant (a refresh) revokes the grant's earlier access tokens in the same
        transaction: "upon successful token refresh, your previous credentials become invalid".
        """
        access = secrets.token_urlsafe(32)
        refresh = str(uuid.uuid4()) if "offline" in scope.split() else ""
        now = time.time()
        with self.transaction() as db:
            if grant_id is not None:
                db.execute("UPDATE tokens SET revoked = 1 WHERE grant_id = ? AND kind = 'access'", (grant_id,))
            grant_id = grant_id or str(uuid.uuid4())
            for token, kind, ttl in ((access, "access", access_ttl), (refresh, "refresh", refresh_ttl)):
                if not token:
                    continue
                db.execute(
                    "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?)",
                    (digest(token), kind, device_id, grant_id, scope, now + ttl, now),
                )
        return access, refresh

    def token(self, token: str) -> Token | None:
        row = self._one("SELECT * FROM tokens WHERE token_hash = ?", digest(token))
        if row is None:
            return None
        return Token(
            row["kind"],
            row["device_id"],
            row["grant_id"],
            row["scope"],
            row["expires_at"],
            bool(row["revoked"]),
            bool(row["used"]),
        )

    def use_refresh_token(self, token: str) -> bool:
        """Spend a refresh token (single use); False when it was already spent or revoked."""
        return (
            self._exec(
                "UPDATE tokens SET used = 1 WHERE token_hash = ? AND kind = 'refresh' AND used = 0 AND revoked = 0",
                digest(token),
            )
            == 1
        )

    def revoke(self, token: str) -> None:
        """Revoke a token; revoking a refresh token also revokes every token of its grant (RFC 7009)."""
        found = self.token(token)
        if found is None:
            return
        if found.kind == "refresh":
            self._exec("UPDATE tokens SET revoked = 1 WHERE grant_id = ?", found.grant_id)
        else:
            self._exec("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", digest(token))

    def expire_token(self, token: str) -> bool:
        return self._exec("UPDATE tokens SET expires_at = ? WHERE token_hash = ?", time.time() - 1, digest(token)) == 1

    # -- assets -------------------------------------------------------------------------------------
    def add_asset(self, asset: Asset) -> None:
        fields = dataclasses.asdict(asset)
        columns = ", ".join(f'"{name}"' for name in fields)
        marks = ", ".join("?" * len(fields))  # the columns are the record's own field names, never input
        self._exec(f"INSERT INTO assets ({columns}) VALUES ({marks})", *fields.values())  # noqa: S608

    def asset(self, asset_id: str) -> Asset | None:
        row = self._one("SELECT * FROM assets WHERE id = ?", asset_id)
        return _asset(row) if row else None

    def asset_by_upload(self, upload_id: str) -> Asset | None:
        row = self._one("SELECT * FROM assets WHERE upload_id = ?", upload_id)
        return _asset(row) if row else None

    def assets(self, *, device_id: str | None = None, states: tuple[str, ...] | None = None) -> list[Asset]:
        sql, args = "SELECT * FROM assets WHERE 1=1", []
        if device_id is not None:
            sql += " AND device_id = ?"
            args.append(device_id)
        if states is not None:
            sql += f" AND status IN ({','.join('?' * len(states))})"
            args.extend(states)
        return [_asset(r) for r in self._all(sql + " ORDER BY inserted_at", *args)]

    def delete_assets(self) -> list[str]:
        """Forget every asset and its parts (devices, tokens and pauses stay); returns the ids forgotten."""
        with self.transaction() as db:
            ids = [row["id"] for row in db.execute("SELECT id FROM assets")]
            db.execute("DELETE FROM parts")
            db.execute("DELETE FROM realtime_parts")
            db.execute("DELETE FROM assets")
        return ids

    def delete_device(self, device_id: str) -> list[str]:
        """Forget a device with its tokens, codes, pause windows, assets and their parts; returns the asset ids."""
        with self.transaction() as db:
            ids = [row["id"] for row in db.execute("SELECT id FROM assets WHERE device_id = ?", (device_id,))]
            for table in ("parts", "realtime_parts"):
                db.executemany(f"DELETE FROM {table} WHERE asset_id = ?", [(i,) for i in ids])  # noqa: S608
            db.execute("DELETE FROM assets WHERE device_id = ?", (device_id,))
            where = "device_id = ? OR client_id IN (SELECT client_id FROM devices WHERE id = ?)"
            db.execute(f"DELETE FROM device_codes WHERE {where}", (device_id, device_id))  # noqa: S608
            for table, key in (("tokens", "device_id"), ("pauses", "device_id"), ("devices", "id")):
                db.execute(f"DELETE FROM {table} WHERE {key} = ?", (device_id,))  # noqa: S608 (names, never input)
        return ids

    def count_assets(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM assets")
        return int(row["n"]) if row else 0

    # -- parts --------------------------------------------------------------------------------------
    def record_part(self, part: Part) -> tuple[str | None, bool]:
        """Record a received part (replacing a re-sent one) in one transaction.

        Returns the file of the part it replaced (or None) and whether this part completed the set, in which
        case the asset moved to ``processing`` (claimed for assembly) in the same transaction. Raises
        :class:`UploadClosed` when the asset no longer takes parts.
        """
        with self.transaction() as db:
            row = db.execute("SELECT status, parts FROM assets WHERE id = ?", (part.asset_id,)).fetchone()
            if row is None or row["status"] not in OPEN_STATES:
                raise UploadClosed(part.asset_id)
            old = db.execute(
                "SELECT file FROM parts WHERE asset_id = ? AND part_number = ?", (part.asset_id, part.part_number)
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?)",
                (part.asset_id, part.part_number, part.size, part.etag, part.received_at, part.file),
            )
            claimed = self._claim(db, part.asset_id, row["parts"])
            if not claimed and row["status"] == "created":
                db.execute("UPDATE assets SET status = 'uploading' WHERE id = ?", (part.asset_id,))
        return (old["file"] if old else None), claimed

    def claim_assembly(self, asset_id: str) -> bool:
        """Move an open asset whose parts are all recorded to ``processing``; False if it is not one."""
        with self.transaction() as db:
            row = db.execute("SELECT status, parts FROM assets WHERE id = ?", (asset_id,)).fetchone()
            return row is not None and row["status"] in OPEN_STATES and self._claim(db, asset_id, row["parts"])

    @staticmethod
    def _claim(db: sqlite3.Connection, asset_id: str, parts: int) -> bool:
        if parts < 1:  # a real-time upload whose final part is not registered yet
            return False
        have, want = db.execute(  # real-time: every registered number is wanted, and a skipped number is no gap
            "SELECT (SELECT COUNT(*) FROM parts WHERE asset_id = ?1 AND part_number BETWEEN 1 AND ?2), IIF(realtime, "
            "(SELECT COUNT(*) FROM realtime_parts WHERE asset_id = ?1), ?2) FROM assets WHERE id = ?1",
            (asset_id, parts),
        ).fetchone()
        if have != want:
            return False
        db.execute("UPDATE assets SET status = 'processing' WHERE id = ?", (asset_id,))
        return True

    def finish_assembly(self, asset_id: str, *, error: str | None = None, sha256: str | None = None) -> bool:
        """``processing`` -> ``complete`` (with the sha256) or ``failed`` (with the error); False if not processing."""
        if error is not None:
            sql = "UPDATE assets SET status = 'failed', error = ? WHERE id = ? AND status = 'processing'"
            return self._exec(sql, error, asset_id) == 1
        sql = (
            "UPDATE assets SET status = 'complete', sha256 = ?, upload_completed_at = ?"
            " WHERE id = ? AND status = 'processing'"
        )
        return self._exec(sql, sha256, time.time(), asset_id) == 1

    def parts(self, asset_id: str) -> list[Part]:
        rows = self._all("SELECT * FROM parts WHERE asset_id = ? ORDER BY part_number", asset_id)
        return [Part(**r) for r in rows]

    def forget_part(self, asset_id: str, part_number: int) -> None:
        """Drop the record of a part whose bytes are gone; the asset is ``created`` again if it was its last."""
        with self.transaction() as db:
            db.execute("DELETE FROM parts WHERE asset_id = ? AND part_number = ?", (asset_id, part_number))
            db.execute(
                "UPDATE assets SET status = 'created' WHERE id = ? AND status = 'uploading'"
                " AND NOT EXISTS (SELECT 1 FROM parts WHERE asset_id = ?)",
                (asset_id, asset_id),
            )

    # -- pauses -------------------------------------------------------------------------------------
    def pause(self, device_id: str, channel: int | None, start: float, end: float | None) -> int:
        with self._lock:
            cur = self._db.execute(
                'INSERT INTO pauses (device_id, channel, start, "end") VALUES (?, ?, ?, ?)',
                (device_id, channel, start, end),
            )
            return int(cur.lastrowid or 0)

    def resume(self, device_id: str, channel: int | None, when: float) -> int:
        """Close the open pause windows of a device (or of one channel); returns how many were open."""
        sql = 'UPDATE pauses SET "end" = ? WHERE device_id = ? AND "end" IS NULL'
        args: list[Any] = [when, device_id]
        if channel is not None:
            sql += " AND channel IS ?"
            args.append(channel)
        return self._exec(sql, *args)

    def delete_pause(self, pause_id: int) -> None:
        self._exec("DELETE FROM pauses WHERE id = ?", pause_id)

    def clear_pauses(self) -> None:
        self._exec("DELETE FROM pauses")

    def pauses(self, device_id: str) -> list[Pause]:
        rows = self._all("SELECT * FROM pauses WHERE device_id = ? ORDER BY start", device_id)
        return [Pause(**r) for r in rows]


def _asset(row: sqlite3.Row) -> Asset:
    fields = dict(row)
    fields["realtime"], fields["default_name"] = bool(fields["realtime"]), bool(fields["default_name"])
    return Asset(**fields)


def _device_code(row: sqlite3.Row) -> DeviceCode:
    fields = dict(row)
    fields["consumed"] = bool(fields["consumed"])
    return DeviceCode(**fields)
