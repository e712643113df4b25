"""The integrator's scorecard: recording, the scripted session, the grade, and real clients graded.

- the kit's own ``upload_file`` (and the ``c2c upload`` command) pass every item they exercise;
- the guide's sequential curl loop (``tests/data/curl_device.sh``) passes the arithmetic and headers and fails
  the retry items;
- frameioclient 1.1.0's uploader is caught: replayed from ``tests/data/frameioclient_transcript.json``, recorded
  by ``c2c check`` with ``tests/data/frameioclient_device.py`` in a throwaway venv (frameioclient is not a test
  dependency: it needs an old urllib3 for its client and would pull its pins into the suite);
- every item has a pass and a fail case (the kit's recorded session, and that session altered).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_helpers import C2CClient, upload_file
from c2c_helpers.errors import C2CError
from c2c_sandbox import Sandbox
from c2c_sandbox.scorecard.grader import ITEMS, grade
from c2c_sandbox.scorecard.report import markdown
from c2c_sandbox.scorecard.run import run_check

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = DATA.parent.parent
C2C = [sys.executable, "-c", "import sys; from c2c_helpers.tools.cli import main; sys.exit(main())"]
ALL_ITEMS = [i[0] for i in ITEMS]


def kit_device(env: dict[str, str]) -> None:
    """A device built from the kit: C2CClient that can refresh, a heartbeat thread, upload_file per file."""
    client = C2CClient(
        env["C2C_API_URL"],
        env["C2C_ACCESS_TOKEN"],
        refresh_token=env["C2C_REFRESH_TOKEN"],
        client_id=env["C2C_CLIENT_ID"],
        client_secret=env["C2C_CLIENT_SECRET"],
    )
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(C2CError):
                client.heartbeat()
            if stop.wait(2 * float(env["C2C_CHECK_MINUTE"])):  # every 2 (compressed) minutes
                return

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    try:
        for path in sorted(Path(env["C2C_CHECK_DIR"]).iterdir()):
            with contextlib.suppress(C2CError):  # a real device logs it and keeps the file queued; on to the next
                upload_file(path, client=client, wait=False)
    finally:
        stop.set()
        beater.join()
        client.close()


@pytest.fixture(scope="module")
def kit() -> Any:
    return run_check(kit_device, seed=1)


def check(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Run ``c2c check`` in a subprocess; its exit code, JSON scorecard and transcript."""
    card, transcript = tmp_path / "card.json", tmp_path / "transcript.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        [*C2C, "check", "--json", str(card), "--transcript", str(transcript), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert card.exists(), done.stderr[-3000:]
    return done.returncode, json.loads(card.read_text()), json.loads(transcript.read_text())


def verdicts(card: dict[str, Any]) -> dict[str, str]:
    return {i["id"]: i["verdict"] for i in card["items"]}


# -- recording ------------------------------------------------------------------------------------------
def test_the_log_holds_routes_headers_and_sizes_but_no_secret(kit: Any) -> None:
    transcript = kit.transcript()
    text = json.dumps(transcript)
    for secret in kit.credentials.values():
        assert secret not in text
    assert "X-Amz-Signature" not in text and "X-Amz-Credential" not in text and "Bearer" not in text
    routes = {e["route"] for e in transcript["requests"]}
    assert {"POST /v2/devices/assets", "POST /v2/devices/heartbeat", "POST /v2/auth/token"} <= routes
    assert "PUT /<bucket>/<key>?partNumber&uploadId" in routes
    put = next(e for e in transcript["requests"] if e["kind"] == "s3" and e["status"] == 200)
    assert put["headers"]["x-amz-acl"] == "private" and put["size"] > 0 and put["part"] >= 1 and put["asset"]
    create = next(e for e in transcript["requests"] if e.get("create") and e["status"] == 200)
    assert create["ratelimit"] == {"limit": 5, "remaining": create["ratelimit"]["remaining"], "window": 1000}
    assert re.fullmatch(r"[0-9a-f]{12}", create["token"]) and create["token_state"] == "live"


def test_the_log_is_bounded_per_device_and_served_as_json_and_page() -> None:
    with Sandbox() as sb:
        sb.model.recorder.limit = 5
        headers = {"Authorization": f"Bearer {sb.access_token}", "x-client-version": "2.0.0"}
        for _ in range(8):
            requests.post(f"{sb.api_url}/v2/devices/heartbeat", headers=headers, timeout=10)
        answer = requests.get(f"{sb.api_url}/sandbox/devices/{sb.device.id}/requests", timeout=10).json()
        assert answer["recorded"] == 8 and [e["i"] for e in answer["requests"]] == [3, 4, 5, 6, 7]
        page = requests.get(f"{sb.api_url}/devices/{sb.device.id}/requests", timeout=10)
        assert page.status_code == 200 and "POST /v2/devices/heartbeat" in page.text
        assert sb.access_token not in page.text
        assert requests.get(f"{sb.api_url}/sandbox/devices/nope/requests", timeout=10).status_code == 404


