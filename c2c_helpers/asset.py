"""A C2C asset as the API returns it, and what a sandbox's controls can show of it (no C2C call can).

The fields the kit uses are attributes of :class:`Asset`; everything else stays in ``raw``. Its presigned
``upload_urls`` carry signatures, so the repr only counts them and :meth:`Asset.redacted_json` removes them.
It depends on nothing of the client but redaction, so every layer (errors included) can name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from c2c_helpers._redact import redact_url

__all__ = ["Asset", "SandboxControls"]


@dataclass(frozen=True, repr=False)
class Asset:
    """A C2C asset as the API returned it.

    The fields the kit uses are attributes; everything else is in ``raw``, the JSON exactly as received.
    The repr hides the presigned ``upload_urls`` (each carries a signature).

    Parameters
    ----------
    id : str
        The asset id (a UUID).
    name : str
        Display name in Frame.io.
    filetype : str or None
        MIME type; every part PUT must send it as ``Content-Type``.
    filesize : int or None
        Size in bytes.
    upload_urls : tuple of str
        Presigned PUT URLs, in part order (empty when the answer had none).
    status : str or None
        ``"created"`` as the create answer says; only a sandbox's controls can show it change (``"complete"``,
        ``"failed"``): a device cannot read its assets back.
    upload_completed_at : str or None
        When the service assembled the parts; ``None`` while uploading.
    raw : dict
        The whole JSON answer.

    Examples
    --------
    >>> a = Asset.from_json({"id": "9a28", "name": "C2C_TEST_CLIP.mp4", "filetype": "video/mp4",
    ...                      "filesize": 21136250, "status": "created", "upload_completed_at": None,
    ...                      "upload_urls": ["https://s3.example/k?partNumber=1&X-Amz-Signature=s1",
    ...                                      "https://s3.example/k?partNumber=2&X-Amz-Signature=s2"]})
    >>> a
    Asset(id='9a28', name='C2C_TEST_CLIP.mp4', filetype='video/mp4', filesize=21136250, status='created', upload_urls=<2 presigned URLs>, upload_completed_at=None)
    >>> a.is_complete
    False
    >>> a.redacted_json()["upload_urls"][0]
    'https://s3.example/k?partNumber=1&<signature redacted>'
    """  # noqa: E501

    id: str
    name: str
    filetype: str | None
    filesize: int | None
    upload_urls: tuple[str, ...]
    status: str | None
    upload_completed_at: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Asset:
        """Build an :class:`Asset` from the API's JSON (numbers may arrive as strings)."""
        if not isinstance(data, Mapping) or not data.get("id"):
            raise ValueError("not an asset: the JSON has no 'id'")
        filesize = data.get("filesize")
        urls = data.get("upload_urls") or ()
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            filetype=data.get("filetype"),
            filesize=int(filesize) if filesize is not None else None,
            upload_urls=tuple(str(u) for u in urls),
            status=data.get("status"),
            upload_completed_at=data.get("upload_completed_at"),
            raw=dict(data),
        )

    @property
    def is_complete(self) -> bool:
        """Whether the service has assembled the upload (``upload_completed_at`` is set and not failed)."""
        return bool(self.upload_completed_at) and self.status != "failed"

    def redacted_json(self) -> dict[str, Any]:
        """Return ``raw`` with every presigned URL's signature removed, safe to print."""
        out = dict(self.raw)
        if "upload_urls" in out and isinstance(out["upload_urls"], list):
            out["upload_urls"] = [redact_url(str(u)) for u in out["upload_urls"]]
        return out

    def __repr__(self) -> str:
        n = len(self.upload_urls)
        urls = f"<{n} presigned URL{'' if n == 1 else 's'}>" if n else "()"
        return (
            f"Asset(id={self.id!r}, name={self.name!r}, filetype={self.filetype!r}, filesize={self.filesize!r}, "
            f"status={self.status!r}, upload_urls={urls}, "
            f"upload_completed_at={self.upload_completed_at!r})"
        )


class SandboxControls(Protocol):
    """What a sandbox's controls offer that no C2C call does: an asset's state (the kit's ``Sandbox`` and
    ``RemoteSandbox`` have these methods; the real service has nothing like them).

    C2C is "write, but don't read": a device's token has no ``asset_read`` (``/v2/devices/me`` says
    ``"asset_read": false``), and Frame.io assembles a file on its own once every part is in, so for a device an
    upload is done when every part PUT got its 200. ``wait_for_asset`` blocks until the sandbox has assembled
    the asset (or failed it), raising :class:`TimeoutError` after `timeout` seconds and :class:`LookupError` for
    an unknown id; ``asset_detail`` is the state the sandbox shows (``status``, ``upload_completed_at``,
    ``sha256``, ...), or None.
    """

    def wait_for_asset(self, asset_id: str, timeout: float = ...) -> object: ...

    def asset_detail(self, asset_id: str) -> dict[str, Any] | None: ...
