"""The teaching controls under ``/sandbox/*``: what a person, a lesson or a test does to the sandbox.

No token: they are for loopback only. :class:`~c2c_sandbox.remote.RemoteSandbox` drives them from another
process with the same methods as :class:`~c2c_sandbox.Sandbox`.

=========================================  ==================================================================
``GET  /sandbox/state``                    devices, folder tree, pending pairings, URL lifetime
``GET  /sandbox/assets/<id>``              an asset's state and parts; ``.../original`` its bytes
``POST /sandbox/assets/clear``             delete every asset, its parts and original (JSON, or the page's form)
``POST /sandbox/pair``                     approve a six-digit code (JSON, or the page's form)
``POST /sandbox/pause``, ``/resume``       pause windows of a device or a channel
``GET|POST|DELETE /sandbox/faults``        planned S3 faults
``POST /sandbox/settings``                 the URL lifetime
``GET|POST /sandbox/network``              the S3 side's network conditions (``{"preset": name}`` or fields)
``POST /sandbox/reset``                    no faults, no pauses, settings and network as started
``POST /sandbox/tokens/expire``            expire a token now
=========================================  ==================================================================
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, send_file

from c2c_sandbox.api.common import Invalid, api_error, float_field, int_field, model, request_body
from c2c_sandbox.api.page import html, render_page
from c2c_sandbox.network.profiles import PRESETS
from c2c_sandbox.s3.faults import FAULT_KINDS
from c2c_sandbox.s3.partstore import MAX_PARTS

controls = Blueprint("controls", __name__, url_prefix="/sandbox")


def control_body() -> dict[str, Any]:
    if not request.content_length:
        return {}
    return request_body()


def device_field(body: dict[str, Any]) -> str | None:
    device_id = body.get("device_id")
    if device_id is None or device_id == "":
        return None
    if not isinstance(device_id, str) or model().store.device(device_id) is None:
        raise Invalid(f"no device with id {str(device_id)[:64]}", status=404)
    return device_id


@controls.get("/state")
def state() -> Response:
    return jsonify(model().state())


@controls.get("/assets/<asset_id>")
def asset(asset_id: str) -> Response:
    detail = model().asset_detail(asset_id)
    if detail is None:
        return api_error(404, f"No asset with id {asset_id[:64]}")
    return jsonify(detail)


@controls.get("/assets/<asset_id>/original")
def original(asset_id: str) -> Response:
    found = model().store.asset(asset_id)
    path = model().parts.original(found) if found is not None else None
    if found is None or path is None:
        return api_error(404, "This asset has no assembled original (yet)")
    playable = plays_inline(found.filetype)
    response = send_file(
        path,
        mimetype=found.filetype,
        as_attachment=not playable,
        conditional=True,
        etag=found.sha256 or True,
        download_name=found.name,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    if playable:
        response.headers["Content-Disposition"] = "inline"
    return response


def plays_inline(filetype: str) -> bool:
    """Media a browser plays (the page's players) may be shown inline; anything else, HTML and SVG above all
    (their scripts would run in the sandbox's origin, beside its controls), is served as an attachment."""
    kind, _, subtype = filetype.lower().partition("/")
    return kind in ("video", "audio", "image") and "xml" not in subtype and "svg" not in subtype


@controls.post("/assets/clear")
def clear_assets() -> Response:
    cleared = model().clear_assets()
    if request.mimetype != "application/json" and request.content_length:  # the page's Reset form
        return redirect(f"/?cleared={cleared}", code=303)  # type: ignore[return-value]
    return jsonify({"cleared": cleared})


@controls.post("/pair")
def pair() -> Response:
    body = control_body()
    code = str(body.get("user_code", "")).strip().replace(" ", "").replace("-", "")
    project = str(body.get("project", "") or "").strip() or None
    wants_html = request.mimetype != "application/json"
    try:
        device = model().approve(code, project=project)
    except ValueError as exc:
        if wants_html:
            return html(render_page(error=str(exc), code=code), 400)
        raise Invalid(str(exc), status=404 if "no pending" in str(exc) else 422) from None
    if wants_html:
        return redirect(f"/?paired={device.id}", code=303)  # type: ignore[return-value]
    return jsonify({"device_id": device.id, **dataclasses.asdict(device)})


@controls.post("/pause")
def pause() -> Response:
    body = control_body()
    channel = int_field(body, "channel", required=False, minimum=0, maximum=63)
    start, end = float_field(body, "start"), float_field(body, "end")
    if start is not None and end is not None and end <= start:
        raise Invalid("end must come after start")
    model().pause(channel=channel, device_id=device_field(body), start=start, end=end)
    return jsonify(model().state()["devices"])


@controls.post("/resume")
def resume() -> Response:
    body = control_body()
    channel = int_field(body, "channel", required=False, minimum=0, maximum=63)
    model().resume(channel=channel, device_id=device_field(body))
    return jsonify(model().state()["devices"])


@controls.get("/faults")
def faults() -> Response:
    planned = model().faults
    return jsonify({"planned": planned.pending(), "fired": planned.fired, "kinds": list(FAULT_KINDS)})


@controls.post("/faults")
def inject() -> Response:
    body = control_body()
    kind = str(body.get("kind", ""))
    part = int_field(body, "part", required=False, minimum=1, maximum=MAX_PARTS)
    times = int_field(body, "times", required=False, minimum=1, maximum=1_000_000, default=1)
    assert times is not None
    try:
        model().faults.inject(kind, part=part, times=times, seconds=float_field(body, "seconds"))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return jsonify({"planned": model().faults.pending()})


@controls.delete("/faults")
def clear_faults() -> Response:
    model().faults.clear()
    return jsonify({"planned": []})


@controls.post("/settings")
def settings() -> Response:
    body = control_body()
    url_ttl = int_field(body, "url_ttl", required=False, minimum=1, maximum=7 * 86400)
    if url_ttl is not None:
        model().set_url_ttl(url_ttl)
    current = model().settings
    return jsonify({"url_ttl": current.url_ttl, "token_ttl": current.token_ttl, "poll_interval": current.poll_interval})


def network_json() -> dict[str, Any]:
    return {
        "network": model().network.profile.to_json(),
        "presets": {name: profile.to_json() for name, profile in PRESETS.items()},
    }


@controls.get("/network")
def network() -> Response:
    return jsonify(network_json())


@controls.post("/network")
def set_network() -> Response:
    """``{"preset": "set-wifi"}``, ``{"spec": "set-wifi,scale=10"}``, or a profile's fields (``uplink`` in bytes/s)."""
    body = control_body()
    spec: Any = body.get("spec", body)
    if not spec:
        raise Invalid("send a preset, a spec or a profile's fields")
    try:
        model().set_network(spec)
    except (TypeError, ValueError) as exc:
        raise Invalid(str(exc)) from None
    return jsonify(network_json())


@controls.post("/reset")
def reset() -> Response:
    model().reset()
    return jsonify({"faults": [], "pauses": [], "url_ttl": model().settings.url_ttl})


@controls.post("/tokens/expire")
def expire() -> Response:
    body = control_body()
    if not model().expire_token(str(body.get("token", ""))):
        raise Invalid("no such token", status=404)
    return jsonify({"expired": True})
