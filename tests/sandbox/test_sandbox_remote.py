"""RemoteSandbox drives a sandbox in another process with the same controls as Sandbox itself."""

from __future__ import annotations

import os
import time

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.remote import RemoteSandbox

MiB = 1024 * 1024


def create(sb: Sandbox, size: int, offset: int = 0) -> requests.Response:
    return requests.post(
        f"{sb.api_url}/v2/devices/assets",
        timeout=5,
        headers={"Authorization": f"Bearer {sb.access_token}"},
        json={"name": "r.mp4", "filetype": "video/mp4", "filesize": size, "offset": offset, "parts": 1},
    )


def test_remote_controls(fresh_sandbox: Sandbox) -> None:
    sb = fresh_sandbox
    remote = RemoteSandbox(sb.api_url)
    assert repr(remote) == f"<RemoteSandbox {sb.api_url}>"

    code = requests.post(
        f"{sb.api_url}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-remote", "client_secret": sb.client_secret, "scope": "asset_create offline"},
    ).json()
    assert remote.approve(code["user_code"]).name == code["name"]
    with pytest.raises(ValueError, match="no pending pairing"):
        remote.approve("000000")

    remote.pause()
    assert create(sb, 10).status_code == 409
    remote.resume()
    remote.reset()
    assert create(sb, 10).status_code == 200

    remote.faults.inject("slow_down", part=1, times=2)
    assert remote.faults.pending() == [{"kind": "slow_down", "part": 1, "times": 2, "seconds": 1.0}]
    with pytest.raises(ValueError, match="unknown fault kind"):
        remote.faults.inject("meteor")
    remote.faults.clear()
    assert remote.faults.pending() == []

    remote.set_url_ttl(30)
    assert "X-Amz-Expires=30&" in create(sb, 10).json()["upload_urls"][0]
    with pytest.raises(ValueError):
        remote.set_url_ttl(0)

    data = os.urandom(MiB)
    asset = create(sb, len(data)).json()
    assert remote.asset_sha256(asset["id"]) is None
    requests.put(
        asset["upload_urls"][0], data=data, timeout=5, headers={"Content-Type": "video/mp4", "x-amz-acl": "private"}
    )
    assert remote.wait_for_asset(asset["id"])["status"] == "complete"
    assert remote.asset_bytes(asset["id"]) == data
    assert remote.asset_detail("nope") is None
    with pytest.raises(LookupError):
        remote.asset_bytes("nope")

    assert remote.expire_token(sb.access_token) and not remote.expire_token("unknown")
    time.sleep(0.01)
    assert (
        requests.get(
            f"{sb.api_url}/v2/devices/me", timeout=5, headers={"Authorization": f"Bearer {sb.access_token}"}
        ).status_code
        == 401
    )
