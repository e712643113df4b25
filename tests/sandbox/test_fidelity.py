"""The sandbox refuses what Frame.io refuses, so code learned here works on a real device.

Each test meets the sandbox as a device would: HTTP over loopback (requests, a raw socket, curl), or the kit's
client against it. What the sandbox decides where Frame.io's pages are silent is in docs/sandbox-and-frameio.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_helpers import AuthError, C2CClient, ConfigurationError, pair_client, upload_file
from c2c_helpers.lab.connect import connect
from c2c_sandbox import Sandbox
from c2c_sandbox.remote import RemoteSandbox

ROOT = Path(__file__).resolve().parents[2]
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
READ_REFUSED_KEYS = {"code", "errors", "message"}


def headers(token: str, version: str | None = "2.0.0") -> dict[str, str]:
    found = {"Authorization": f"Bearer {token}"}
    if version is not None:
        found["x-client-version"] = version
    return found


def detailed(response: requests.Response, status: int, title: str | None = None) -> str:
    """Frame.io's detailed error shape, with ``status``; returns its detail."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == READ_REFUSED_KEYS and body["code"] == status
    (error,) = body["errors"]
    assert error["code"] == error["status"] == status and error["detail"]
    if title is not None:
        assert error["title"] == body["message"] == title
    return str(error["detail"])


def pair(sb: Sandbox, client_id: str, scope: str = "asset_create offline") -> dict[str, Any]:
    """The device-code flow over HTTP, approved as a person would; the token answer."""
    code = requests.post(
        f"{sb.api_url}/v2/auth/device/code",
        data={"client_id": client_id, "client_secret": sb.client_secret, "scope": scope},
        timeout=5,
    )
    assert code.status_code == 200, code.text
    sb.approve(code.json()["user_code"])
    form = {"grant_type": DEVICE_CODE_GRANT, "client_id": client_id, "device_code": code.json()["device_code"]}
    tokens = requests.post(f"{sb.api_url}/v2/auth/token", data={**form, "client_secret": sb.client_secret}, timeout=5)
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def create(sb: Sandbox, token: str | None = None, version: str | None = "2.0.0", **fields: Any) -> requests.Response:
    body = {"name": "clip.mp4", "filetype": "video/mp4", "filesize": 6 * 1024 * 1024, "offset": 0, **fields}
    body = {k: v for k, v in body.items() if v is not None}
    return requests.post(
        f"{sb.api_url}/v2/devices/assets", json=body, headers=headers(token or sb.access_token, version), timeout=5
    )


# -- 1. write, but don't read -----------------------------------------------------------------------------------
def test_a_device_token_cannot_read_an_asset_back(sandbox: Sandbox) -> None:
    asset = create(sandbox).json()
    for asset_id in (asset["id"], str(uuid.uuid4()), "not-an-id"):
        response = requests.get(
            f"{sandbox.api_url}/v2/assets/{asset_id}", headers=headers(sandbox.access_token), timeout=5
        )
        detail = detailed(response, 403, "Forbidden")
        assert "asset_read" in detail and asset_id not in response.text
    unauthenticated = requests.get(f"{sandbox.api_url}/v2/assets/{asset['id']}", timeout=5)
    detailed(unauthenticated, 401, "Not Authorized")  # a bad token is still a 401, before anything else
    # The asset's state is a sandbox control, outside the C2C surface.
    shown = requests.get(f"{sandbox.api_url}/sandbox/assets/{asset['id']}", timeout=5)
    assert shown.status_code == 200 and shown.json()["status"] == "created"


