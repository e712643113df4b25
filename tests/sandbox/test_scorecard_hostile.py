"""The scorecard against devices it did not foresee: traffic its items do not expect, requests that are not the
device's, two sessions on one device, device-sent text in the report, secrets on the check page.

Every request goes to a real sandbox over HTTP (check sessions are started, driven and finished through the
controls, as the page and ``c2c check`` do).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.scorecard.grader import grade

MiB = 1024 * 1024
PUT_HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


@pytest.fixture
def sb(tmp_path: Any) -> Iterator[Sandbox]:
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
    assert card.item("next_file").verdict == "fail"  # the other items, graded as usual
