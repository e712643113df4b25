"""The scorecard's routes: each device's recorded requests, and check sessions, as controls and on the page.

=========================================  ==================================================================
``GET  /sandbox/devices/<id>/requests``    the device's recorded requests, oldest first (``?since=N``)
``POST /sandbox/checks``                   start a check session (JSON, or the page's form): ``device_id``
                                           (none: a new device, whose credentials the answer holds), ``seed``
``GET  /sandbox/checks/<id>``              its state; once finished its scorecard (``?format=md``: the report)
``POST /sandbox/checks/<id>/finish``       stop playing the script and grade
``GET  /devices/<id>/requests``            the page's table of a device's requests
``GET  /checks/<id>``                      the page's view of a check session: what to do, then the grade
=========================================  ==================================================================

The routes join the ``controls`` and ``page`` blueprints, so they get the same guard (loopback ``Host``, own
``Origin``, the CSRF token on forms) as the rest of the controls and the page.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, redirect, render_template, request

from c2c_sandbox.api.common import Invalid, int_field, model
from c2c_sandbox.api.controls import control_body, controls
from c2c_sandbox.api.guard import CSRF_FIELD, csrf_token
from c2c_sandbox.api.page import html, page
from c2c_sandbox.s3.storeparts import STORE_MODE
from c2c_sandbox.scorecard.recorder import LIMIT
from c2c_sandbox.scorecard.report import markdown
from c2c_sandbox.scorecard.scenario import Session, SessionRefused

SHOWN = 300  # requests the page's table shows (the newest)


def _refuse_in_store_mode(what: str) -> None:
    if model().external is not None:
        raise Invalid(STORE_MODE.format(what=what), status=409)


def _session(check_id: str) -> Session:
    found = model().checks.get(check_id)
    if not isinstance(found, Session):
        raise Invalid(f"no check session {check_id[:40]}", status=404)
    return found


@controls.get("/devices/<device_id>/requests")
def device_requests(device_id: str) -> Response:
    _refuse_in_store_mode("the request recorder")
    if model().store.device(device_id) is None:
        raise Invalid(f"no device with id {device_id[:64]}", status=404)
    since = int_field(dict(request.args), "since", required=False, minimum=0, maximum=10**12, default=0) or 0
    recorder = model().recorder
    return jsonify(
        {
            "device_id": device_id,
            "recorded": recorder.count(device_id),
            "limit": LIMIT,
            "requests": recorder.requests(device_id, since=since),
        }
    )


@controls.post("/checks")
def start_check() -> Response:
    _refuse_in_store_mode("the scorecard")
    body = control_body()
    device_id = str(body.get("device_id") or "").strip() or None
    seed = int_field(body, "seed", required=False, minimum=0, maximum=2**31, default=0) or 0
    try:
        pair = str(body.get("pair", "")).lower() in ("1", "true", "on") and device_id is None  # it pairs itself
        session = Session(model(), device_id=device_id, seed=seed, pair=pair).start()
    except ValueError as exc:
        raise Invalid(str(exc), status=404) from None
    except SessionRefused as exc:
        raise Invalid(str(exc), status=409) from None
    if request.mimetype != "application/json":
        return redirect(f"/checks/{session.id}", code=303)  # type: ignore[return-value]
    return jsonify({**session.status(), "instructions": session.instructions(), "environment": session.environment()})


@controls.get("/checks/<check_id>")
def check_state(check_id: str) -> Response:
    session = _session(check_id)
    if request.args.get("format") == "md":
        if session.card is None:
            raise Invalid("the session is still running: finish it first", status=409)
        return Response(session.report(), mimetype="text/markdown")
    return jsonify(session.status())


@controls.post("/checks/<check_id>/finish")
def finish_check(check_id: str) -> Response:
    session = _session(check_id)
    session.finish()
    if request.mimetype != "application/json":
        return redirect(f"/checks/{session.id}", code=303)  # type: ignore[return-value]
    return jsonify(session.status())


@page.get("/devices/<device_id>/requests")
def requests_page(device_id: str) -> Response:
    device = model().store.device(device_id)
    if device is None:
        raise Invalid(f"no device with id {device_id[:64]}", status=404)
    entries = model().recorder.requests(device_id)[-SHOWN:]
    return html(render_template("requests.html", device=device, entries=entries, limit=LIMIT, shown=SHOWN))


@page.get("/checks/<check_id>")
def check_page(check_id: str) -> Response:
    session = _session(check_id)
    report = markdown(session.card, evidence=True) if session.card is not None else ""
    return html(render_template("check.html", session=session, card=session.card, report=report, **_form()))


def _form() -> dict[str, Any]:
    return {"csrf_field": CSRF_FIELD, "csrf_token": csrf_token()}


@page.app_context_processor
def _scorecard_context() -> dict[str, Any]:
    """What the page's scorecard section lists: the devices, and the check sessions of this run."""
    if request.blueprint != "page":
        return {}
    sessions = [s for s in model().checks.values() if isinstance(s, Session)]
    return {"scorecard_devices": model().store.devices(), "scorecard_sessions": sessions}