# -- 2. the client does not depend on reading -------------------------------------------------------------------
def recording_session(seen: list[str]) -> requests.Session:
    """A session that notes the method and path of every API call the client makes (a requests hook)."""
    session = requests.Session()

    def note(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen.append(f"{response.request.method} {requests.utils.urlparse(response.url).path}")

    session.hooks["response"].append(note)
    return session


def test_upload_file_without_controls_is_done_when_every_part_is_acknowledged(
    sandbox: Sandbox, make_file: Callable[..., Path]
) -> None:
    """Against a service that refuses asset reads (this one), with no sandbox controls: no read, no wait."""
    path = make_file(size=11 * 1024 * 1024)
    seen: list[str] = []
    with C2CClient(sandbox.api_url, sandbox.access_token, session=recording_session(seen)) as device:
        assert device.controls is None
        result = upload_file(path, client=device, parts=2)
    assert seen == ["POST /v2/devices/assets"]  # the one C2C call: no asset read, before or after
    assert result.acknowledged == 2 and result.assembled is None and not result.asset.is_complete
    assert result.summary(timing=False).endswith("in 2 parts, 2 attempts, all 2 parts acknowledged")
    assert sandbox.wait_for_asset(result.asset.id).status == "complete"  # the sandbox assembles on its own


def test_wait_without_controls_is_refused_before_anything_is_sent(
    sandbox: Sandbox, device_client: C2CClient, make_file: Callable[..., Path]
) -> None:
    path = make_file(size=1000)
    before = len(sandbox.store.assets())
    for wait in (True, 5):
        with pytest.raises(ConfigurationError) as info:
            upload_file(path, client=device_client, wait=wait)
        message = str(info.value)
        assert message.count(". ") == 0 and "write, but don't read" in message  # one sentence, saying why
    assert len(sandbox.store.assets()) == before  # nothing was created


def test_with_the_controls_at_hand_upload_file_waits_for_the_assembly(
    sandbox: Sandbox, make_file: Callable[..., Path]
) -> None:
    path = make_file(size=11 * 1024 * 1024)
    seen: list[str] = []
    with C2CClient(sandbox.api_url, sandbox.access_token, session=recording_session(seen), controls=sandbox) as c:
        result = upload_file(path, client=c, parts=2)
        unwaited = upload_file(path, client=c, parts=2, wait=False)
    assert seen == ["POST /v2/devices/assets"] * 2  # the wait went through the controls, not the C2C API
    assert result.assembled is True and result.asset.is_complete and result.asset.status == "complete"
    assert result.summary(timing=False).endswith("all 2 parts acknowledged, assembled by the sandbox")
    assert unwaited.assembled is None


def test_connect_gives_controls_only_where_a_sandbox_has_them(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2C_API_URL", sandbox.api_url)
    monkeypatch.setenv("C2C_ACCESS_TOKEN", sandbox.access_token)
    monkeypatch.delenv("C2C_SANDBOX_URL", raising=False)
    with connect() as like_the_real_service:
        assert like_the_real_service.controls is None
    monkeypatch.setenv("C2C_SANDBOX_URL", sandbox.api_url)
    with connect() as lab:
        assert isinstance(lab.controls, RemoteSandbox)


# -- 3. tokens ------------------------------------------------------------------------------------------------
def test_a_refresh_invalidates_the_previous_access_token_too(sandbox: Sandbox) -> None:
    old = pair(sandbox, "SN-fidelity-refresh")
    beat = f"{sandbox.api_url}/v2/devices/heartbeat"
    assert requests.post(beat, headers=headers(old["access_token"]), timeout=5).status_code == 204
    form = {
        "grant_type": "refresh_token",
        "refresh_token": old["refresh_token"],
        "client_id": "SN-fidelity-refresh",
        "client_secret": sandbox.client_secret,
    }
    new = requests.post(f"{sandbox.api_url}/v2/auth/token", data=form, timeout=5).json()
    detailed(requests.post(beat, headers=headers(old["access_token"]), timeout=5), 401, "Not Authorized")
    assert requests.post(beat, headers=headers(new["access_token"]), timeout=5).status_code == 204


def test_the_client_s_refresh_leaves_the_old_token_dead(sandbox: Sandbox) -> None:
    tokens = pair(sandbox, "SN-fidelity-client-refresh")
    with C2CClient(
        sandbox.api_url,
        tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_id="SN-fidelity-client-refresh",
        client_secret=sandbox.client_secret,
    ) as client:
        client.refresh()
        client.heartbeat()  # the new one works
    with C2CClient(sandbox.api_url, tokens["access_token"]) as stale, pytest.raises(AuthError):
        stale.heartbeat()


def test_a_refresh_token_comes_only_with_the_offline_scope(sandbox: Sandbox) -> None:
    online_only = pair(sandbox, "SN-fidelity-no-offline", scope="asset_create")
    assert "refresh_token" not in online_only and online_only["access_token"]
    me = requests.get(f"{sandbox.api_url}/v2/devices/me", headers=headers(online_only["access_token"]), timeout=5)
    assert me.json()["authorization"]["scopes"] == {"asset_create": True, "offline": False, "asset_read": False}
    assert "refresh_token" in pair(sandbox, "SN-fidelity-offline")


def test_the_client_pairs_without_offline_and_says_it_cannot_refresh(sandbox: Sandbox) -> None:
    def approve(code: Any) -> None:
        sandbox.approve(code.user_code)

    client = pair_client(
        sandbox.api_url, "SN-fidelity-pair", sandbox.client_secret, show_code=approve, scope="asset_create"
    )
    with client:
        assert not client.can_refresh and client.me()["authorization"]["scopes"]["offline"] is False
        with pytest.raises(AuthError, match="cannot refresh"):
            client.refresh()


@pytest.mark.parametrize("scope", [None, "", "   "])
def test_scope_is_required_on_the_device_code_request(sandbox: Sandbox, scope: str | None) -> None:
    form = {"client_id": "SN-fidelity-scope", "client_secret": sandbox.client_secret}
    if scope is not None:
        form["scope"] = scope
    response = requests.post(f"{sandbox.api_url}/v2/auth/device/code", data=form, timeout=5)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}  # Frame.io's body; the reason is a sandbox header
    assert "scope" in response.headers["x-sandbox-error-detail"]


# -- 4. /v2/devices/me ----------------------------------------------------------------------------------------
def test_me_has_the_shape_of_a_real_project_device(fresh_sandbox: Sandbox) -> None:
    """The device-information reference and the status guide: a project_device with its authorization object,
    timestamps, asset_type and channels (https://developer.frame.io/camera-to-cloud/api-reference/device-identify)."""
    sb = fresh_sandbox
    sb.pause(channel=2)  # a pause refuses creates (409); it is no status: Frame.io's are online and offline
    me = requests.get(f"{sb.api_url}/v2/devices/me", headers=headers(sb.access_token, "2.16.4"), timeout=5).json()
    assert me["_type"] == "project_device" and me["status"] == "online" and me["asset_type"] == "video"
    for key in ("id", "name", "project_id", "device_id", "creator_id", "last_seen_at", "timezone", "project"):
        assert key in me, key
    assert me["last_known_firmware_version"] == "2.16.4" and me["last_seen_at"].endswith("Z")
    assert me["inserted_at"].endswith("Z") and me["updated_at"].endswith("Z")
    authorization = me["authorization"]
    assert authorization["_type"] == "project_device_authorization" and authorization["project_device_id"] == me["id"]
    assert authorization["id"] and authorization["creator"]["id"] == me["creator_id"]
    assert authorization["expires_at"].endswith("Z")
    assert authorization["scopes"] == {"asset_create": True, "offline": True, "asset_read": False}
    (channel,) = me["channels"]
    assert channel["_type"] == "project_device_channel" and channel["external_index"] == 0
    assert channel["status"] == "online" and channel["name"] and channel["actor_id"] and channel["asset_type"]
    assert channel["real_time_logging_capable"] is True
    assert me["project"] == {"id": me["project_id"], "name": "Sandbox Project"}


def test_the_client_reads_me_as_a_device_would(client: C2CClient) -> None:
    me = client.me()
    assert me["authorization"]["scopes"]["asset_read"] is False
    assert me["channels"][0]["external_index"] == 0
    assert me["last_known_firmware_version"] == client.client_version


# -- 5. asset create ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "filetype"),
    [
        ({"name": "A001.mov", "filetype": None}, "video/quicktime"),
        # extension is ignored unless the upload is real-time (asset create reference)
        ({"name": "take-3", "filetype": None, "extension": ".mp4"}, "application/octet-stream"),
        ({"name": "take-3", "filetype": None, "extension": "wav"}, "application/octet-stream"),
        ({"name": "notes", "filetype": None}, "application/octet-stream"),
    ],
)
def test_filetype_is_optional_and_the_sandbox_says_it_derived_it(
    sandbox: Sandbox, fields: dict[str, Any], filetype: str
) -> None:
    response = create(sandbox, **fields)
    assert response.status_code == 200, response.text
    assert response.json()["filetype"] == filetype
    assert response.headers["x-sandbox-inferred"] == "filetype"
    given = create(sandbox, name="A001.mov", filetype="video/mp4")
    assert given.json()["filetype"] == "video/mp4" and "x-sandbox-inferred" not in given.headers


