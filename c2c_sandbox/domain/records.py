"""The sandbox's records: what the store keeps and the rest of the sandbox passes around (frozen values).

Times are POSIX seconds (floats); the API renders them as ISO 8601 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Asset states. ``created`` (no part yet) -> ``uploading`` -> ``processing`` (every part is in: assembling)
#: -> ``complete`` or ``failed``. Frame.io documents ``created`` only; the rest are the sandbox's own (inferred).
#: The move to ``processing`` happens in the transaction that records the last missing part, once.
ASSET_STATES = ("created", "uploading", "processing", "complete", "failed")
OPEN_STATES = ("created", "uploading")


class UploadClosed(Exception):
    """The asset no longer takes parts (being assembled, complete, failed or unknown): S3's NoSuchUpload."""


@dataclass(frozen=True)
class Device:
    id: str
    client_id: str
    name: str
    project_id: str
    project_name: str
    created_at: float
    last_seen: float | None
    firmware: str | None = None  # the last x-client-version it sent (``last_known_firmware_version`` in /me)


@dataclass(frozen=True)
class Token:
    kind: str  # "access" or "refresh"
    device_id: str
    grant_id: str
    scope: str
    expires_at: float
    revoked: bool
    used: bool


@dataclass(frozen=True)
class DeviceCode:
    code_hash: str
    user_code: str
    client_id: str
    name: str
    scope: str
    expires_at: float
    interval: float
    last_poll: float | None
    device_id: str | None
    consumed: bool


@dataclass(frozen=True)
class Asset:
    id: str
    device_id: str
    project_id: str
    parent_id: str
    name: str
    filetype: str
    filesize: int
    offset: int
    channel: int
    parts: int
    upload_id: str
    s3_key: str
    status: str
    inserted_at: float
    file_created_at: float
    upload_completed_at: float | None
    sha256: str | None
    error: str | None
    #: a real-time upload (``is_realtime_upload``): ``filesize`` and ``parts`` are 0 until its final part is
    #: registered, then the announced ``asset_filesize`` and the final part's number
    realtime: bool = False
    #: named ``[new file].<ext>`` (created with only an ``extension``): ``asset_name`` may still rename it
    default_name: bool = False


@dataclass(frozen=True)
class Registered:
    """A part of a real-time upload, as registered by ``POST .../realtime_upload/parts`` (not its bytes)."""

    number: int
    size: int
    is_final: bool


class RegistrationRefused(ValueError):
    """A real-time part registration the asset's state forbids (a second final part, a part after the final)."""


@dataclass(frozen=True)
class Part:
    asset_id: str
    part_number: int
    size: int
    etag: str
    received_at: float
    file: str  # the part's file name under parts/<asset id>/ (see partstore)


@dataclass(frozen=True)
class Pause:
    id: int
    device_id: str
    channel: int | None
    start: float
    end: float | None
