"""The C2C device surface: the paired device, its heartbeat, asset creation (upload URLs), health, OpenAPI.

=========================================  ==================================================================
``GET  /v2/devices/me``                    the paired device (``project_device``)
``POST /v2/devices/heartbeat``             204
``POST /v2/devices/assets``                create an asset (alias ``POST /v2/assets``): upload URLs; with
                                           ``is_realtime_upload`` see :mod:`~c2c_sandbox.api.realtime`
``GET  /v2/assets/<id>``                   403 for a device: C2C is "write, but don't read"
``GET  /health``                           ``{"status": "ok"}``
``GET  /openapi.json``                     the OpenAPI document of the C2C routes
=========================================  ==================================================================

Every call but ``/health`` and ``/openapi.json`` must carry a semantic ``x-client-version`` (missing counts as
``0.0.0``). What the sandbox decides where Frame.io's pages are silent is listed in docs/sandbox-and-frameio.md.
"""

from __future__ import annotations

import math
import mimetypes
import re
import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from c2c_sandbox.api import realtime as realtime_api
from c2c_sandbox.api.channels import channel_json
from c2c_sandbox.api.common import (
    Invalid,
    api_error,
    authenticated,
    bad_client_version_detail,
    by_client,
    client_version,
    int_field,
    model,
    rate_limited,
    request_body,
    str_field,
)
from c2c_sandbox.api.openapi import document as openapi_document
from c2c_sandbox.domain import channels as store_channels
from c2c_sandbox.domain.model import iso
from c2c_sandbox.domain.records import Asset, Device
from c2c_sandbox.s3.partstore import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE

DEFAULT_PART_SIZE = 20 * 1024 * 1024  # 20 MiB: fits both of Frame.io's published data points (inferred)
MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB: S3's largest object
MAX_NAME = 255
MAX_OFFSET = 100 * 365 * 86400  # a century, either way
#: The standard library's built-in table only (not the machine's /etc/mime.types): the same answer everywhere.
MIME_TYPES = mimetypes.MimeTypes()
#: Response header naming what the sandbox decided for itself on this call (not a Frame.io header).
INFERRED = "x-sandbox-inferred"
READ_REFUSED = (
    "A device token cannot read assets: it lacks the asset_read scope (C2C is write, but don't read). "
    "The sandbox shows an asset's state under /sandbox/assets/<id>, which no real device can call."
)
#: Not x-client-version-checked: they are not device calls.
UNVERSIONED = ("/health", "/openapi.json")
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
    """Refuse a part count S3 could not complete (400)."""
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


@devices.before_request
def check_client_version() -> Response | None:
    if request.path in UNVERSIONED or client_version() is not None:
        return None
    return api_error(400, bad_client_version_detail())


@devices.get("/v2/devices/me")
@rate_limited("general", by_client)
@authenticated()
def me() -> Response:
    """The ``project_device`` as the device-information reference and a real device's answer show it; values no
    source gives are the sandbox's: ``asset_type`` video, ``timezone`` UTC, the ids it derives, the creator."""
    device: Device = model().store.device(g.device.id) or g.device  # with the last_seen just recorded
    scopes = g.token.scope.split()
    creator = str(uuid.uuid5(uuid.NAMESPACE_URL, f"c2c-sandbox/user/{device.project_id}"))
    channels = [channel_json(c, device) for c in store_channels.channels(model().store, device)]
    return jsonify(
        {
            "_type": "project_device",
            "id": device.id,
            "name": device.name,
            "project_id": device.project_id,
            "status": "online",  # it is calling: online (Frame.io's statuses are online and offline)
            "asset_type": "video",
            "creator_id": creator,
            "device_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"c2c-sandbox/device/{device.client_id}")),
            "inserted_at": iso(device.created_at),
            "updated_at": iso(device.last_seen or device.created_at),
            "deleted_at": None,
            "last_seen_at": iso(device.last_seen),
            "last_known_firmware_version": device.firmware,
            "timezone": "UTC",
            "authorization": {
                "_type": "project_device_authorization",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"c2c-sandbox/grant/{g.token.grant_id}")),
                "creator": {"_type": "user", "id": creator, "name": "Sandbox User"},
                "expires_at": iso(store_channels.grant_expiry(model().store, g.token.grant_id)),
                "project_device_id": device.id,
                "scopes": {
                    "asset_create": "asset_create" in scopes,
                    "offline": "offline" in scopes,
                    "asset_read": False,
                },
            },
            "channels": channels,
            "channel_count": len(channels),
            "project": {"id": device.project_id, "name": device.project_name},
        }
    )