def test_the_client_may_leave_filetype_out(client: C2CClient) -> None:
    asset = client.create_asset("A002.mov", None, 10, 0)
    assert asset.filetype == "video/quicktime"


def test_extension_and_auto_version_id_are_accepted(sandbox: Sandbox) -> None:
    first = create(sandbox).json()
    again = create(sandbox, auto_version_id=first["id"], extension=".mp4")
    assert again.status_code == 200 and again.json()["id"] != first["id"]
    ignored = create(sandbox, extension="../mp4")  # ignored unless the upload is real-time: not even checked
    assert ignored.status_code == 200 and ignored.json()["filetype"] == "video/mp4"


def test_a_file_from_the_future_is_clamped_to_now(fresh_sandbox: Sandbox) -> None:
    sb = fresh_sandbox
    response = create(sb, offset=-3600)
    assert response.status_code == 200 and response.headers["x-sandbox-inferred"] == "offset"
    detail = sb.asset_detail(response.json()["id"])
    assert detail is not None and detail["path"][1] == time.strftime("%Y_%m_%d", time.gmtime())
    sb.pause()
    assert create(sb, offset=-3600).status_code == 409  # made "now": inside the pause that is on now


@pytest.mark.parametrize(
    "fields", [{"filesize": 0}, {"parts": 99}, {"name": ""}, {"offset": "soon"}, {"filetype": "mp4"}]
)
def test_validation_errors_are_400_in_the_detailed_shape(sandbox: Sandbox, fields: dict[str, Any]) -> None:
    detailed(create(sandbox, **fields), 400, "Bad Request")


