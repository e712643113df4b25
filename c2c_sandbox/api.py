"""The API side: a Flask app with Frame.io's C2C device endpoints, the ``/sandbox/*`` controls and the web page.

Routes (shapes as in ``C2C_API.md``):

=========================================  ==================================================================
``POST /v2/auth/device/code``              start pairing: device code, six-digit user code, interval
``POST /v2/auth/token``                    device-code grant (pending / slow_down / expired) and refresh grant
``POST /v2/auth/revoke``                   revoke a token (a refresh token takes its whole grant with it)
``GET  /v2/devices/me``                    the paired device (``project_device``)
``POST /v2/devices/heartbeat``             204
``POST /v2/devices/assets``                create an asset (alias ``POST /v2/assets``): upload URLs
``GET  /v2/assets/<id>``                   the asset, with ``upload_completed_at`` once assembled
``GET  /health``                           ``{"status": "ok"}``
``GET  /openapi.json``                     the OpenAPI document of the routes above
``/sandbox/...``                           teaching controls: pairing, pause, faults, URL lifetime, state
``GET  /``                                 the web page: device folders, assets, player, pairing form
=========================================  ==================================================================

Every refusal is a Frame.io-shaped JSON error (the detailed shape; ``{"error": ...}`` on the OAuth
endpoints), never a stack trace.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, send_file
from werkzeug.exceptions import HTTPException

from .openapi import document as openapi_document
from .s3 import FAULT_KINDS, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from .store import Asset, Device, Store

if TYPE_CHECKING:
    from .server import Sandbox

log = logging.getLogger("c2c_sandbox.api")

DEFAULT_PART_SIZE = 20 * 1024 * 1024  # 20 MiB: fits both of Frame.io's published data points (inferred)
MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB: S3's largest object
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_SCOPE = "asset_create offline"
KNOWN_SCOPES = {"asset_create", "offline"}
MAX_NAME = 255
FILETYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
FOLDER_NAMESPACE = uuid.UUID("6f1c2c2e-5a0b-4c7e-9a57-0c2c0c2c0c2c")
REASONS = {
    400: "Bad Request",
    401: "Not Authorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Invalid Argument",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


# -- error shapes -------------------------------------------------------------------------------------
def api_error(status: int, detail: str, title: str | None = None) -> Response:
    """Frame.io's detailed error shape."""
    title = title or REASONS.get(status, "Error")
    body = {
        "code": status,
        "errors": [{"code": status, "detail": detail, "status": status, "title": title}],
        "message": title,
    }
    response = jsonify(body)
    response.status_code = status
    return response


def oauth_error(error: str, description: str | None = None, status: int = 400) -> Response:
    """The OAuth endpoints' simple shape, ``{"error": ...}`` (RFC 6749 section 5.2)."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status
    return response


class Invalid(Exception):
    """A request field the API refuses (422 unless said otherwise)."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail, self.status = detail, status


# -- rate limits ----------------------------------------------------------------------------------------
class LeakyBucket:
    """Frame.io's limiter: ``limit`` requests per ``window_ms``, leaking continuously."""

    def __init__(self, limit: int, window_ms: int) -> None:
        self.limit, self.window_ms = limit, window_ms
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> tuple[bool, int]:
        """Try to add one request for ``key``; returns (allowed, remaining)."""
        now = time.monotonic()
        with self._lock:
            level, then = self._levels.get(key, (0.0, now))
            level = max(0.0, level - (now - then) * self.limit * 1000 / self.window_ms)
            allowed = level + 1 <= self.limit + 1e-9
            if allowed:
                level += 1
            self._levels[key] = (level, now)
        return allowed, max(0, math.floor(self.limit - level + 1e-9))


# -- values -------------------------------------------------------------------------------------------
def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def category(filetype: str) -> str:
    major = filetype.split("/", 1)[0].lower()
    return {"video": "VIDEO", "audio": "AUDIO"}.get(major, "DATA")


def folder_path(asset: Asset, device: Device) -> list[str]:
    """Where Frame.io files the asset: Cloud Devices > YYYY_MM_DD > VIDEO|AUDIO|DATA > device > name."""
    day = dt.datetime.fromtimestamp(asset.file_created_at, dt.UTC).strftime("%Y_%m_%d")
    return ["Cloud Devices", day, category(asset.filetype), device.name, asset.name]


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


