"""The OpenAPI 3.1 document of the sandbox's C2C surface, served at ``GET /openapi.json``.

It describes what the sandbox does (and, as far as ``C2C_API.md`` knows, what Frame.io does): the pairing
and token endpoints, the device, assets, and health. The ``/sandbox/*`` teaching controls and the S3 part
uploads are not part of it. Tests check that every C2C route the app serves is documented, and that real
answers match these schemas.
"""

from __future__ import annotations

from typing import Any

_FORM = ("application/x-www-form-urlencoded", "multipart/form-data")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _form(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": _ref(schema)} for media in _FORM}}


_OAUTH_ERROR = _json(_ref("OAuthError"), "an OAuth error: invalid_request, invalid_client, invalid_grant, ...")
_ERRORS = {
    "401": _json(_ref("Error"), "missing, unknown, expired or revoked token"),
    "429": _json(_ref("Error"), "rate limited; see the x-ratelimit-* headers"),
}
_INT = {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*[+-]?\d+\s*$"}]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["code", "errors", "message"],
        "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["code", "detail", "status", "title"],
                    "properties": {
                        "code": {"type": "integer"},
                        "detail": {"type": "string"},
                        "status": {"type": "integer"},
                        "title": {"type": "string"},
                    },
                },
            },
        },
    },
    "OAuthError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    },
    "DeviceCodeRequest": {
        "type": "object",
        "required": ["client_id", "client_secret"],
        "properties": {
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "scope": {"type": "string", "default": "asset_create offline"},
        },
    },
    "DeviceCode": {
        "type": "object",
        "required": ["device_code", "user_code", "expires_in", "interval", "name"],
        "properties": {
            "device_code": {"type": "string"},
            "user_code": {"type": "string", "pattern": r"^\d{6}$"},
            "expires_in": {"type": "integer", "maximum": 120},
            "interval": {"type": "integer"},
            "name": {"type": "string"},
            "verification_uri": {"type": "string", "description": "with x-client-platypus-enabled: true"},
            "verification_uri_complete": {"type": "string"},
        },
    },
    "TokenRequest": {
        "type": "object",
        "required": ["grant_type", "client_id"],
        "properties": {
            "grant_type": {"enum": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "device_code": {"type": "string"},
            "refresh_token": {"type": "string"},
        },
    },
    "Tokens": {
        "type": "object",
        "required": ["access_token", "expires_in", "refresh_token", "token_type"],
        "properties": {
            "access_token": {"type": "string"},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string"},
            "token_type": {"const": "bearer"},
        },
    },
    "RevokeRequest": {
        "type": "object",
        "required": ["client_id", "client_secret", "token"],
        "properties": {
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "token": {"type": "string"},
        },
    },
    "ProjectDevice": {
        "type": "object",
        "required": ["_type", "id", "name", "project_id", "status", "authorization", "channels"],
        "properties": {
            "_type": {"const": "project_device"},
            "id": {"type": "string"},
            "name": {"type": "string"},
            "project_id": {"type": "string"},
            "status": {"enum": ["online", "offline", "paused"]},
            "authorization": {
                "type": "object",
                "properties": {"scopes": {"type": "array", "items": {"type": "string"}}},
            },
            "channels": {"type": "array", "items": {"type": "object"}},
            "project": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
    },
    "AssetCreate": {
        "type": "object",
        "required": ["name", "filetype", "filesize"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "filetype": {"type": "string", "description": "MIME type; every part PUT sends it as Content-Type"},
            "filesize": {**_INT, "description": "bytes, 1 to 5 TiB"},
            "offset": {**_INT, "description": "seconds since the file was created (default 0)"},
            "channel": {**_INT, "description": "channel index (default 0)"},
            "parts": {**_INT, "description": "upload URLs wanted: 1..10,000, parts but the last >= 5 MiB"},
        },
    },
    "Asset": {
        "type": "object",
        "required": [
            "_type",
            "type",
            "id",
            "name",
            "filetype",
            "filesize",
            "status",
            "upload_completed_at",
            "inserted_at",
            "parent_id",
            "project_id",
        ],
        "properties": {
            "_type": {"const": "file"},
            "type": {"const": "file"},
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "filetype": {"type": "string"},
            "filesize": {"type": "integer"},
            "status": {"enum": ["created", "uploading", "processing", "complete", "failed"]},
            "upload_completed_at": {"type": ["string", "null"]},
            "inserted_at": {"type": "string"},
            "parent_id": {"type": "string"},
            "project_id": {"type": "string"},
            "upload_urls": {
                "type": "array",
                "items": {"type": "string"},
                "description": "presigned part PUT URLs, in part order (create only)",
            },
        },
    },
}

_CREATE = {
    "summary": "Create an asset and get its presigned upload URLs",
    "security": [{"bearer": []}],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _ref("AssetCreate")},
            "application/x-www-form-urlencoded": {"schema": _ref("AssetCreate")},
        },
    },
    "responses": {
        "200": _json(_ref("Asset"), "the placeholder asset, with upload_urls"),
        "400": _json(_ref("Error"), "malformed body"),
        **_ERRORS,
        "403": _json(_ref("Error"), "the token lacks the asset_create scope"),
        "409": _json(_ref("Error"), "Channel Paused: the file was created (now - offset) while paused"),
        "413": _json(_ref("Error"), "body too large"),
        "415": _json(_ref("Error"), "neither JSON nor a form"),
        "422": _json(_ref("Error"), "invalid argument"),
    },
}


