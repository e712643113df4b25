"""The sandbox's C2C API over real HTTP: every endpoint, every documented error, bad input of every kind."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox

MiB = 1024 * 1024
CLIP = 21_136_250
NOT_AUTHORIZED = {
    "code": 401,
    "errors": [
        {"code": 401, "detail": "You are not allowed to access that resource", "status": 401, "title": "Not Authorized"}
    ],
    "message": "Not Authorized",
}
CHANNEL_PAUSED = {
    "code": 409,
    "errors": [
        {
            "code": 409,
            "detail": "The channel you're uploading from is currently paused.",
            "status": 409,
            "title": "Channel Paused",
        }
    ],
    "message": "Channel Paused",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "x-client-version": "2.0.0"}


def create(sb: Sandbox, token: str | None = None, **body: Any) -> requests.Response:
    fields = {"name": "C2C_TEST_CLIP.mp4", "filetype": "video/mp4", "filesize": CLIP, "offset": 10, **body}
    return requests.post(
        f"{sb.api_url}/v2/devices/assets", json=fields, headers=auth(token or sb.access_token), timeout=10
    )


def assert_detailed(response: requests.Response, status: int, title: str | None = None) -> dict[str, Any]:
    """A Frame.io detailed error: code, errors[{code, detail, status, title}], message."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == status and body["errors"][0]["status"] == status and body["errors"][0]["code"] == status
    assert body["errors"][0]["detail"]
    if title:
        assert body["errors"][0]["title"] == title and body["message"] == title
    assert "Traceback" not in response.text
    return body


def pair(sb: Sandbox, client_id: str, **extra: str) -> dict[str, Any]:
    """The whole device-code flow: code, approval as a person would, poll until the token comes."""
    code = requests.post(
        f"{sb.api_url}/v2/auth/device/code",
        timeout=10,
        data={"client_id": client_id, "client_secret": sb.client_secret, "scope": "asset_create offline", **extra},
    )
    assert code.status_code == 200, code.text
    sb.approve(code.json()["user_code"])
    tokens = requests.post(
        f"{sb.api_url}/v2/auth/token",
        timeout=10,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": client_id,
            "device_code": code.json()["device_code"],
        },
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


# -- health, me, heartbeat ----------------------------------------------------------------------------------
def test_health(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.api_url}/health", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_me_describes_the_paired_device(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.api_url}/v2/devices/me", headers=auth(sandbox.access_token), timeout=5)
    assert response.status_code == 200
    me = response.json()
    assert me["_type"] == "project_device" and me["name"] == "Sandbox Camera" and me["status"] == "online"
    assert me["project"] == {"id": me["project_id"], "name": "Sandbox Project"}
    assert me["authorization"]["scopes"] == {"asset_create": True, "offline": True, "asset_read": False}
    assert me["channels"][0]["_type"] == "project_device_channel" and me["channels"][0]["external_index"] == 0
    assert me["last_known_firmware_version"] == "2.0.0"  # the x-client-version it sent
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-window"):
        assert header in response.headers


def test_heartbeat_is_204(sandbox: Sandbox) -> None:
    response = requests.post(f"{sandbox.api_url}/v2/devices/heartbeat", headers=auth(sandbox.access_token), timeout=5)
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "bearer   "])
@pytest.mark.parametrize("path", ["/v2/devices/me", "/v2/assets/00000000-0000-0000-0000-000000000000"])
def test_bad_tokens_get_401_in_the_detailed_shape(sandbox: Sandbox, header: str | None, path: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(f"{sandbox.api_url}{path}", headers=headers, timeout=5)
    assert_detailed(response, 401, "Not Authorized")
    assert response.json() == NOT_AUTHORIZED


def test_create_needs_a_token(sandbox: Sandbox) -> None:
    response = requests.post(f"{sandbox.api_url}/v2/devices/assets", json={"name": "a"}, timeout=5)
    assert response.json() == NOT_AUTHORIZED and response.status_code == 401


def test_expired_and_revoked_tokens_get_401(sandbox: Sandbox) -> None:
    tokens = pair(sandbox, "test-expiry-01")
    me = f"{sandbox.api_url}/v2/devices/me"
    assert requests.get(me, headers=auth(tokens["access_token"]), timeout=5).status_code == 200
    assert sandbox.expire_token(tokens["access_token"])
    assert_detailed(requests.get(me, headers=auth(tokens["access_token"]), timeout=5), 401)

    fresh = pair(sandbox, "test-revoke-01")
    revoke = requests.post(
        f"{sandbox.api_url}/v2/auth/revoke",
        timeout=5,
        data={"client_id": "test-revoke-01", "client_secret": sandbox.client_secret, "token": fresh["access_token"]},
    )
    assert revoke.status_code == 200
    assert_detailed(requests.get(me, headers=auth(fresh["access_token"]), timeout=5), 401)


def test_token_lifetime_is_configurable(tmp_path) -> None:
    with Sandbox(data_dir=tmp_path, token_ttl=1) as sb:
        url = f"{sb.api_url}/v2/devices/me"
        assert requests.get(url, headers=auth(sb.access_token), timeout=5).status_code == 200
        time.sleep(1.1)
        assert requests.get(url, headers=auth(sb.access_token), timeout=5).status_code == 401


# -- pairing ------------------------------------------------------------------------------------------------
def test_device_code_response(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.api_url}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-123456", "client_secret": sandbox.client_secret, "scope": "asset_create offline"},
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"device_code", "user_code", "expires_in", "interval", "name"}
    assert len(body["user_code"]) == 6 and body["user_code"].isdigit()
    assert 0 < body["expires_in"] <= 120 and body["interval"] == 1


