"""The C2C device surface: the paired device, its heartbeat, asset creation (upload URLs), health, OpenAPI.

=========================================  ==================================================================
``GET  /v2/devices/me``                    the paired device (``project_device``)
``POST /v2/devices/heartbeat``             204
``POST /v2/devices/assets``                create an asset (alias ``POST /v2/assets``): upload URLs
``GET  /v2/assets/<id>``                   the asset, with ``upload_completed_at`` once assembled
``GET  /health``                           ``{"status": "ok"}``
``GET  /openapi.json``                     the OpenAPI document of the C2C routes
=========================================  ==================================================================
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify

from ..model import iso
from ..openapi import document as openapi_document
from ..partstore import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from ..records import Asset, Device
from .common import (
    Invalid,
    api_error,
    authenticated,
    by_client,
    int_field,
    model,
    rate_limited,
    request_body,
    str_field,
)

DEFAULT_PART_SIZE = 20 * 1024 * 1024  # 20 MiB: fits both of Frame.io's published data points (inferred)
MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB: S3's largest object
MAX_NAME = 255
FILETYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
CHANNEL_PAUSED = {
    "code": 409,
    "errors": [
        {
            "code": 409,
            "detail": "The channel you're uploading from is currently paused.",
            "status": 409,
            "title": "Channel Paused",
        }
    ],
    "message": "Channel Paused",
}

devices = Blueprint("devices", __name__)


def default_parts(filesize: int) -> int:
    return max(1, math.ceil(filesize / DEFAULT_PART_SIZE))


def check_parts(filesize: int, parts: int) -> None:
    """Refuse a part count S3 could not complete (422)."""
    if not 1 <= parts <= MAX_PARTS:
        raise Invalid(f"parts must be between 1 and {MAX_PARTS}")
    chunk = math.ceil(filesize / parts)
    if (parts - 1) * chunk >= filesize:
        raise Invalid(f"parts={parts} is too many for {filesize} bytes: the last part would be empty")
    if parts > 1 and chunk < MIN_PART_SIZE:
        raise Invalid(
            f"parts={parts} gives {chunk}-byte parts; every part but the last must have at least"
            f" {MIN_PART_SIZE} bytes (5 MiB), so at most {max(1, filesize // MIN_PART_SIZE)} parts fit"
            f" {filesize} bytes"
        )
    if chunk > MAX_PART_SIZE:
        raise Invalid(f"parts={parts} gives parts over 5 GiB; ask for at least {math.ceil(filesize / MAX_PART_SIZE)}")


def asset_json(asset: Asset, upload_urls: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_type": "file",
        "type": "file",
        "id": asset.id,
        "name": asset.name,
        "filetype": asset.filetype,
        "filesize": asset.filesize,
        "status": asset.status,
        "upload_completed_at": iso(asset.upload_completed_at),
        "inserted_at": iso(asset.inserted_at),
        "parent_id": asset.parent_id,
        "project_id": asset.project_id,
    }
    if upload_urls is not None:
        body["upload_urls"] = upload_urls
    return body


@devices.get("/v2/devices/me")
@rate_limited("general", by_client)
@authenticated()
def me() -> Response:
    device: Device = g.device
    model().store.touch_device(device.id)
    paused_channels = model().paused_channels(device.id)
    status = "paused" if None in paused_channels else "online"
    channels = [{"index": 0, "status": "paused" if paused_channels else "online"}]
    return jsonify(
        {
            "_type": "project_device",
            "id": device.id,
            "name": device.name,
            "project_id": device.project_id,
            "status": status,
            "authorization": {"scopes": g.token.scope.split()},
            "channels": channels,
            "project": {"id": device.project_id, "name": device.project_name},
        }
    )


@devices.post("/v2/devices/heartbeat")
@rate_limited("general", by_client)
@authenticated()
def heartbeat() -> Response:
    model().store.touch_device(g.device.id)
    return Response(status=204)


@devices.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@devices.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(model().base_url))


@devices.post("/v2/devices/assets")
@devices.post("/v2/assets")
@rate_limited("create", by_client)
@authenticated(scope="asset_create")
def create_asset() -> Response:
    body = request_body()
    name = str_field(body, "name")
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"name must be at most {MAX_NAME} printable characters")
    filetype = str_field(body, "filetype").strip()
    if not FILETYPE.match(filetype):
        raise Invalid(f"filetype must be a MIME type such as video/mp4, got {filetype[:60]!r}")
    filesize = int_field(body, "filesize", required=True, minimum=1, maximum=MAX_OBJECT_SIZE)
    offset = int_field(body, "offset", required=False, minimum=0, maximum=100 * 365 * 86400, default=0)
    channel = int_field(body, "channel", required=False, minimum=0, maximum=63, default=0)
    assert filesize is not None and offset is not None and channel is not None
    parts = int_field(body, "parts", required=False, minimum=1, maximum=MAX_PARTS)
    if parts is None:
        parts = default_parts(filesize)
    check_parts(filesize, parts)
    device: Device = g.device
    created = time.time() - offset
    if model().is_paused(device.id, channel, created):
        response = jsonify(CHANNEL_PAUSED)
        response.status_code = 409
        return response
    asset, urls = model().new_asset(
        device,
        name=name,
        filetype=filetype,
        filesize=filesize,
        offset=offset,
        channel=channel,
        parts=parts,
        file_created_at=created,
    )
    return jsonify(asset_json(asset, urls))


@devices.get("/v2/assets/<asset_id>")
@rate_limited("general", by_client)
@authenticated()
def get_asset(asset_id: str) -> Response:
    asset = model().store.asset(asset_id)
    if asset is None or asset.device_id != g.device.id:
        return api_error(404, f"No asset with id {asset_id[:64]}")
    return jsonify(asset_json(asset))
