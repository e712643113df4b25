"""What the grader reads and writes: a recorded session (a transcript) indexed by file, asset and part; the
verdicts; :class:`Item` and :class:`Scorecard`.

A transcript is what :meth:`c2c_sandbox.scorecard.scenario.Session.transcript` returns: ``scenario`` (the seed, the
compressed clock, the pause window, the files with their role, size, part count, filetype and sha256),
``device``, ``requests`` (the device's recorded requests, :mod:`c2c_sandbox.scorecard.recorder`) and ``assets`` (their
final state). Times are POSIX seconds; an entry's end is ``t + ms / 1000``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "BY_HAND",
    "DEVICE",
    "FAIL",
    "MANUAL",
    "NOT_EXERCISED",
    "PASS",
    "TRAFFIC",
    "Entry",
    "Item",
    "Scorecard",
    "Transcript",
    "View",
    "end",
    "ids",
    "part_sizes",
    "shown",
]

PASS, FAIL, NOT_EXERCISED, MANUAL = "pass", "fail", "not exercised", "manual"
#: how an item is judged: from the recorded traffic, from what the device reports or leaves (its report file,
#: its output, its folder), or by a person (nothing the sandbox can see shows it)
TRAFFIC, DEVICE, BY_HAND = "graded from traffic", "graded from the device's report", "manual"
MAX_EVIDENCE = 12
MAX_SHOWN = 60  # characters of a device-sent value the scorecard quotes
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PLAIN = re.compile(r"[A-Za-z0-9 .,:;/=+'\"()%?-]*")  # no Markdown, HTML or table syntax can form from these

Transcript = dict[str, Any]
Entry = dict[str, Any]


@dataclass
class Item:
    """One checklist item's verdict."""

    id: str
    title: str
    requirement: str
    verdict: str = NOT_EXERCISED
    detail: str = ""
    evidence: list[int] = field(default_factory=list)
    fix: str = ""
    section: str = "Kit's own checks"
    kind: str = TRAFFIC


@dataclass
class Scorecard:
    """Every item's verdict; ``passed`` when none failed (``c2c check`` exits 0 then)."""

    device: dict[str, Any]
    scenario: dict[str, Any]
    items: list[Item]

    @property
    def passed(self) -> bool:
        return not any(i.verdict == FAIL for i in self.items)

    def counts(self) -> dict[str, int]:
        return {v: sum(i.verdict == v for i in self.items) for v in (PASS, FAIL, NOT_EXERCISED, MANUAL)}

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def verdicts(self) -> dict[str, str]:
        return {i.id: i.verdict for i in self.items}

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "counts": self.counts(),
            "device": self.device,
            "scenario": {k: v for k, v in self.scenario.items() if k != "files"},
            "items": [asdict(i) for i in self.items],
        }


class View:
    """The transcript, indexed the ways the items need."""

    def __init__(self, transcript: Transcript) -> None:
        self.scenario = transcript["scenario"]
        self.requests: list[Entry] = sorted(transcript["requests"], key=lambda e: (e["t"], e["i"]))
        self.files = {f["size"]: f for f in self.scenario["files"]}
        self.by_role = {f["role"]: f for f in self.scenario["files"]}
        self.assets = {a["id"]: a for a in transcript["assets"]}
        self.api = [e for e in self.requests if e.get("kind") in ("api", "oauth")]
        self.puts = [e for e in self.requests if e.get("kind") == "s3" and e["method"] == "PUT"]
        self.creates = [e for e in self.requests if e.get("create") is not None]
        self.reports: list[dict[str, Any]] = list(transcript.get("reports") or [])
        self.checks: dict[str, Any] = dict(transcript.get("checks") or {})
        self.device: dict[str, Any] = dict(transcript.get("device") or {})

    def reported(self, event: str) -> list[dict[str, Any]]:
        """The device's reported events of one kind (its ``C2C_CHECK_REPORT`` lines), oldest first."""
        return [r for r in self.reports if r.get("event") == event]

    def complete(self, f: dict[str, Any]) -> bool:
        """Whether some asset holds exactly this file's bytes."""
        return any(a.get("status") == "complete" and a.get("sha256") == f.get("sha256") for a in self.assets.values())

    def file_of(self, create: Entry) -> dict[str, Any] | None:
        return self.files.get((create.get("create") or {}).get("filesize"))

    def creates_of(self, role: str) -> list[Entry]:
        f = self.by_role.get(role)
        return [e for e in self.creates if f is not None and self.file_of(e) is f]

    def assets_of(self, role: str) -> list[str]:
        return [e["asset"] for e in self.creates_of(role) if e["status"] == 200 and e.get("asset")]

    def name_of(self, asset: str | None) -> str:
        """The scenario file an asset was created for, by its size ("?" when none)."""
        return str(self.files.get(self.assets.get(asset or "", {}).get("filesize"), {}).get("name", "?"))

    def puts_of(self, asset: str, part: int | None = None) -> list[Entry]:
        return [e for e in self.puts if e.get("asset") == asset and (part is None or e.get("part") == part)]


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """A value the device sent (a header, a name) as the Markdown report a notebook renders may hold it: as it is
    when plain text (letters, digits, spaces, plain punctuation), else as an inline code span, in which no
    Markdown or HTML is read as such (its backticks and line breaks cannot end the span, its ``|`` cannot end a
    table cell, a URL is not made a link); cut to `limit` characters."""
    text = _UNPRINTABLE.sub("?", str(value))
    cut = text[:limit] + ("…" if len(text) > limit else "")
    if _PLAIN.fullmatch(cut) and "://" not in cut and "www." not in cut.lower():
        return cut
    return "`" + (cut.replace("`", "'").replace("|", "\\|") or " ") + "`"


def end(entry: Entry) -> float:
    return float(entry["t"]) + float(entry.get("ms") or 0) / 1000


def ids(entries: Iterable[Entry]) -> list[int]:
    return sorted({int(e["i"]) for e in entries})[:MAX_EVIDENCE]


def part_sizes(filesize: int, parts: int) -> dict[int, int]:
    """The guide's arithmetic: ``ceil(filesize / len(urls))``, the last part shorter."""
    chunk = math.ceil(filesize / parts)
    return {n: min(chunk, filesize - (n - 1) * chunk) for n in range(1, parts + 1)}
