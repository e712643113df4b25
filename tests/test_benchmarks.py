"""Smoke test of ``python -m benchmarks --quick``: the table and the JSON have every row. No speed is asserted:
targets live in benchmarks/, and a loaded CI machine must not fail a test for being slow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAYS = ["curl", "naive", "bare ×1", "bare ×2", "upload_file ×1", "upload_file ×2"]


def test_quick_run_prints_the_table_and_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--scale", "6MiB,12MiB", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| server | file | way | MB/s (parts) |")
    body = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    for server in ("sandbox", "sink"):
        assert [row[2] for row in body if row[0] == server and row[1] == "clip"] == WAYS
    scale = [row for row in body if row[0] == "sandbox (scale)"]
    assert [row[1] for row in scale] == ["6 MiB", "12 MiB"]
    assert "sha256 matches" in scale[-1][8] and "client" in scale[-1][8]
    assert any("start:" in row[2] for row in body)

    report = json.loads(out.read_text())
    assert report["table"] in done.stdout
    rows = report["rows"]
    assert len(rows) == len(body) - 1  # the start-time line is not a row
    for row in rows:
        assert row["mbps"] > 0 and row["client_rss_mb"] > 0, row
        assert (row["server_rss_mb"] or 0) > 0 or row["server"] == "sink", row
    assert {(r["server"], r["target"] != "") for r in rows if r["way"] == "upload_file"} >= {
        ("sandbox", True),
        ("sink", True),
    }