# -- 6. x-client-version --------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2.0", "banana", "v2.0.0", "2.0.0.1", "01.2.3", ""])
def test_a_version_that_is_not_semver_is_refused_on_every_c2c_call(sandbox: Sandbox, version: str) -> None:
    base, auth = sandbox.api_url, headers(sandbox.access_token, version)
    for response in (
        requests.get(f"{base}/v2/devices/me", headers=auth, timeout=5),
        requests.post(f"{base}/v2/devices/heartbeat", headers=auth, timeout=5),
        create(sandbox, version=version),
        requests.get(f"{base}/v2/assets/{uuid.uuid4()}", headers=auth, timeout=5),
    ):
        assert "semantic version" in detailed(response, 400, "Bad Request")
    oauth = requests.post(
        f"{base}/v2/auth/device/code",
        headers={"x-client-version": version},
        data={"client_id": "SN-v", "client_secret": sandbox.client_secret, "scope": "asset_create"},
        timeout=5,
    )
    assert oauth.status_code == 400 and oauth.json()["error"] == "invalid_request"  # the OAuth shape there
    assert requests.get(f"{base}/health", headers=auth, timeout=5).status_code == 200  # not a device call


@pytest.mark.parametrize(("sent", "seen"), [(None, "0.0.0"), ("2.16.4-beta.1+build.5", "2.16.4-beta.1+build.5")])
def test_semver_and_a_missing_version_are_accepted(fresh_sandbox: Sandbox, sent: str | None, seen: str) -> None:
    sb = fresh_sandbox
    me = requests.get(f"{sb.api_url}/v2/devices/me", headers=headers(sb.access_token, sent), timeout=5)
    assert me.status_code == 200 and me.json()["last_known_firmware_version"] == seen
    assert create(sb, version=sent).status_code == 200


# -- 7. exactly one 100 Continue, only after the checks -----------------------------------------------------------
def raw_put(url: str, body: bytes, content_type: str = "video/mp4") -> bytes:
    """PUT with ``Expect: 100-continue`` on a raw socket, sending the body only after a 100; all bytes read."""
    parts = requests.utils.urlparse(url)
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
        f"x-amz-acl: private\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode())
        first = sock.recv(65536)
        if first.startswith(b"HTTP/1.1 100 "):
            sock.sendall(body)
        received = first
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_part_put_gets_one_100_continue_then_its_200(sandbox: Sandbox) -> None:
    body = os.urandom(3000)
    asset = create(sandbox, filesize=len(body)).json()
    answer = raw_put(asset["upload_urls"][0], body)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), answer[:200]
    assert answer.count(b"100 Continue") == 1


