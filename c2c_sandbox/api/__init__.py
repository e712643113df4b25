"""The API side: a Flask app with Frame.io's C2C device endpoints, the ``/sandbox/*`` controls and the web page.

One blueprint per surface: :mod:`~c2c_sandbox.api.oauth` (pairing and tokens), :mod:`~c2c_sandbox.api.devices`
(the C2C surface: the device, assets, health, OpenAPI), :mod:`~c2c_sandbox.api.realtime` (real-time parts),
:mod:`~c2c_sandbox.api.channels` (channels, real-time logging, comments), :mod:`~c2c_sandbox.api.controls`
(``/sandbox/*``) and :mod:`~c2c_sandbox.api.page` (the web page). Every refusal is a Frame.io-shaped JSON
error (the detailed shape; ``{"error": ...}`` on the OAuth endpoints), never a stack trace.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, g, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from c2c_sandbox.api import checks as checks  # the scorecard's routes join the controls and page blueprints
from c2c_sandbox.api import guard
from c2c_sandbox.api.channels import channels
from c2c_sandbox.api.common import EXTENSION, Invalid, LeakyBucket, api_error
from c2c_sandbox.api.controls import controls
from c2c_sandbox.api.devices import check_client_version, devices
from c2c_sandbox.api.oauth import oauth
from c2c_sandbox.api.page import html, page, render_page
from c2c_sandbox.api.realtime import realtime
from c2c_sandbox.domain.model import Model

__all__ = ["create_app"]

for _blueprint in (realtime, channels):  # every C2C call checks x-client-version, as the devices blueprint does
    _blueprint.before_request(check_client_version)

log = logging.getLogger("c2c_sandbox.api")


#: S3's words for a body that went silent (the API answers it too, 400, in Frame.io's detailed shape).
IDLE_DETAIL = (
    "Your socket connection to the server was not read from or written to within the timeout period."
    " Idle connections will be closed."
)


def create_app(model: Model, *, remote: bool = False) -> Flask:
    """The Flask app serving the API, the controls and the page of one sandbox's model.

    ``remote``: the sandbox listens beyond loopback (``allow_remote``), which widens the names the controls'
    Host check accepts (:mod:`~c2c_sandbox.api.guard`).
    """
    app = Flask(__name__, template_folder=Path(__file__).parents[1] / "templates")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = model
    app.extensions[f"{EXTENSION}.create"] = LeakyBucket(model.settings.create_rate, 1000)
    app.extensions[f"{EXTENSION}.general"] = LeakyBucket(model.settings.api_rate, 1000)
    for blueprint in (oauth, devices, realtime, channels, controls, page):
        app.register_blueprint(blueprint)
    guard.install(app, remote=remote)
    app.after_request(_add_headers)
    app.register_error_handler(Invalid, _invalid)
    app.register_error_handler(guard.Refused, _refused)
    app.register_error_handler(TimeoutError, _timed_out)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _add_headers(response: Response) -> Response:
    limit = getattr(g, "ratelimit", None)
    if limit is not None:
        response.headers["x-ratelimit-limit"] = str(limit[0])
        response.headers["x-ratelimit-remaining"] = str(limit[1])
        response.headers["x-ratelimit-window"] = str(limit[2])
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _invalid(exc: Invalid) -> Response:
    return api_error(exc.status, exc.detail)


def _refused(exc: guard.Refused) -> Response:
    if exc.form and request.accept_mimetypes.accept_html:  # the page's own form, loaded before a restart
        return html(render_page(error=exc.detail), exc.status)
    return api_error(exc.status, exc.detail)


def _timed_out(exc: TimeoutError) -> Response:
    """A body that went silent for the idle timeout (the socket's timeout): S3's answer, and the connection closes."""
    return api_error(400, IDLE_DETAIL, "Request Timeout")


def _http_error(exc: HTTPException) -> Response:
    if isinstance(exc, ClientDisconnected) and isinstance(exc.__context__, TimeoutError):
        return _timed_out(exc.__context__)  # werkzeug's body stream turns the socket's timeout into this
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


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return api_error(500, "The sandbox hit an unexpected error; it has been logged", "Internal Server Error")
