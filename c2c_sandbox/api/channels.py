"""A device's channels, real-time logging and device comments (Frame.io's C2C API reference, "Device Channels").

=====================================================================  ============================================
``POST /v2/devices/channels``                                          connect a sub-device's channel (``client_id``,
                                                                       ``device_model_id``): a
                                                                       ``project_device_channel``; 409 "Device
                                                                       channel already exists"
``POST /v2/devices/channels/<channel_id>/disconnect``                  disconnect one channel (204, 401, 404)
``POST /v2/devices/channels/disconnect``                               disconnect all of them (204)
``POST /v2/devices/channels/<channel_id>/inputs/<index>/trigger``      a button pressed: a real-time logging event
                                                                       (``action_type`` ``single_press``,
                                                                       ``offset``, SMPTE ``start``/``duration``)
``POST /v2/devices/assets/<asset_id>/comments``                        a comment on an asset (``text``, optional
                                                                       ``timestamp`` in frames); 400/401/404/429
=====================================================================  ============================================

What the sandbox decides where the pages are silent is listed in docs/sandbox-and-frameio.md (and in
:mod:`c2c_sandbox.domain.channels`): 400 for a malformed body, 404 for a channel or asset the device cannot
reach, the limits on ``input_index`` (0..1,000) and the comment's length, the answers' bodies.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from c2c_sandbox.api.common import (
    Invalid,
    api_error,
    authenticated,
    by_client,
    int_field,
    json_object,
    model,
    rate_limited,
)
from c2c_sandbox.domain import channels as store_channels
from c2c_sandbox.domain.model import iso
from c2c_sandbox.domain.records import Device

MAX_INPUT = 1000  # inferred: the reference says only that inputs are indexed from 0
MAX_OFFSET = 100 * 365 * 86400
MAX_TEXT = 4096  # inferred
MAX_FRAMES = 10**9  # a comment's timestamp, in frames (inferred bound: over a year at 24 fps)
SMPTE = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d)[:;](\d{2})$")
NTSC = (None, "non_drop", "drop")  # inferred: the values of Frame.io's own timecode library (vtc)
CHANNEL_EXISTS = "Device channel already exists"

channels = Blueprint("channels", __name__)


def channel_json(channel: dict[str, Any], device: Device) -> dict[str, Any]:
    """A ``project_device_channel`` (the reference's fields; ids and names derived by the sandbox)."""
    return {
        "_type": "project_device_channel",
        "id": channel["id"],
        "actor_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"c2c-sandbox/actor/{channel['id']}")),
        "asset_type": "video",
        "device_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"c2c-sandbox/device/{channel['client_id']}")),
        "external_index": channel["external_index"],
        "inserted_at": iso(channel["inserted_at"]),
        "name": channel["name"],
        "project_id": device.project_id,
        "project_device_id": device.id,
        "real_time_logging_capable": True,
        "status": channel["status"],
        "updated_at": iso(channel["updated_at"]),
    }


def _body() -> dict[str, Any]:
    if request.mimetype not in ("application/json", ""):
        raise Invalid(f"this call takes a JSON body (application/json), not {request.mimetype!r}")
    return json_object(request.get_data(cache=True), typed=True) if request.content_length else {}


def _uuid(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else str(uuid.UUID(""))
    except ValueError:
        raise Invalid(f"{name} is required: a UUID (the reference's format)") from None


@channels.post("/v2/devices/channels")
@rate_limited("general", by_client)
@authenticated()
def connect_channel() -> Response:
    """Connect a new device channel (a sub-device): a project_device_channel, or 409 when it exists."""
    body = _body()
    client_id, model_id = _uuid(body, "client_id"), _uuid(body, "device_model_id")
    try:
        channel = store_channels.connect(model().store, g.device, client_id, model_id)
    except store_channels.ChannelExists:
        return api_error(409, CHANNEL_EXISTS, "Conflict")
    except store_channels.NoChannel as exc:
        raise Invalid(str(exc)) from None
    return jsonify(channel_json(channel, g.device))


@channels.post("/v2/devices/channels/<channel_id>/disconnect")
@rate_limited("general", by_client)
@authenticated()
def disconnect_channel(channel_id: str) -> Response:
    """Disconnect a specific device channel (204; 404 for a channel this device does not have)."""
    try:
        store_channels.disconnect(model().store, g.device, channel_id)
    except store_channels.NoChannel:
        return api_error(404, f"No channel with id {channel_id[:64]!r} on this device", "Not Found")
    return Response(status=204)


@channels.post("/v2/devices/channels/disconnect")
@rate_limited("general", by_client)
@authenticated()
def disconnect_all() -> Response:
    """Disconnect all device channels (204)."""
    store_channels.disconnect(model().store, g.device, None)
    return Response(status=204)


def timecode(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    """An SMPTE time (``{"smpte_timecode": "HH:MM:SS:FF", "rate": {"playback": [n, d], "ntsc": ...}}``), checked:
    minutes and seconds under 60, hours under 24, frames under the rate's whole frames per second."""
    value = body.get(name)
    if value is None:
        return None
    rate = value.get("rate", {"playback": [24000, 1001], "ntsc": "non_drop"}) if isinstance(value, dict) else None
    playback = rate.get("playback") if isinstance(rate, dict) else None
    if not (isinstance(playback, list) and len(playback) == 2 and all(_positive(n) for n in playback)):
        raise Invalid(f"{name}.rate.playback must be [numerator, denominator], two positive integers")
    assert isinstance(value, dict) and isinstance(rate, dict)
    if rate.get("ntsc") not in NTSC:
        raise Invalid(f"{name}.rate.ntsc must be non_drop, drop or null")
    text = value.get("smpte_timecode")
    match = SMPTE.match(text) if isinstance(text, str) else None
    fps = round(playback[0] / playback[1])
    if match is None or int(match[1]) > 23 or not 0 < fps <= 1000 or int(match[4]) >= fps:
        raise Invalid(f"{name}.smpte_timecode must be an SMPTE timecode HH:MM:SS:FF with frames under {fps}")
    return {"smpte_timecode": text, "rate": {"playback": playback, "ntsc": rate.get("ntsc")}}


def _positive(number: object) -> bool:
    return isinstance(number, int) and not isinstance(number, bool) and 0 < number <= 1_000_000


@channels.post("/v2/devices/channels/<channel_id>/inputs/<input_index>/trigger")
@rate_limited("general", by_client)
@authenticated()
def trigger(channel_id: str, input_index: str) -> Response:
    """Trigger a real-time logging event on an input (a button) of a device channel."""
    index = int_field({"input_index": input_index}, "input_index", required=True, minimum=0, maximum=MAX_INPUT)
    body = _body()
    action = body.get("action_type", "single_press")
    if action != "single_press":
        raise Invalid(f"action_type must be single_press (the only value), got {str(action)[:40]!r}")
    offset = int_field(body, "offset", required=False, minimum=0, maximum=MAX_OFFSET, default=0)
    fields = {"action_type": action, "offset": offset, "start": timecode(body, "start")}
    fields["duration"] = timecode(body, "duration")
    assert index is not None
    try:
        event = store_channels.trigger(model().store, g.device, channel_id, index, fields)
    except store_channels.NoChannel:
        return api_error(404, f"No channel with id {channel_id[:64]!r} on this device", "Not Found")
    return jsonify({k: v for k, v in event.items() if k != "device_id"} | {"inserted_at": iso(event["inserted_at"])})


@channels.post("/v2/devices/assets/<asset_id>/comments")
@rate_limited("general", by_client)
@authenticated()
def comment(asset_id: str) -> Response:
    """Leave a comment on an asset from a paired device (text, and a timestamp in frames or none)."""
    asset = model().store.asset(asset_id)
    if asset is None or asset.project_id != g.device.project_id:  # another project's asset is not found either
        return api_error(404, f"No asset with id {asset_id[:64]!r} in this device's project", "Not Found")
    body = _body()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise Invalid(f"text is required: the comment, 1 to {MAX_TEXT} characters")
    stamp = body.get("timestamp")
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int | float)):
        raise Invalid("timestamp must be a number of frames (from 0), or left out for the whole asset")
    if stamp is not None and not 0 <= stamp <= MAX_FRAMES:
        raise Invalid(f"timestamp is in frames, from 0 to {MAX_FRAMES:,}; got {stamp}")
    saved = store_channels.comment(model().store, g.device, asset_id, text, stamp)
    return jsonify(
        {
            "_type": "comment",
            "id": saved["id"],
            "asset_id": asset_id,
            "text": text,
            "timestamp": None if stamp is None else int(stamp),
            "owner_id": g.device.id,
            "completed": False,
            "has_replies": False,
            "like_count": 0,
            "inserted_at": iso(saved["inserted_at"]),
            "updated_at": iso(saved["inserted_at"]),
        }
    )
