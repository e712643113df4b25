"""The web page: the devices with their channels and logged events, the device folders, each asset's state,
parts and comments, a player, and the pairing form.

Players are shown only for media a browser plays (:data:`PLAYABLE`); the rest get a download link. The page's
Reset form posts to ``/sandbox/assets/clear`` (:mod:`~c2c_sandbox.api.controls`).

The page answers only to a loopback ``Host``, its form carries the CSRF token the controls check
(:mod:`~c2c_sandbox.api.guard`), and it may not be framed by another site (``frame-ancestors 'none'``).

=========================================  ==================================================================
``GET  /``, ``GET /pair``                  the page (``/pair?code=123456`` fills the form in)
``GET  /sandbox/tree``                     the folder tree alone (the page refreshes it)
``GET  /favicon.ico``                      the page's icon (an SVG)
=========================================  ==================================================================
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from c2c_sandbox.api.common import model
from c2c_sandbox.api.guard import CSRF_FIELD, csrf_token

page = Blueprint("page", __name__)


#: Media types a browser plays in a ``<video>``/``<audio>`` element (not QuickTime, MXF, RAW, ...).
PLAYABLE = frozenset(
    {"video/mp4", "video/webm", "video/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/webm"}
    | {"audio/flac", "audio/wav", "audio/wave", "audio/x-wav"}
)
#: The page's icon: a cloud over an upload arrow, in the page's accent colour.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4fd1"/>'
    '<path d="M9 22a5 5 0 0 1 1-9.9A7 7 0 0 1 23.5 12 5 5 0 0 1 23 22z" fill="#fff"/>'
    '<path d="M16 25v-9m-4 4 4-4 4 4" stroke="#1f4fd1" stroke-width="2.5" fill="none"/></svg>'
)


@page.app_template_global()
def plays_in_browser(filetype: str) -> bool:
    """Whether the page shows a player for media of this type (``video/mp4`` yes, ``video/quicktime`` no)."""
    return filetype.split(";")[0].strip().lower() in PLAYABLE


#: With more assets than this on the page, players load nothing until played (a fleet's folders stay light).
LIGHT_PLAYERS_FROM = 8


def tree_context() -> dict[str, Any]:
    """What ``tree.html`` shows: the folders, and whether there are enough assets to keep the players light."""
    tree = model().tree()
    assets = sum(len(dev["assets"]) for day in tree for cat in day["categories"] for dev in cat["devices"])
    return {"tree": tree, "light_players": assets > LIGHT_PLAYERS_FROM}


def render_page(*, error: str | None = None, code: str = "") -> str:
    sb = model()
    paired = request.args.get("paired")
    device = sb.store.device(paired) if paired else None
    return render_template(
        "index.html",
        **tree_context(),
        network=sb.network.profile,
        error=error,
        code=code[:6] if code.isdigit() else "",
        paired=device,
        pending=len(sb.store.pending_codes()),
        devices=sb.devices_state(),
        cleared=request.args.get("cleared", type=int),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(),
    )


def html(body: str, status: int = 200) -> Response:
    """An HTML answer of the page's, which no other site may frame (the pairing form is one click away)."""
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@page.get("/")
@page.get("/pair")
def index() -> Response:
    return html(render_page(code=request.args.get("code", "")))


@page.get("/favicon.ico")
def favicon() -> Response:
    response = Response(FAVICON, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "max-age=86400"
    return response


@page.get("/sandbox/tree")
def tree_fragment() -> Response:
    return Response(render_template("tree.html", **tree_context()), mimetype="text/html")
