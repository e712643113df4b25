"""A device's channels, the real-time logging events triggered on their inputs, and device comments, in SQLite.

Frame.io's "How to: Manage channels": every project device has at least one channel, and may connect more
(sub-devices, such as the microphones of a sound recorder) with ``POST /v2/devices/channels``; a channel has an
``external_index`` (0-100), a status (online or offline) and uses its device's authorization. "How to: Log
footage in real time": a button on a channel is an *input* (indexed from 0); pressing it sends a trigger with
SMPTE timecodes. The device comment reference: a device may comment on an asset, with a timestamp in frames.

What the sandbox decides itself (listed in docs/sandbox-and-frameio.md): channel 0 is the device itself (its
id derived from the device), made on first use; a new channel takes the lowest free index; connecting a client
id again brings its offline channel back online (409 only while it is online); "disconnect all" leaves
channel 0 connected (the device that asks is online); the answers' ids and names.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from c2c_sandbox.domain.records import Device
from c2c_sandbox.domain.store import Store

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS channels (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, external_index INTEGER NOT NULL, client_id TEXT NOT NULL,
    device_model_id TEXT, name TEXT NOT NULL, status TEXT NOT NULL, inserted_at REAL NOT NULL,
    updated_at REAL NOT NULL, UNIQUE (device_id, external_index), UNIQUE (device_id, client_id))""",
    """CREATE TABLE IF NOT EXISTS log_events (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, channel_id TEXT NOT NULL, input_index INTEGER NOT NULL,
    action_type TEXT NOT NULL, "offset" INTEGER NOT NULL, start TEXT, duration TEXT, inserted_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS comments (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, asset_id TEXT NOT NULL, text TEXT NOT NULL, timestamp NUMERIC,
    inserted_at REAL NOT NULL)""",
)
MAX_INDEX = 100  # the reference: external_index 0-100
#: How many log events the page shows per device (the newest).
SHOWN_EVENTS = 50


class ChannelExists(Exception):
    """A channel with this client id is connected already (Frame.io: 409 "Device channel already exists")."""


class NoChannel(LookupError):
    """No such channel on this device (or no free index left)."""


def ensure_schema(store: Store) -> None:
    with store.transaction() as db:
        for statement in SCHEMA:
            db.execute(statement)


def channel_id(device_id: str, index: int) -> str:
    """A channel's id: stable for a device and an index (inferred)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"c2c-sandbox/{device_id}/channel/{index}"))


def channels(store: Store, device: Device) -> list[dict[str, Any]]:
    """The device's channels in index order; channel 0 (the device itself) is made on first use."""
    now = time.time()
    with store.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO channels VALUES (?, ?, 0, ?, NULL, ?, 'online', ?, ?)",
            (channel_id(device.id, 0), device.id, device.client_id, device.name, now, now),
        )
        rows = db.execute("SELECT * FROM channels WHERE device_id = ? ORDER BY external_index", (device.id,))
        return [dict(row) for row in rows.fetchall()]


def connect(store: Store, device: Device, client_id: str, device_model_id: str) -> dict[str, Any]:
    """Connect a sub-device's channel: a new one at the lowest free index, or its offline one back online.
    Raises ChannelExists while a channel of this client id is online, NoChannel when all 101 indexes are taken."""
    known = {c["client_id"]: c for c in channels(store, device)}
    now = time.time()
    with store.transaction() as db:
        found = known.get(client_id)
        if found is not None and found["status"] == "online":
            raise ChannelExists(client_id)
        if found is not None:
            db.execute(
                "UPDATE channels SET status = 'online', device_model_id = ?, updated_at = ? WHERE id = ?",
                (device_model_id, now, found["id"]),
            )
            return {**found, "status": "online", "device_model_id": device_model_id, "updated_at": now}
        taken = {c["external_index"] for c in known.values()}
        index = min((i for i in range(MAX_INDEX + 1) if i not in taken), default=None)
        if index is None:
            raise NoChannel(f"a device has at most {MAX_INDEX + 1} channels (external_index 0-{MAX_INDEX})")
        row = {
            "id": channel_id(device.id, index),
            "device_id": device.id,
            "external_index": index,
            "client_id": client_id,
            "device_model_id": device_model_id,
            "name": f"{device.name} channel {index}",
            "status": "online",
            "inserted_at": now,
            "updated_at": now,
        }
        db.execute("INSERT INTO channels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", tuple(row.values()))
    return row


