"""What every blueprint shares: the error shapes, field parsing, rate limits, authentication, the model.

Every refusal is a Frame.io-shaped JSON error: the detailed shape (:func:`api_error`), or ``{"error": ...}`` on
the OAuth endpoints (:func:`oauth_error`), never a stack trace.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, current_app, g, jsonify, request

from c2c_sandbox.domain.model import Model

F = TypeVar("F", bound=Callable[..., Any])

EXTENSION = "c2c_sandbox"
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


def model() -> Model:
    """The sandbox this app serves."""
    return cast(Model, current_app.extensions[EXTENSION])


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


#: A sandbox-only response header: why an OAuth error was answered (Frame.io's body is only ``{"error"}``).
OAUTH_DETAIL = "x-sandbox-error-detail"


def oauth_error(error: str, description: str | None = None, status: int = 400) -> Response:
    """The OAuth endpoints' simple shape, exactly as Frame.io answers: ``{"error": ...}`` and nothing else (a
    reused refresh token answers ``{"error": "invalid_request"}``, no ``error_description``). The sandbox's own
    explanation, when it has one, goes into the sandbox-only :data:`OAUTH_DETAIL` header, never the body."""
    response = jsonify({"error": error})
    response.status_code = status
    if description:
        response.headers[OAUTH_DETAIL] = description.encode("ascii", "replace").decode()[:300]
    return response


class Invalid(Exception):
    """A request field the API refuses: 400, the status Frame.io's reference documents, unless said otherwise."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail, self.status = detail, status


# -- x-client-version -----------------------------------------------------------------------------------
#: semver.org's regular expression for a semantic version (2.0.0).
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
#: What a call without ``x-client-version`` counts as (the reference's default).
DEFAULT_CLIENT_VERSION = "0.0.0"


def client_version() -> str | None:
    """The call's ``x-client-version`` (``0.0.0`` when missing), or None when it is not a semantic version.

    The reference says it "must be a valid semantic version"; what Frame.io answers otherwise is not documented:
    the sandbox refuses with 400 (inferred, see docs/sandbox-and-frameio.md).
    """
    value = request.headers.get("x-client-version")
    if value is None:
        return DEFAULT_CLIENT_VERSION
    value = value.strip()
    return value if len(value) <= 128 and SEMVER.fullmatch(value) else None


def bad_client_version_detail() -> str:
    shown = request.headers.get("x-client-version", "")[:40]
    return f"x-client-version must be a semantic version such as 2.0.0 (semver.org), got {shown!r}"


# -- request bodies and fields ------------------------------------------------------------------------
def request_body() -> dict[str, Any]:
    """The body as a dict, from JSON or a form; 400/415 when it is neither.

    C2C_API.md: the body may be JSON or a form. A body without a ``Content-Type`` is read as JSON, and taken
    when it is a JSON object (a client that names no type most likely sent JSON); otherwise the 400 says why.
    """
    mimetype = request.mimetype
    if mimetype == "application/json" or (not mimetype and request.content_length):
        return json_object(request.get_data(cache=True), typed=bool(mimetype))
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    if not mimetype and not request.content_length:
        return {}
    raise Invalid(
        f"unsupported Content-Type {mimetype!r}; send application/json or application/x-www-form-urlencoded", status=415
    )


def json_object(data: bytes, *, typed: bool) -> dict[str, Any]:
    """A request body parsed as a JSON object; 400 saying exactly why when it is not one.

    Python's parser raises RecursionError on JSON nested about a thousand deep and keeps lone UTF-16
    surrogates (``"\\ud800"``) that no UTF-8 text can hold: both are the client's fault, never a 500.
    """
    untyped = "" if typed else "a body without a Content-Type is read as JSON, and "
    try:
        parsed = json.loads(data)
    except RecursionError:
        raise Invalid(f"{untyped}the body nests JSON too deep to read", status=400) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of over 4,300 digits
        raise Invalid(f"{untyped}the body is not valid JSON: {str(exc)[:120]}", status=400) from None
    if not isinstance(parsed, dict):
        raise Invalid(f"{untyped}the body must be a JSON object, not {type(parsed).__name__}", status=400)
    if _holds_surrogate(parsed):
        raise Invalid("the body holds a lone UTF-16 surrogate (such as \\ud800), which is not text", status=400)
    return parsed