@pytest.mark.parametrize("spoil", ["signature", "content-type"])
def test_a_refused_part_put_gets_its_403_and_no_100_first(sandbox: Sandbox, spoil: str) -> None:
    asset = create(sandbox, filesize=3000).json()
    url = asset["upload_urls"][0]
    if spoil == "signature":
        url = re.sub(r"X-Amz-Signature=[0-9a-f]{4}", "X-Amz-Signature=0000", url)
    answer = raw_put(url, os.urandom(3000), content_type="video/quicktime" if spoil == "content-type" else "video/mp4")
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
    assert b"100 Continue" not in answer and b"<Code>SignatureDoesNotMatch</Code>" in answer


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_include_shows_exactly_one_100_continue(sandbox: Sandbox, tmp_path: Path) -> None:
    """curl sends ``Expect: 100-continue`` for bodies over 1 MiB, as in the guide's part PUTs."""
    data = tmp_path / "part.bin"
    data.write_bytes(os.urandom(2 * 1024 * 1024))
    asset = create(sandbox, filesize=data.stat().st_size).json()

    def curl(url: str) -> str:
        command = [
            "curl", "-sS", "-X", "PUT", url, "--include", "--header", "content-type: video/mp4",
            "--header", "x-amz-acl: private", "--data-binary", f"@{data}",
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout

    good = curl(asset["upload_urls"][0])
    assert good.count("HTTP/1.1 100 Continue") == 1 and "HTTP/1.1 200 OK" in good
    bad = curl(asset["upload_urls"][0].replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert "100 Continue" not in bad and "HTTP/1.1 403 Forbidden" in bad


# -- 9. `c2c sandbox` prints what pairing with curl needs ------------------------------------------------------------
@pytest.fixture
def cli_sandbox(tmp_path: Path) -> Iterator[dict[str, str]]:
    import signal
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(tmp_path), "--poll-interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    env = {}
    for line in iter(process.stdout.readline, ""):
        if line.startswith("#"):
            break
        key, _, value = line.strip().removeprefix("export ").partition("=")
        env[key] = value
    try:
        yield env
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)


def test_c2c_sandbox_prints_the_pairing_credentials_and_curl_can_pair(cli_sandbox: dict[str, str]) -> None:
    env = cli_sandbox
    assert list(env) == ["C2C_API_URL", "C2C_ACCESS_TOKEN", "C2C_SANDBOX_URL", "C2C_CLIENT_ID", "C2C_CLIENT_SECRET"]
    script = """
        curl -sS -X POST "$C2C_API_URL/v2/auth/device/code" --header 'x-client-version: 2.0.0' \\
            -F "client_id=$C2C_CLIENT_ID" -F "client_secret=$C2C_CLIENT_SECRET" -F 'scope=asset_create offline'
    """
    code = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert code.returncode == 0, code.stderr
    answer = json.loads(code.stdout)
    assert re.fullmatch(r"\d{6}", answer["user_code"])
    RemoteSandbox(env["C2C_SANDBOX_URL"]).approve(answer["user_code"])
    time.sleep(1.05)  # the poll interval
    tokens = requests.post(
        f"{env['C2C_API_URL']}/v2/auth/token",
        data={
            "grant_type": DEVICE_CODE_GRANT,
            "client_id": env["C2C_CLIENT_ID"],
            "device_code": answer["device_code"],
            "client_secret": env["C2C_CLIENT_SECRET"],
        },
        timeout=5,
    )
    assert tokens.status_code == 200 and tokens.json()["refresh_token"]


# -- 10. the page that says where the sandbox differs ----------------------------------------------------------------
def test_the_sandbox_and_frameio_page_exists_and_the_readme_links_it() -> None:
    page = (ROOT / "docs" / "sandbox-and-frameio.md").read_text()
    assert "docs/sandbox-and-frameio.md" in (ROOT / "README.md").read_text()
    for topic in (
        "20 MiB", "asset_read", "403", "x-client-version", "offset", "filetype", "poll", "https", "bucket",
        "status", "x-sandbox-inferred", "100 Continue",
    ):  # fmt: skip
        assert topic in page, topic
    assert "https://developer.frame.io/camera-to-cloud/the-zen-of-camera-to-cloud" in page
    assert page.count("inferred") >= 5
