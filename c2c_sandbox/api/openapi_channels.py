"""The device part of the sandbox's OpenAPI document: ``/v2/devices/me``'s ``project_device``, its channels,
real-time logging and device comments (Frame.io's C2C API reference: "Device Information", "Device Channels",
"Create a Comment from a C2C device").

:mod:`c2c_sandbox.api.openapi` merges these schemas and paths into the document it serves.
"""

from __future__ import annotations

from typing import Any

_VERSION = {"$ref": "#/components/parameters/ClientVersion"}
_ID = {"type": "string", "format": "uuid"}
_TIME = {"type": ["string", "null"], "description": "ISO 8601, UTC"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(what: str) -> dict[str, Any]:
    return _json(_ref("Error"), what)


_SMPTE = {
    "type": "object",
    "required": ["smpte_timecode"],
    "properties": {
        "smpte_timecode": {"type": "string", "pattern": r"^\d{2}:[0-5]\d:[0-5]\d[:;]\d{2}$"},
        "rate": {
            "type": "object",
            "properties": {
                "playback": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
                "ntsc": {"enum": ["non_drop", "drop", None]},
            },
        },
    },
}

SCHEMAS: dict[str, Any] = {
    "ProjectDevice": {
        "type": "object",
        "required": [
            *("_type", "id", "name", "project_id", "status", "asset_type", "creator_id", "device_id"),
            *("inserted_at", "updated_at", "last_seen_at", "last_known_firmware_version", "timezone"),
            *("authorization", "channels", "project"),
        ],
        "properties": {
            "_type": {"const": "project_device"},
            "id": {"type": "string"},
            "name": {"type": "string", "maxLength": 255},
            "project_id": {"type": "string"},
            "status": {"enum": ["online", "offline"]},
            "asset_type": {"enum": ["audio", "video", "data", None]},
            "creator_id": {"type": "string"},
            "device_id": {"type": "string"},
            "inserted_at": _TIME,
            "updated_at": _TIME,
            "deleted_at": _TIME,
            "last_seen_at": _TIME,
            "last_known_firmware_version": {"type": ["string", "null"]},
            "timezone": {"type": ["string", "null"]},
            "authorization": {
                "type": "object",
                "required": ["_type", "id", "creator", "expires_at", "project_device_id", "scopes"],
                "properties": {
                    "_type": {"const": "project_device_authorization"},
                    "id": {"type": "string"},
                    "creator": {"type": "object"},
                    "expires_at": _TIME,
                    "project_device_id": {"type": "string"},
                    "scopes": {
                        "type": "object",
                        "additionalProperties": {"type": "boolean"},
                        "required": ["asset_create", "offline", "asset_read"],
                        "properties": {"asset_read": {"const": False}},
                    },
                },
            },
            "channels": {"type": "array", "items": _ref("ProjectDeviceChannel")},
            "channel_count": {"type": "integer", "maximum": 101},
            "project": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
    },
    "ProjectDeviceChannel": {
        "type": "object",
        "required": [
            *("_type", "id", "actor_id", "asset_type", "external_index", "name"),
            *("real_time_logging_capable", "status"),
        ],
        "properties": {
            "_type": {"const": "project_device_channel"},
            "id": _ID,
            "actor_id": _ID,
            "asset_type": {"enum": ["audio", "video", "data"]},
            "device_id": _ID,
            "external_index": {"type": "integer", "minimum": 0, "maximum": 100},
            "inserted_at": _TIME,
            "name": {"type": "string"},
            "project_id": {"type": "string"},
            "project_device_id": {"type": "string"},
            "real_time_logging_capable": {"type": "boolean"},
            "status": {"enum": ["online", "offline"]},
            "updated_at": _TIME,
        },
    },
    "ChannelConnect": {
        "type": "object",
        "required": ["client_id", "device_model_id"],
        "properties": {"client_id": _ID, "device_model_id": _ID},
    },
    "SMPTETime": _SMPTE,
    "Trigger": {
        "type": "object",
        "properties": {
            "action_type": {"enum": ["single_press"], "default": "single_press"},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
            "start": _ref("SMPTETime"),
            "duration": _ref("SMPTETime"),
        },
    },
    "LogEvent": {
        "type": "object",
        "required": ["id", "channel_id", "input_index", "action_type", "offset", "start", "duration", "inserted_at"],
        "description": "the sandbox's answer (the reference says only OK)",
        "properties": {
            "id": _ID,
            "channel_id": {"type": "string"},
            "input_index": {"type": "integer", "minimum": 0},
            "action_type": {"const": "single_press"},
            "offset": {"type": "integer", "minimum": 0},
            "start": {"oneOf": [_ref("SMPTETime"), {"type": "null"}]},
            "duration": {"oneOf": [_ref("SMPTETime"), {"type": "null"}]},
            "inserted_at": {"type": "string"},
        },
    },
    "CommentCreate": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 4096},
            "timestamp": {"type": "number", "minimum": 0, "description": "in frames from 0; none: the whole asset"},
        },
    },
    "Comment": {
        "type": "object",
        "required": ["_type", "id", "asset_id", "text", "timestamp", "owner_id", "inserted_at"],
        "properties": {
            "_type": {"const": "comment"},
            "id": _ID,
            "asset_id": _ID,
            "text": {"type": "string"},
            "timestamp": {"type": ["integer", "null"]},
            "owner_id": {"type": "string"},
            "completed": {"type": "boolean"},
            "has_replies": {"type": "boolean"},
            "like_count": {"type": "integer"},
            "inserted_at": {"type": "string"},
            "updated_at": {"type": "string"},
        },
    },
}

