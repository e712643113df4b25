"""The OpenAPI 3.1 document of the sandbox's C2C surface, served at ``GET /openapi.json``.

It describes what the sandbox does (and, as far as ``C2C_API.md`` knows, what Frame.io does): the pairing
and token endpoints, the device, assets, and health, with the device's OAuth scopes, the ``x-client-version``
header and the statuses the reference documents. Every other route the app serves (the ``/sandbox/*``
teaching controls, the page, this document) is listed too, marked ``x-sandbox-only: true`` and tagged
``sandbox-only``: no real device can call them. The S3 part uploads are not part of it. Tests check that every
route the app serves is documented, and that real answers match these schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from c2c_sandbox.api import openapi_channels as channels
from c2c_sandbox.api import openapi_realtime as realtime

_FORM = ("application/x-www-form-urlencoded", "multipart/form-data")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _form(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": _ref(schema)} for media in _FORM}}


_OAUTH_ERROR = _json(
    _ref("OAuthError"), "an OAuth error: invalid_request (also a non-semver x-client-version), invalid_client, ..."
)
_ERRORS = {
    "400": _json(_ref("Error"), "bad request: an invalid field, or an x-client-version that is not semver"),
    "401": _json(_ref("Error"), "missing, unknown, expired, revoked or superseded (refreshed) token"),
    "429": _json(_ref("Error"), "rate limited; see the x-ratelimit-* headers"),
}
#: semver.org's regular expression (the sandbox checks ``x-client-version`` with it).
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_VERSION = {"$ref": "#/components/parameters/ClientVersion"}
PARAMETERS = {
    "ClientVersion": {
        "name": "x-client-version",
        "in": "header",
        "required": False,
        "description": "The device software's version; must be a valid semantic version (missing: 0.0.0). "
        "Frame.io uses it to pick the device model's configuration; /v2/devices/me shows it as "
        "last_known_firmware_version.",
        "schema": {"type": "string", "pattern": SEMVER_PATTERN, "default": "0.0.0"},
    }
}
SCOPES = {
    "asset_create": "create assets and upload their parts",
    "offline": "get a refresh token with the access token",
    "asset_read": "read assets back: never granted to a device (C2C is write, but don't read)",
}
SECURITY_SCHEMES = {
    "device": {
        "type": "oauth2",
        "description": "A device's bearer access token (Authorization: Bearer ...), from the OAuth 2.0 device "
        "authorization grant (RFC 8628; OpenAPI 3.1 has no flow for it, hence the x- flow). Access tokens live "
        "8 hours; a refresh replaces both tokens.",
        "flows": {
            "x-deviceAuthorization": {
                "deviceAuthorizationUrl": "/v2/auth/device/code",
                "tokenUrl": "/v2/auth/token",
                "refreshUrl": "/v2/auth/token",
                "scopes": SCOPES,
            }
        },
    }
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
        "additionalProperties": False,
        "description": "exactly Frame.io's body: no error_description (the sandbox's reason, when it has one, is "
        "in the sandbox-only x-sandbox-error-detail header)",
        "properties": {"error": {"type": "string"}},
    },
    "DeviceCodeRequest": {
        "type": "object",
        "required": ["client_id", "client_secret", "scope"],
        "properties": {
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "scope": {
                "type": "string",
                "examples": ["asset_create offline"],
                "description": "space-separated; a refresh token comes only with offline",
            },
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
        "required": ["access_token", "expires_in", "token_type"],
        "properties": {
            "access_token": {"type": "string"},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string", "description": "only with the offline scope; single use"},
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
    "AssetCreate": {
        "type": "object",
        "required": [],
        **realtime.CREATE_CONDITION,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "filetype": {
                "type": "string",
                "description": "MIME type; every part PUT sends it as Content-Type. Optional for a basic upload: "
                "the sandbox derives it from the name (or extension) and says so in x-sandbox-inferred",
            },
            "filesize": {**_INT, "description": "bytes, 1 to 5 TiB"},
            "extension": {"type": "string", "examples": [".mp4"], "description": "ignored unless real-time"},
            "auto_version_id": {"type": "string", "description": "accepted; the sandbox does not version"},
            "offset": {
                **_INT,
                "description": "seconds since the file was created (default 0); negative (a file from the "
                "future) counts as created now (inferred)",
            },
            "channel": {**_INT, "description": "channel index (default 0)"},
            "parts": {**_INT, "description": "upload URLs wanted: 1..10,000, parts but the last >= 5 MiB"},
            **realtime.CREATE_FIELDS,
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
    "security": [{"device": ["asset_create"]}],
    "parameters": [_VERSION],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _ref("AssetCreate")},
            "application/x-www-form-urlencoded": {"schema": _ref("AssetCreate")},
        },
    },
    "responses": {
        "200": {
            **_json(
                {"oneOf": [_ref("Asset"), _ref("RealtimeAsset")]},
                "the placeholder asset, with upload_urls (a real-time upload: only id and name)",
            ),
            "headers": {
                "x-sandbox-inferred": {
                    "description": "sandbox only: what it decided itself (filetype, offset)",
                    "schema": {"type": "string"},
                }
            },
        },
        **_ERRORS,
        "403": _json(_ref("Error"), "the token lacks the asset_create scope"),
        "409": _json(_ref("Error"), "Channel Paused: the file was created (now - offset) while paused"),
        "413": _json(_ref("Error"), "body too large"),
        "415": _json(_ref("Error"), "neither JSON nor a form"),
    },
}


PATHS: dict[str, Any] = {
    "/v2/auth/device/code": {
        "post": {
            "summary": "Start pairing: a device code and a six-digit user code",
            "parameters": [_VERSION],
            "requestBody": _form("DeviceCodeRequest"),
            "responses": {
                "200": _json(_ref("DeviceCode"), "the codes"),
                "400": _OAUTH_ERROR,
                "429": _ERRORS["429"],
            },
        }
    },
    "/v2/auth/token": {
        "post": {
            "summary": "Poll for tokens (device-code grant) or renew them (refresh_token grant)",
            "parameters": [_VERSION],
            "requestBody": _form("TokenRequest"),
            "responses": {
                "200": _json(_ref("Tokens"), "an access token, and a refresh token with the offline scope"),
                "400": _OAUTH_ERROR,
                "429": _ERRORS["429"],
            },
        }
    },
    "/v2/auth/revoke": {
        "post": {
            "summary": "Revoke a token (a refresh token takes its whole grant with it)",
            "parameters": [_VERSION],
            "requestBody": _form("RevokeRequest"),
            "responses": {
                "200": {"description": "done, no body (also for unknown tokens)"},
                "400": _OAUTH_ERROR,
                "429": _ERRORS["429"],
            },
        }
    },
    "/v2/devices/me": {
        "get": {
            "summary": "The paired device (a project_device)",
            "security": [{"device": []}],
            "parameters": [_VERSION],
            "responses": {"200": _json(_ref("ProjectDevice"), "the device"), **_ERRORS},
        }
    },
    "/v2/devices/heartbeat": {
        "post": {
            "summary": "Tell the service the device is online (at most once a minute, at least every 5)",
            "security": [{"device": []}],
            "parameters": [_VERSION],
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
            "summary": "Reading an asset back: refused to a device (C2C is write, but don't read)",
            "description": "A device's token never holds asset_read, so this answers 403 whatever the id "
            "(the exact status is the sandbox's inference). The sandbox shows an asset's state under "
            "/sandbox/assets/{asset_id}, a sandbox-only route.",
            "security": [{"device": ["asset_read"]}],
            "parameters": [
                {"name": "asset_id", "in": "path", "required": True, "schema": {"type": "string"}},
                _VERSION,
            ],
            "responses": {
                **_ERRORS,
                "403": _json(_ref("Error"), "a device token lacks asset_read"),
            },
        }
    },
    "/v2/devices/assets/{asset_id}/realtime_upload/parts": realtime.parts_path(
        _VERSION, "deviceCreateRealtimeUploadParts"
    ),
    "/v2/assets/{asset_id}/realtime_upload/parts": realtime.parts_path(_VERSION, "createRealtimeUploadParts"),
    "/health": {
        "get": {
            "summary": "Liveness",
            "responses": {"200": _json({"type": "object", "properties": {"status": {"const": "ok"}}}, "ok")},
        }
    },
}

#: One served route: its OpenAPI path (``{name}`` for parameters), its methods, and a line saying what it does.
Route = tuple[str, Iterable[str], str]


def sandbox_only(routes: Iterable[Route]) -> dict[str, Any]:
    """Path items for the routes that are not part of C2C, each marked ``x-sandbox-only`` and tagged."""
    paths: dict[str, Any] = {}
    for path, methods, summary in routes:
        if path in PATHS or path in channels.PATHS:
            continue
        for method in methods:
            paths.setdefault(path, {})[method.lower()] = {
                "summary": summary,
                "tags": ["sandbox-only"],
                "x-sandbox-only": True,
                "responses": {"default": {"description": "see the sandbox's docs; no real device calls this"}},
            }
    return paths


def document(server_url: str, routes: Iterable[Route] = ()) -> dict[str, Any]:
    """The OpenAPI document, with ``server_url`` as its server; `routes` (all the app serves) adds the
    sandbox-only ones, marked as such."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "C2C sandbox: Frame.io Camera to Cloud device API",
            "version": "2.0.0",
            "description": "The C2C endpoints the sandbox serves. Part uploads go to the presigned S3 URLs "
            "in upload_urls (PUT, Content-Type = filetype, x-amz-acl: private). Operations tagged "
            "sandbox-only (x-sandbox-only: true) exist only in the sandbox. Where the sandbox differs from "
            "Frame.io, or decides what Frame.io's pages leave open: docs/sandbox-and-frameio.md.",
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": "sandbox-only", "description": "the sandbox's own routes: no real device can call them"}],
        "components": {
            "schemas": {**SCHEMAS, **realtime.SCHEMAS, **channels.SCHEMAS},
            "parameters": PARAMETERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
        "paths": {**PATHS, **channels.PATHS, **sandbox_only(routes)},
    }
