"""Drive a sandbox that runs in another process (``c2c sandbox``, ``c2c lab``) through its ``/sandbox/*`` routes.

:class:`RemoteSandbox` has the same teaching controls as :class:`~c2c_sandbox.Sandbox` (``approve``,
``pause``/``resume``, ``faults.inject``/``faults.clear``, ``set_url_ttl``, ``network``/``set_network``,
``expire_token``, ``clear_assets``, ``asset_sha256``, ``asset_bytes``, ``wait_for_asset``), so a notebook can
use either without caring where the sandbox lives.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from c2c_sandbox.domain.records import Device
from c2c_sandbox.network.profiles import NetworkProfile, resolve_network


class RemoteError(RuntimeError):
    """A control request the sandbox refused; the message is the sandbox's own detail."""


class _RemoteFaults:
    def __init__(self, remote: RemoteSandbox) -> None:
        self._remote = remote

    def inject(self, kind: str, part: int | None = None, times: int = 1, seconds: float | None = None) -> None:
        body: dict[str, Any] = {"kind": kind, "times": times}
        if part is not None:
            body["part"] = part
        if seconds is not None:
            body["seconds"] = seconds
        self._remote._call("POST", "/sandbox/faults", body, error=ValueError)

    def clear(self) -> None:
        self._remote._call("DELETE", "/sandbox/faults")

    def pending(self) -> list[dict[str, Any]]:
        return list(self._remote._call("GET", "/sandbox/faults")["planned"])

    @property
    def fired(self) -> dict[str, int]:
        return dict(self._remote._call("GET", "/sandbox/faults")["fired"])


class RemoteSandbox:
    """The controls of a sandbox listening at ``api_url`` (its ``/sandbox/*`` routes need no token)."""

    def __init__(self, api_url: str, *, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self.faults = _RemoteFaults(self)

    def __repr__(self) -> str:
        return f"<RemoteSandbox {self.api_url}>"

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, error: type[Exception] = RemoteError
    ) -> Any:
        response = self._session.request(method, self.api_url + path, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            try:
                detail = response.json()["errors"][0]["detail"]
            except (ValueError, KeyError, IndexError, TypeError):
                detail = f"HTTP {response.status_code}"
            raise error(detail)
        return response.json() if response.content else None

    def approve(self, user_code: str, project: str | None = None) -> Device:
        """Approve a pairing code; returns the (new or known) device, as :meth:`Sandbox.approve` does."""
        body = {"user_code": user_code, **({"project": project} if project else {})}
        answer = self._call("POST", "/sandbox/pair", body, error=ValueError)
        return Device(**{field: answer[field] for field in Device.__dataclass_fields__})

    def pause(
        self,
        channel: int | None = None,
        *,
        device_id: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        body = {
            k: v
            for k, v in {"channel": channel, "device_id": device_id, "start": start, "end": end}.items()
            if v is not None
        }
        self._call("POST", "/sandbox/pause", body, error=ValueError)

    def resume(self, channel: int | None = None, *, device_id: str | None = None) -> None:
        body = {k: v for k, v in {"channel": channel, "device_id": device_id}.items() if v is not None}
        self._call("POST", "/sandbox/resume", body, error=ValueError)

    @property
    def network(self) -> NetworkProfile:
        """The network conditions part uploads meet now (as :attr:`Sandbox.network <c2c_sandbox.Sandbox.network>`)."""
        return NetworkProfile.from_json(self._call("GET", "/sandbox/network")["network"])

    def set_network(self, network: str | NetworkProfile | dict[str, Any] | None) -> NetworkProfile:
        """Change the network conditions, live (a preset's name, ``"k=v,..."``, a profile, or None: loopback)."""
        body = resolve_network(network).to_json()  # checked here first: a bad spec is a ValueError, as in process
        answer = self._call("POST", "/sandbox/network", body, error=ValueError)
        return NetworkProfile.from_json(answer["network"])

    def set_url_ttl(self, seconds: int) -> None:
        self._call("POST", "/sandbox/settings", {"url_ttl": seconds}, error=ValueError)

    def expire_token(self, token: str) -> bool:
        try:
            self._call("POST", "/sandbox/tokens/expire", {"token": token})
        except RemoteError:
            return False
        return True

    def asset_detail(self, asset_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._call("GET", f"/sandbox/assets/{asset_id}"))
        except RemoteError:
            return None

    def asset_sha256(self, asset_id: str) -> str | None:
        detail = self.asset_detail(asset_id)
        return detail["sha256"] if detail else None

    def asset_bytes(self, asset_id: str) -> bytes:
        response = self._session.get(f"{self.api_url}/sandbox/assets/{asset_id}/original", timeout=self.timeout)
        if response.status_code != 200:
            raise LookupError(f"asset {asset_id} has no assembled original")
        return response.content

    def wait_for_asset(self, asset_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            detail = self.asset_detail(asset_id)
            if detail is None:
                raise LookupError(f"no asset {asset_id}")
            if detail["status"] in ("complete", "failed"):
                return detail
            if time.monotonic() > deadline:
                raise TimeoutError(f"asset {asset_id} is still {detail['status']} after {timeout} s")
            time.sleep(0.05)

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "/sandbox/state"))

    def clear_assets(self) -> int:
        """Delete every asset with its parts and original; devices and tokens stay. Returns how many."""
        return int(self._call("POST", "/sandbox/assets/clear")["cleared"])

    def reset(self) -> None:
        """Forget planned faults and pause windows; settings go back to what the sandbox was started with."""
        self._call("POST", "/sandbox/reset")