def test_device_code_accepts_multipart_form_and_platypus_header(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.api_url}/v2/auth/device/code",
        timeout=5,
        headers={"x-client-platypus-enabled": "true"},
        files={
            "client_id": (None, "SN-multipart"),
            "client_secret": (None, sandbox.client_secret),
            "scope": (None, "asset_create offline"),
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert body["verification_uri"] == f"{sandbox.api_url}/pair"
    assert body["verification_uri_complete"] == f"{sandbox.api_url}/pair?code={body['user_code']}"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"client_id": "x", "client_secret": "wrong"}, "invalid_client"),
        ({"client_id": "x"}, "invalid_client"),
        ({"client_secret": "<secret>"}, "invalid_request"),
        ({"client_id": "x", "client_secret": "<secret>", "scope": "admin"}, "invalid_scope"),
    ],
)
def test_device_code_refusals(sandbox: Sandbox, data: dict[str, str], error: str) -> None:
    data = {k: (sandbox.client_secret if v == "<secret>" else v) for k, v in data.items()}
    response = requests.post(f"{sandbox.api_url}/v2/auth/device/code", data=data, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == error


def test_pairing_poll_pending_slow_down_then_token(sandbox: Sandbox) -> None:
    base = sandbox.api_url
    code = requests.post(
        f"{base}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-poll", "client_secret": sandbox.client_secret, "scope": "asset_create offline"},
    ).json()
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": "SN-poll",
        "device_code": code["device_code"],
    }
    first = requests.post(f"{base}/v2/auth/token", data=poll, timeout=5)
    assert first.status_code == 400 and first.json() == {"error": "authorization_pending"}
    too_fast = requests.post(f"{base}/v2/auth/token", data=poll, timeout=5)
    assert too_fast.status_code == 400 and too_fast.json() == {"error": "slow_down"}
    device = sandbox.approve(code["user_code"])
    assert device.name == code["name"]
    time.sleep(1.05)  # the interval was 1 s; slow_down made it 6 s, but approval answers at once
    granted = requests.post(f"{base}/v2/auth/token", data=poll, timeout=5)
    assert granted.status_code == 200, granted.text
    tokens = granted.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 28800
    assert len(tokens["refresh_token"]) == 36  # a uuid
    me = requests.get(f"{base}/v2/devices/me", headers=auth(tokens["access_token"]), timeout=5).json()
    assert me["id"] == device.id and me["name"] == code["name"]
    again = requests.post(f"{base}/v2/auth/token", data=poll, timeout=5)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_pairing_code_expires(tmp_path) -> None:
    with Sandbox(data_dir=tmp_path, code_ttl=1, poll_interval=0) as sb:
        code = requests.post(
            f"{sb.api_url}/v2/auth/device/code",
            timeout=5,
            data={"client_id": "SN-late", "client_secret": sb.client_secret, "scope": "asset_create offline"},
        ).json()
        assert code["expires_in"] == 1
        time.sleep(1.1)
        response = requests.post(
            f"{sb.api_url}/v2/auth/token",
            timeout=5,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": "SN-late",
                "device_code": code["device_code"],
            },
        )
        assert response.status_code == 400 and response.json() == {"error": "expired_token"}
        with pytest.raises(ValueError, match="no pending pairing"):
            sb.approve(code["user_code"])


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "x", "device_code": "nope"},
            "invalid_grant",
        ),
        (
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": "x",
                "device_code": "nope",
                "client_secret": "wrong",
            },
            "invalid_client",
        ),
    ],
)
def test_token_refusals(sandbox: Sandbox, data: dict[str, str], error: str) -> None:
    response = requests.post(f"{sandbox.api_url}/v2/auth/token", data=data, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == error


@pytest.mark.parametrize("code", ["12345", "abcdef", "", "1234567"])
def test_approve_refuses_malformed_codes(sandbox: Sandbox, code: str) -> None:
    with pytest.raises(ValueError, match="six digits"):
        sandbox.approve(code)


def test_refresh_tokens_rotate_and_are_single_use(sandbox: Sandbox) -> None:
    tokens = pair(sandbox, "SN-refresh")
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "SN-refresh",
        "client_secret": sandbox.client_secret,
    }
    renewed = requests.post(f"{sandbox.api_url}/v2/auth/token", data=refresh, timeout=5)
    assert renewed.status_code == 200
    new = renewed.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    me = requests.get(f"{sandbox.api_url}/v2/devices/me", headers=auth(new["access_token"]), timeout=5)
    assert me.status_code == 200
    reused = requests.post(f"{sandbox.api_url}/v2/auth/token", data=refresh, timeout=5)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_request"
    wrong_secret = dict(refresh, refresh_token=new["refresh_token"], client_secret="nope")
    assert requests.post(f"{sandbox.api_url}/v2/auth/token", data=wrong_secret, timeout=5).json() == {
        "error": "invalid_client"
    }
    other_device = dict(refresh, refresh_token=new["refresh_token"], client_id="someone-else")
    assert requests.post(f"{sandbox.api_url}/v2/auth/token", data=other_device, timeout=5).json() == {
        "error": "invalid_grant"
    }


