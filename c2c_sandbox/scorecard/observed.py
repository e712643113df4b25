"""What a check session sees of the device itself, beside its traffic: the device's report (JSON lines it appends
to ``C2C_CHECK_REPORT``, bounded), whether a secret shows where the user can read it (its output, its report, the
user's folder), and whether the files it was given are still there, unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

from c2c_sandbox.domain.store import Store
from c2c_sandbox.scorecard.files import ScenarioFile

__all__ = ["MAX_REPORT_LINES", "device_checks", "read_report"]

MAX_REPORT_LINES = 2000
SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-.~+/=]{20,200}")  # what could be a token, looked up in the store


def read_report(path: Path) -> list[dict[str, Any]]:
    """The device's report: its first :data:`MAX_REPORT_LINES` lines of 4 KiB, each a JSON object with a time."""
    events = []
    with contextlib.suppress(OSError), path.open(errors="replace") as lines:
        for line in itertools.islice(lines, MAX_REPORT_LINES):
            with contextlib.suppress(ValueError):
                event = json.loads(line[:4096])
                if isinstance(event, dict) and isinstance(event.get("t"), int | float):
                    events.append({str(k)[:40]: v for k, v in list(event.items())[:20]})
    return events


def device_checks(
    store: Store, directory: Path, files: list[ScenarioFile], report: Path, output: str | None, secrets: list[str]
) -> dict[str, Any]:
    """``files``: each file kept, changed or missing; ``leaks`` (when the device's output was seen): where a secret
    showed (the given credentials, or any token the store issued, a refreshed one included)."""
    kept = {}
    for f in files:
        if f.role == "corrupt":
            continue
        try:
            same = hashlib.sha256((directory / f.name).read_bytes()).hexdigest() == f.sha256
        except OSError:
            same = None
        kept[f.name] = "kept" if same else "changed" if same is False else "missing"
    checks: dict[str, Any] = {"files": kept}
    if output is not None:
        places = {"the device's output": output}
        with contextlib.suppress(OSError):
            places["its report"] = report.read_text(errors="replace")
        for path in sorted(directory.rglob("*"))[:200]:
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_size < 1024 * 1024:
                    places[f"the user's folder ({path.name})"] = path.read_text(errors="replace")
        checks["leaks"] = [where for where, text in places.items() if _has_secret(store, text, secrets)]
    return checks


def _has_secret(store: Store, text: str, secrets: list[str]) -> bool:
    if any(v and v in text for v in secrets):
        return True
    candidates = itertools.islice(set(SECRET_LIKE.findall(text)), 5000)
    return any(store.token(c) is not None for c in candidates)  # a token issued later (a refresh)
