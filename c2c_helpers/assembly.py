"""Waiting for assembly: what only a sandbox's controls can show, never a C2C call.

C2C is "write, but don't read": a device's token has no ``asset_read`` (Frame.io's "The Zen of Camera to
Cloud"; ``/v2/devices/me`` says ``"asset_read": false``), and Frame.io assembles a file on its own once every
part is in. So for a device an upload is done when every part PUT got its 200, and nothing a device runs may
depend on seeing the assembly. The kit's sandbox can show it through its controls (``/sandbox/...``), which a
lesson uses to prove the file arrived whole: :class:`SandboxControls` is what a client needs of them, and
:func:`wait_or_refuse` / :func:`assembled` are how :func:`~c2c_helpers.upload.upload_file` uses them.

>>> wait_or_refuse(None, None)  # no controls at hand: do not wait
False
>>> wait_or_refuse(True, None)
Traceback (most recent call last):
...
c2c_helpers.errors.ConfigurationError: wait=True needs a sandbox's controls to see the asset assembled, and a real device cannot see that (C2C is write, but don't read: the upload is done when every part got its 200), so leave wait out, or use a client from c2c_helpers.lab.connect() for a sandbox
"""  # noqa: E501

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from c2c_helpers.asset import Asset
from c2c_helpers.errors import AssetIncomplete, ConfigurationError

__all__ = ["NO_CONTROLS", "WAIT_TIMEOUT", "SandboxControls", "assembled", "wait_or_refuse"]

#: Default seconds ``upload_file`` waits for a sandbox to assemble the parts (only with its controls at hand).
WAIT_TIMEOUT = 120.0
#: Why ``wait=True`` is refused without a sandbox's controls (one sentence, said before anything is sent).
NO_CONTROLS = (
    "wait=True needs a sandbox's controls to see the asset assembled, and a real device cannot see that (C2C is "
    "write, but don't read: the upload is done when every part got its 200), so leave wait out, or use a client "
    "from c2c_helpers.lab.connect() for a sandbox"
)


class SandboxControls(Protocol):
    """What a sandbox's controls offer that no C2C call does: an asset's state (the kit's ``Sandbox`` and
    ``RemoteSandbox`` have these methods; the real service has nothing like them).

    ``wait_for_asset`` blocks until the sandbox has assembled the asset (or failed it), raising
    :class:`TimeoutError` after `timeout` seconds and :class:`LookupError` for an unknown id; ``asset_detail``
    is the state the sandbox shows (``status``, ``upload_completed_at``, ``sha256``, ...), or None.
    """

    def wait_for_asset(self, asset_id: str, timeout: float = ...) -> object: ...

    def asset_detail(self, asset_id: str) -> dict[str, Any] | None: ...


def wait_or_refuse(wait: bool | float | None, controls: SandboxControls | None) -> bool | float:
    """``wait`` as :func:`~c2c_helpers.request.check_request` takes it. None: wait when a sandbox's controls are
    at hand; a wait asked for without them: :class:`~c2c_helpers.errors.ConfigurationError`."""
    if wait is None:
        return controls is not None
    asked = wait is True or (isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0)
    if asked and controls is None:
        raise ConfigurationError(NO_CONTROLS)
    return wait


def assembled(controls: SandboxControls, asset: Asset, timeout: float, sent: list[int]) -> Asset:
    """The asset as the sandbox shows it once assembled; :class:`~c2c_helpers.errors.AssetIncomplete` if it is
    not assembled in time, or its assembly failed. `sent` (the parts sent) goes on the error."""
    try:
        controls.wait_for_asset(asset.id, timeout)
    except TimeoutError:
        status = (controls.asset_detail(asset.id) or {}).get("status")
        raise AssetIncomplete(
            f"asset {asset.id}: every part was acknowledged, but the sandbox had not assembled it after "
            f"{timeout:g} s (status {status!r}); a part may be missing",
            asset=asset,
            parts_sent=sent,
        ) from None
    except LookupError:
        raise AssetIncomplete(
            f"asset {asset.id}: the sandbox's controls do not know this asset (are they this client's sandbox?)",
            asset=asset,
            parts_sent=sent,
        ) from None
    detail = controls.asset_detail(asset.id) or {}
    asset = replace(asset, status=detail.get("status"), upload_completed_at=detail.get("upload_completed_at"))
    if asset.status == "failed":
        raise AssetIncomplete(
            f"asset {asset.id}: the sandbox reports its assembly failed ({detail.get('error') or 'no reason given'})",
            asset=asset,
            parts_sent=sent,
        )
    return asset
