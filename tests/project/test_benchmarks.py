"""Smoke test of ``python -m benchmarks --quick``: both tables and the JSON have every row. No speed is asserted:
targets live in benchmarks/, and a loaded CI machine must not fail a test for being slow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.client import NO_VERIFY

ROOT = Path(__file__).resolve().parents[2]
WAYS = ["curl", "naive", "bare ×1", "bare ×2", "upload_file ×1", "upload_file ×2"]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.mark.soak  # a load run: every way of sending, on the sandbox and a sink
def test_quick_run_prints_the_tables_and_writes_the_json(tmp_path: Path) -> None:
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
    rows_table, ratio_table = (block.splitlines() for block in done.stdout.split("\n\n")[:2])
    assert rows_table[0].startswith("| server | file | way | MB/s (parts) | MB/s (end to end) | client CPU s/GiB |")
    body = [cells(line) for line in rows_table[2:]]
    for server in ("sandbox", "sink"):
        assert [row[2] for row in body if row[0] == server and row[1] == "clip"] == WAYS
        floor = [row for row in body if row[0] == f"{server} (floor)"]
        assert [row[2] for row in floor] == ["floor ×4", "floor+MD5 ×4", "upload_file ×4", NO_VERIFY + " ×4"]
        assert all(row[5] != "–" for row in floor), floor  # CPU s/GiB of each
        assert "nothing hashed" in floor[3][9]
        hashing = {row[2]: row[9] for row in floor[1:3]}
        # the sandbox's ETag is the part's MD5, and both hashing senders check it; the sink's is not an MD5
        expected = "each part's MD5 = its ETag" if server == "sandbox" else "MD5 hashed, not checked"
        assert all(expected in note for note in hashing.values()), hashing
    scale = [row for row in body if row[0] == "sandbox (scale)"]
    assert [row[1] for row in scale] == ["6 MiB", "12 MiB"]
    assert "sha256 matches" in scale[-1][9] and "client" in scale[-1][9]
    assert any("start:" in row[2] for row in body)

    assert ratio_table[0] == "| ratio | value | target | result |"
    ratios = [cells(line)[0] for line in ratio_table[2:]]
    for start in (
        "upload_file ÷ floor+MD5, sink",
        "upload_file ÷ floor+MD5, sandbox",
        "client CPU s/GiB ÷ floor+MD5's, sink",
        "upload_file ÷ floor, sink",
        "upload_file ÷ floor, sandbox",
        "client CPU s/GiB ÷ floor's, sink",
        "MD5's cost, sink",
        "MD5's cost, sandbox",
        "client peak RSS",
        "sandbox ingest ÷ sink's",
        "sandbox ingest ÷ the reference figure",
    ):
        assert any(r.startswith(start) for r in ratios), (start, ratios)

    report = json.loads(out.read_text())
    assert report["table"] in done.stdout and report["ratio_table"] in done.stdout
    rows = report["rows"]
    assert len(rows) == len(body) - 1  # the start-time line is not a row
    for row in rows:
        assert row["mbps"] > 0 and row["client_rss_mb"] > 0, row
        assert (row["server_rss_mb"] or 0) > 0 or row["server"] == "sink", row
    assert {(r["server"], r["target"] != "") for r in rows if r["way"] == "upload_file"} >= {
        ("sandbox", True),
        ("sink", True),
    }
    assert len(report["ratios"]) == len(ratios)
