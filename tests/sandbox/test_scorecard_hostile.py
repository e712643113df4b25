"""The scorecard against devices it did not foresee: traffic its items do not expect, requests that are not the
device's, two sessions on one device, device-sent text in the report, secrets on the check page.

Every request goes to a real sandbox over HTTP (check sessions are started, driven and finished through the
controls, as the page and ``c2c check`` do).
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.scorecard.grader import grade
from c2c_sandbox.scorecard.run import run_check
from c2c_sandbox.scorecard.scenario import MAX_SESSIONS, SESSION_IDLE, SESSION_KEEP

MiB = 1024 * 1024
PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(data_dir=tmp_path / "sb", create_rate=1000) as sandbox:
        yield sandbox


def start(sb: Sandbox, **body: Any) -> dict[str, Any]:
    answer = requests.post(f"{sb.api_url}/sandbox/checks", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def finish(sb: Sandbox, check_id: str) -> requests.Response:
    return requests.post(f"{sb.api_url}/sandbox/checks/{check_id}/finish", json={}, timeout=60)


def device_headers(session: dict[str, Any], version: str = "2.0.0") -> dict[str, str]:
    return {"Authorization": f"Bearer {session['environment']['C2C_ACCESS_TOKEN']}", "x-client-version": version}


def test_a_real_time_asset_with_no_final_part_is_graded_and_the_session_ends(sb: Sandbox) -> None:
    """An asset whose part count is not known yet (a real-time upload with no final part) is traffic the guide's
    arithmetic does not cover: grading it must not crash, and the session must end."""
    session = start(sb)
    headers = device_headers(session)
    created = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "live.mp4", "filetype": "video/mp4", "is_realtime_upload": True},
        headers=headers,
        timeout=10,
    ).json()
    (url,) = requests.post(
        f"{sb.api_url}/v2/devices/assets/{created['id']}/realtime_upload/parts",
        json={"parts": [{"number": 1, "size": 5 * MiB, "is_final": False}]},
        headers=headers,
        timeout=10,
    ).json()["upload_urls"]
    assert requests.put(url, data=os.urandom(5 * MiB), headers=PUT_HEADERS, timeout=30).status_code == 200

    finished = finish(sb, session["id"])
    assert finished.status_code == 200, finished.text
    state = requests.get(f"{sb.api_url}/sandbox/checks/{session['id']}", timeout=10).json()
    assert state["running"] is False
    items = {i["id"]: i for i in state["scorecard"]["items"]}
    assert items["chunk_arithmetic"]["verdict"] == "not exercised"
    assert "real-time" in items["chunk_arithmetic"]["detail"]
    assert items["part_headers"]["verdict"] == "pass"  # the other items are graded as usual
    page = requests.get(f"{sb.api_url}/checks/{session['id']}", timeout=10)
    assert page.status_code == 200 and "Markdown report" in page.text


def test_an_item_that_cannot_read_the_traffic_says_so_and_the_others_are_graded(sb: Sandbox) -> None:
    """A transcript replayed from a file (another machine, a hand edit) may hold what no recorder writes."""
    session = start(sb)
    for _ in range(2):
        requests.post(f"{sb.api_url}/v2/devices/heartbeat", headers=device_headers(session), timeout=10)
    assert finish(sb, session["id"]).status_code == 200
    transcript = sb.model.checks[session["id"]].transcript()
    transcript["requests"][0]["headers"] = None  # what no recorder writes
    card = grade(transcript)
    assert card.item("client_version").verdict == "not exercised"
    assert "could not be judged" in card.item("client_version").detail
    assert card.item("corrupt").verdict == "fail"  # the other items, graded as usual


# -- what a session holds, and when it gives it back ----------------------------------------------------------
def check_files(sb: Sandbox) -> list[Path]:
    return sorted(p for p in (sb.data_dir / "checks").rglob("*") if p.is_file())


def until(condition: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def devices(sb: Sandbox) -> set[str]:
    return {d["id"] for d in requests.get(f"{sb.api_url}/sandbox/state", timeout=10).json()["devices"]}


def test_a_finished_session_gives_back_its_files_and_its_pause_window(sb: Sandbox) -> None:
    session = start(sb, device_id=sb.device.id)  # the sandbox's own paired device, not one of the session's
    assert len(check_files(sb)) == 13
    started = time.time()
    assert finish(sb, session["id"]).status_code == 200
    assert check_files(sb) == []
    # a file that device made 90 minutes ago: inside the window the session played, which must not outlive it
    created = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "old.mp4", "filetype": "video/mp4", "filesize": 10, "offset": int(time.time() - started) + 5400},
        headers={"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    assert sb.device.id in devices(sb)  # a device the session did not pair stays


def test_reset_releases_every_session_with_the_device_it_paired_and_its_files(sb: Sandbox) -> None:
    first, second = start(sb), start(sb)
    assert finish(sb, first["id"]).status_code == 200
    paired = {first["device"]["id"], second["device"]["id"]}
    assert paired <= devices(sb) and check_files(sb)
    assert requests.post(f"{sb.api_url}/sandbox/assets/clear", json={}, timeout=30).status_code == 200
    for check_id in (first["id"], second["id"]):
        assert requests.get(f"{sb.api_url}/sandbox/checks/{check_id}", timeout=10).status_code == 404
    assert not paired & devices(sb) and sb.device.id in devices(sb)
    assert check_files(sb) == []
    heartbeat = requests.post(f"{sb.api_url}/v2/devices/heartbeat", headers=device_headers(second), timeout=10)
    assert heartbeat.status_code == 401  # its tokens went with it


def test_a_restart_finds_nothing_of_a_killed_run_s_sessions(tmp_path: Path) -> None:
    data_dir = tmp_path / "sb"
    child = subprocess.Popen(
        [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = ""
        assert child.stdout is not None
        for _ in range(20):  # the lines it prints before serving
            line = child.stdout.readline()
            if line.startswith("export C2C_SANDBOX_URL="):
                url = line.strip().split("=", 1)[1]
                break
        started = requests.post(f"{url}/sandbox/checks", json={}, timeout=60).json()
        assert (data_dir / "checks" / started["id"]).is_dir()
    finally:
        child.kill()  # no stop, no release: what a crash leaves
        child.wait(10)
    with Sandbox(data_dir=data_dir) as again:
        assert started["device"]["id"] not in devices(again)
        assert not (data_dir / "checks").exists()


def test_at_most_max_sessions_run_at_once_and_a_finished_one_makes_room(sb: Sandbox) -> None:
    running = [start(sb) for _ in range(MAX_SESSIONS)]
    refused = requests.post(f"{sb.api_url}/sandbox/checks", json={}, timeout=60)
    assert refused.status_code == 409 and "finish one first" in refused.json()["errors"][0]["detail"]
    assert finish(sb, running[0]["id"]).status_code == 200
    start(sb)  # the finished one is released to make room
    assert requests.get(f"{sb.api_url}/sandbox/checks/{running[0]['id']}", timeout=10).status_code == 404
    assert running[0]["device"]["id"] not in devices(sb)


def test_an_idle_session_finishes_by_itself_and_a_finished_one_goes_after_its_keep_time(sb: Sandbox) -> None:
    assert (SESSION_IDLE, SESSION_KEEP) == (1800.0, 3600.0)  # the documented times; shortened below
    session = start(sb)
    sb.model.checks[session["id"]].idle = 0.5
    state = f"{sb.api_url}/sandbox/checks/{session['id']}"
    assert until(lambda: requests.get(state, timeout=10).json()["running"] is False)
    assert check_files(sb) == []
    sb.model.checks[session["id"]].keep = 0.5
    assert until(lambda: requests.get(state, timeout=10).status_code == 404)
    assert session["device"]["id"] not in devices(sb)


# -- attribution ------------------------------------------------------------------------------------------------
def recorded(sb: Sandbox, device_id: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{sb.api_url}/sandbox/devices/{device_id}/requests", timeout=10)
    return list(answer.json()["requests"])


def test_requests_that_carry_nothing_of_the_device_are_not_graded_as_its(sb: Sandbox) -> None:
    session = start(sb)
    env, device = session["environment"], session["device"]["id"]
    stranger = {"x-client-version": "not-a-version"}
    # what anyone on this machine can send knowing only the session's client id (shown on the page) ...
    requests.post(
        f"{sb.api_url}/v2/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": "guessed", "client_id": env["C2C_CLIENT_ID"]},
        headers=stranger,
        timeout=10,
    )
    requests.post(
        f"{sb.api_url}/v2/auth/device/code",
        data={"client_id": env["C2C_CLIENT_ID"], "client_secret": "wrong", "scope": "asset_create"},
        headers=stranger,
        timeout=10,
    )
    # ... and knowing an upload id, without the URL's signature
    created = requests.post(
        f"{sb.api_url}/v2/devices/assets",
        json={"name": "a.mp4", "filetype": "video/mp4", "filesize": 10},
        headers=device_headers(session),
        timeout=10,
    ).json()
    url = created["upload_urls"][0]
    unsigned = url.split("&X-Amz-Signature=")[0]
    forged = unsigned + "&X-Amz-Signature=" + "0" * 64
    for bad in (unsigned, forged):
        assert requests.put(bad, data=b"0123456789", headers=PUT_HEADERS, timeout=10).status_code == 403
    # the device itself: its PUT, and a refresh with its own refresh token
    assert requests.put(url, data=b"0123456789", headers=PUT_HEADERS, timeout=10).status_code == 200
    refreshed = requests.post(
        f"{sb.api_url}/v2/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": env["C2C_REFRESH_TOKEN"],
            "client_id": env["C2C_CLIENT_ID"],
            "client_secret": env["C2C_CLIENT_SECRET"],
        },
        headers={"x-client-version": "2.0.0"},
        timeout=10,
    )
    assert refreshed.status_code == 200
    routes = [(e["route"], e["status"]) for e in recorded(sb, device)]
    assert routes == [
        ("POST /v2/devices/assets", 200),
        ("PUT /<bucket>/<key>?partNumber&uploadId", 200),
        ("POST /v2/auth/token", 200),
    ], routes
    assert finish(sb, session["id"]).status_code == 200
    items = {i["id"]: i for i in requests.get(f"{sb.api_url}/sandbox/checks/{session['id']}", timeout=10).json()[
        "scorecard"]["items"]}  # fmt: skip
    assert items["client_version"]["verdict"] == "pass", items["client_version"]
    assert items["no_retry_403"]["verdict"] == "not exercised", items["no_retry_403"]


def test_a_second_session_on_one_device_is_refused_while_the_first_runs(sb: Sandbox) -> None:
    first = start(sb, device_id=sb.device.id)
    second = requests.post(f"{sb.api_url}/sandbox/checks", json={"device_id": sb.device.id}, timeout=60)
    assert second.status_code == 409, second.text
    assert "already running" in second.json()["errors"][0]["detail"]
    requests.post(
        f"{sb.api_url}/v2/devices/heartbeat",
        headers={"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"},
        timeout=10,
    )
    assert finish(sb, first["id"]).status_code == 200
    third = start(sb, device_id=sb.device.id)  # once the first is finished
    assert requests.get(f"{sb.api_url}/sandbox/checks/{third['id']}", timeout=10).json()["running"] is True
    assert requests.get(f"{sb.api_url}/sandbox/checks/{first['id']}", timeout=10).json()["requests"] == 1


# -- device-sent text in the report ------------------------------------------------------------------------------
HOSTILE_VERSION = "1.0 <img src=x onerror=alert(1)> | [x](javascript:alert(1)) `code` http://evil.example"


def pair(sb: Sandbox, client_id: str) -> dict[str, Any]:
    """The device-code flow over HTTP, approved through the controls: the device's tokens."""
    form = {"client_id": client_id, "client_secret": sb.client_secret, "scope": "asset_create offline"}
    code = requests.post(f"{sb.api_url}/v2/auth/device/code", data=form, timeout=10).json()
    assert requests.post(f"{sb.api_url}/sandbox/pair", json={"user_code": code["user_code"]}, timeout=10).ok
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": code["device_code"]}
    grant |= {"client_id": client_id, "client_secret": sb.client_secret}
    return dict(requests.post(f"{sb.api_url}/v2/auth/token", data=grant, timeout=10).json())