PATHS: dict[str, Any] = {
    "/v2/auth/device/code": {
        "post": {
            "summary": "Start pairing: a device code and a six-digit user code",
            "requestBody": _form("DeviceCodeRequest"),
            "responses": {"200": _json(_ref("DeviceCode"), "the codes"), "400": _OAUTH_ERROR},
        }
    },
    "/v2/auth/token": {
        "post": {
            "summary": "Poll for tokens (device-code grant) or renew them (refresh_token grant)",
            "requestBody": _form("TokenRequest"),
            "responses": {"200": _json(_ref("Tokens"), "access and refresh token"), "400": _OAUTH_ERROR},
        }
    },
    "/v2/auth/revoke": {
        "post": {
            "summary": "Revoke a token (a refresh token takes its whole grant with it)",
            "requestBody": _form("RevokeRequest"),
            "responses": {
                "200": _json({"type": "object"}, "done (also for unknown tokens)"),
                "400": _OAUTH_ERROR,
            },
        }
    },
    "/v2/devices/me": {
        "get": {
            "summary": "The paired device",
            "security": [{"bearer": []}],
            "responses": {"200": _json(_ref("ProjectDevice"), "the device"), **_ERRORS},
        }
    },
    "/v2/devices/heartbeat": {
        "post": {
            "summary": "Tell the service the device is online",
            "security": [{"bearer": []}],
            "responses": {"204": {"description": "noted"}, **_ERRORS},
        }
    },
    "/v2/devices/assets": {"post": {**_CREATE, "operationId": "createAsset"}},
    "/v2/assets": {
        "post": {
            **_CREATE,
            "operationId": "createAssetLegacy",
            "description": "The older path; behaves the same.",
        }
    },
    "/v2/assets/{asset_id}": {
        "get": {
            "summary": "An asset; upload_completed_at is set once the parts are assembled",
            "security": [{"bearer": []}],
            "parameters": [{"name": "asset_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": _json(_ref("Asset"), "the asset"),
                "404": _json(_ref("Error"), "no such asset for this device"),
                **_ERRORS,
            },
        }
    },
    "/health": {
        "get": {
            "summary": "Liveness",
            "responses": {"200": _json({"type": "object", "properties": {"status": {"const": "ok"}}}, "ok")},
        }
    },
}


def document(server_url: str) -> dict[str, Any]:
    """The OpenAPI document, with ``server_url`` as its server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "C2C sandbox: Frame.io Camera to Cloud device API",
            "version": "2.0.0",
            "description": "The C2C endpoints the sandbox serves. Part uploads go to the presigned S3 URLs "
            "in upload_urls (PUT, Content-Type = filetype, x-amz-acl: private).",
        },
        "servers": [{"url": server_url}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": PATHS,
    }
