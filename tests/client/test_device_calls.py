"""The client's device calls beyond the upload, against the sandbox: channels, the logging trigger, comments, and
``/v2/devices/me`` after every grant and refresh (Frame.io's status guide)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from c2c_helpers import APIError, AuthError, C2CClient, ChannelExists, InvalidArgument, pair_client, pair_device
from c2c_sandbox import Sandbox


def new_asset(client: C2CClient) -> str:
    return client.create_asset("take.mp4", "video/mp4", 1000, 0).id


def test_a_channel_connects_once_and_disconnects(fresh_sandbox: Sandbox) -> None:
    with C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token) as client:
        ids = {"client_id": str(uuid.uuid4()), "device_model_id": str(uuid.uuid4())}
        channel = client.connect_channel(**ids)
        assert channel["_type"] == "project_device_channel" and channel["external_index"] == 1
        with pytest.raises(ChannelExists, match="Device channel already exists") as caught:
            client.connect_channel(**ids)
        assert caught.value.status == 409 and isinstance(caught.value, APIError)
        assert client.disconnect_channel(channel["id"]) == {}  # 204
        assert [c["status"] for c in client.me()["channels"]] == ["online", "offline"]
        client.connect_channel(**ids)  # back online
        assert client.disconnect_channel() == {}  # all of them: 204
        assert [c["status"] for c in client.me()["channels"]] == ["online", "offline"]
        with pytest.raises(APIError) as unknown:
            client.disconnect_channel(str(uuid.uuid4()))
        assert unknown.value.status == 404


def test_a_trigger_sends_smpte_timecodes(device_client: C2CClient) -> None:
    channel = device_client.me()["channels"][0]["id"]
    event = device_client.trigger_input(channel, 1, "01:00:00:00")
    assert event["action_type"] == "single_press" and event["input_index"] == 1 and event["offset"] == 0
    assert event["start"] == {"smpte_timecode": "01:00:00:00", "rate": {"playback": [24000, 1001], "ntsc": "non_drop"}}
    assert event["duration"]["smpte_timecode"] == "00:00:00:01"
    pal = device_client.trigger_input(channel, 0, "10:00:00:24", "00:00:02:00", offset=3, rate=(25, 1))
    assert pal["start"]["rate"] == {"playback": [25, 1], "ntsc": None} and pal["offset"] == 3
    drop = device_client.trigger_input(channel, 0, "10:00:00;29", rate=(30000, 1001))
    assert drop["start"]["rate"]["ntsc"] == "drop"
    with pytest.raises(APIError) as unknown:
        device_client.trigger_input(str(uuid.uuid4()), 0, "01:00:00:00")
    assert unknown.value.status == 404


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((-1, "01:00:00:00"), {}),
        ((True, "01:00:00:00"), {}),
        ((0, "24:00:00:00"), {}),
        ((0, "01:60:00:00"), {}),
        ((0, "01:00:00:24"), {}),  # 23.976 fps: frames 0..23
        ((0, "01:00:00:25"), {"rate": (25, 1)}),
        ((0, "1:00:00:00"), {}),
        ((0, "01:00:00:00", "00:00:00:99"), {}),
        ((0, "01:00:00:00"), {"offset": -1}),
        ((0, "01:00:00:00"), {"rate": (24, 0)}),
    ],
)
def test_a_trigger_is_checked_before_it_is_sent(
    sandbox: Sandbox, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    sent: list[str] = []
    with C2CClient(sandbox.api_url, sandbox.access_token) as client:
        client.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.url))
        with pytest.raises(InvalidArgument):
            client.trigger_input("channel", *args, **kwargs)
    assert sent == []


def test_a_comment_with_and_without_a_frame(device_client: C2CClient, sandbox: Sandbox) -> None:
    asset_id = new_asset(device_client)
    at = device_client.comment(asset_id, "good take", timestamp=240)
    assert at["timestamp"] == 240 and at["text"] == "good take"
    assert device_client.comment(asset_id, "circle it")["timestamp"] is None
    detail = sandbox.asset_detail(asset_id)
    assert detail is not None and [c["text"] for c in detail["comments"]] == ["good take", "circle it"]
    with pytest.raises(InvalidArgument):
        device_client.comment(asset_id, "x", timestamp=-1)
    with pytest.raises(APIError) as empty:
        device_client.comment(asset_id, "")
    assert empty.value.status == 400
    with pytest.raises(APIError) as unknown:
        device_client.comment(str(uuid.uuid4()), "hello")
    assert unknown.value.status == 404


def count_me(client: C2CClient) -> list[int]:
    """The statuses of the /v2/devices/me calls the client makes from now on (a hook on its real session)."""
    seen: list[int] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.path_url == "/v2/devices/me":
            seen.append(response.status_code)

    client.session.hooks["response"].append(hook)
    return seen


def test_me_is_called_after_the_grant_and_after_every_refresh(sandbox: Sandbox) -> None:
    """Frame.io's status guide: a device calls /v2/devices/me right after every new authorization or refresh."""
    client_id = f"SN-ME-{uuid.uuid4().hex[:8]}"
    client = pair_client(
        sandbox.api_url, client_id, sandbox.client_secret, show_code=lambda code: sandbox.approve(code.user_code)
    )
    with client:
        assert client.device is not None and client.device["name"] and client.device["_type"] == "project_device"
        seen = count_me(client)
        client.refresh()
        assert seen == [200] and client.device["authorization"]["_type"] == "project_device_authorization"
        sandbox.expire_token(client.token)
        client.heartbeat()  # a 401, then a refresh (and its /me), then the heartbeat again
        assert seen == [200, 200]


def test_a_poll_needs_the_client_secret(sandbox: Sandbox) -> None:
    """The token reference requires client_secret on the device-code grant: pairing sends it."""
    tokens = pair_device(
        sandbox.api_url,
        f"SN-SECRET-{uuid.uuid4().hex[:8]}",
        sandbox.client_secret,
        show_code=lambda code: sandbox.approve(code.user_code),
        sleep=lambda seconds: None,
    )
    assert tokens.access_token


def test_a_401_during_a_refresh_says_to_pair_again(stub_server: Any) -> None:
    """Frame.io's authorization guide: a 401 while refreshing means the device must start a new authorization
    (the sandbox never answers a refresh with 401, so a stub does)."""

    def answer(method: str, path: str, headers: Any, body: Any) -> tuple[int, dict[str, str], bytes]:
        stub_server.read_body(headers, body)
        return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'

    stub_server.handler = answer
    client = C2CClient(stub_server.url, "old-access", refresh_token="r", client_id="SN-1", client_secret="s")
    with client, pytest.raises(AuthError, match="pair the device again") as caught:
        client.refresh()
    assert caught.value.status == 401


def test_a_poll_without_the_client_secret_is_refused_before_it_is_sent(sandbox: Sandbox) -> None:
    from c2c_helpers.pairing import poll_for_tokens, request_device_code

    code = request_device_code(sandbox.api_url, "SN-NO-SECRET", sandbox.client_secret)
    with pytest.raises(InvalidArgument, match="client_secret is required"):
        poll_for_tokens(sandbox.api_url, code, "SN-NO-SECRET", sleep=lambda seconds: None)
