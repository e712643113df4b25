"""The sandbox as a program: the guide's curl commands, restarts, the command line, the web page."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from c2c_helpers import TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip
from c2c_sandbox import Sandbox

MiB = 1024 * 1024
HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(tmp_path_factory.mktemp("clip"))


def bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize("order", ["head first", "tail first"])
def test_the_guides_curl_commands_work_unchanged(sandbox: Sandbox, clip: Path, order: str) -> None:
    """Step 1 with the JSON heredoc, steps 2-3 with head -c / tail -c piped into curl -X PUT."""
    create = bash(
        """
        curl -sS -X POST "$C2C_API_URL/v2/devices/assets" \\
            --header "Authorization: Bearer $C2C_ACCESS_TOKEN" \\
            --header 'Content-Type: application/json' \\
            --header 'x-client-version: 2.0.0' \\
            --data-binary @- <<'__JSON__' | python3 -m json.tool
        {
            "name": "C2C_TEST_CLIP.mp4",
            "filetype": "video/mp4",
            "filesize": 21136250,
            "offset": 10
        }
__JSON__
    """,
        C2C_API_URL=sandbox.api_url,
        C2C_ACCESS_TOKEN=sandbox.access_token,
    )
    assert create.returncode == 0, create.stderr
    asset = __import__("json").loads(create.stdout)
    assert asset["filesize"] == TEST_CLIP_SIZE and len(asset["upload_urls"]) == 2
    chunk = -(-TEST_CLIP_SIZE // 2)
    assert chunk == 10_568_125
    steps = [
        f'head -c {chunk} "$CLIP" | curl -sS -X PUT "$URL1" --include '
        "--header 'content-type: video/mp4' --header 'x-amz-acl: private' --data-binary @-",
        f'tail -c {chunk} "$CLIP" | curl -sS -X PUT "$URL2" --include '
        "--header 'content-type: video/mp4' --header 'x-amz-acl: private' --data-binary @-",
    ]
    if order == "tail first":
        steps.reverse()
    for step in steps:
        result = bash(step, CLIP=str(clip), URL1=asset["upload_urls"][0], URL2=asset["upload_urls"][1])
        assert result.returncode == 0, result.stderr
        assert "HTTP/1.1 200 OK" in result.stdout and re.search(r"(?im)^etag: \"[0-9a-f]{32}\"", result.stdout)
    done = sandbox.wait_for_asset(asset["id"])
    assert done.status == "complete" and done.sha256 == TEST_CLIP_SHA256
    assert sandbox.asset_path(asset["id"]).read_bytes() == clip.read_bytes()


def upload(sb: Sandbox, data: bytes, parts: int, send: list[int] | None = None) -> dict:
    asset = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        timeout=10,
        headers={"Authorization": f"Bearer {sb.access_token}"},
        json={"name": "keep.mp4", "filetype": "video/mp4", "filesize": len(data), "offset": 0, "parts": parts},
    ).json()
    size = -(-len(data) // parts)
    for i in send if send is not None else range(parts):
        response = requests.put(
            asset["upload_urls"][i], data=data[i * size : (i + 1) * size], headers=HEADERS, timeout=10
        )
        assert response.status_code == 200, response.text
    return asset


def test_state_survives_a_restart_in_process(tmp_path: Path) -> None:
    data = os.urandom(11 * MiB)
    first = Sandbox(data_dir=tmp_path).start()
    token, secret, device = first.access_token, first.client_secret, first.device.id
    asset = upload(first, data, 2)
    first.wait_for_asset(asset["id"])
    first.stop()
    with Sandbox(data_dir=tmp_path) as again:
        assert again.client_secret == secret and again.device.id == device
        response = requests.get(
            f"{again.api_url}/v2/devices/me", timeout=5, headers={"Authorization": f"Bearer {token}"}
        )  # the old token still works
        assert response.status_code == 200 and response.json()["id"] == device
        assert again.asset_detail(asset["id"])["status"] == "complete"
        assert again.asset_bytes(asset["id"]) == data


def start_cli(data_dir: Path, port: int = 0) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "c2c_sandbox", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    values = {}
    for _ in range(5):
        key, _, value = process.stdout.readline().strip().removeprefix("export ").partition("=")
        values[key] = value
    assert set(values) == {
        "C2C_API_URL",
        "C2C_ACCESS_TOKEN",
        "C2C_SANDBOX_URL",
        "C2C_CLIENT_ID",
        "C2C_CLIENT_SECRET",
    }, values
    return process, values


def stop_cli(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    return err


def test_the_command_line_sandbox_prints_env_lines_serves_and_stops(tmp_path: Path) -> None:
    started = time.monotonic()
    process, env = start_cli(tmp_path)
    assert time.monotonic() - started < 10
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["C2C_API_URL"])
        headers = {"Authorization": f"Bearer {env['C2C_ACCESS_TOKEN']}"}
        me = requests.get(f"{env['C2C_API_URL']}/v2/devices/me", headers=headers, timeout=5)
        assert me.status_code == 200
        data = os.urandom(11 * MiB)
        whole = upload_over(env, data, parts=2)
        half = upload_over(env, data, parts=2, send=[0])
        port = int(env["C2C_API_URL"].rsplit(":", 1)[1])
    finally:
        err = stop_cli(process)
    assert "stopped" in err and "Traceback" not in err
    # Started again on the same port and data dir: tokens, assets and originals are still there, and so is
    # the part the half-sent upload got a 200 for: sending the other part completes it with the same URLs.
    process, env2 = start_cli(tmp_path, port)
    try:
        base = env2["C2C_API_URL"]
        assert requests.get(f"{base}/v2/devices/me", headers=headers, timeout=5).status_code == 200
        got = requests.get(f"{base}/sandbox/assets/{whole['id']}", timeout=5).json()
        assert got["status"] == "complete"
        original = requests.get(f"{base}/sandbox/assets/{whole['id']}/original", timeout=10)
        assert hashlib.sha256(original.content).hexdigest() == hashlib.sha256(data).hexdigest()
        detail = requests.get(f"{base}/sandbox/assets/{half['id']}", timeout=5).json()
        assert detail["status"] == "uploading" and [p["received"] for p in detail["parts"]] == [True, False]
        size = -(-len(data) // 2)
        response = requests.put(half["upload_urls"][1], data=data[size:], headers=HEADERS, timeout=10)
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while requests.get(f"{base}/sandbox/assets/{half['id']}", timeout=5).json()["status"] != "complete":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        original = requests.get(f"{base}/sandbox/assets/{half['id']}/original", timeout=10)
        assert original.content == data
    finally:
        stop_cli(process)


def upload_over(env: dict[str, str], data: bytes, parts: int, send: list[int] | None = None) -> dict:
    asset = requests.post(
        f"{env['C2C_API_URL']}/v2/devices/assets",
        timeout=10,
        headers={"Authorization": f"Bearer {env['C2C_ACCESS_TOKEN']}"},
        json={"name": "cli.mp4", "filetype": "video/mp4", "filesize": len(data), "parts": parts, "offset": 0},
    ).json()
    size = -(-len(data) // parts)
    for i in send if send is not None else range(parts):
        assert (
            requests.put(
                asset["upload_urls"][i], data=data[i * size : (i + 1) * size], headers=HEADERS, timeout=10
            ).status_code
            == 200
        )
    return asset


def test_the_command_line_refuses_a_busy_port(sandbox: Sandbox, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "c2c_sandbox", "--port", str(sandbox.port), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"c2c sandbox: port {sandbox.port} is in use (another c2c lab or sandbox?): use --port\n"


def test_it_binds_loopback_only(sandbox: Sandbox) -> None:
    assert sandbox.address == ("127.0.0.1", sandbox.port)


# -- the web page -------------------------------------------------------------------------------------------
def test_the_page_pairs_a_device_with_the_six_digit_code(sandbox: Sandbox) -> None:
    page = requests.get(f"{sandbox.api_url}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<label for="user_code">' in page.text and 'id="user_code"' in page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the pairing form carries a CSRF token"
    csrf = found.group(1)
    code = requests.post(
        f"{sandbox.api_url}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-page", "client_secret": sandbox.client_secret, "scope": "asset_create offline"},
    ).json()
    prefilled = requests.get(f"{sandbox.api_url}/pair?code={code['user_code']}", timeout=5).text
    assert f'value="{code["user_code"]}"' in prefilled
    wrong = requests.post(
        f"{sandbox.api_url}/sandbox/pair", data={"user_code": "000000", "csrf_token": csrf}, timeout=5
    )
    assert wrong.status_code == 400 and "no pending pairing" in wrong.text and 'role="alert"' in wrong.text
    paired = requests.post(
        f"{sandbox.api_url}/sandbox/pair", data={"user_code": code["user_code"], "csrf_token": csrf}, timeout=5
    )
    assert paired.status_code == 200 and paired.history[0].status_code == 303
    assert f"Paired: {code['name']}" in paired.text
    token = requests.post(
        f"{sandbox.api_url}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "SN-page",
            "device_code": code["device_code"],
            "client_secret": sandbox.client_secret,
        },
    )
    assert token.status_code == 200 and token.json()["access_token"]
    assert sandbox.client_secret not in paired.text and token.json()["access_token"] not in paired.text


def test_the_page_shows_the_device_folder_and_plays_finished_assets(fresh_sandbox: Sandbox) -> None:
    # A sandbox of its own: past LIGHT_PLAYERS_FROM assets (the shared one has many) players preload nothing.
    sandbox = fresh_sandbox
    data = os.urandom(6 * MiB)
    asset = upload(sandbox, data, 1)
    sandbox.wait_for_asset(asset["id"])
    pending = upload(sandbox, data, 1, send=[])
    tree = requests.get(f"{sandbox.api_url}/sandbox/tree", timeout=5).text
    day = time.strftime("%Y_%m_%d", time.gmtime())
    for folder in ("Cloud Devices", day, "VIDEO", "Sandbox Camera"):
        assert f'<span class="folder">{folder}</span>' in tree
    assert f'data-asset-id="{asset["id"]}" data-status="complete"' in tree
    assert f'data-asset-id="{pending["id"]}" data-status="created"' in tree
    assert f'<video controls preload="metadata" src="/sandbox/assets/{asset["id"]}/original"' in tree
    assert sandbox.access_token not in tree and "X-Amz-Signature" not in tree
    state = requests.get(f"{sandbox.api_url}/sandbox/state", timeout=5).json()
    assert any(d["name"] == "Sandbox Camera" for d in state["devices"])


def test_the_original_supports_range_requests(sandbox: Sandbox) -> None:
    data = os.urandom(6 * MiB)
    asset = upload(sandbox, data, 1)
    sandbox.wait_for_asset(asset["id"])
    url = f"{sandbox.api_url}/sandbox/assets/{asset['id']}/original"
    whole = requests.get(url, timeout=10)
    assert whole.status_code == 200 and whole.content == data and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "video/mp4"
    part = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=5)
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    missing = requests.get(
        f"{sandbox.api_url}/sandbox/assets/{upload(sandbox, data, 1, send=[])['id']}/original", timeout=5
    )
    assert missing.status_code == 404