def test_revoking_a_refresh_token_revokes_its_grant(sandbox: Sandbox) -> None:
    tokens = pair(sandbox, "SN-revoke-grant")
    requests.post(
        f"{sandbox.api_url}/v2/auth/revoke",
        timeout=5,
        data={"client_id": "SN-revoke-grant", "client_secret": sandbox.client_secret, "token": tokens["refresh_token"]},
    )
    me = requests.get(f"{sandbox.api_url}/v2/devices/me", headers=auth(tokens["access_token"]), timeout=5)
    assert me.status_code == 401
    refresh = requests.post(
        f"{sandbox.api_url}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "SN-revoke-grant",
            "client_secret": sandbox.client_secret,
        },
    )
    assert refresh.json()["error"] == "invalid_request"


def test_revoke_needs_client_credentials(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.api_url}/v2/auth/revoke",
        timeout=5,
        data={"client_id": "x", "client_secret": "wrong", "token": sandbox.access_token},
    )
    assert response.status_code == 400 and response.json() == {"error": "invalid_client"}
    me = requests.get(f"{sandbox.api_url}/v2/devices/me", headers=auth(sandbox.access_token), timeout=5)
    assert me.status_code == 200


def test_a_token_without_asset_create_gets_403(sandbox: Sandbox) -> None:
    code = requests.post(
        f"{sandbox.api_url}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-offline-only", "client_secret": sandbox.client_secret, "scope": "offline"},
    ).json()
    sandbox.approve(code["user_code"])
    tokens = requests.post(
        f"{sandbox.api_url}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "SN-offline-only",
            "device_code": code["device_code"],
        },
    ).json()
    assert_detailed(create(sandbox, tokens["access_token"]), 403)


# -- creating assets ----------------------------------------------------------------------------------------
def test_create_asset_as_the_guide_does(sandbox: Sandbox) -> None:
    response = create(sandbox)
    assert response.status_code == 200, response.text
    asset = response.json()
    assert asset["_type"] == "file" and asset["type"] == "file" and asset["status"] == "created"
    assert asset["name"] == "C2C_TEST_CLIP.mp4" and asset["filetype"] == "video/mp4" and asset["filesize"] == CLIP
    assert asset["upload_completed_at"] is None and asset["inserted_at"].endswith("Z")
    assert asset["parent_id"] and asset["project_id"]
    assert len(asset["upload_urls"]) == 2
    for number, url in enumerate(asset["upload_urls"], start=1):
        assert f"partNumber={number}&" in url
        assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl" in url and "X-Amz-Expires=86400" in url
    got = requests.get(f"{sandbox.api_url}/v2/assets/{asset['id']}", headers=auth(sandbox.access_token), timeout=5)
    assert_detailed(got, 403, "Forbidden")  # write, but don't read: its state is a sandbox control
    shown = requests.get(f"{sandbox.api_url}/sandbox/assets/{asset['id']}", timeout=5).json()
    assert shown["status"] == "created" and shown["upload_completed_at"] is None


