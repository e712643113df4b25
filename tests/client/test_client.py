"""C2CClient against the sandbox over loopback (and a scripted stub for answers the sandbox never gives)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
import requests

from c2c_helpers import (
    APIError,
    Asset,
    AssetIncomplete,
    AuthError,
    C2CClient,
    ChannelPaused,
    ConfigurationError,
    RateLimited,
    TransportError,
)
from c2c_helpers._http import DEFAULT_TIMEOUT
from c2c_helpers.upload import assembled
from c2c_sandbox import Sandbox

if TYPE_CHECKING:
    from conftest import StubServer

MIB = 1024 * 1024


def asset_count(sb: Sandbox) -> int:
    return len(sb.store.assets())


# -- configuration -----------------------------------------------------------------------------------


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url + "/")
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    client = C2CClient()
    assert client.api_url == sandbox.api_url
    assert client.token == sandbox.access_token
    assert client.me()["name"] == "Sandbox Camera"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no C2C API URL and no access token"),
        ({"C2C_ACCESS_TOKEN": "t0ken-value"}, "no C2C API URL: pass api_url and token, or set C2C_API_URL"),
        ({"C2C_API_URL": "http://127.0.0.1:9"}, "no access token: pass api_url and token, or set C2C_API_URL"),
    ],
)
def test_missing_configuration_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.delenv("C2C_API_URL", raising=False)
    monkeypatch.delenv("C2C_ACCESS_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError, match=message) as info:
        C2CClient()
    assert "connect()" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_repr_and_errors_never_show_the_token(sandbox: Sandbox) -> None:
    client = C2CClient(sandbox.api_url, sandbox.access_token)
    assert sandbox.access_token not in repr(client)
    assert "token=<redacted>" in repr(client)


@pytest.mark.parametrize("timeout", [0, -1, (1, 0), (1, 2, 3), float("inf")])
def test_bad_timeouts_are_refused(timeout: object) -> None:
    with pytest.raises(ValueError):
        C2CClient("http://127.0.0.1:9", "token-value", timeout=timeout)  # type: ignore[arg-type]


# -- the calls -------------------------------------------------------------------------------------------


def test_health_me_heartbeat(client: C2CClient) -> None:
    assert client.health() == {"status": "ok"}
    me = client.me()
    assert me["_type"] == "project_device" and me["status"] == "online"
    assert client.heartbeat() is None


def test_every_call_sends_version_auth_and_timeouts(sandbox: Sandbox) -> None:
    seen: list[tuple[dict[str, str], object]] = []

    class Recording(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
            seen.append((dict(request.headers), kwargs.get("timeout")))
            return super().send(request, **kwargs)  # type: ignore[arg-type]

    session = requests.Session()
    session.mount("http://", Recording())
    client = C2CClient(sandbox.api_url, sandbox.access_token, session=session, client_version="2.1.0")
    client.me()
    client.heartbeat()
    client.create_asset("a.mov", "video/quicktime", 10, 0)
    assert len(seen) == 3
    for headers, timeout in seen:
        assert headers["x-client-version"] == "2.1.0"
        assert headers["Authorization"] == f"Bearer {sandbox.access_token}"
        assert timeout == DEFAULT_TIMEOUT and all(t > 0 for t in DEFAULT_TIMEOUT)
    client.close()
    assert session.get(f"{sandbox.api_url}/health", timeout=5).ok  # a session it was given stays usable


def test_create_asset_returns_asset_with_urls_and_raw_json(client: C2CClient) -> None:
    asset = client.create_asset("C2C_TEST_CLIP.mp4", "video/mp4", 21_136_250, 10)
    assert isinstance(asset, Asset)
    assert asset.name == "C2C_TEST_CLIP.mp4" and asset.filesize == 21_136_250 and asset.filetype == "video/mp4"
    assert len(asset.upload_urls) == 2  # the guide's "we should have received only 2 upload URLs"
    assert asset.status == "created" and asset.upload_completed_at is None and not asset.is_complete
    assert asset.raw["_type"] == "file" and asset.raw["id"] == asset.id and "project_id" in asset.raw
    text = repr(asset)
    assert "<2 presigned URLs>" in text and "X-Amz" not in text
    assert all("X-Amz" not in u for u in asset.redacted_json()["upload_urls"])
    assert all("X-Amz-Signature" in u for u in asset.raw["upload_urls"])  # raw stays raw
    assert not hasattr(client, "get_asset")  # write, but don't read: no call reads it back


def test_create_asset_parts_and_channel(client: C2CClient) -> None:
    asset = client.create_asset("big.mov", "video/quicktime", 60 * MIB, 0, parts=7, channel=1)
    assert len(asset.upload_urls) == 7
    assert [f"partNumber={n}" in u for n, u in enumerate(asset.upload_urls, 1)] == [True] * 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"filetype": "mp4"}, "filetype must be a MIME type"),
        ({"filesize": 0}, "filesize must be at least 1"),
        ({"filesize": 10.5}, "filesize must be an int"),
        ({"offset": -1}, "offset must be at least 0"),
        ({"parts": 0}, "parts must be between 1 and 10000"),
        ({"channel": -1}, "channel must be at least 0"),
    ],
)
def test_create_asset_checks_arguments_before_sending(
    client: C2CClient, sandbox: Sandbox, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"name": "a.mov", "filetype": "video/quicktime", "filesize": 10, "offset": 0}
    args.update(kwargs)
    before = asset_count(sandbox)
    with pytest.raises(ValueError, match=message):
        client.create_asset(**args)  # type: ignore[arg-type]
    assert asset_count(sandbox) == before


def test_detailed_error_shape_becomes_api_error(client: C2CClient) -> None:
    with pytest.raises(APIError) as info:
        client.create_asset("tiny.mov", "video/quicktime", 10, 0, parts=6)  # the sandbox refuses: 400
    err = info.value
    assert err.status == 400 and err.code == 400 and err.title == "Bad Request"
    assert "last part would be empty" in (err.detail or "")
    assert not err.retryable and err.response is not None
    assert str(err).startswith("create asset (POST /v2/devices/assets): 400 Bad Request: ")


def test_reading_an_asset_back_is_refused_with_403(client: C2CClient) -> None:
    asset = client.create_asset("a.mov", "video/quicktime", 10, 0)
    with pytest.raises(APIError) as info:
        client.request("GET", f"/v2/assets/{asset.id}")
    assert info.value.status == 403 and "asset_read" in (info.value.detail or "")


def test_bad_token_is_auth_error_with_no_token_in_it(sandbox: Sandbox) -> None:
    token = "not-a-real-token-0123456789"
    client = C2CClient(sandbox.api_url, token)
    with pytest.raises(AuthError) as info:
        client.me()
    err = info.value
    assert err.status == 401 and err.title == "Not Authorized"
    assert err.detail == "You are not allowed to access that resource"
    assert any("cannot renew" in note for note in err.__notes__)
    assert token not in str(err) + repr(err) + "".join(err.__notes__)


def test_paused_device_raises_channel_paused(client: C2CClient, sandbox: Sandbox) -> None:
    sandbox.pause()
    with pytest.raises(ChannelPaused) as info:
        client.create_asset("paused.mov", "video/quicktime", 10, 0)
    err = info.value
    assert err.status == 409 and err.title == "Channel Paused"
    assert err.detail == "The channel you're uploading from is currently paused."
    paused_at = time.time()
    time.sleep(1.1)
    sandbox.resume()
    assert client.create_asset("after.mov", "video/quicktime", 10, 0).status == "created"
    # a file created while paused stays refused after the resume: that is what offset is for
    with pytest.raises(ChannelPaused):
        client.create_asset("made-while-paused.mov", "video/quicktime", 10, int(time.time() - paused_at + 0.5))


def test_paused_channel_only_refuses_that_channel(client: C2CClient, sandbox: Sandbox) -> None:
    sandbox.pause(channel=2)
    with pytest.raises(ChannelPaused):
        client.create_asset("c2.mov", "video/quicktime", 10, 0, channel=2)
    assert client.create_asset("c0.mov", "video/quicktime", 10, 0, channel=0).status == "created"


def test_a_client_paces_its_creates_under_the_limit(fresh_sandbox: Sandbox) -> None:
    statuses: list[int] = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: statuses.append(r.status_code))
    client = C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token, session=session)
    started = time.monotonic()
    assets = [client.create_asset(f"burst{i}.mov", "video/quicktime", 10, 0) for i in range(7)]
    assert len({a.id for a in assets}) == 7  # every call succeeded, no duplicate
    assert statuses == [200] * 7  # a burst of 4, then one every 200 ms: the service never had to say 429
    assert 0.5 < time.monotonic() - started < 3


def test_rate_limit_error_carries_the_window(fresh_sandbox: Sandbox) -> None:
    others = [C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token) for _ in range(2)]
    for i in range(6):  # other clients of the same device spend the budget this one does not know about
        others[i % 2].create_asset(f"o{i}.mov", "video/quicktime", 10, 0)
    client = C2CClient(fresh_sandbox.api_url, fresh_sandbox.access_token, rate_limit_retries=0)
    with pytest.raises(RateLimited) as info:
        client.create_asset("r.mov", "video/quicktime", 10, 0)
    err = info.value
    assert err.status == 429 and err.retryable and err.retry_after == 1.0
    assert err.response is not None and err.response.headers["x-ratelimit-remaining"] == "0"


def test_server_error_on_create_is_not_retried(stub_server: StubServer) -> None:
    body = {"code": 500, "errors": [{"code": 500, "detail": "boom", "status": 500, "title": "Internal Server Error"}]}
    stub_server.handler = lambda *a: (500, {"Content-Type": "application/json"}, json.dumps(body).encode())
    client = C2CClient(stub_server.url, "stub-token-value")
    with pytest.raises(APIError) as info:
        client.create_asset("a.mov", "video/quicktime", 10, 0)
    err = info.value
    assert stub_server.requests == [("POST", "/v2/devices/assets")]  # exactly one POST
    assert err.status == 500 and not err.retryable
    assert "Not retried" in str(err) and "duplicate" in str(err)


def test_no_answer_on_create_is_a_transport_error_not_retried(stub_server: StubServer) -> None:
    def never_answers(*args: object) -> tuple[int, dict[str, str], bytes]:
        time.sleep(3.0)
        return 200, {}, b"{}"

    stub_server.handler = never_answers
    client = C2CClient(stub_server.url, "stub-token-value", timeout=(1, 0.3))
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        client.create_asset("a.mov", "video/quicktime", 10, 0)
    assert time.monotonic() - started < 2  # the read timeout (0.3 s), not the server (3 s), ended it
    assert stub_server.requests == [("POST", "/v2/devices/assets")]
    assert not info.value.retryable and "Not retried" in str(info.value)


def test_nothing_listening_is_a_transport_error() -> None:
    client = C2CClient("http://127.0.0.1:9", "some-token-value", timeout=(0.5, 0.5))
    with pytest.raises(TransportError) as info:
        client.me()
    assert info.value.retryable and "some-token-value" not in str(info.value)


def test_non_json_success_is_an_api_error(stub_server: StubServer) -> None:
    stub_server.handler = lambda *a: (200, {"Content-Type": "text/html"}, b"<html>proxy login</html>")
    with pytest.raises(APIError, match="not JSON"):
        C2CClient(stub_server.url, "stub-token-value").me()


def test_waiting_with_the_controls_times_out_with_a_typed_error(client: C2CClient, sandbox: Sandbox) -> None:
    asset = client.create_asset("never-sent.mov", "video/quicktime", 10, 0)
    with pytest.raises(AssetIncomplete, match=r"not assembled it after 0\.2 s \(status 'created'\)") as info:
        assembled(sandbox, asset, 0.2, [])
    assert info.value.asset.id == asset.id
