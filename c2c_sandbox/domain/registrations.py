"""A real-time upload's registered parts in SQLite (the ``realtime_parts`` table of :mod:`c2c_sandbox.domain.store`).

A real-time upload learns its parts one call at a time (``POST .../realtime_upload/parts``): each registration
is a part number, a size and whether it is the final part. Registering the final part fixes the asset's
``parts`` (its number) and ``filesize`` (``asset_filesize``), which is what lets the store notice, as the parts
arrive, that the set is complete (:meth:`~c2c_sandbox.domain.store.Store.record_part`). The bytes are the part
store's business (:mod:`c2c_sandbox.s3.partstore`), as for any upload.
"""

from __future__ import annotations

import sqlite3
import time

from c2c_sandbox.domain.records import OPEN_STATES, Registered, RegistrationRefused, UploadClosed
from c2c_sandbox.domain.store import Store


def registered_parts(store: Store, asset_id: str) -> list[Registered]:
    """The parts registered for an asset, in number order."""
    with store.transaction() as db:
        return _registered(db, asset_id)


def _registered(db: sqlite3.Connection, asset_id: str) -> list[Registered]:
    rows = db.execute(
        "SELECT part_number, size, is_final FROM realtime_parts WHERE asset_id = ? ORDER BY part_number", (asset_id,)
    ).fetchall()
    return [Registered(r["part_number"], r["size"], bool(r["is_final"])) for r in rows]


def register_parts(
    store: Store, asset_id: str, parts: list[Registered], *, filesize: int | None, name: str | None
) -> list[str]:
    """Register (or register again) parts of an open real-time upload, in one transaction.

    A registered final part sets the asset's ``parts`` (its number) and ``filesize``; `name` renames an asset
    that still has its default name. A part registered again that had arrived is forgotten (it counts as
    missing until its new URL is PUT): returns the files of those parts, for the part store to remove.
    Raises :class:`UploadClosed` (not an open real-time upload) and :class:`RegistrationRefused` (two final
    parts, or a part after the final one).
    """
    with store.transaction() as db:
        row = db.execute("SELECT status, realtime, default_name FROM assets WHERE id = ?", (asset_id,)).fetchone()
        if row is None or not row["realtime"] or row["status"] not in OPEN_STATES:
            raise UploadClosed(asset_id)
        known = {r.number: r for r in _registered(db, asset_id)}
        known.update({p.number: p for p in parts})
        final = _final_of(known)
        db.executemany(
            "INSERT OR REPLACE INTO realtime_parts VALUES (?, ?, ?, ?, ?)",
            [(asset_id, p.number, p.size, int(p.is_final), time.time()) for p in parts],
        )
        if any(p.is_final for p in parts):  # the final part's call says the size
            db.execute("UPDATE assets SET parts = ?, filesize = ? WHERE id = ?", (final, filesize or 0, asset_id))
        elif final is None:  # no final part (any more): size and count unknown again
            db.execute("UPDATE assets SET parts = 0, filesize = 0 WHERE id = ?", (asset_id,))
        if name is not None and row["default_name"]:
            db.execute("UPDATE assets SET name = ?, default_name = 0 WHERE id = ?", (name, asset_id))
        forgotten = []
        for number in sorted({p.number for p in parts}):
            old = db.execute(
                "SELECT file FROM parts WHERE asset_id = ? AND part_number = ?", (asset_id, number)
            ).fetchone()
            if old is not None:
                forgotten.append(old["file"])
                db.execute("DELETE FROM parts WHERE asset_id = ? AND part_number = ?", (asset_id, number))
    return forgotten


def _final_of(parts: dict[int, Registered]) -> int | None:
    """The final part's number once these registrations hold; RegistrationRefused when they cannot."""
    finals = sorted(n for n, p in parts.items() if p.is_final)
    if len(finals) > 1:
        raise RegistrationRefused(
            f"parts {finals[0]} and {finals[1]} would both be final: an upload has one final part (register "
            f"part {finals[0]} again without is_final to move the end)"
        )
    if finals and max(parts) > finals[0]:
        raise RegistrationRefused(
            f"part {max(parts)} is registered after the final part {finals[0]}: the final part is the last one"
        )
    return finals[0] if finals else None
