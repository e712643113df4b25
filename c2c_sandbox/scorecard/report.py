"""The scorecard as a Markdown report (``c2c check``, the page, the notebook); JSON is :meth:`Scorecard.to_json`.

``evidence=False`` leaves out the request indices, which vary from run to run for a device that works in
parallel; the verdicts and what to change do not. What the device sent (its name, a header, a method) is shown
as code unless it is plain text (:func:`~c2c_sandbox.scorecard.evidence.shown`): a notebook renders the report,
and must render no link, image or HTML a device put in it.
"""

from __future__ import annotations

from typing import Any

from c2c_sandbox.scorecard.checklist import CHECKLIST_URL, SECTIONS
from c2c_sandbox.scorecard.evidence import (
    BY_HAND,
    DEVICE,
    FAIL,
    MANUAL,
    NOT_EXERCISED,
    PASS,
    TRAFFIC,
    Item,
    Scorecard,
    shown,
)

__all__ = ["markdown", "scenario_lines"]

MARKS = {PASS: "pass", FAIL: "**FAIL**", NOT_EXERCISED: "not exercised", MANUAL: "manual"}
HOW = {TRAFFIC: "traffic", DEVICE: "device report", BY_HAND: "manual"}


def scenario_lines(scenario: dict[str, Any]) -> list[str]:
    """What the scenario played, one line per file."""
    lines = []
    for f in scenario.get("files", []):
        parts = f.get("parts")
        lines.append(f"- `{f['name']}` ({f['size']:,} bytes, {parts} part{'s' if parts != 1 else ''}): {f['plays']}")
    return lines


def markdown(card: Scorecard, *, evidence: bool = True, requests: list[dict[str, Any]] | None = None) -> str:
    """The report: the result; Frame.io's checklist section by section (each item's kind, verdict and what was
    seen); the kit's own checks apart; then what to change for each failed item.

    With `requests` (the session's recorded requests) each failed item lists the requests that show it.
    """
    counts = card.counts()
    scenario = card.scenario
    minute = scenario.get("clock", {}).get("seconds_per_minute", 60)
    listed = [i for i in card.items if i.section in SECTIONS]
    graded = sum(i.kind != BY_HAND for i in listed)
    lines = [
        "# C2C integrator scorecard",
        "",
        f"Device: {shown(card.device.get('name', '?'))} · scenario seed {scenario.get('seed')} · "
        f"{len(scenario.get('files', []))} files · clock: 1 minute = {minute:g} s",
        "",
        f"**Result: {'PASS' if card.passed else 'FAIL'}** ({counts[PASS]} pass, {counts[FAIL]} fail, "
        f"{counts[NOT_EXERCISED]} not exercised, {counts[MANUAL]} for a person to check)",
        "",
        f"## Frame.io's integrator checklist ({len(listed)} items, {graded} graded by the sandbox)",
        "",
        f"Items paraphrased from Frame.io's Integrator Checklist (`{CHECKLIST_URL}`), in its sections. How: "
        "*traffic* (the requests the device sent), *device report* (what it reported through `C2C_CHECK_REPORT`, "
        "its output and its folder), *manual* (nothing the sandbox can see shows it).",
    ]
    for section in SECTIONS:
        lines += ["", f"### {section}", "", _header("Item", evidence, how=True)]
        lines += [_row(i, evidence, how=True) for i in listed if i.section == section]
    lines += [
        "",
        "## The kit's own checks",
        "",
        "Not on the checklist: what the upload guide and Frame.io's other pages ask (the guide's arithmetic and "
        "headers, errors, rate limits, the heartbeat, /v2/devices/me), all graded from traffic.",
        "",
        _header("Check", evidence, how=False),
    ]
    lines += [_row(i, evidence, how=False) for i in card.items if i.section not in SECTIONS]
    failed = [i for i in card.items if i.verdict == FAIL]
    if failed:
        lines += ["", "## What to change", ""]
        by_index = {e["i"]: e for e in requests or []}
        for item in failed:
            lines += [
                f"### {item.title}",
                "",
                f"- Requirement: {item.requirement}.",
                f"- Seen: {item.detail}.",
                f"- Change: {item.fix}",
            ]
            rows = [by_index[i] for i in item.evidence if i in by_index] if evidence else []
            if rows:
                lines += ["", "| # | Request | Part | Size | Status |", "|---|---|---|---|---|"]
                lines += [_request_row(e) for e in rows]
            lines.append("")
    lines += ["", "## The scenario", "", *scenario_lines(scenario)]
    return "\n".join(lines).rstrip() + "\n"


def _header(first: str, evidence: bool, *, how: bool) -> str:
    cols = [first, *(["How"] if how else []), "Verdict", "What the sandbox saw", *(["Requests"] if evidence else [])]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def _row(item: Item, evidence: bool, *, how: bool) -> str:
    cols = [item.title, *([HOW.get(item.kind, item.kind)] if how else []), MARKS[item.verdict], item.detail or "-"]
    if evidence:
        cols.append(", ".join(map(str, item.evidence)) or "-")
    return "| " + " | ".join(cols) + " |"


def _request_row(e: dict[str, Any]) -> str:
    if e.get("status") is None:
        status = e.get("error") or "no answer"
    else:
        status = f"{e['status']} {e.get('error') or ''}".strip()
    method, _, template = str(e.get("route", "?")).partition(" ")  # the method is the device's, the template ours
    route = f"{shown(method)} {template}".replace("|", "/")
    return f"| {e['i']} | {route} | {e.get('part') or '-'} | {e.get('size') or '-'} | {status} |"