def raw(sb: Sandbox, method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{sb.port}", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("127.0.0.1", sb.port), timeout=10) as sock:
        sock.sendall(("\r\n".join([*lines, "Connection: close", "", ""])).encode())
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_what_a_device_sent_renders_as_text_in_the_markdown_report(sb: Sandbox) -> None:
    mistune = pytest.importorskip("mistune")  # what renders Markdown for nbconvert (and, alike, the notebook)
    tokens = pair(sb, "SN-[a](b)")  # a device is named after its client id: "Camera [a](b)"
    device = next(d for d in sb.store.devices() if d.client_id == "SN-[a](b)")
    session = start(sb, device_id=device.id)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "x-client-version": HOSTILE_VERSION}
    requests.post(f"{sb.api_url}/v2/devices/heartbeat", headers=headers, timeout=10)
    raw(sb, "<B>", "/v2/devices/me", headers)  # a method no client library would send
    assert finish(sb, session["id"]).status_code == 200
    report = requests.get(f"{sb.api_url}/sandbox/checks/{session['id']}?format=md", timeout=10).text
    assert "Camera [a](b)" in report and "<img src=x" in report  # shown, as sent ...
    html = mistune.create_markdown(escape=False, plugins=["table"])(report)
    for made in ("<img", "<a ", "<script", "<b>", 'href="'):  # ... but never rendered as markup
        assert made not in html.lower(), made
    tables = html.split("<table>")[1:]
    assert len(tables) >= 8  # the checklist's seven sections, the kit's own checks, what to change
    for table in tables:  # no cell was split by a "|"
        columns = table.split("</thead>")[0].count("<th>")
        rows = table.split("</table>")[0].split("<tbody>")[1].split("<tr>")[1:]
        assert all(row.count("<td") == columns for row in rows), table
    for page in (f"/checks/{session['id']}", f"/devices/{device.id}/requests"):  # the HTML pages escape it too
        text = requests.get(f"{sb.api_url}{page}", timeout=10).text
        assert "<img src=x" not in text and "&lt;img src=x" in text