def test_the_legacy_path_behaves_the_same(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.api_url}/v2/assets",
        headers=auth(sandbox.access_token),
        timeout=5,
        json={"name": "a.mp4", "filetype": "video/mp4", "filesize": CLIP, "offset": 0},
    )
    assert response.status_code == 200 and len(response.json()["upload_urls"]) == 2


def test_form_encoding_and_numbers_as_strings(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.api_url}/v2/devices/assets",
        headers=auth(sandbox.access_token),
        timeout=5,
        data={
            "name": "form.mp4",
            "filetype": "video/mp4",
            "filesize": str(CLIP),
            "offset": "10",
            "parts": "3",
            "channel": "0",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["filesize"] == CLIP and len(response.json()["upload_urls"]) == 3
    as_strings = create(sandbox, filesize=str(CLIP), offset="10")
    assert as_strings.status_code == 200 and as_strings.json()["filesize"] == CLIP


@pytest.mark.parametrize(
    ("filesize", "urls"),
    [
        (1, 1),
        (5 * MiB, 1),
        (20 * MiB, 1),
        (20 * MiB + 1, 2),
        (CLIP, 2),
        (50_645_990, 3),
        (1024 * MiB, 52),
    ],
)
def test_default_part_count(sandbox: Sandbox, filesize: int, urls: int) -> None:
    response = create(sandbox, filesize=filesize)
    assert response.status_code == 200 and len(response.json()["upload_urls"]) == urls


@pytest.mark.parametrize(("filesize", "parts"), [(CLIP, 1), (CLIP, 4), (10 * MiB, 2), (6 * MiB, 1)])
def test_parts_is_honoured_within_s3_limits(sandbox: Sandbox, filesize: int, parts: int) -> None:
    response = create(sandbox, filesize=filesize, parts=parts)
    assert response.status_code == 200 and len(response.json()["upload_urls"]) == parts


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("parts", 0, "between 1 and 10000"),
        ("parts", 10_001, "between 1 and 10000"),
        ("parts", 5, "at least 5242880 bytes"),  # 21 MB in 5 parts: 4.2 MB parts
        ("parts", "many", "integer"),
        ("parts", 2.5, "whole number"),
        ("filesize", 0, "between 1"),
        ("filesize", -5, "between 1"),
        ("filesize", "21e6", "integer"),
        ("filesize", True, "boolean"),
        ("filesize", None, "filesize is required"),
        ("filesize", 6 * 1024**4, "between 1"),
        ("channel", -1, "between 0"),
        ("name", "", "name is required"),
        ("name", None, "name is required"),
        ("name", 42, "name must be a string"),
        ("name", "x" * 300, "at most 255"),
        ("name", "bad\nname", "printable"),
        ("filetype", "mp4", "MIME type"),
        ("filetype", ["video/mp4"], "filetype must be a string"),
    ],
)
def test_invalid_fields_get_400(sandbox: Sandbox, field: str, value: Any, detail: str) -> None:
    body: dict[str, Any] = {"name": "a.mp4", "filetype": "video/mp4", "filesize": CLIP, "offset": 0}
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = requests.post(
        f"{sandbox.api_url}/v2/devices/assets", json=body, headers=auth(sandbox.access_token), timeout=5
    )
    error = assert_detailed(response, 400, "Bad Request")  # the status the reference documents, not 422
    assert detail in error["errors"][0]["detail"]


def test_one_byte_parts_beyond_the_file_are_refused(sandbox: Sandbox) -> None:
    error = assert_detailed(create(sandbox, filesize=3, parts=4), 400)
    assert "last part would be empty" in error["errors"][0]["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"name=a", "text/plain", 415),
        (b"x" * (2 * MiB), "application/json", 413),
    ],
)
def test_malformed_bodies(sandbox: Sandbox, body: bytes, content_type: str, status: int) -> None:
    headers = {**auth(sandbox.access_token), "Content-Type": content_type}
    response = requests.post(f"{sandbox.api_url}/v2/devices/assets", data=body, headers=headers, timeout=10)
    assert_detailed(response, status)


