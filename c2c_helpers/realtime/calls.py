"""The two calls of a real-time upload (Frame.io's "How to: Upload (Real-time)"), each a plain function over a
:class:`~c2c_helpers.client.C2CClient`:

1. :func:`create_realtime_asset`: ``POST /v2/devices/assets`` with ``"is_realtime_upload": true`` and no
   ``filesize``; the answer is only ``{"id", "name"}``. It goes through the client's one create path
   (:meth:`~c2c_helpers.client.C2CClient.send_create`: the shared create budget, 429s waited out, never
   repeated after a 5xx or no answer);
2. :func:`register_parts`: ``POST /v2/devices/assets/{id}/realtime_upload/parts`` with
   ``{"parts": [{"number", "size", "is_final"}, ...]}`` (and ``asset_filesize`` with the final part): one
   presigned URL per part, in the order asked, each checked to be signed for its part's number.

Each URL is then PUT as in the basic guide, by the same pool and part sender (:mod:`c2c_helpers.pool`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from c2c_helpers._http import json_answer
from c2c_helpers.asset import Asset
from c2c_helpers.chunks import part_number_of
from c2c_helpers.client import C2CClient
from c2c_helpers.errors import APIError, C2CError, InvalidArgument, RateLimited, UploadError
from c2c_helpers.realtime.growing import LivePart
from c2c_helpers.retry import RetryPolicy, rate_limit_wait

__all__ = ["MAX_BATCH", "create_realtime_asset", "register_parts"]

logger = logging.getLogger("c2c_helpers")

#: Parts registered in one parts call at most: a camera that fell behind catches up in a few calls, and no
#: call carries more URLs than one answer should.
MAX_BATCH = 16


def create_realtime_asset(
    client: C2CClient,
    *,
    filetype: str,
    name: str | None = None,
    extension: str | None = None,
    offset: int = 0,
    channel: int | None = None,
) -> Asset:
    """``POST /v2/devices/assets`` with ``is_realtime_upload: true``: no ``filesize``, no upload URLs.

    A name with an extension, or an ``extension`` (``".mp4"``: the asset is then named ``[new file].mp4``
    until the final parts call renames it). The answer becomes an :class:`~c2c_helpers.asset.Asset` with no
    size and no URLs (the parts call gives them, part by part).
    """
    body: dict[str, Any] = {"filetype": filetype, "is_realtime_upload": True, "offset": offset}
    body.update({k: v for k, v in (("name", name), ("extension", extension), ("channel", channel)) if v is not None})
    context = "create real-time asset (POST /v2/devices/assets)"
    response = client.send_create(body, context)
    answer = json_answer(response, context)
    if not isinstance(answer, dict) or not answer.get("id"):
        raise APIError(f"{context}: unexpected answer (no asset id)", status=response.status_code, response=response)
    return Asset(str(answer["id"]), str(answer.get("name", "")), filetype, None, (), "uploading", None, raw=answer)


def register_parts(
    client: C2CClient,
    asset_id: str,
    parts: Sequence[LivePart],
    *,
    asset_filesize: int | None = None,
    asset_name: str | None = None,
    retry: RetryPolicy | None = None,
) -> list[str]:
    """``POST .../realtime_upload/parts``: register `parts`, return their presigned URLs in the same order.

    ``asset_filesize`` goes with a final part (required then). A registration can be repeated safely (a repeat
    replaces), so a 429, a 5xx or no answer is retried with `retry`'s backoff. Each URL is checked to be signed
    for its part's number.
    """
    body: dict[str, Any] = {"parts": [p.registration() for p in parts]}
    if any(p.is_final for p in parts):
        if asset_filesize is None:
            raise InvalidArgument("asset_filesize is required with the final part")
        body["asset_filesize"] = asset_filesize
    if asset_name is not None:
        body["asset_name"] = asset_name
    path, policy = f"/v2/devices/assets/{asset_id}/realtime_upload/parts", retry or RetryPolicy()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            urls = json_answer(client.request("POST", path, json=body), f"POST {path}")["upload_urls"]
            break
        except C2CError as err:
            if not (err.retryable or isinstance(err, RateLimited)) or attempt == policy.max_attempts:
                raise
            wait = rate_limit_wait(err.retry_after, attempt) if isinstance(err, RateLimited) else policy.delay(attempt)
            logger.info("registering parts of %s: %s; again in %.2f s", asset_id, err, wait)
            time.sleep(wait)
    if len(urls) != len(parts) or any(part_number_of(u) != p.number for u, p in zip(urls, parts, strict=False)):
        raise UploadError(f"asset {asset_id}: the parts call's URLs do not match the parts asked for, in order")
    return [str(u) for u in urls]