@devices.post("/v2/devices/heartbeat")
@rate_limited("general", by_client)
@authenticated()
def heartbeat() -> Response:
    return Response(status=204)  # authenticated() noted the device as seen


@devices.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@devices.get("/openapi.json")
def openapi() -> Response:
    """This OpenAPI document: the C2C surface, and every other route marked sandbox-only."""
    return jsonify(openapi_document(model().base_url, _served_routes()))


def _served_routes() -> list[tuple[str, list[str], str]]:
    """Every route of this app: its OpenAPI path, its methods, the first line of its view's docstring."""
    routes = []
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = current_app.view_functions[rule.endpoint]
        summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routes.append((path, sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}), summary))
    return routes


def _filetype(body: dict[str, Any], name: str) -> tuple[str, bool]:
    """The asset's MIME type, and whether the sandbox derived it: from the name, else
    ``application/octet-stream`` (the reference makes ``filetype`` optional for a basic upload; how Frame.io
    fills it in is not documented). ``extension`` plays no part: the reference ignores it unless the upload is
    real-time (where :mod:`~c2c_sandbox.api.realtime` checks it)."""
    given = body.get("filetype")
    if given is None or (isinstance(given, str) and not given.strip()):
        return MIME_TYPES.guess_type(name)[0] or "application/octet-stream", True
    filetype = str_field(body, "filetype").strip()
    if not FILETYPE.match(filetype):
        raise Invalid(f"filetype must be a MIME type such as video/mp4, got {filetype[:60]!r}")
    return filetype, False


def _accepted_extras(body: dict[str, Any]) -> None:
    """Fields the reference accepts that the sandbox checks but does not act on (see docs/sandbox-and-frameio.md)."""
    version_of = body.get("auto_version_id")
    if version_of is not None and (not isinstance(version_of, str) or len(version_of) > 64):
        raise Invalid("auto_version_id must be an asset id")


@devices.post("/v2/devices/assets")
@devices.post("/v2/assets")
@rate_limited("create", by_client)
@authenticated(scope="asset_create")
def create_asset() -> Response:
    body = request_body()
    live = realtime_api.requested(body)  # is_realtime_upload: true (api/realtime.py)
    name, default_name = _name(body, live)
    filetype, derived = _filetype(body, name)
    _accepted_extras(body)
    filesize: int | None = 0  # a real-time upload's: known once its final part is registered
    parts = 0
    if not live:
        filesize = int_field(body, "filesize", required=True, minimum=1, maximum=MAX_OBJECT_SIZE)
    offset = int_field(body, "offset", required=False, minimum=-MAX_OFFSET, maximum=MAX_OFFSET, default=0)
    channel = int_field(body, "channel", required=False, minimum=0, maximum=63, default=0)
    assert filesize is not None and offset is not None and channel is not None
    if not live:
        parts = int_field(body, "parts", required=False, minimum=1, maximum=MAX_PARTS) or default_parts(filesize)
        check_parts(filesize, parts)
    device: Device = g.device
    now = time.time()
    created = min(now - offset, now)  # a file "from the future" (negative offset) counts as made now (inferred)
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
        realtime=live,
        default_name=default_name,
    )
    # a real-time asset's answer is only its id and name: its URLs come from the parts call, as the file grows
    response = jsonify({"id": asset.id, "name": asset.name} if live else asset_json(asset, urls))
    inferred = [what for what, yes in (("filetype", derived), ("offset", offset < 0)) if yes]
    if inferred:
        response.headers[INFERRED] = ", ".join(inferred)
    return response


def _name(body: dict[str, Any], live: bool) -> tuple[str, bool]:
    """The asset's name, and whether it is a real-time upload's default ``[new file].ext``."""
    if live:
        realtime_api.check_create(body)
        return realtime_api.name_and_extension(body)
    name = str_field(body, "name")
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"name must be at most {MAX_NAME} printable characters")
    return name, False


@devices.get("/v2/assets/<asset_id>")
@rate_limited("general", by_client)
@authenticated()
def get_asset(asset_id: str) -> Response:
    """Refused: a device's token has no ``asset_read``. Frame.io's exact status is not documented; 403, the
    status of a missing scope, is the sandbox's inference. Known or not, the id is not looked up."""
    return api_error(403, READ_REFUSED, "Forbidden")