# -- secrets on pages --------------------------------------------------------------------------------------------
def test_the_check_page_shows_no_token_and_no_client_secret(sb: Sandbox) -> None:
    with requests.Session() as s:
        token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{sb.api_url}/", timeout=10).text)
        assert token is not None
        page = s.post(f"{sb.api_url}/sandbox/checks", data={"csrf_token": token.group(1), "device_id": ""}, timeout=60)
        assert page.status_code == 200 and "Upload these 13 files" in page.text
        check_id = page.url.rsplit("/", 1)[1]
        session = sb.model.checks[check_id]
        secrets = [session.credentials[k] for k in ("access_token", "refresh_token", "client_secret")]
        views = [page.text] + [
            s.get(f"{sb.api_url}{path}", timeout=10).text
            for path in ("/", f"/devices/{session.device.id}/requests", f"/sandbox/checks/{check_id}")
        ]
        for text in views:
            assert not [secret for secret in secrets if secret in text]
        env_file = sb.data_dir / "checks" / f"{check_id}.env"  # where the page says they are
        assert str(env_file) in html.unescape(page.text)
        assert env_file.stat().st_mode & 0o777 == 0o600
        assert all(secret in env_file.read_text() for secret in secrets)
        assert not (sb.data_dir / "checks" / check_id / env_file.name).exists()  # not among the files to upload
        finished = s.post(f"{sb.api_url}/sandbox/checks/{check_id}/finish", data={"csrf_token": token.group(1)})
        assert finished.status_code == 200 and not [secret for secret in secrets if secret in finished.text]
        assert not env_file.exists()