def int_field(
    body: dict[str, Any], name: str, *, required: bool, minimum: int, maximum: int, default: int | None = None
) -> int | None:
    """An integer field; JSON numbers and decimal strings are both accepted, as Frame.io does."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return default
    if isinstance(value, bool):
        raise Invalid(f"{name} must be an integer, not a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,20}", text):
            raise Invalid(f"{name} must be an integer, got {value[:40]!r}")
        value = int(text)
    if isinstance(value, float):
        if not value.is_integer():
            raise Invalid(f"{name} must be a whole number, got {value}")
        value = int(value)
    if not isinstance(value, int):
        raise Invalid(f"{name} must be an integer")
    if not minimum <= value <= maximum:
        raise Invalid(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def str_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(f"{name} is required")
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    return value


def request_body() -> dict[str, Any]:
    """The body as a dict, from JSON or a form; 400/415 when it is neither."""
    mimetype = request.mimetype
    if mimetype == "application/json" or (not mimetype and request.content_length):
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise Invalid("the body must be a JSON object", status=400)
        return data
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    if not mimetype and not request.content_length:
        return {}
    raise Invalid(
        f"unsupported Content-Type {mimetype!r}; send application/json or application/x-www-form-urlencoded", status=415
    )


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


# -- the app ------------------------------------------------------------------------------------------
def create_app(sb: Sandbox) -> Flask:
    """The Flask app serving the API, the controls and the page for one sandbox."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store: Store = sb.store
    create_limit = LeakyBucket(sb.create_rate, 1000)
    general_limit = LeakyBucket(100, 1000)

    def rate_limited(bucket: LeakyBucket, key: Callable[[], str]) -> Callable[..., Any]:
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                allowed, remaining = bucket.take(key())
                g.ratelimit = (bucket.limit, remaining, bucket.window_ms)
                if not allowed:
                    return api_error(
                        429,
                        f"Rate limit exceeded: at most {bucket.limit} requests per"
                        f" {bucket.window_ms} ms. Back off and retry.",
                        "Too Many Requests",
                    )
                return view(*args, **kwargs)

            return wrapper

        return decorate

    def authenticated(scope: str | None = None) -> Callable[..., Any]:
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                header = request.headers.get("Authorization", "")
                kind, _, value = header.partition(" ")
                token = store.token(value.strip()) if kind.lower() == "bearer" and value.strip() else None
                device = store.device(token.device_id) if token else None
                if (
                    token is None
                    or device is None
                    or token.kind != "access"
                    or token.revoked
                    or token.expires_at <= time.time()
                ):
                    return api_error(401, "You are not allowed to access that resource", "Not Authorized")
                if scope and scope not in token.scope.split():
                    return api_error(403, f"This token lacks the {scope} scope", "Forbidden")
                g.device, g.token = device, token
                return view(*args, **kwargs)

            return wrapper

        return decorate

    def client_key() -> str:
        return request.headers.get("Authorization", "") or request.remote_addr or "anonymous"

    @app.after_request
    def add_headers(response: Response) -> Response:
        limit = getattr(g, "ratelimit", None)
        if limit is not None:
            response.headers["x-ratelimit-limit"] = str(limit[0])
            response.headers["x-ratelimit-remaining"] = str(limit[1])
            response.headers["x-ratelimit-window"] = str(limit[2])
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(Invalid)
    def invalid(exc: Invalid) -> Response:
        return api_error(exc.status, exc.detail)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = {
            404: "No such resource",
            405: f"{request.method} is not allowed on {request.path}",
            413: "The request body is too large",
        }.get(status, exc.description or "Bad request")
        response = api_error(status, detail)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return api_error(500, "The sandbox hit an unexpected error; it has been logged", "Internal Server Error")

    # -- pairing and tokens ---------------------------------------------------------------------------
    @app.post("/v2/auth/device/code")
    @rate_limited(general_limit, lambda: request.remote_addr or "")
    def device_code() -> Response:
        form = request.form
        client_id = form.get("client_id", "").strip()
        if not client_id or len(client_id) > 128:
            return oauth_error("invalid_request", "client_id is required (at most 128 characters)")
        if form.get("client_secret") != sb.client_secret:
            return oauth_error("invalid_client")
        scope = form.get("scope", DEFAULT_SCOPE).strip() or DEFAULT_SCOPE
        if not set(scope.split()) <= KNOWN_SCOPES:
            return oauth_error("invalid_scope", f"known scopes: {' '.join(sorted(KNOWN_SCOPES))}")
        known = store.device_by_client_id(client_id)
        name = known.name if known else f"Camera {client_id[-6:]}"
        code, user_code = store.add_device_code(client_id, name, scope, sb.code_ttl, sb.poll_interval)
        body: dict[str, Any] = {
            "device_code": code,
            "user_code": user_code,
            "expires_in": int(sb.code_ttl),
            "interval": sb.poll_interval,
            "name": name,
        }
        if request.headers.get("x-client-platypus-enabled", "").lower() == "true":
            body["verification_uri"] = f"{sb.api_url}/pair"
            body["verification_uri_complete"] = f"{sb.api_url}/pair?code={user_code}"
        return jsonify(body)

    @app.post("/v2/auth/token")
    @rate_limited(general_limit, lambda: request.remote_addr or "")
    def token() -> Response:
        form = request.form
        grant = form.get("grant_type", "")
        if grant == DEVICE_CODE_GRANT:
            return device_code_grant(form)
        if grant == "refresh_token":
            return refresh_grant(form)
        if not grant:
            return oauth_error("invalid_request", "grant_type is required")
        return oauth_error("unsupported_grant_type")

    def device_code_grant(form: Any) -> Response:
        if "client_secret" in form and form["client_secret"] != sb.client_secret:
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
        access, refresh = store.issue_tokens(code.device_id, code.scope, sb.token_ttl, sb.refresh_ttl)
        return jsonify(
            {"access_token": access, "expires_in": int(sb.token_ttl), "refresh_token": refresh, "token_type": "bearer"}
        )

    def refresh_grant(form: Any) -> Response:
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
        access, refresh = store.issue_tokens(
            found.device_id, found.scope, sb.token_ttl, sb.refresh_ttl, grant_id=found.grant_id
        )
        return jsonify(
            {"access_token": access, "expires_in": int(sb.token_ttl), "refresh_token": refresh, "token_type": "bearer"}
        )

    @app.post("/v2/auth/revoke")
    @rate_limited(general_limit, lambda: request.remote_addr or "")
    def revoke() -> Response:
        form = request.form
        if form.get("client_secret") != sb.client_secret or not form.get("client_id"):
            return oauth_error("invalid_client")
        if not form.get("token"):
            return oauth_error("invalid_request", "token is required")
        found = store.token(form["token"])
        if found is not None:
            device = store.device(found.device_id)
            if device is not None and device.client_id == form["client_id"]:
                store.revoke(form["token"])
        return jsonify({})  # RFC 7009: the same answer whether or not the token was known

    # -- the device -----------------------------------------------------------------------------------
    @app.get("/v2/devices/me")
    @rate_limited(general_limit, client_key)
    @authenticated()
    def me() -> Response:
        device: Device = g.device
        store.touch_device(device.id)
        paused_channels = sb.paused_channels(device.id)
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

    @app.post("/v2/devices/heartbeat")
    @rate_limited(general_limit, client_key)
    @authenticated()
    def heartbeat() -> Response:
        store.touch_device(g.device.id)
        return Response(status=204)

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(sb.api_url))

    # -- assets ---------------------------------------------------------------------------------------
    @app.post("/v2/devices/assets")
    @app.post("/v2/assets")
    @rate_limited(create_limit, client_key)
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
        now = time.time()
        created = now - offset
        if sb.is_paused(device.id, channel, created):
            response = jsonify(
                {
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
            )
            response.status_code = 409
            return response
        asset, urls = sb.new_asset(
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

    @app.get("/v2/assets/<asset_id>")
    @rate_limited(general_limit, client_key)
    @authenticated()
    def get_asset(asset_id: str) -> Response:
        asset = store.asset(asset_id)
        if asset is None or asset.device_id != g.device.id:
            return api_error(404, f"No asset with id {asset_id[:64]}")
        return jsonify(asset_json(asset))

    # -- sandbox controls (no auth: loopback only, for lessons and tests) -----------------------------
    def control_body() -> dict[str, Any]:
        if not request.content_length:
            return {}
        return request_body()

    @app.get("/sandbox/state")
    def state() -> Response:
        return jsonify(sb.state())

    @app.get("/sandbox/assets/<asset_id>")
    def sandbox_asset(asset_id: str) -> Response:
        detail = sb.asset_detail(asset_id)
        if detail is None:
            return api_error(404, f"No asset with id {asset_id[:64]}")
        return jsonify(detail)

    @app.get("/sandbox/assets/<asset_id>/original")
    def original(asset_id: str) -> Response:
        asset = store.asset(asset_id)
        path = store.originals / asset_id
        if asset is None or asset.status != "complete" or not path.is_file():
            return api_error(404, "This asset has no assembled original (yet)")
        return send_file(
            path, mimetype=asset.filetype, conditional=True, etag=asset.sha256 or True, download_name=asset.name
        )

    @app.post("/sandbox/pair")
    def pair() -> Response:
        body = control_body()
        code = str(body.get("user_code", "")).strip().replace(" ", "").replace("-", "")
        project = str(body.get("project", "") or "").strip() or None
        wants_html = request.mimetype != "application/json"
        try:
            device = sb.approve(code, project=project)
        except ValueError as exc:
            if wants_html:
                return Response(render_page(sb, error=str(exc), code=code), status=400, mimetype="text/html")
            raise Invalid(str(exc), status=404 if "no pending" in str(exc) else 422) from None
        if wants_html:
            return redirect(f"/?paired={device.id}", code=303)  # type: ignore[return-value]
        return jsonify({"device_id": device.id, "name": device.name})

    def device_field(body: dict[str, Any]) -> str | None:
        device_id = body.get("device_id")
        if device_id is None or device_id == "":
            return None
        if not isinstance(device_id, str) or sb.store.device(device_id) is None:
            raise Invalid(f"no device with id {str(device_id)[:64]}", status=404)
        return device_id

    @app.post("/sandbox/pause")
    def pause() -> Response:
        body = control_body()
        channel = int_field(body, "channel", required=False, minimum=0, maximum=63)
        start, end = _float(body, "start"), _float(body, "end")
        if start is not None and end is not None and end <= start:
            raise Invalid("end must come after start")
        sb.pause(channel=channel, device_id=device_field(body), start=start, end=end)
        return jsonify(sb.state()["devices"])

    @app.post("/sandbox/resume")
    def resume() -> Response:
        body = control_body()
        channel = int_field(body, "channel", required=False, minimum=0, maximum=63)
        sb.resume(channel=channel, device_id=device_field(body))
        return jsonify(sb.state()["devices"])

    @app.get("/sandbox/faults")
    def faults() -> Response:
        return jsonify({"planned": sb.faults.pending(), "fired": sb.faults.fired, "kinds": list(FAULT_KINDS)})

    @app.post("/sandbox/faults")
    def inject() -> Response:
        body = control_body()
        kind = str(body.get("kind", ""))
        part = int_field(body, "part", required=False, minimum=1, maximum=MAX_PARTS)
        times = int_field(body, "times", required=False, minimum=1, maximum=1_000_000, default=1)
        assert times is not None
        try:
            sb.faults.inject(kind, part=part, times=times, seconds=_float(body, "seconds"))
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        return jsonify({"planned": sb.faults.pending()})

    @app.delete("/sandbox/faults")
    def clear_faults() -> Response:
        sb.faults.clear()
        return jsonify({"planned": []})

    @app.post("/sandbox/settings")
    def settings() -> Response:
        body = control_body()
        url_ttl = int_field(body, "url_ttl", required=False, minimum=1, maximum=7 * 86400)
        if url_ttl is not None:
            sb.set_url_ttl(url_ttl)
        return jsonify({"url_ttl": sb.url_ttl, "token_ttl": sb.token_ttl, "poll_interval": sb.poll_interval})

    @app.post("/sandbox/reset")
    def reset() -> Response:
        sb.reset()
        return jsonify({"faults": [], "pauses": [], "url_ttl": sb.url_ttl})

    @app.post("/sandbox/tokens/expire")
    def expire() -> Response:
        body = control_body()
        if not sb.expire_token(str(body.get("token", ""))):
            raise Invalid("no such token", status=404)
        return jsonify({"expired": True})

    # -- the page -------------------------------------------------------------------------------------
    @app.get("/")
    @app.get("/pair")
    def index() -> Response:
        return Response(render_page(sb, code=request.args.get("code", "")), mimetype="text/html")

    @app.get("/sandbox/tree")
    def tree_fragment() -> Response:
        return Response(render_template("tree.html", tree=sb.tree()), mimetype="text/html")

    return app


def _float(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a number") from None
    if not math.isfinite(number):
        raise Invalid(f"{name} must be a finite number")
    return number


def render_page(sb: Sandbox, *, error: str | None = None, code: str = "") -> str:
    paired = request.args.get("paired")
    device = sb.store.device(paired) if paired else None
    return render_template(
        "index.html",
        tree=sb.tree(),
        error=error,
        code=code[:6] if code.isdigit() else "",
        paired=device,
        pending=len(sb.store.pending_codes()),
    )