def test_the_page_button_starts_a_check_and_grades_it() -> None:
    with Sandbox() as sb:
        s = requests.Session()
        page = s.get(f"{sb.api_url}/", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert "Start a check" in page and token is not None
        started = s.post(
            f"{sb.api_url}/sandbox/checks",
            data={"csrf_token": token.group(1), "device_id": sb.device.id},
            headers={"Origin": sb.api_url},
            timeout=30,
        )
        assert started.status_code == 200 and "Upload these 9 files" in started.text
        check_id = started.url.rsplit("/", 1)[1]
        assert s.post(f"{sb.api_url}/sandbox/checks", data={"device_id": ""}, timeout=10).status_code == 403  # no CSRF
        finished = s.post(
            f"{sb.api_url}/sandbox/checks/{check_id}/finish",
            data={"csrf_token": token.group(1)},
            headers={"Origin": sb.api_url},
            timeout=30,
        )
        assert finished.status_code == 200 and "FAIL" in finished.text  # a device that did nothing
        report = s.get(f"{sb.api_url}/sandbox/checks/{check_id}?format=md", timeout=10).text
        assert "file(s) never attempted" in report
        state = s.get(f"{sb.api_url}/sandbox/checks/{check_id}", timeout=10).json()
        assert state["scorecard"]["passed"] is False and state["running"] is False


# -- real clients ---------------------------------------------------------------------------------------
def test_the_kits_upload_file_passes_every_item(kit: Any) -> None:
    assert kit.card.verdicts() == dict.fromkeys(ALL_ITEMS, "pass"), kit.report()
    assert "**Result: PASS**" in kit.report()


def test_the_c2c_upload_command_passes_every_item_it_exercises(tmp_path: Path) -> None:
    loop = 'for f in "$C2C_CHECK_DIR"/*; do c2c upload "$f" --no-wait --no-progress || true; done'
    code, card, _ = check(tmp_path, "--skip", "token_refresh", "--skip", "heartbeat", "--", "bash", "-c", loop)
    found = verdicts(card)
    assert code == 0, card
    assert found.pop("token_refresh") == found.pop("heartbeat") == "not exercised"
    assert set(found.values()) == {"pass"}, found


def test_the_guides_curl_loop_passes_arithmetic_and_headers_and_fails_the_retries(tmp_path: Path) -> None:
    code, card, _ = check(tmp_path, "--", "bash", str(DATA / "curl_device.sh"))
    found = verdicts(card)
    assert code == 1
    assert found["chunk_arithmetic"] == found["part_headers"] == found["client_version"] == "pass"
    assert found["s3_retry"] == found["rate_limit_backoff"] == found["resume_missing_only"] == "fail"
    assert found["token_refresh"] == "fail" and found["no_retry_403"] == "pass"


def test_frameioclients_uploader_is_caught_from_its_recorded_transcript() -> None:
    transcript = json.loads((DATA / "frameioclient_transcript.json").read_text())
    card = grade(transcript)
    found = card.verdicts()
    assert not card.passed
    assert found["s3_retry"] == found["resume_missing_only"] == "fail"  # the failed parts were ignored
    assert found["chunk_arithmetic"] == found["part_headers"] == "pass"  # ceil split, both headers
    assert "never retried" in card.item("s3_retry").detail


def test_run_check_refuses_an_unknown_item_to_skip() -> None:
    with pytest.raises(ValueError, match="unknown item"):
        run_check(lambda env: None, skip=("nope",))


# -- every item: a pass (the kit) and a fail (the kit's session, altered) --------------------------------
def _next_i(t: dict[str, Any]) -> int:
    return max(e["i"] for e in t["requests"]) + 1


def _add(t: dict[str, Any], entry: dict[str, Any], dt: float) -> None:
    t["requests"].append({**copy.deepcopy(entry), "i": _next_i(t), "t": entry["t"] + dt})


def _creates(t: dict[str, Any], role: str) -> list[dict[str, Any]]:
    size = next(f["size"] for f in t["scenario"]["files"] if f["role"] == role)
    return [e for e in t["requests"] if (e.get("create") or {}).get("filesize") == size]


def _asset(t: dict[str, Any], role: str) -> str:
    return next(e["asset"] for e in _creates(t, role) if e["status"] == 200)


def _puts(t: dict[str, Any], asset: str) -> list[dict[str, Any]]:
    return [e for e in t["requests"] if e.get("kind") == "s3" and e["asset"] == asset]


def _drop_retries(t: dict[str, Any]) -> None:
    asset = _asset(t, "slowdown")
    t["requests"] = [
        e for e in t["requests"] if not (e.get("asset") == asset and e.get("part") == 2 and e["status"] == 200)
    ]


def _no_backoff(t: dict[str, Any]) -> None:
    for e in t["requests"]:
        e["ms"] = 0.0
    puts = [e for e in t["requests"] if e.get("kind") == "s3"]
    for failed in [e for e in puts if e["status"] is None or e["status"] == 503]:
        for later in [e for e in puts if e["asset"] == failed["asset"] and e["part"] == failed["part"]]:
            if later["t"] > failed["t"]:
                later["t"] = failed["t"] + 0.002
                break


def _old_token_after_refresh(t: dict[str, Any]) -> None:
    refused = next(e for e in t["requests"] if e["status"] == 401)
    refresh = next(e for e in t["requests"] if e.get("grant") == "refresh_token")
    _add(t, {**refused, "status": 401}, refresh["t"] - refused["t"] + 0.5)


MUTATIONS = {
    "client_version": lambda t: t["requests"][0]["headers"].update({"x-client-version": "v2"}),
    "chunk_arithmetic": lambda t: next(e for e in t["requests"] if e.get("kind") == "s3").update(size=1),
    "part_headers": lambda t: next(e for e in t["requests"] if e.get("kind") == "s3")["headers"].pop("x-amz-acl"),
    "s3_retry": _drop_retries,
    "no_retry_403": lambda t: _add(t, next(e for e in t["requests"] if e["status"] == 403), 0.5),
    "create_not_repeated": lambda t: _add(t, {**_creates(t, "create_dropped")[0], "status": 200}, 0.5),
    "rate_limit_backoff": lambda t: _creates(t, "rate_limited")[1].update(t=_creates(t, "rate_limited")[0]["t"] + 0.01),
    "pause_honoured": lambda t: _creates(t, "paused")[0].update(status=200),
    "no_409_storm": lambda t: [_add(t, _creates(t, "paused")[0], 0.01 * n) for n in range(1, 5)],
    "token_refresh": lambda t: t.update(requests=[e for e in t["requests"] if e.get("grant") != "refresh_token"]),
    "heartbeat": lambda t: [_add(t, e, 0.05) for e in list(t["requests"]) if e["route"].endswith("/heartbeat")],
    "resume_missing_only": lambda t: _add(t, _puts(t, _asset(t, "restart"))[0], 30),
    "next_file": lambda t: t.update(requests=[e for e in t["requests"] if e not in _creates(t, "last")]),
}


def test_there_is_a_fail_case_for_every_item() -> None:
    assert set(MUTATIONS) == set(ALL_ITEMS)


@pytest.mark.parametrize("item", ALL_ITEMS)
def test_each_item_passes_for_the_kit_and_fails_when_the_traffic_breaks_it(kit: Any, item: str) -> None:
    transcript = copy.deepcopy(kit.transcript())
    assert grade(transcript).item(item).verdict == "pass"
    MUTATIONS[item](transcript)
    card = grade(transcript)
    assert card.item(item).verdict == "fail", card.item(item)
    assert card.item(item).fix and not card.passed
    assert f"### {card.item(item).title}" in markdown(card, requests=transcript["requests"])


def test_backoff_is_required_not_just_a_retry(kit: Any) -> None:
    transcript = copy.deepcopy(kit.transcript())
    _no_backoff(transcript)
    assert "no backoff" in grade(transcript).item("s3_retry").detail


def test_an_old_token_after_the_refresh_fails(kit: Any) -> None:
    transcript = copy.deepcopy(kit.transcript())
    _old_token_after_refresh(transcript)
    assert "old access token" in grade(transcript).item("token_refresh").detail


def test_a_device_that_does_nothing_exercises_nothing_and_fails(kit: Any) -> None:
    transcript = {**copy.deepcopy(kit.transcript()), "requests": [], "assets": []}
    card = grade(transcript)
    assert card.item("next_file").verdict == "fail"
    assert {i.verdict for i in card.items if i.id != "next_file"} == {"not exercised"}
