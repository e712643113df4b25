"""The web page: the device folders, each asset's state and parts, a player, and the pairing form.

=========================================  ==================================================================
``GET  /``, ``GET /pair``                  the page (``/pair?code=123456`` fills the form in)
``GET  /sandbox/tree``                     the folder tree alone (the page refreshes it)
=========================================  ==================================================================
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from .common import model

page = Blueprint("page", __name__)


def render_page(*, error: str | None = None, code: str = "") -> str:
    sb = model()
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


@page.get("/")
@page.get("/pair")
def index() -> Response:
    return Response(render_page(code=request.args.get("code", "")), mimetype="text/html")


@page.get("/sandbox/tree")
def tree_fragment() -> Response:
    return Response(render_template("tree.html", tree=model().tree()), mimetype="text/html")
