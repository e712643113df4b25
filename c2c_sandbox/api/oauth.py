"""Pairing and tokens (RFC 8628 device authorization, refresh, revoke), as Frame.io's ``/v2/auth/*`` does.

=========================================  ==================================================================
``POST /v2/auth/device/code``              start pairing: device code, six-digit user code, interval
``POST /v2/auth/token``                    device-code grant (pending / slow_down / expired) and refresh grant
``POST /v2/auth/revoke``                   revoke a token (a refresh token takes its whole grant with it)
=========================================  ==================================================================
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from c2c_sandbox.api.common import (
    bad_client_version_detail,
    by_address,
    client_version,
    model,
    oauth_error,
    rate_limited,
)

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
KNOWN_SCOPES = {"asset_create", "offline"}  # never asset_read: a device writes, it does not read

oauth = Blueprint("oauth", __name__)


@oauth.before_request
def check_client_version() -> Response | None:
    """A non-semver ``x-client-version`` is refused here too, in these endpoints' own shape (inferred)."""
    return None if client_version() is not None else oauth_error("invalid_request", bad_client_version_detail())


@oauth.post("/v2/auth/device/code")
@rate_limited("general", by_address)
def device_code() -> Response:
    sb, form = model(), request.form
    client_id = form.get("client_id", "").strip()
    if not client_id or len(client_id) > 128:
        return oauth_error("invalid_request", "client_id is required (at most 128 characters)")
    if form.get("client_secret") != sb.client_secret:
        return oauth_error("invalid_client")
    scope = " ".join(form.get("scope", "").split())
    if not scope:
        return oauth_error("invalid_request", "scope is required, e.g. scope=asset_create offline")
    if not set(scope.split()) <= KNOWN_SCOPES:
        return oauth_error("invalid_scope", f"known scopes: {' '.join(sorted(KNOWN_SCOPES))}")
    known = sb.store.device_by_client_id(client_id)
    name = known.name if known else f"Camera {client_id[-6:]}"
    settings = sb.settings
    code, user_code = sb.store.add_device_code(client_id, name, scope, settings.code_ttl, settings.poll_interval)
    body: dict[str, Any] = {
        "device_code": code,
        "user_code": user_code,
        "expires_in": int(settings.code_ttl),
        "interval": settings.poll_interval,
        "name": name,
    }
    if request.headers.get("x-client-platypus-enabled", "").lower() == "true":
        body["verification_uri"] = f"{sb.base_url}/pair"
        body["verification_uri_complete"] = f"{sb.base_url}/pair?code={user_code}"
    return jsonify(body)


@oauth.post("/v2/auth/token")
@rate_limited("general", by_address)
def token() -> Response:
    form = request.form
    grant = form.get("grant_type", "")
    if grant == DEVICE_CODE_GRANT:
        return _device_code_grant(form)
    if grant == "refresh_token":
        return _refresh_grant(form)
    if not grant:
        return oauth_error("invalid_request", "grant_type is required")
    return oauth_error("unsupported_grant_type")


def _device_code_grant(form: Any) -> Response:
    sb = model()
    store = sb.store
    if form.get("client_secret") != sb.client_secret:  # the token reference requires it for both grants
        return oauth_error("invalid_client")
    code = store.device_code(form.get("device_code", "")) if form.get("device_code") else None
    if code is None or code.consumed or code.client_id != form.get("client_id"):
        return oauth_error("invalid_grant")
    now = time.time()
    if now >= code.expires_at:
        return oauth_error("expired_token")
    if code.device_id is None:
        if code.last_poll is not None and now - code.last_poll < code.interval:
            store.record_poll(code.code_hash, now, code.interval + 5)  # RFC 8628 3.5: five more seconds
            return oauth_error("slow_down")
        store.record_poll(code.code_hash, now, code.interval)
        return oauth_error("authorization_pending")
    if not store.consume_code(code.code_hash):
        return oauth_error("invalid_grant")
    return _tokens(code.device_id, code.scope)


def _refresh_grant(form: Any) -> Response:
    sb = model()
    store = sb.store
    if form.get("client_secret") != sb.client_secret:
        return oauth_error("invalid_client")
    presented = form.get("refresh_token", "")
    found = store.token(presented) if presented else None
    if found is None or found.kind != "refresh" or found.expires_at <= time.time():
        return oauth_error("invalid_request", "unknown or expired refresh token")
    device = store.device(found.device_id)
    if device is None or device.client_id != form.get("client_id"):
        return oauth_error("invalid_grant")
    if not store.use_refresh_token(presented):
        return oauth_error("invalid_request", "this refresh token was already used or revoked")
    return _tokens(found.device_id, found.scope, grant_id=found.grant_id)


def _tokens(device_id: str, scope: str, grant_id: str | None = None) -> Response:
    """A new pair; a refresh token only with the ``offline`` scope; a refresh revokes the grant's old access
    tokens (see :meth:`~c2c_sandbox.domain.store.Store.issue_tokens`)."""
    settings = model().settings
    access, refresh = model().store.issue_tokens(
        device_id, scope, settings.token_ttl, settings.refresh_ttl, grant_id=grant_id
    )
    body: dict[str, Any] = {"access_token": access, "expires_in": int(settings.token_ttl)}
    if refresh:
        body["refresh_token"] = refresh
    body["token_type"] = "bearer"  # noqa: S105 - a type name, not a secret
    return jsonify(body)


@oauth.post("/v2/auth/revoke")
@rate_limited("general", by_address)
def revoke() -> Response:
    sb, form = model(), request.form
    if form.get("client_secret") != sb.client_secret or not form.get("client_id"):
        return oauth_error("invalid_client")
    if not form.get("token"):
        return oauth_error("invalid_request", "token is required")
    found = sb.store.token(form["token"])
    if found is not None:
        device = sb.store.device(found.device_id)
        if device is not None and device.client_id == form["client_id"]:
            sb.store.revoke(form["token"])
    return Response(status=200)  # no body, as the reference shows; the same whether or not the token was known
