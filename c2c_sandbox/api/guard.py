"""What a request passes before a view sees it: a plain ``Content-Length``; for the controls and the page, a
loopback ``Host``, the sandbox's own ``Origin``, and a CSRF token on forms.

The controls (``/sandbox/*``) and the page have no authentication: they are for the person at this machine. A
web page on another site must not drive them through that person's browser, so for those routes only:

- **Host** must name the sandbox by a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``, or the address it
  listens on) with its port: a DNS-rebinding page (``evil.example`` re-pointed at 127.0.0.1) sends its own name
  and is refused. With ``allow_remote`` (``c2c sandbox --i-know``), IP literals and this machine's host name are
  accepted too (rebinding always comes with a DNS name, never an IP literal).
- **Origin**, when the request carries one (browsers send it on every cross-site POST, fetch and form alike),
  must be the sandbox's own ``http://<Host>``.
- A **form** (``application/x-www-form-urlencoded``, ``multipart/form-data``, ``text/plain``: what an HTML
  form on any site can post), even an empty one (a form with no fields), must carry the page's CSRF token
  (``csrf_token``, a synchronizer token: random per sandbox run, embedded in the page, compared in constant
  time). A POST with no body and no ``Content-Type`` is a script's (a browser's carries an Origin). JSON (what
  RemoteSandbox, notebooks and tests send) needs none: a browser cannot send ``application/json`` cross-site
  without a CORS preflight, which the sandbox never grants. A body without a ``Content-Type`` is refused here
  (415), unlike on the C2C API: it is the one more kind of body a page on another site can send without a
  preflight.

Refusals are 403 (415 for the typeless body) in Frame.io's detailed shape. The C2C API (``/v2/*``, ``/health``,
``/openapi.json``) and the S3 part PUTs get none of these checks: devices, curl and SDKs reach Frame.io and S3
by their real names and never send an Origin, and their routes are guarded by tokens and signatures.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket

from flask import Flask, Response, current_app, request

from c2c_sandbox.api.common import EXTENSION, api_error

CSRF_FIELD = "csrf_token"
GUARDED = frozenset({"controls", "page"})  # the blueprints of the controls and the page
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A request the guard turns away; ``form`` when it was the page's own form with a stale token."""

    def __init__(self, status: int, detail: str, *, form: bool = False) -> None:
        super().__init__(detail)
        self.status, self.detail, self.form = status, detail, form


def install(app: Flask, *, remote: bool) -> None:
    """Check every request of ``app``; ``remote``: the sandbox was allowed to listen beyond loopback."""
    app.extensions[f"{EXTENSION}.csrf"] = secrets.token_urlsafe(32)
    app.extensions[f"{EXTENSION}.remote"] = remote
    app.before_request(check_request)


def csrf_token() -> str:
    """The token the page's forms carry (one per sandbox run)."""
    return str(current_app.extensions[f"{EXTENSION}.csrf"])


def check_request() -> Response | None:
    """Flask's before-request hook: None to go on, or the refusal."""
    length = request.headers.get("Content-Length")
    if length is not None and not (0 < len(length) <= 19 and length.isascii() and length.isdigit()):
        return api_error(400, f"Content-Length must be a number of bytes in decimal digits, got {length[:40]!r}")
    if request.blueprint not in GUARDED:
        return None
    _check_host()
    _check_origin()
    if request.method not in SAFE_METHODS:
        _check_body()
    return None


def _check_host() -> None:
    host = request.environ.get("HTTP_HOST", "")
    if host.endswith("]") or ":" not in host:  # no port: only right for port 80
        name, port = host, "80"
    else:
        name, _, port = host.rpartition(":")
    if port != str(request.environ.get("SERVER_PORT")) or not _known_name(name.lower()):
        raise Refused(
            403,
            f"Host {host[:80]!r} is not this sandbox: its controls and page answer only to 127.0.0.1, localhost or"
            f" [::1] on port {request.environ.get('SERVER_PORT')} (a guard against DNS rebinding)",
        )


def _known_name(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    bound = str(request.environ.get("SERVER_NAME", ""))
    if name == (f"[{bound}]" if ":" in bound else bound) and bound not in ("0.0.0.0", "::"):  # noqa: S104
        return True
    if not current_app.extensions[f"{EXTENSION}.remote"]:
        return False
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return name in {socket.gethostname().lower(), socket.getfqdn().lower()}


def _check_origin() -> None:
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower() != f"http://{request.environ.get('HTTP_HOST', '')}".lower():
        raise Refused(
            403,
            f"Origin {origin[:80]!r} is not this sandbox: its controls and page take requests from its own page"
            " only (a guard against cross-site requests)",
        )


def _check_body() -> None:
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.mimetype == "application/json" or not (has_body or request.mimetype):
        return  # JSON, or no body at all (a script's bare POST: a browser's carries an Origin, checked above)
    if request.mimetype in FORM_TYPES:
        sent = request.form.get(CSRF_FIELD, "") if request.mimetype != "text/plain" else ""
        if not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), csrf_token().encode()):
            raise Refused(
                403,
                "This form is out of date or did not come from the sandbox's page (its CSRF token does not match):"
                " reload the page and try again. Scripts send JSON (Content-Type: application/json).",
                form=True,
            )
        return
    if not request.mimetype:
        raise Refused(
            415,
            "The controls take a body only as application/json (or as the page's own form): a body without a"
            " Content-Type is one a page on another site could send.",
        )
