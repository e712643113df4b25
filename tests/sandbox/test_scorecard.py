"""The integrator's scorecard: recording, the scripted session, the checklist report, and the reference device.

- the kit's reference device (``c2c device``), started by ``c2c check -- c2c device`` with no other argument,
  passes every graded item (a real power cut and restart, an S3 outage, a corrupt file among good ones);
- the report holds every item of Frame.io's checklist in its sections, each with its kind, and the kit's own
  checks apart;
- every graded item has a pass (the reference device's recorded session) and a fail (that session altered);
- the peers (the guide's curl loop, ``c2c upload``, frameioclient, frameio) are in ``test_scorecard_peers.py``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.scorecard.checklist import CHECKLIST, SECTIONS
from c2c_sandbox.scorecard.evidence import BY_HAND
from c2c_sandbox.scorecard.grader import ITEMS, KIT, grade
from c2c_sandbox.scorecard.report import markdown

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = DATA.parent.parent
C2C = [sys.executable, "-c", "import sys; from c2c_helpers.tools.cli import main; sys.exit(main())"]
GRADED = [i for _s, i, _w, kind, _j, _f in CHECKLIST if kind != BY_HAND] + [k[0] for k in KIT]
#: Frame.io's checklist page, section by section (its items, as the kit words them): what the report must hold
PAGE = {"Basic": 8, "General": 3, "Security": 4, "Uploader": 9, "Upload options": 5, "Network": 6, "Testing": 3}


def check(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], dict[str, Any], str]:
    """Run ``c2c check`` in a subprocess; its exit code, JSON scorecard, transcript and Markdown report."""
    card, transcript, report = tmp_path / "card.json", tmp_path / "transcript.json", tmp_path / "report.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2C_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        [*C2C, "check", "--json", str(card), "--transcript", str(transcript), "--report", str(report), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert card.exists(), done.stderr[-3000:]
    return done.returncode, json.loads(card.read_text()), json.loads(transcript.read_text()), report.read_text()


def verdicts(card: dict[str, Any]) -> dict[str, str]:
    return {i["id"]: i["verdict"] for i in card["items"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], dict[str, Any], str]:
    """``c2c check -- c2c device``: the reference device, nothing else given."""
    return check(tmp_path_factory.mktemp("reference"), "--seed", "1", "--", *C2C, "device")


# -- the reference device -----------------------------------------------------------------------------------
def test_the_reference_device_passes_every_graded_item(reference: Any) -> None:
    code, card, _, report = reference
    found = verdicts(card)
    assert found.pop("user_code") == "not exercised"  # it was handed tokens: `--pair` grades it (peers' file)
    graded = {i: v for i, v in found.items() if i in GRADED}
    speed = next(i for i in card["items"] if i["id"] == "throughput")
    assert graded.pop("throughput") in ("pass", "fail") and "Mbps" in speed["detail"]  # timing: judged, not asserted
    assert set(graded.values()) == {"pass"}, {i: v for i, v in graded.items() if v != "pass"}
    assert code == (0 if speed["verdict"] == "pass" else 1)
    assert ("**Result: PASS**" in report) == (code == 0)


def test_the_reference_device_was_really_killed_and_resumed_from_its_second_run(reference: Any) -> None:
    transcript = reference[2]
    killed = transcript["scenario"]["restart"]["killed_at"]
    size = next(f["size"] for f in transcript["scenario"]["files"] if f["role"] == "restart")
    creates = [e for e in transcript["requests"] if (e.get("create") or {}).get("filesize") == size]
    asset = next(e["asset"] for e in creates if e["status"] == 200)
    puts = [e for e in transcript["requests"] if e.get("asset") == asset and e.get("kind") == "s3"]
    before = {e["part"] for e in puts if e["t"] < killed and e["status"] == 200}
    after = {e["part"] for e in puts if e["t"] > killed and e["status"] == 200}
    assert before == {1} and after == {2, 3}  # the second run sent only what S3 had not acknowledged
    assert all(e["t"] < killed for e in creates)  # and created nothing again
    outage = transcript["scenario"]["outage"]
    assert outage["end"] > outage["start"]
    cut = [e for e in transcript["requests"] if e.get("note") == "scenario: the S3 side is unreachable"]
    assert cut and all(outage["start"] - 1 <= e["t"] <= outage["end"] for e in cut)  # (parts sent together)


def test_the_reference_device_keeps_no_secret_in_reach_and_reports_the_corrupt_file(reference: Any) -> None:
    transcript = reference[2]
    assert transcript["checks"]["leaks"] == []
    results = {r["name"]: r["state"] for r in transcript["reports"] if r["event"] == "file"}
    assert results["08_corrupt.mp4"] == "failed" and results["02_paused.mp4"] == "refused"
    assert results["13_last.mov"] == "done"


# -- the report: every checklist item, in its sections ------------------------------------------------------
def test_the_report_holds_every_checklist_item_in_its_sections_and_the_kits_checks_apart(reference: Any) -> None:
    _, card, _, report = reference
    assert {s: sum(row[0] == s for row in CHECKLIST) for s in SECTIONS} == PAGE
    assert len(CHECKLIST) == 38 and sum(kind != BY_HAND for *_, kind, _j, _f in CHECKLIST) >= 25
    for kind, judge in ((row[3], row[4]) for row in CHECKLIST):
        assert isinstance(judge, str) == (kind == BY_HAND) or kind != BY_HAND  # manual items carry a reason
    headings = re.findall(r"^### (.+)$", report.split("## The kit's own checks")[0], re.M)
    assert headings == list(SECTIONS)
    for section, item_id, words, kind, *_ in CHECKLIST:
        item = next(i for i in card["items"] if i["id"] == item_id)
        assert item["section"] == section and item["kind"] == kind and words in report
        if kind == BY_HAND:
            assert item["verdict"] == "manual" and item["detail"].startswith("a person checks it:")
    kit = report.split("## The kit's own checks")[1]
    assert all(title in kit for _i, title, *_ in KIT)
    assert (
        "Frame.io's Integrator Checklist (`https://developer.frame.io/camera-to-cloud/integrator-checklist`)" in report
    )


# -- every graded item: a pass (the reference) and a fail (its session, altered) ----------------------------
def _next_i(t: dict[str, Any]) -> int:
    return max(e["i"] for e in t["requests"]) + 1


def _add(t: dict[str, Any], entry: dict[str, Any], at: float, **changes: Any) -> None:
    t["requests"].append({**copy.deepcopy(entry), "i": _next_i(t), "t": at, **changes})


def _file(t: dict[str, Any], role: str) -> dict[str, Any]:
    return next(f for f in t["scenario"]["files"] if f["role"] == role)


def _creates(t: dict[str, Any], role: str) -> list[dict[str, Any]]:
    size = _file(t, role)["size"]
    return [e for e in t["requests"] if (e.get("create") or {}).get("filesize") == size]


def _asset(t: dict[str, Any], role: str) -> str:
    return str(next(e["asset"] for e in _creates(t, role) if e["status"] == 200))


def _puts(t: dict[str, Any], asset: str) -> list[dict[str, Any]]:
    return [e for e in t["requests"] if e.get("kind") == "s3" and e["asset"] == asset]


def _reports(t: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [r for r in t["reports"] if r["event"] == event]


def _drop_retries(t: dict[str, Any]) -> None:
    asset = _asset(t, "slowdown")
    t["requests"] = [
        e for e in t["requests"] if not (e.get("asset") == asset and e.get("part") == 2 and e["status"] == 200)
    ]


def _repeat_403(t: dict[str, Any]) -> None:
    refused = next(e for e in t["requests"] if e["status"] == 403)
    _add(t, refused, refused["t"] + 0.5)


def _resend_after_restart(t: dict[str, Any]) -> None:
    first = next(e for e in _puts(t, _asset(t, "restart")) if e["part"] == 1 and e["status"] == 200)
    _add(t, first, t["scenario"]["restart"]["killed_at"] + 0.5)


def _recreate_after_restart(t: dict[str, Any]) -> None:
    create = next(e for e in _creates(t, "slowdown") if e["status"] == 200)
    _add(t, create, t["scenario"]["restart"]["killed_at"] + 0.5)


def _slow(t: dict[str, Any]) -> None:
    for e in t["requests"]:
        if e.get("kind") == "s3":
            e["ms"] = 60_000.0  # a minute per part: a few Mbps


def _pair_again(t: dict[str, Any]) -> None:
    beat = next(e for e in t["requests"] if e["route"].endswith("/heartbeat"))
    route = "POST /v2/auth/device/code"
    _add(t, beat, t["scenario"]["outage"]["end"] + 0.1, route=route, kind="oauth", status=200)


MUTATIONS = {
    "project_name": lambda t: [r.update(name="Another project") for r in _reports(t, "project")],
    "upload_status": lambda t: [r.pop("bytes_remaining") for r in _reports(t, "queue")],
    "network_status": lambda t: t.update(reports=[r for r in t["reports"] if r.get("state") in (None, "online")]),
    "token_refresh": lambda t: t.update(requests=[e for e in t["requests"] if e.get("grant") != "refresh_token"]),
    "client_version": lambda t: t["requests"][0]["headers"].update({"x-client-version": "v2"}),
    "formats": lambda t: next(a for a in t["assets"] if a["filetype"] == "audio/wav").update(filetype="text/plain"),
    "project_id": lambda t: [r.update(id="someone-elses-project") for r in _reports(t, "project")],
    "direct": lambda t: t["requests"][0]["headers"].update(via="1.1 relay.example"),
    "secrets": lambda t: t["checks"].update(leaks=["the device's output"]),
    "realtime_or_complete": lambda t: t["assets"].append({**t["assets"][0], "id": "x", "sha256": "0" * 64}),
    "queue_shown": lambda t: next(r for r in _reports(t, "file") if r["state"] == "done").update(state="failed"),
    "local_storage": lambda t: t["checks"]["files"].update({_file(t, "last")["name"]: "missing"}),
    "queue_survives": _recreate_after_restart,
    "auto_retry": _drop_retries,
    "s3_retry": _drop_retries,
    "resume": _resend_after_restart,
    "paused": lambda t: _creates(t, "paused")[0].update(status=200),
    "aws_nonfatal": _repeat_403,
    "corrupt": lambda t: t.update(requests=[e for e in t["requests"] if e not in _creates(t, "last")]),
    "auto_manual": lambda t: t.update(requests=[e for e in t["requests"] if not e.get("create")]),
    "throughput": _slow,
    "network_detail": lambda t: [r.update(mbps=None) for r in _reports(t, "network")],
    "switch": _pair_again,
    "wired_wan": lambda t: [a.update(status="processing") for a in t["assets"]],
    "chunk_arithmetic": lambda t: next(e for e in t["requests"] if e.get("kind") == "s3").update(size=1),
    "part_headers": lambda t: next(e for e in t["requests"] if e.get("kind") == "s3")["headers"].pop("x-amz-acl"),
    "no_retry_403": _repeat_403,
    "create_not_repeated": lambda t: _add(t, {**_creates(t, "create_dropped")[0], "status": 200}, time_after(t)),
    "rate_limit_backoff": lambda t: _creates(t, "rate_limited")[1].update(t=_creates(t, "rate_limited")[0]["t"] + 0.01),
    "no_409_storm": lambda t: [_add(t, (c := _creates(t, "paused")[0]), c["t"] + n / 99) for n in range(4)],
    "heartbeat": lambda t: [_add(t, e, e["t"] + 0.05) for e in list(t["requests"]) if e["route"].endswith("heartbeat")],
    "me_after_grant": lambda t: t.update(requests=[e for e in t["requests"] if not e["route"].endswith("/me")]),
}  # fmt: skip
#: optional on the checklist: a device without it is "not exercised", never failed
OPTIONAL = {"parallel"}
#: graded only when the device pairs in the session (``c2c check --pair``): in test_scorecard_peers.py
PAIRED = {"user_code"}


def time_after(t: dict[str, Any]) -> float:
    return float(_creates(t, "create_dropped")[0]["t"]) + 0.5


def test_there_is_a_fail_case_for_every_graded_item() -> None:
    assert set(MUTATIONS) | OPTIONAL | PAIRED == set(GRADED)
    assert {i[0] for i in ITEMS} >= set(GRADED)


@pytest.mark.parametrize("item", sorted(MUTATIONS))
def test_each_item_passes_for_the_reference_and_fails_when_the_session_breaks_it(reference: Any, item: str) -> None:
    transcript = copy.deepcopy(reference[2])
    assert grade(transcript).item(item).verdict == "pass"
    MUTATIONS[item](transcript)
    card = grade(transcript)
    assert card.item(item).verdict == "fail", card.item(item)
    assert card.item(item).fix and not card.passed
    assert f"### {card.item(item).title}" in markdown(card, requests=transcript["requests"])


def test_a_part_retried_with_no_cap_fails_the_retry_items(reference: Any) -> None:
    transcript = copy.deepcopy(reference[2])
    failed = next(e for e in transcript["requests"] if e.get("error") == "SlowDown")
    for n in range(1, 12):  # a tight loop: eleven more attempts in a second
        _add(transcript, failed, failed["t"] + n / 11)
    card = grade(transcript)
    assert card.item("s3_retry").verdict == card.item("auto_retry").verdict == "fail"
    assert "no cap" in card.item("s3_retry").detail


def test_an_optional_item_a_device_lacks_is_not_exercised_never_failed(reference: Any) -> None:
    transcript = copy.deepcopy(reference[2])
    assert grade(transcript).item("parallel").verdict == "pass"
    for n, e in enumerate(sorted((e for e in transcript["requests"] if e.get("kind") == "s3"), key=lambda e: e["t"])):
        e.update(t=1e9 + n, ms=1.0)  # one part at a time
    item = grade(transcript).item("parallel")
    assert item.verdict == "not exercised" and "optional" in item.detail


def test_a_device_that_does_nothing_exercises_nothing_and_fails(reference: Any) -> None:
    transcript = {**copy.deepcopy(reference[2]), "requests": [], "assets": [], "reports": [], "checks": {}}
    transcript["scenario"].update(restart={}, outage={})  # nothing to cut: it never started an upload
    card = grade(transcript)
    assert card.item("corrupt").verdict == "fail"
    failed = {i.id for i in card.items if i.verdict == "fail"}
    assert failed == {"corrupt"}, failed


# -- recording ------------------------------------------------------------------------------------------
def test_the_log_holds_routes_headers_and_sizes_but_no_secret(reference: Any) -> None:
    transcript = reference[2]
    text = json.dumps(transcript)
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
        assert started.status_code == 200 and "Upload these 13 files" in started.text
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
