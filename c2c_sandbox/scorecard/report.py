"""The scorecard as a Markdown report (``c2c check``, the page, the notebook); JSON is :meth:`Scorecard.to_json`.

``evidence=False`` leaves out the request indices, which vary from run to run for a device that works in
parallel; the verdicts and what to change do not. What the device sent (its name, a header, a method) is shown
as code unless it is plain text (:func:`~c2c_sandbox.scorecard.evidence.shown`): a notebook renders the report,
and must render no link, image or HTML a device put in it.
"""

from __future__ import annotations

from typing import Any

from c2c_sandbox.scorecard.evidence import FAIL, NOT_EXERCISED, PASS, Scorecard, shown

__all__ = ["markdown", "scenario_lines"]

MARKS = {PASS: "pass", FAIL: "**FAIL**", NOT_EXERCISED: "not exercised"}


def scenario_lines(scenario: dict[str, Any]) -> list[str]:
    """What the scenario played, one line per file."""
    lines = []
    for f in scenario.get("files", []):
        parts = f.get("parts")
        lines.append(f"- `{f['name']}` ({f['size']:,} bytes, {parts} part{'s' if parts != 1 else ''}): {f['plays']}")
    return lines


def markdown(card: Scorecard, *, evidence: bool = True, requests: list[dict[str, Any]] | None = None) -> str:
    """The report: the result, a table of the items, then what to change for each failed item.

    With `requests` (the session's recorded requests) each failed item lists the requests that show it.
    """
    counts = card.counts()
    scenario = card.scenario
    minute = scenario.get("clock", {}).get("seconds_per_minute", 60)
    lines = [
        "# C2C integrator scorecard",
        "",
        f"Device: {shown(card.device.get('name', '?'))} · scenario seed {scenario.get('seed')} · "
        f"{len(scenario.get('files', []))} files · clock: 1 minute = {minute:g} s",
        "",
        f"**Result: {'PASS' if card.passed else 'FAIL'}** ({counts[PASS]} pass, {counts[FAIL]} fail, "
        f"{counts[NOT_EXERCISED]} not exercised)",
        "",
        "| Checklist item | Verdict | What the traffic showed |" + (" Requests |" if evidence else ""),
        "|---|---|---|" + ("---|" if evidence else ""),
    ]
    for item in card.items:
        row = f"| {item.title} | {MARKS[item.verdict]} | {item.detail or '-'} |"
        if evidence:
            row += f" {', '.join(map(str, item.evidence)) or '-'} |"
        lines.append(row)
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


def _request_row(e: dict[str, Any]) -> str:
    if e.get("status") is None:
        status = e.get("error") or "no answer"
    else:
        status = f"{e['status']} {e.get('error') or ''}".strip()
    method, _, template = str(e.get("route", "?")).partition(" ")  # the method is the device's, the template ours
    route = f"{shown(method)} {template}".replace("|", "/")
    return f"| {e['i']} | {route} | {e.get('part') or '-'} | {e.get('size') or '-'} | {status} |"