def test_unknown_routes_methods_and_ids(sandbox: Sandbox) -> None:
    base = sandbox.api_url
    assert_detailed(requests.get(f"{base}/v2/nothing", timeout=5), 404)
    wrong_method = requests.get(f"{base}/v2/devices/assets", headers=auth(sandbox.access_token), timeout=5)
    assert_detailed(wrong_method, 405)
    assert "POST" in wrong_method.headers["Allow"]
    assert_detailed(requests.delete(f"{base}/v2/devices/me", timeout=5), 405)
    for asset_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "x" * 500):
        assert_detailed(  # known or not, a device cannot read an asset
            requests.get(f"{base}/v2/assets/{asset_id}", headers=auth(sandbox.access_token), timeout=5), 403
        )
    assert requests.get(f"{base}/health", timeout=5).status_code == 200  # still serving


def test_another_devices_asset_is_refused_like_its_own(sandbox: Sandbox) -> None:
    """The same 403 for every id: another device cannot even learn that the id exists."""
    asset = create(sandbox).json()
    other = pair(sandbox, "SN-other-device")
    response = requests.get(
        f"{sandbox.api_url}/v2/assets/{asset['id']}", headers=auth(other["access_token"]), timeout=5
    )
    assert_detailed(response, 403)
    mine = requests.get(f"{sandbox.api_url}/v2/assets/{asset['id']}", headers=auth(sandbox.access_token), timeout=5)
    assert response.json() == mine.json()


# -- pause and offset ---------------------------------------------------------------------------------------
def test_a_file_created_while_paused_is_refused(fresh_sandbox: Sandbox) -> None:
    sb = fresh_sandbox
    sb.pause()
    me = requests.get(f"{sb.api_url}/v2/devices/me", headers=auth(sb.access_token), timeout=5).json()
    assert me["status"] == "paused"
    response = create(sb, offset=0)
    assert response.status_code == 409 and response.json() == CHANNEL_PAUSED
    sb.resume()
    assert create(sb, offset=0).status_code == 200  # created after the pause ended
    sb.reset()
    now = time.time()
    sb.pause(start=now - 60, end=now - 30)  # the device was paused from a minute ago to 30 s ago
    assert create(sb, offset=45).status_code == 409  # the file was made 45 s ago, inside the window
    assert create(sb, offset=10).status_code == 200  # made after the window
    assert create(sb, offset=3600).status_code == 200  # made an hour ago, before it


def test_pausing_one_channel(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.pause(channel=1)
    assert create(fresh_sandbox, offset=0, channel=1).status_code == 409
    assert create(fresh_sandbox, offset=0, channel=0).status_code == 200


def test_pause_over_http(fresh_sandbox: Sandbox) -> None:
    sb = fresh_sandbox
    assert requests.post(f"{sb.api_url}/sandbox/pause", json={}, timeout=5).status_code == 200
    assert create(sb, offset=0).status_code == 409
    assert requests.post(f"{sb.api_url}/sandbox/resume", timeout=5).status_code == 200
    assert create(sb, offset=0).status_code == 200


# -- rate limit ---------------------------------------------------------------------------------------------
def test_asset_create_is_rate_limited_5_per_second(fresh_sandbox: Sandbox) -> None:
    # The bucket leaks back one place every 200 ms, so the countdown is exact only for a burst whose first six
    # creates fit in 200 ms; on a loaded machine a burst may be slower: let the bucket refill and try again.
    for _ in range(5):
        started = time.monotonic()
        answers = [create(fresh_sandbox, filesize=1) for _ in range(6)]
        if time.monotonic() - started < 0.2:
            break
        time.sleep(1.1)  # empty again: every place back
    else:
        pytest.fail("no burst of six creates fitted in 200 ms in five tries: the machine is too loaded to tell")
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 5 + [429]
    limited = answers[5]
    assert_detailed(limited, 429, "Too Many Requests")
    assert limited.headers["x-ratelimit-limit"] == "5" and limited.headers["x-ratelimit-window"] == "1000"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    time.sleep(0.45)  # the bucket leaks 5 per 1000 ms: two places free again after 400 ms
    assert create(fresh_sandbox, filesize=1).status_code == 200