def disconnect(store: Store, device: Device, channel: str | None) -> list[dict[str, Any]]:
    """Set one channel offline (NoChannel when the device has no such channel), or, with None, every channel but
    channel 0; returns the channels disconnected."""
    chosen = [c for c in channels(store, device) if c["id"] == channel or (channel is None and c["external_index"])]
    if channel is not None and not chosen:
        raise NoChannel(channel)
    now = time.time()
    with store.transaction() as db:
        db.executemany(
            "UPDATE channels SET status = 'offline', updated_at = ? WHERE id = ?", [(now, c["id"]) for c in chosen]
        )
    return [{**c, "status": "offline", "updated_at": now} for c in chosen]


def trigger(store: Store, device: Device, channel: str, input_index: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Record a logging event on one of the device's channels (NoChannel otherwise); `fields` are the checked
    ``action_type``, ``offset``, ``start`` and ``duration``."""
    if all(c["id"] != channel for c in channels(store, device)):
        raise NoChannel(channel)
    event: dict[str, Any] = {"id": str(uuid.uuid4()), "device_id": device.id, "channel_id": channel}
    event["input_index"] = input_index
    event.update(fields, inserted_at=time.time())
    with store.transaction() as db:
        db.execute(
            "INSERT INTO log_events VALUES (:id, :device_id, :channel_id, :input_index, :action_type, :offset,"
            " :start, :duration, :inserted_at)",
            {**event, "start": json.dumps(event["start"]), "duration": json.dumps(event["duration"])},
        )
    return event


def events(store: Store, device_id: str) -> list[dict[str, Any]]:
    """The device's newest logging events, newest first."""
    with store.transaction() as db:
        rows = db.execute(
            "SELECT * FROM log_events WHERE device_id = ? ORDER BY inserted_at DESC, rowid DESC LIMIT ?",
            (device_id, SHOWN_EVENTS),
        ).fetchall()
    return [{**dict(r), "start": json.loads(r["start"]), "duration": json.loads(r["duration"])} for r in rows]


def comment(store: Store, device: Device, asset_id: str, text: str, timestamp: float | None) -> dict[str, Any]:
    """Record a device's comment on an asset (the caller checked that the asset is in the device's project)."""
    row: dict[str, Any] = {"id": str(uuid.uuid4()), "device_id": device.id, "asset_id": asset_id, "text": text}
    row.update(timestamp=timestamp, inserted_at=time.time())
    with store.transaction() as db:
        db.execute("INSERT INTO comments VALUES (?, ?, ?, ?, ?, ?)", tuple(row.values()))
    return row


def comments(store: Store, asset_id: str) -> list[dict[str, Any]]:
    """The comments on an asset, oldest first."""
    with store.transaction() as db:
        rows = db.execute(
            "SELECT * FROM comments WHERE asset_id = ? ORDER BY inserted_at, rowid", (asset_id,)
        ).fetchall()
    return [dict(r) for r in rows]


def forget(store: Store, *, device_id: str | None = None, asset_ids: list[str] | None = None) -> None:
    """Delete a device's channels, events and comments, or the comments on these assets."""
    with store.transaction() as db:
        if device_id is not None:
            for table in ("channels", "log_events", "comments"):
                db.execute(f"DELETE FROM {table} WHERE device_id = ?", (device_id,))  # noqa: S608 - our names
        db.executemany("DELETE FROM comments WHERE asset_id = ?", [(a,) for a in asset_ids or ()])


def grant_expiry(store: Store, grant_id: str) -> float | None:
    """When a grant ends: its newest token's expiry (the refresh token's, when it has one)."""
    with store.transaction() as db:
        row = db.execute("SELECT MAX(expires_at) AS e FROM tokens WHERE grant_id = ?", (grant_id,)).fetchone()
    return None if row is None else row["e"]
