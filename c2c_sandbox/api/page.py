"""The web page: the device folders, each asset's state and parts, a player, and the pairing form.

The page answers only to a loopback ``Host``, its form carries the CSRF token the controls check
(:mod:`~c2c_sandbox.api.guard`), and it may not be framed by another site (``frame-ancestors 'none'``).

=========================================  ==================================================================
``GET  /``, ``GET /pair``                  the page (``/pair?code=123456`` fills the form in)
``GET  /sandbox/tree``                     the folder tree alone (the page refreshes it)
=========================================  ==================================================================
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from .common import model
from .guard import CSRF_FIELD, csrf_token

page = Blueprint("page", __name__)


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


@page.get("/sandbox/tree")
def tree_fragment() -> Response:
    return Response(render_template("tree.html", **tree_context()), mimetype="text/html")