def test_a_session_that_cannot_start_leaves_nothing(sb: Sandbox, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("where the files would go")
    with pytest.raises(OSError):
        run_check(lambda env: None, sandbox=sb, directory=blocker / "files")
    assert devices(sb) == {sb.device.id} and sb.model.checks == {}
    assert not list((sb.data_dir / "checks").glob("*.env"))


def test_a_pairing_session_hands_out_no_token_and_approves_the_devices_code(sb: Sandbox) -> None:
    session = start(sb, pair=True)
    env = session["environment"]
    assert "C2C_ACCESS_TOKEN" not in env and "C2C_REFRESH_TOKEN" not in env and env["C2C_CLIENT_SECRET"]
    form = {
        "client_id": env["C2C_CLIENT_ID"],
        "client_secret": env["C2C_CLIENT_SECRET"],
        "scope": "asset_create offline",
    }
    code = requests.post(f"{sb.api_url}/v2/auth/device/code", data=form, timeout=10).json()
    poll = {**form, "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": code["device_code"]}
    deadline = time.monotonic() + 20
    while True:  # the session plays the person who enters the code (a second later)
        answer = requests.post(f"{sb.api_url}/v2/auth/token", data=poll, timeout=10)
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(max(1.0, float(code.get("interval", 1))))
    assert answer.status_code == 200 and answer.json()["access_token"]
    assert finish(sb, session["id"]).status_code == 200
    state = requests.get(f"{sb.api_url}/sandbox/checks/{session['id']}", timeout=10).json()
    items = {i["id"]: i for i in state["scorecard"]["items"]}
    assert items["user_code"]["verdict"] == "not exercised" and "reported nothing" in items["user_code"]["detail"]
