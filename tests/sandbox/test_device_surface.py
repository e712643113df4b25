"""The rest of the documented device surface, as Frame.io answers it: channels, the real-time logging trigger,
device comments, and the divergences the sandbox used to have (each test cites the Frame.io page it follows).

Every answer is checked against the sandbox's own OpenAPI schemas, and every status a route documents is met.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox

CHANNELS_REF = "https://developer.frame.io/camera-to-cloud/api-reference/device-channels/connect-device-channel"
TRIGGER_REF = "https://developer.frame.io/camera-to-cloud/api-reference/device-channels/trigger-realtime-logging-event"
COMMENT_REF = "https://developer.frame.io/camera-to-cloud/api-reference/create-comment-c-2-c"
MiB = 1024 * 1024
TC = {"smpte_timecode": "01:00:00:00", "rate": {"playback": [24000, 1001], "ntsc": "non_drop"}}
ONE_FRAME = {"smpte_timecode": "00:00:00:01", "rate": {"playback": [24000, 1001], "ntsc": "non_drop"}}


@pytest.fixture(scope="module")
def spec(sandbox: Sandbox) -> dict[str, Any]:
    return dict(requests.get(f"{sandbox.api_url}/openapi.json", timeout=5).json())


def check(spec: dict[str, Any], schema: str, value: Any) -> None:
    import jsonschema  # slow to import: only where it is used

    jsonschema.validate(value, {"components": spec["components"], **spec["components"]["schemas"][schema]})


def documented(spec: dict[str, Any], path: str, response: requests.Response) -> None:
    """The status is one the route documents, and a JSON answer matches its schema."""
    responses = spec["paths"][path]["post"]["responses"]
    assert str(response.status_code) in responses, (path, response.status_code, response.text)
    content = responses[str(response.status_code)].get("content")
    if content:
        import jsonschema

        schema = content["application/json"]["schema"]
        jsonschema.validate(response.json(), {"components": spec["components"], **schema})
    else:
        assert response.content == b""


def post(sb: Sandbox, path: str, body: Any = None, token: str | None = None, **headers: str) -> requests.Response:
    auth = {"Authorization": f"Bearer {token or sb.access_token}", "x-client-version": "2.0.0", **headers}
    return requests.post(f"{sb.api_url}{path}", json=body, headers=auth, timeout=10)


def me(sb: Sandbox, token: str | None = None) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token or sb.access_token}"}
    return dict(requests.get(f"{sb.api_url}/v2/devices/me", headers=auth, timeout=5).json())


def new_channel(sb: Sandbox) -> dict[str, Any]:
    answer = post(sb, "/v2/devices/channels", {"client_id": str(uuid.uuid4()), "device_model_id": str(uuid.uuid4())})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# -- channels ------------------------------------------------------------------------------------------------
def test_a_channel_connects_once_disconnects_and_shows_in_me(fresh_sandbox: Sandbox, spec: dict[str, Any]) -> None:
    """Connect: a project_device_channel, or 409 "Device channel already exists" (CHANNELS_REF)."""
    sb, path = fresh_sandbox, "/v2/devices/channels"
    body = {"client_id": str(uuid.uuid4()), "device_model_id": str(uuid.uuid4())}
    first = post(sb, path, body)
    documented(spec, path, first)
    channel = first.json()
    assert channel["external_index"] == 1 and channel["status"] == "online" and channel["project_device_id"]
    again = post(sb, path, body)
    documented(spec, path, again)
    assert again.status_code == 409 and again.json()["errors"][0]["detail"] == "Device channel already exists"
    listed = {c["external_index"]: c for c in me(sb)["channels"]}
    assert set(listed) == {0, 1} and listed[1]["id"] == channel["id"]

    one = f"/v2/devices/channels/{channel['id']}/disconnect"
    gone = post(sb, "/v2/devices/channels/{channel_id}/disconnect".replace("{channel_id}", channel["id"]))
    documented(spec, "/v2/devices/channels/{channel_id}/disconnect", gone)
    assert gone.status_code == 204 and post(sb, one).status_code == 204  # offline already: 204 again
    assert {c["external_index"]: c["status"] for c in me(sb)["channels"]} == {0: "online", 1: "offline"}
    back = post(sb, path, body)  # the same sub-device connects again: its channel comes back online
    assert back.status_code == 200 and back.json()["id"] == channel["id"] and back.json()["status"] == "online"


def test_disconnect_all_is_204_and_the_device_s_own_channel_stays(fresh_sandbox: Sandbox, spec: dict[str, Any]) -> None:
    sb = fresh_sandbox
    for _ in range(2):
        new_channel(sb)
    answer = post(sb, "/v2/devices/channels/disconnect")
    documented(spec, "/v2/devices/channels/disconnect", answer)
    assert answer.status_code == 204
    assert [c["status"] for c in me(sb)["channels"]] == ["online", "offline", "offline"]


@pytest.mark.parametrize(
    "body",
    [{}, {"client_id": "SN-1", "device_model_id": str(uuid.uuid4())}, {"client_id": str(uuid.uuid4())}, "text"],
)
def test_a_malformed_channel_body_is_400(sandbox: Sandbox, spec: dict[str, Any], body: Any) -> None:
    answer = post(sandbox, "/v2/devices/channels", body)
    documented(spec, "/v2/devices/channels", answer)
    assert answer.status_code == 400


def test_an_unknown_channel_is_404_and_every_channel_route_needs_a_token(
    sandbox: Sandbox, spec: dict[str, Any]
) -> None:
    path = "/v2/devices/channels/{channel_id}/disconnect"
    unknown = post(sandbox, path.replace("{channel_id}", str(uuid.uuid4())))
    documented(spec, path, unknown)
    assert unknown.status_code == 404
    trigger = "/v2/devices/channels/{channel_id}/inputs/{input_index}/trigger"
    for route, concrete in [
        ("/v2/devices/channels", "/v2/devices/channels"),
        (path, path.replace("{channel_id}", "x")),
        ("/v2/devices/channels/disconnect", "/v2/devices/channels/disconnect"),
        (trigger, "/v2/devices/channels/x/inputs/0/trigger"),
        ("/v2/devices/assets/{asset_id}/comments", "/v2/devices/assets/x/comments"),
    ]:
        refused = post(sandbox, concrete, {}, token="not-a-token")
        documented(spec, route, refused)
        assert refused.status_code == 401, concrete
        bad_version = post(sandbox, concrete, {}, **{"x-client-version": "two"})
        assert bad_version.status_code == 400, concrete  # x-client-version is checked on every C2C call


# -- the real-time logging trigger -----------------------------------------------------------------------------
def channel_0(sb: Sandbox) -> str:
    return str(me(sb)["channels"][0]["id"])


def test_a_trigger_is_logged_with_its_timecodes(fresh_sandbox: Sandbox, spec: dict[str, Any]) -> None:
    """action_type single_press, offset, SMPTE start and duration (TRIGGER_REF); the page shows the event."""
    sb, path = fresh_sandbox, "/v2/devices/channels/{channel_id}/inputs/{input_index}/trigger"
    body = {"action_type": "single_press", "offset": 0, "start": TC, "duration": ONE_FRAME}
    answer = post(sb, f"/v2/devices/channels/{channel_0(sb)}/inputs/2/trigger", body)
    documented(spec, path, answer)
    event = answer.json()
    assert event["input_index"] == 2 and event["start"] == TC and event["duration"] == ONE_FRAME
    bare = post(sb, f"/v2/devices/channels/{channel_0(sb)}/inputs/0/trigger", {})  # every field is optional
    assert bare.status_code == 200 and bare.json()["action_type"] == "single_press" and bare.json()["start"] is None
    (_, logged) = next(d for d in sb.model.devices_state() if d["id"] == sb.model.device.id)[
        "log_events"
    ]  # newest first
    assert logged["start"]["smpte_timecode"] == "01:00:00:00"
    page = requests.get(f"{sb.api_url}/", timeout=5).text
    assert "01:00:00:00" in page and "single_press" in page


@pytest.mark.parametrize(
    ("index", "body"),
    [
        ("-1", {}),
        ("one", {}),
        ("1001", {}),
        ("0", {"action_type": "double_press"}),
        ("0", {"offset": -1}),
        ("0", {"start": {"smpte_timecode": "25:00:00:00"}}),
        ("0", {"start": {"smpte_timecode": "01:00:00:24", "rate": {"playback": [24000, 1001]}}}),  # 24 fps: FF < 24
        ("0", {"start": {"smpte_timecode": "01:60:00:00"}}),
        ("0", {"start": "01:00:00:00"}),
        ("0", {"duration": {"smpte_timecode": "00:00:01:00", "rate": {"playback": [24, 0]}}}),
        ("0", {"duration": {"smpte_timecode": "00:00:01:00", "rate": {"playback": [24, 1], "ntsc": "maybe"}}}),
    ],
)
def test_a_trigger_is_validated(sandbox: Sandbox, spec: dict[str, Any], index: str, body: dict[str, Any]) -> None:
    answer = post(sandbox, f"/v2/devices/channels/{channel_0(sandbox)}/inputs/{index}/trigger", body)
    documented(spec, "/v2/devices/channels/{channel_id}/inputs/{input_index}/trigger", answer)
    assert answer.status_code == 400, answer.text


def test_a_trigger_on_another_device_s_channel_is_404(sandbox: Sandbox, spec: dict[str, Any]) -> None:
    answer = post(sandbox, f"/v2/devices/channels/{uuid.uuid4()}/inputs/0/trigger", {"start": TC})
    documented(spec, "/v2/devices/channels/{channel_id}/inputs/{input_index}/trigger", answer)
    assert answer.status_code == 404


# -- comments ---------------------------------------------------------------------------------------------------
def new_asset(sb: Sandbox) -> str:
    body = {"name": "take.mp4", "filetype": "video/mp4", "filesize": 1000, "offset": 0}
    return str(post(sb, "/v2/devices/assets", body).json()["id"])


def test_a_comment_on_an_asset_with_and_without_a_timestamp(fresh_sandbox: Sandbox, spec: dict[str, Any]) -> None:
    """text required, timestamp optional, in frames from 0; without it the comment is on the whole asset
    (COMMENT_REF)."""
    sb, route = fresh_sandbox, "/v2/devices/assets/{asset_id}/comments"
    asset_id = new_asset(sb)
    at_frame = post(sb, f"/v2/devices/assets/{asset_id}/comments", {"text": "great take", "timestamp": 48})
    documented(spec, route, at_frame)
    assert at_frame.json()["timestamp"] == 48 and at_frame.json()["asset_id"] == asset_id
    whole = post(sb, f"/v2/devices/assets/{asset_id}/comments", {"text": "circle it"})
    documented(spec, route, whole)
    assert whole.json()["timestamp"] is None
    detail = sb.asset_detail(asset_id)
    assert detail is not None and detail["comments"] == [
        {"text": "great take", "timestamp": 48},
        {"text": "circle it", "timestamp": None},
    ]
    assert "circle it" in requests.get(f"{sb.api_url}/sandbox/tree", timeout=5).text


@pytest.mark.parametrize(
    "body", [{}, {"text": ""}, {"text": 3}, {"text": "x", "timestamp": -1}, {"text": "x", "timestamp": True}]
)
def test_a_malformed_comment_is_400(sandbox: Sandbox, spec: dict[str, Any], body: dict[str, Any]) -> None:
    answer = post(sandbox, f"/v2/devices/assets/{new_asset(sandbox)}/comments", body)
    documented(spec, "/v2/devices/assets/{asset_id}/comments", answer)
    assert answer.status_code == 400


def test_a_comment_on_an_unknown_asset_is_404(sandbox: Sandbox, spec: dict[str, Any]) -> None:
    answer = post(sandbox, f"/v2/devices/assets/{uuid.uuid4()}/comments", {"text": "hello"})
    documented(spec, "/v2/devices/assets/{asset_id}/comments", answer)
    assert answer.status_code == 404


def test_comments_are_rate_limited(tmp_path, spec: dict[str, Any]) -> None:
    """429 is one of the comment reference's statuses; the sandbox applies its general limit (here 1 a second)."""
    with Sandbox(data_dir=tmp_path, api_rate=1) as sb:
        asset_id = new_asset(sb)  # asset create has its own limit
        answers = [post(sb, f"/v2/devices/assets/{asset_id}/comments", {"text": "x"}) for _ in range(3)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and {a.status_code for a in answers} <= {200, 429}, [a.status_code for a in answers]
    documented(spec, "/v2/devices/assets/{asset_id}/comments", limited[0])


# -- the divergences, fixed ---------------------------------------------------------------------------------------
def test_skipped_real_time_part_numbers_assemble_in_number_order(fresh_sandbox: Sandbox) -> None:
    """The parts "will be used to concatenate the final file in sequential order": numbers may be skipped
    (https://developer.frame.io/camera-to-cloud/api-reference/device-create-realtime-upload-parts)."""
    sb = fresh_sandbox
    data = bytes(range(256)) * (6 * MiB // 256 + 1000)
    created = post(sb, "/v2/devices/assets", {"name": "rt.mp4", "filetype": "video/mp4", "is_realtime_upload": True})
    asset_id = created.json()["id"]
    parts = [{"number": 1, "size": 6 * MiB, "is_final": False}, {"number": 3, "size": len(data) - 6 * MiB}]
    parts[1]["is_final"] = True
    urls = post(
        sb, f"/v2/devices/assets/{asset_id}/realtime_upload/parts", {"parts": parts, "asset_filesize": len(data)}
    )
    first, third = urls.json()["upload_urls"]
    put = {"Content-Type": "video/mp4", "x-amz-acl": "private"}
    assert requests.put(third, data=data[6 * MiB :], headers=put, timeout=10).status_code == 200
    assert requests.put(first, data=data[: 6 * MiB], headers=put, timeout=10).status_code == 200
    asset = sb.wait_for_asset(asset_id, 10)
    assert asset.status == "complete", asset.error
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    detail = sb.asset_detail(asset_id)
    assert detail is not None and detail["assembled_from"] == [1, 3]
    assert "assembled from parts 1, 3" in requests.get(f"{sb.api_url}/sandbox/tree", timeout=5).text


def test_is_final_is_required_on_every_part(sandbox: Sandbox) -> None:
    """is_final is not optional in the parts call's schema (the parts reference)."""
    asset_id = post(
        sandbox, "/v2/devices/assets", {"name": "a.mp4", "filetype": "video/mp4", "is_realtime_upload": True}
    )
    answer = post(
        sandbox,
        f"/v2/devices/assets/{asset_id.json()['id']}/realtime_upload/parts",
        {"parts": [{"number": 1, "size": 6 * MiB}]},
    )
    assert answer.status_code == 400 and "is_final is required" in answer.json()["errors"][0]["detail"]


def test_a_refreshed_token_gets_no_fresh_allowance(tmp_path) -> None:
    """Limits apply "across any and all API requests from an individual user (irrespective of which token)"
    (https://developer.frame.io/platform/v2/rate-limits)."""
    with Sandbox(data_dir=tmp_path, create_rate=1, poll_interval=0) as sb:
        code = requests.post(
            f"{sb.api_url}/v2/auth/device/code",
            data={"client_id": "SN-RATE", "client_secret": sb.client_secret, "scope": "asset_create offline"},
            timeout=5,
        ).json()
        sb.approve(code["user_code"])
        grant = {"client_id": "SN-RATE", "client_secret": sb.client_secret}
        device_grant = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": code["device_code"],
        }
        tokens = requests.post(f"{sb.api_url}/v2/auth/token", data={**grant, **device_grant}, timeout=5).json()
        body = {"name": "a.mp4", "filetype": "video/mp4", "filesize": 10, "offset": 0}
        started = time.monotonic()
        first = post(sb, "/v2/devices/assets", body, token=tokens["access_token"])
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **grant}
        renewed = requests.post(f"{sb.api_url}/v2/auth/token", data=refresh, timeout=5).json()
        second = post(sb, "/v2/devices/assets", body, token=renewed["access_token"])
        assert first.status_code == 200 and second.headers["x-ratelimit-limit"] == "1"
        if time.monotonic() - started < 0.9:  # the bucket (1 per second) had no time to drain
            assert second.status_code == 429, second.text


