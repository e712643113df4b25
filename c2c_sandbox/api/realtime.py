"""Real-time uploads (Frame.io's "How to: Upload (Real-time)"): the asset-create branch and the parts call.

=====================================================================  =============================================
``POST /v2/devices/assets`` with ``"is_realtime_upload": true``        ``{"id", "name"}``: no size, no upload URLs
``POST /v2/devices/assets/<id>/realtime_upload/parts`` (and the        register parts as the file grows: their
``/v2/assets/...`` alias)                                              presigned URLs, in the order asked
=====================================================================  =============================================

What the reference states: the create call must be JSON, needs an extension (in ``name``, or ``extension``, the
two agreeing) and a ``filetype``, and no ``filesize``; a name made from an extension alone is ``[new file].ext``.
Parts are numbered 1..10,000; every part but the final one has at least 5 MiB (S3's rule); ``asset_filesize``
(1..5 TiB) is required with a part marked ``is_final``; ``asset_name`` renames an asset that still has its
default name (and is ignored otherwise); errors are 400, 401, 404 and 429. What the sandbox decides itself
(listed in docs/sandbox-and-frameio.md): one final part, after every other; a part registered again counts as
missing until its new URL is PUT; the general rate limit; which error answers what.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from c2c_sandbox.api.common import (
    Invalid,
    api_error,
    authenticated,
    by_client,
    int_field,
    json_object,
    model,
    rate_limited,
)
from c2c_sandbox.domain.model import Model
from c2c_sandbox.domain.records import Asset, Registered, RegistrationRefused, UploadClosed
from c2c_sandbox.s3.partstore import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE

MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB: S3's largest object, the reference's bound on asset_filesize
MAX_NAME = 255
#: The reference's format for ``extension`` is ``\..+``; the sandbox keeps it to a sane extension (inferred).
EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,16}$")
#: The reference: "asset will be created with name value of "[new file].extension"".
DEFAULT_STEM = "[new file]"

realtime = Blueprint("realtime", __name__)


# -- create -----------------------------------------------------------------------------------------------
def requested(body: dict[str, Any]) -> bool:
    """Whether a create call asks for a real-time upload (400 when it does so in a form, or not as a boolean)."""
    flag = body.get("is_realtime_upload")
    if flag is None or flag is False:
        return False
    if request.mimetype != "application/json":
        if str(flag).strip().lower() in ("false", "0", ""):
            return False
        raise Invalid("is_realtime_upload: a real-time upload must be created with a JSON body (application/json)")
    if flag is not True:
        raise Invalid(f"is_realtime_upload must be true or false, got {str(flag)[:40]!r}")
    return True


def name_and_extension(body: dict[str, Any]) -> tuple[str, bool]:
    """The asset's name and whether it is the default one: ``name`` (with an extension), else ``[new file].ext``.

    The reference: a real-time asset needs an extension, in ``name`` or in ``extension``; when both are given,
    they must agree (compared without regard to case: inferred).
    """
    extension, name = body.get("extension"), body.get("name")
    if extension is not None and (not isinstance(extension, str) or not EXTENSION.match(extension)):
        raise Invalid(f"extension must look like .mp4 (a dot, then letters and digits), got {str(extension)[:40]!r}")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise Invalid("name must be a non-empty string, or left out when extension is given")
    if name is None:
        if extension is None:
            raise Invalid("a real-time asset needs a file extension: send a name such as clip.mp4, or extension .mp4")
        return DEFAULT_STEM + extension, True
    checked_name(name)
    suffix = PurePosixPath(name).suffix
    if not suffix:
        raise Invalid(f"a real-time asset's name must have an extension (such as .mp4), got {name[:60]!r}")
    if extension is not None and suffix.lower() != extension.lower():
        raise Invalid(f"name {name[:60]!r} has the extension {suffix!r}, but extension says {extension!r}")
    return name, False


def checked_name(name: str) -> str:
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"name must be at most {MAX_NAME} printable characters")
    return name


def check_create(body: dict[str, Any]) -> None:
    """What else a real-time create must (not) carry: a ``filetype``, no ``filesize``, no ``parts``."""
    if body.get("filesize") is not None:
        raise Invalid("a real-time upload's size is not known when it is created: leave filesize out (or null)")
    if body.get("parts") is not None:
        raise Invalid("parts is for a basic upload: a real-time upload registers its parts as the file grows")
    if body.get("filetype") is None:
        raise Invalid("filetype is required when is_realtime_upload is true (a MIME type such as video/mp4)")


# -- the parts call ----------------------------------------------------------------------------------------
@realtime.post("/v2/devices/assets/<asset_id>/realtime_upload/parts")
@realtime.post("/v2/assets/<asset_id>/realtime_upload/parts")
@rate_limited("general", by_client)
@authenticated(scope="asset_create")
def register_parts(asset_id: str) -> Response:
    """Register parts of a real-time upload and get their presigned upload URLs, in the order asked."""
    sandbox = model()
    asset = sandbox.store.asset(asset_id)
    if asset is None or asset.device_id != g.device.id:  # another device's asset is not found either
        return api_error(404, f"No asset with id {asset_id[:64]!r}", "Not Found")
    if not asset.realtime:
        raise Invalid(f"asset {asset_id} is not a real-time upload (created without is_realtime_upload: true)")
    body = _json_body()
    parts = _parts(body)
    final = any(p.is_final for p in parts)
    filesize = int_field(body, "asset_filesize", required=final, minimum=1, maximum=MAX_OBJECT_SIZE)
    name = _asset_name(body, asset)
    return jsonify({"upload_urls": _register(sandbox, asset, parts, filesize, name)})


def _register(
    sandbox: Model, asset: Asset, parts: list[Registered], filesize: int | None, name: str | None
) -> list[str]:
    try:
        return sandbox.register_parts(asset, parts, filesize=filesize, name=name)
    except RegistrationRefused as exc:
        raise Invalid(str(exc)) from None
    except UploadClosed:
        current = sandbox.store.asset(asset.id)
        status = current.status if current else "gone"
        raise Invalid(f"asset {asset.id} takes no more parts: its upload is {status}") from None


def _json_body() -> dict[str, Any]:
    if request.mimetype != "application/json" and request.mimetype:
        raise Invalid(f"this call takes a JSON body (application/json), not {request.mimetype!r}")
    return json_object(request.get_data(cache=True), typed=True)


def _parts(body: dict[str, Any]) -> list[Registered]:
    """The ``parts`` list, each entry checked: ``number`` 1..10,000, ``size``, ``is_final`` (at most one)."""
    items = body.get("parts")
    if not isinstance(items, list) or not items:
        raise Invalid("parts is required: a non-empty list of {number, size, is_final}")
    if len(items) > MAX_PARTS:
        raise Invalid(f"parts lists at most {MAX_PARTS} parts")
    parts = []
    for position, item in enumerate(items):
        where = f"parts[{position}]"
        if not isinstance(item, dict):
            raise Invalid(f"{where} must be an object with number, size and is_final")
        number = int_field(item, "number", required=True, minimum=1, maximum=MAX_PARTS)
        final = item.get("is_final")
        if not isinstance(final, bool):  # required: the reference's schema does not mark it optional
            raise Invalid(f"{where}.is_final is required: true or false")
        size = int_field(item, "size", required=True, minimum=0 if final else 1, maximum=MAX_PART_SIZE)
        assert number is not None and size is not None
        if not final and size < MIN_PART_SIZE:
            raise Invalid(
                f"{where}: part {number} has {size:,} bytes; every part but the final one must have at least "
                f"{MIN_PART_SIZE:,} (5 MiB, S3's smallest part)"
            )
        parts.append(Registered(number, size, final))
    numbers = [p.number for p in parts]
    if len(set(numbers)) < len(numbers):
        twice = sorted({n for n in numbers if numbers.count(n) > 1})
        raise Invalid(f"parts lists part {twice[0]} more than once: each part once per call (its URL comes back once)")
    finals = [p.number for p in parts if p.is_final]
    if len(set(finals)) > 1:
        raise Invalid(f"parts {finals[0]} and {finals[1]} are both marked is_final: an upload has one final part")
    return parts


def _asset_name(body: dict[str, Any], asset: Asset) -> str | None:
    """``asset_name``, checked: a name with the asset's extension (the reference's format is ``\\..+``)."""
    name = body.get("asset_name")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise Invalid("asset_name must be a non-empty string")
    checked_name(name)
    suffix, ours = PurePosixPath(name).suffix, PurePosixPath(asset.name).suffix
    if suffix.lower() != ours.lower():
        raise Invalid(f"asset_name {name[:60]!r} must keep the asset's extension {ours!r}")
    return name
