"""The real-time upload part of the sandbox's OpenAPI document (Frame.io's "How to: Upload (Real-time)").

:mod:`c2c_sandbox.api.openapi` merges these schemas and this path into the document it serves.
"""

from __future__ import annotations

from typing import Any

_INT = {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*[+-]?\d+\s*$"}]}
_ERROR = {"$ref": "#/components/schemas/Error"}

#: Fields the asset-create body takes for a real-time upload (merged into ``AssetCreate``).
CREATE_FIELDS: dict[str, Any] = {
    "is_realtime_upload": {
        "type": "boolean",
        "description": "true: a real-time upload (JSON body only). No filesize (or null), a filetype, and an "
        "extension in name or extension; the answer is only {id, name}; parts come from "
        "POST /v2/devices/assets/{asset_id}/realtime_upload/parts as the file grows",
    },
}

#: A basic upload needs name and filesize; a real-time one a filetype (merged into ``AssetCreate``).
CREATE_CONDITION: dict[str, Any] = {
    "if": {"properties": {"is_realtime_upload": {"const": True}}, "required": ["is_realtime_upload"]},
    "then": {"required": ["filetype"], "properties": {"filesize": {"type": "null"}}},
    "else": {"required": ["name", "filesize"]},
}

SCHEMAS: dict[str, Any] = {
    "RealtimeAsset": {
        "type": "object",
        "required": ["id", "name"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "description": "[new file].ext when only extension was given"},
        },
    },
    "RealtimeParts": {
        "type": "object",
        "required": ["parts"],
        "properties": {
            "parts": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["number", "size", "is_final"],
                    "properties": {
                        "number": {**_INT, "description": "1..10,000, any order; a repeat replaces"},
                        "size": {**_INT, "description": "bytes; at least 5 MiB unless is_final"},
                        "is_final": {"type": "boolean", "description": "required on every part"},
                    },
                },
            },
            "asset_filesize": {**_INT, "description": "1..5 TiB; required when a part is final"},
            "asset_name": {"type": "string", "description": "renames an asset that still has its default name"},
        },
    },
    "UploadUrls": {
        "type": "object",
        "required": ["upload_urls"],
        "properties": {
            "upload_urls": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "description": "presigned part PUT URLs, in the order of the request's parts",
            }
        },
    },
}


def parts_path(version: dict[str, str], operation_id: str) -> dict[str, Any]:
    """The path item of the parts call (``version``: the x-client-version parameter's reference)."""

    def error(what: str) -> dict[str, Any]:
        return {"description": what, "content": {"application/json": {"schema": _ERROR}}}

    return {
        "post": {
            "summary": "Register parts of a real-time upload and get their presigned upload URLs",
            "operationId": operation_id,
            "security": [{"device": ["asset_create"]}],
            "parameters": [
                {"name": "asset_id", "in": "path", "required": True, "schema": {"type": "string"}},
                version,
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RealtimeParts"}}},
            },
            "responses": {
                "200": {
                    "description": "one URL per part, in the order asked",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadUrls"}}},
                },
                "400": error("a bad part, a missing asset_filesize, a second final part, a closed upload"),
                "401": error("missing, unknown or expired token"),
                "404": error("no such asset for this device"),
                "429": error("rate limited (the sandbox's general limit: inferred)"),
            },
        }
    }