def test_every_new_route_answers_429_in_its_documented_shape(tmp_path, spec: dict[str, Any]) -> None:
    """The general limit (here 1 a second) covers channels, the trigger and comments alike."""
    with Sandbox(data_dir=tmp_path, api_rate=1) as sb:
        asset_id = new_asset(sb)  # asset create has its own limit
        channel = channel_0(sb)  # a GET /v2/devices/me: it takes the one call a second
        trigger = "/v2/devices/channels/{channel_id}/inputs/{input_index}/trigger"
        for route, concrete, body in [
            ("/v2/devices/channels", "/v2/devices/channels", {"client_id": str(uuid.uuid4())}),
            ("/v2/devices/channels/{channel_id}/disconnect", f"/v2/devices/channels/{uuid.uuid4()}/disconnect", None),
            ("/v2/devices/channels/disconnect", "/v2/devices/channels/disconnect", None),
            (trigger, f"/v2/devices/channels/{channel}/inputs/0/trigger", {}),
            ("/v2/devices/assets/{asset_id}/comments", f"/v2/devices/assets/{asset_id}/comments", {"text": "x"}),
        ]:
            answers = [post(sb, concrete, body) for _ in range(2)]
            for _ in range(5):  # bounded: two calls within a second nearly always meet the limit at once
                if answers[-1].status_code == 429:
                    break
                answers.append(post(sb, concrete, body))
            for answer in answers:
                documented(spec, route, answer)
            assert answers[-1].status_code == 429, (route, [a.status_code for a in answers])