_ERRORS = {"401": _error("missing, unknown, expired or superseded token"), "429": _error("rate limited")}
_BAD = _error("a malformed body or path (the status is the sandbox's inference unless the reference lists 400)")
_CHANNEL = {"name": "channel_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _post(summary: str, operation: str, responses: dict[str, Any], body: str | None = None, **more: Any) -> Any:
    item: dict[str, Any] = {"summary": summary, "operationId": operation, "security": [{"device": []}]}
    item["parameters"] = [*more.pop("parameters", ()), _VERSION]
    if body:
        item["requestBody"] = {"required": body != "Trigger", "content": {"application/json": {"schema": _ref(body)}}}
    return {"post": {**item, "responses": {**responses, **_ERRORS}, **more}}


PATHS: dict[str, Any] = {
    "/v2/devices/channels": _post(
        "Connect a new device channel",
        "connectDeviceChannel",
        {
            "200": _json(_ref("ProjectDeviceChannel"), "the channel"),
            "400": _BAD,
            "409": _error("Device channel already exists"),
        },
        "ChannelConnect",
    ),
    "/v2/devices/channels/{channel_id}/disconnect": _post(
        "Disconnect a specific device channel",
        "disconnectDeviceChannel",
        {"204": {"description": "done: the channel is offline"}, "404": _error("no such channel")},
        parameters=[_CHANNEL],
    ),
    "/v2/devices/channels/disconnect": _post(
        "Disconnect all device channels", "disconnectAllDeviceChannels", {"204": {"description": "done"}}
    ),
    "/v2/devices/channels/{channel_id}/inputs/{input_index}/trigger": _post(
        "Trigger a real-time logging event",
        "triggerRealtimeLoggingEvent",
        {
            "200": _json(_ref("LogEvent"), "the event, as the sandbox recorded it"),
            "400": _BAD,
            "404": _error("no such channel on this device"),
        },
        "Trigger",
        parameters=[
            _CHANNEL,
            {"name": "input_index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
        ],
    ),
    "/v2/devices/assets/{asset_id}/comments": _post(
        "Create a comment from a C2C device",
        "createCommentC2C",
        {
            "200": _json(_ref("Comment"), "the comment"),
            "400": _error("no text, or a timestamp that is not a number of frames from 0"),
            "404": _error("no such asset in this device's project"),
        },
        "CommentCreate",
        parameters=[{"name": "asset_id", "in": "path", "required": True, "schema": {"type": "string"}}],
    ),
}