_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_surrogate(value: Any) -> bool:
    """Whether a key or string anywhere in a parsed JSON value holds a lone surrogate (iterative: any depth)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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


def float_field(body: dict[str, Any], name: str) -> float | None:
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


# -- rate limits ----------------------------------------------------------------------------------------
#: Keys a limiter remembers. Keys are devices and addresses, so this many are only reached by a sandbox that
#: listens beyond loopback; past it, the keys whose bucket has drained are forgotten (they start empty anyway).
MAX_KEYS = 10_000


class LeakyBucket:
    """Frame.io's limiter: ``limit`` requests per ``window_ms``, leaking continuously."""

    def __init__(self, limit: int, window_ms: int) -> None:
        self.limit, self.window_ms = limit, window_ms
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys it remembers (at most :data:`MAX_KEYS`)."""
        return len(self._levels)

    def take(self, key: str) -> tuple[bool, int]:
        """Try to add one request for ``key``; returns (allowed, remaining)."""
        now = time.monotonic()
        with self._lock:
            level = self._level(key, now)
            allowed = level + 1 <= self.limit + 1e-9
            if allowed:
                level += 1
            self._levels[key] = (level, now)
            if len(self._levels) > MAX_KEYS:
                self._forget_drained(now)
        return allowed, max(0, math.floor(self.limit - level + 1e-9))

    def _level(self, key: str, now: float) -> float:
        level, then = self._levels.get(key, (0.0, now))
        return max(0.0, level - (now - then) * self.limit * 1000 / self.window_ms)

    def _forget_drained(self, now: float) -> None:
        for key in [k for k in self._levels if self._level(k, now) == 0.0]:
            del self._levels[key]
        while len(self._levels) > MAX_KEYS:  # every key busy at once: the one idle longest goes
            del self._levels[min(self._levels, key=lambda k: self._levels[k][1])]


def by_address() -> str:
    """The caller's address; every loopback address is one (a client on this machine picks 127.x.y.z at will)."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return "loopback" if (mapped or ip).is_loopback else str(ip)


def by_client() -> str:
    """The device a call's token belongs to (any token of it, however the header is spelled), as Frame.io limits
    a user across its requests and tokens; by address when the token is unknown."""
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    token = model().store.token(value.strip()) if kind.lower() == "bearer" and value.strip() else None
    return f"device:{token.device_id}" if token is not None else f"address:{by_address()}"


def rate_limited(bucket: str, key: Callable[[], str]) -> Callable[[F], F]:
    """Refuse with 429 past the app's ``bucket`` limit (``create`` or ``general``); set the x-ratelimit headers."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            limiter: LeakyBucket = current_app.extensions[f"{EXTENSION}.{bucket}"]
            allowed, remaining = limiter.take(key())
            g.ratelimit = (limiter.limit, remaining, limiter.window_ms)
            if not allowed:
                return api_error(
                    429,
                    f"Rate limit exceeded: at most {limiter.limit} requests per {limiter.window_ms} ms."
                    " Back off and retry.",
                    "Too Many Requests",
                )
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def authenticated(scope: str | None = None) -> Callable[[F], F]:
    """401 without a live access token, 403 without ``scope``; sets ``g.device`` and ``g.token``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            store = model().store
            kind, _, value = request.headers.get("Authorization", "").partition(" ")
            token = store.token(value.strip()) if kind.lower() == "bearer" and value.strip() else None
            device = store.device(token.device_id) if token else None
            if token is None or device is None or token.kind != "access" or token.revoked:
                return api_error(401, "You are not allowed to access that resource", "Not Authorized")
            if token.expires_at <= time.time():
                return api_error(401, "You are not allowed to access that resource", "Not Authorized")
            if scope and scope not in token.scope.split():
                return api_error(403, f"This token lacks the {scope} scope", "Forbidden")
            g.device, g.token = device, token
            store.touch_device(device.id, client_version())
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
