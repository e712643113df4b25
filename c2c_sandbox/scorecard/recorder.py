"""What each device sent the sandbox and what it was answered: a bounded log per device, for the page and grading.

One WSGI middleware around the whole app (:meth:`Recorder.wrap`, installed by the server) sees every request:
the C2C API (``/v2/...``) and the S3 part PUTs (``/<bucket>/...``). It attributes each to a device only by what
proves it the device's: an API call by its bearer token, a token call by its refresh token or device code, a
revocation by the token it revokes, a pairing request by its ``client_id`` with the client secret, a part
request by a URL the sandbox signed (the ``uploadId`` alone is not enough: anyone can type one). Whatever carries
none of these is nobody's, and no device is graded on it. It keeps, per device, the last :data:`LIMIT` entries
in memory (a ring buffer; nothing is written to disk, and a restarted sandbox starts with empty logs).

An entry holds the time, method, route *template* (``POST /v2/devices/assets``, never the raw URL), status, the
headers that matter (:data:`KEPT_HEADERS`) and the rate-limit headers sent back, the duration, the asset, the
part number and size of a part PUT, the numbers of an asset-create body (``filesize``, ``offset``, ``parts``,
``channel``), the grant type of a token call, and the error code of a refusal, each cut to a bound
(:data:`MAX_TEXT`, :data:`MAX_METHOD`, :data:`MAX_NUMBER`). Never a body, a token or a
signature: a token is named by the first 12 hex digits of its SHA-256 (what the store keeps) and its state.

A check session (:mod:`c2c_sandbox.scorecard.scenario`) hooks in per device: :meth:`Recorder.hook` lets it answer a
request itself, drop the answer, or hold it, which is how its script plays conditions the API has no fault for.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import re
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from werkzeug.exceptions import HTTPException
from werkzeug.formparser import parse_form_data
from werkzeug.routing import Map

from c2c_sandbox.domain.store import Store

logger = logging.getLogger("c2c_sandbox.scorecard.recorder")

__all__ = ["KEPT_HEADERS", "LIMIT", "Action", "Recorder", "set_body"]

LIMIT = 5000  # entries kept per device (the oldest go first)
MAX_DEVICES = 500  # device logs kept (the least recently used go first)
#: Entries kept in all, whatever the number of devices: ten devices' full logs. An entry holds at most a few
#: bounded fields (below), under 2 KiB, so the recorder never holds much more than 100 MB.
MAX_ENTRIES = 10 * LIMIT
MAX_TEXT = 200  # characters kept of a device-sent text (a header's value, a grant type): enough to read, no more
MAX_METHOD = 20  # characters kept of a method: HTTP's are short words (the longest registered one has 17)
MAX_NUMBER = 10**20  # numbers kept only below this (a size or an offset): a longer one is the device's nonsense
MAX_FORM = 1024 * 1024  # the API's own body limit: a form or JSON body read to attribute or describe a call
PROXY_HEADERS = ("via", "forwarded", "x-forwarded-for")  # what a proxy adds (the checklist: connect directly)
KEPT_HEADERS = ("x-client-version", "content-type", "x-amz-acl", "user-agent", "expect", *PROXY_HEADERS)
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-window")
CREATE_ROUTES = ("/v2/devices/assets", "/v2/assets")
CREATE_FIELDS = ("filesize", "offset", "parts", "channel")
SEND_CONTINUE = "c2c_sandbox.send_continue"  # environ key of the server's 100 Continue (see the server)
_S3_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
StartResponse = Callable[..., Any]


@dataclass
class Action:
    """What a hook asks of one request: ``answer`` it without the app (status, headers, body); let the app answer
    but ``drop_answer`` (the connection closes, no answer sent); ``hold`` the answer that many seconds; ``after``:
    called once the app has answered (to restore a setting); ``cut``: the app never sees it and the connection
    closes unanswered (the S3 side gone, a power cut), after waiting for ``wait`` (at most ``wait_max`` s)."""

    answer: tuple[int, list[tuple[str, str]], bytes] | None = None
    cut: bool = False
    wait: threading.Event | None = None
    wait_max: float = 0.0
    drop_answer: bool = False
    hold: float = 0.0
    after: Callable[[dict[str, Any]], None] | None = None
    note: str | None = None


class Hook(Protocol):
    def before(self, entry: dict[str, Any], environ: dict[str, Any]) -> Action | None: ...


def token_label(token: str) -> str:
    """How a log names a token: the first 12 hex digits of its SHA-256 (never the token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def set_body(environ: dict[str, Any], body: bytes) -> None:
    """Replace a request's body (already read) with `body`."""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """Read a small body and put it back for the app; None when it is too big or has no length."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not (length.isascii() and length.isdigit()) or int(length) > MAX_FORM:
        return None
    send_continue = environ.pop(SEND_CONTINUE, None)
    if send_continue is not None:  # a client waiting for its 100 Continue sends the body only then
        send_continue()
    wanted = int(length)
    try:
        body = environ["wsgi.input"].read(wanted)
    except OSError as exc:  # a silent or dropped body: the app must meet the same error when it reads
        environ["wsgi.input"] = _Replay(b"", exc)
        return None
    if len(body) < wanted:  # cut short: never hand the app a shorter body as if it were whole
        environ["wsgi.input"] = _Replay(body, ConnectionResetError("the client sent less than its Content-Length"))
        return None
    set_body(environ, body)
    return bytes(body)


class _Replay(io.RawIOBase):
    """The bytes the recorder already read from a body that ended early, then the error that ended it."""

    def __init__(self, head: bytes, error: OSError) -> None:
        self._head, self._error = io.BytesIO(head), error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._head.readinto(buffer)
        if n or not len(buffer):
            return n
        raise self._error


def read_fields(environ: dict[str, Any]) -> dict[str, Any]:
    """The fields of a small JSON or form body (the body stays readable for the app); {} when there are none."""
    body = _read_body(environ)
    if not body:
        return {}
    mimetype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if mimetype == "application/json" or (not mimetype and body[:1] == b"{"):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # the app answers such a body with its own 400
            return {}
        return data if isinstance(data, dict) else {}
    if mimetype == "multipart/form-data":
        copy = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        return dict(parse_form_data(copy)[1].items())
    return {k: v[0] for k, v in parse_qs(body.decode("latin-1")).items()}


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -MAX_NUMBER < value < MAX_NUMBER else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 20:
        return int(value.strip())
    return None


class Recorder:
    """Per-device logs of the requests a sandbox received (see the module docstring)."""

    def __init__(self, store: Store, *, limit: int = LIMIT, client_secret: str = "") -> None:
        self.store, self.limit, self.client_secret = store, limit, client_secret
        self.max_entries = MAX_ENTRIES
        self._logs: OrderedDict[str, deque[dict[str, Any]]] = OrderedDict()
        self._total = 0  # entries in all the logs
        self._counts: dict[str, int] = {}
        self._hooks: dict[str, Hook] = {}
        self._lock = threading.Lock()
        self._bucket_prefix = "/"
        self._routes: Map | None = None
        self._signed: Callable[[dict[str, Any]], bool] = lambda environ: False

    # -- reading ----------------------------------------------------------------------------------------
    def requests(self, device_id: str, since: int = 0) -> list[dict[str, Any]]:
        """The device's kept entries with index ``>= since``, oldest first (copies)."""
        with self._lock:
            return [dict(e) for e in self._logs.get(device_id, ()) if e["i"] >= since]

    def count(self, device_id: str) -> int:
        """How many requests of the device were recorded so far (kept or not): the next entry's index."""
        with self._lock:
            return self._counts.get(device_id, 0)

    def hook(self, device_id: str, hook: Hook | None) -> None:
        """Let `hook` see (and maybe act on) each request of the device before the app; None removes it."""
        with self._lock:
            if hook is None:
                self._hooks.pop(device_id, None)
            else:
                self._hooks[device_id] = hook

    def unhook(self, device_id: str, hook: Hook) -> None:
        """Remove `hook` from the device, if it is the device's hook (not one that came after it)."""
        with self._lock:
            if self._hooks.get(device_id) is hook:
                del self._hooks[device_id]

    def forget(self, device_id: str) -> None:
        """Drop a device's log, count and hook (the device was deleted)."""
        with self._lock:
            self._total -= len(self._logs.pop(device_id, ()))
            self._counts.pop(device_id, None)
            self._hooks.pop(device_id, None)

    def _append(self, device_id: str, entry: dict[str, Any]) -> None:
        with self._lock:
            log = self._logs.pop(device_id, None) or deque(maxlen=self.limit)
            self._logs[device_id] = log  # most recently used last
            entry["i"] = self._counts.get(device_id, 0)
            self._counts[device_id] = entry["i"] + 1
            kept = len(log)
            log.append(entry)
            self._total += len(log) - kept
            while len(self._logs) > 1 and (len(self._logs) > MAX_DEVICES or self._total > self.max_entries):
                gone, dropped = self._logs.popitem(last=False)
                self._total -= len(dropped)
                self._counts.pop(gone, None)

    # -- the middleware ---------------------------------------------------------------------------------
    def wrap(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        routes: Map,
        bucket: str,
        signed: Callable[[dict[str, Any]], bool] = lambda environ: False,
    ) -> Callable[..., Iterable[bytes]]:
        """The WSGI app that records `app`'s device requests (``routes``: the API's URL map, for templates;
        ``signed``: whether a part request carries a URL the sandbox signed)."""
        self._routes, self._bucket_prefix, self._signed = routes, f"/{bucket}/", signed

        def recorded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            try:
                described = self._describe(environ)
            except Exception:  # a request the recorder cannot read is the app's to answer, never a 500
                logger.warning("request not recorded: %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
                described = None
            if described is None:
                return app(environ, start_response)
            return self._record(app, environ, start_response, *described)

        return recorded

    def _record(
        self, app: Any, environ: dict[str, Any], start_response: StartResponse, device_id: str, entry: dict[str, Any]
    ) -> Iterable[bytes]:
        with self._lock:
            hook = self._hooks.get(device_id)
        action = hook.before(entry, environ) if hook is not None else None
        if action is not None and action.note:
            entry["note"] = action.note
        started = time.monotonic()
        captured: dict[str, Any] = {}
        if action is not None and action.cut:
            if action.wait is not None:
                action.wait.wait(action.wait_max)
            entry.update(status=None, error="no answer: the connection was cut (scenario)")
            self._finish(device_id, entry, started, {}, b"")
            _close_connection(environ)
            raise ConnectionAbortedError("scenario: the connection was cut")
        try:
            if action is not None and action.answer is not None:
                status, headers, body = action.answer
                captured.update(status=f"{status} {_reason(status)}", headers=headers)
            else:
                body = self._call(app, environ, captured)
        except BaseException:
            entry.update(status=None, error="no answer: the connection was dropped")
            self._finish(device_id, entry, started, {}, b"")
            raise
        self._finish(device_id, entry, started, captured, body)
        if action is not None and action.after is not None:
            action.after(entry)
        if action is not None and action.drop_answer:
            entry.update(status=None, error="answer dropped (scenario)")
            _close_connection(environ)
            raise ConnectionAbortedError("scenario: the answer was dropped")
        if action is not None and action.hold:
            time.sleep(action.hold)
        start_response(captured["status"], captured["headers"])
        return [body]

    @staticmethod
    def _call(app: Any, environ: dict[str, Any], captured: dict[str, Any]) -> bytes:
        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured.update(status=status, headers=headers)
            return lambda data: None

        result = app(environ, capture)
        try:
            return b"".join(result)  # device answers are small: JSON, an S3 error, or nothing
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _finish(
        self, device_id: str, entry: dict[str, Any], started: float, captured: dict[str, Any], body: bytes
    ) -> None:
        entry["ms"] = round((time.monotonic() - started) * 1000, 1)
        if "status" in captured:
            entry["status"] = int(str(captured["status"]).split()[0])
            headers = {k.lower(): v for k, v in captured["headers"]}
            limits = {h[12:]: _number(headers[h]) for h in RATE_HEADERS if h in headers}
            if limits:
                entry["ratelimit"] = limits
            if entry["status"] >= 400:
                entry["error"] = _error_code(body)
            elif entry.get("create") is not None:
                entry["asset"] = _json_id(body)
        token = entry.pop("_token", None)
        if token:
            entry["token_state"] = self._token_state(token)
        self._append(device_id, entry)

    # -- describing a request ---------------------------------------------------------------------------
    def _describe(self, environ: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(device id, entry) for a device request; None for anything else (the page, the controls)."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        headers = {
            h: environ.get("CONTENT_TYPE" if h == "content-type" else "HTTP_" + h.upper().replace("-", "_"))
            for h in KEPT_HEADERS
        }
        method = method[:MAX_METHOD]  # the device's to choose: anything up to the request line's 64 KiB
        entry: dict[str, Any] = {"i": None, "t": round(time.time(), 4), "method": method, "status": None}
        entry["headers"] = {k: v[:MAX_TEXT] for k, v in headers.items() if v is not None}
        if path.startswith(self._bucket_prefix):
            return self._describe_part(environ, entry)
        if not path.startswith("/v2/"):
            return None
        entry.update(kind="api", route=f"{method} {self._template(environ)}")
        kind, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if kind.lower() == "bearer" and value.strip():
            found = self.store.token(value.strip())
            entry.update(token=token_label(value.strip()), _token=value.strip())
            if found is None:
                return None
            if method == "POST" and path.rstrip("/") in CREATE_ROUTES:
                self.describe_create(environ, entry)
            return found.device_id, entry
        if path.startswith("/v2/auth/") and method == "POST":
            return self._describe_auth(environ, entry)
        return None

    def _describe_part(self, environ: dict[str, Any], entry: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        params = parse_qs(environ.get("QUERY_STRING", ""))
        asset = self.store.asset_by_upload(params.get("uploadId", [""])[0])
        if asset is None or not self._signed(environ):
            return None
        entry.update(kind="s3", route=f"{entry['method']} /<bucket>/<key>?partNumber&uploadId", asset=asset.id)
        entry["part"] = _number(params.get("partNumber", [""])[0])
        entry["size"] = _number(environ.get("CONTENT_LENGTH") or "")
        return asset.device_id, entry

    def _describe_auth(self, environ: dict[str, Any], entry: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        entry["kind"] = "oauth"
        fields = {k: v for k, v in read_fields(environ).items() if isinstance(v, str)}
        entry["grant"] = fields.get("grant_type", "")[:MAX_TEXT] or None
        path = environ.get("PATH_INFO", "").rstrip("/")
        if entry["grant"] == "refresh_token" or path.endswith("/revoke"):  # proof: the token itself
            token = fields.get("refresh_token" if entry["grant"] == "refresh_token" else "token", "")
            found = self.store.token(token) if token else None
            if found is not None and entry["grant"] == "refresh_token":
                entry["refresh"] = token_label(token)
            return (found.device_id, entry) if found is not None else None
        if fields.get("device_code"):  # the device-code grant: the code it was given
            entry["code"] = token_label(fields["device_code"])
            code = self.store.device_code(fields["device_code"])
            device = self.store.device_by_client_id(code.client_id) if code is not None else None
        elif self.client_secret and _same(fields.get("client_secret", ""), self.client_secret):
            device = self.store.device_by_client_id(fields.get("client_id", ""))
        else:
            device = None
        return (device.id, entry) if device is not None else None

    def describe_create(self, environ: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        """The create body's fields (and the numbers kept in the entry); the body stays readable."""
        fields = read_fields(environ)
        entry["create"] = {k: _number(fields.get(k)) for k in CREATE_FIELDS}
        return fields

    def _template(self, environ: dict[str, Any]) -> str:
        if self._routes is None:
            return str(environ.get("PATH_INFO", ""))
        try:
            rule, _ = self._routes.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:
            return "<no such route>"
        return str(rule.rule)

    def _token_state(self, token: str) -> str:
        found = self.store.token(token)
        if found is None:
            return "unknown"
        if found.revoked:
            return "revoked"
        return "expired" if found.expires_at <= time.time() else "live"


def _same(sent: str, secret: str) -> bool:
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), secret.encode())


def _reason(status: int) -> str:
    return {200: "OK", 401: "Unauthorized", 409: "Conflict", 429: "Too Many Requests"}.get(status, "Error")


def _error_code(body: bytes) -> str | None:
    """The code of an error answer: S3's ``<Code>``, Frame.io's ``title``, or OAuth's ``error``."""
    match = _S3_CODE.search(body[:4000])
    if match:
        return match.group(1).decode(errors="replace")
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("title"))[:100]
        if "error" in data:
            return str(data["error"])[:100]
    return None


def _json_id(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return str(data["id"]) if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def _close_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
