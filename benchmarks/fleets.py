"""A set of cameras against each mode of the sandbox: its own gateway, and a real S3 store behind it.

    python -m benchmarks.fleets [--cameras 20,50,100] [--clips 3] [--clip-bytes N]

For each mode (``embedded``: the part bytes through the sandbox's gateway into its data dir; ``store``: the
sandbox started with ``--s3`` on SeaweedFS's ``weed mini``, the part bytes PUT straight to the store) and each
number of cameras: the sandbox (and the store) run in processes of their own, and
:func:`c2c_helpers.tools.fleet.run_fleet` pairs the cameras and has each upload its clips at once, loopback speed
(no network conditions: the store mode has none). Reported: the set's throughput, Jain's index over the cameras,
failures, each server process's CPU seconds per GiB received and its peak RSS, and how those grow from the
fewest cameras to the most. The assets are cleared between runs (the originals would fill the disk).
Target: the most cameras (100) × 3 clips with 0 failures and Jain's index >= 0.95 in both modes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.servers import RSSSampler
from c2c_helpers.tools.fleet import run_fleet
from c2c_sandbox.remote import RemoteSandbox
from c2c_sandbox.s3.weed import WeedMini

FAIRNESS_TARGET = 0.95
MODES = ("embedded", "store")
GiB = 1024**3
START_TIMEOUT = 60.0


@dataclass
class FleetRow:
    """One mode, one number of cameras."""

    mode: str
    cameras: int
    clips: int
    gb: float
    mbps: float
    jain: float
    failures: int
    seconds: float
    sandbox_cpu_s_per_gib: float
    sandbox_peak_mb: float
    store_cpu_s_per_gib: float | None
    store_peak_mb: float | None
    why: tuple[str, ...] = ()  # the first few failures, as the fleet reported them

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.jain >= FAIRNESS_TARGET


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/PID/stat``), children not included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def served_sandbox(folder: Path, store: WeedMini | None) -> Iterator[tuple[subprocess.Popen[str], RemoteSandbox, str]]:
    """``python -m c2c_sandbox`` in a process of its own (with ``--s3`` when a store is given); its controls."""
    command = [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(folder / "sandbox")]
    env = dict(os.environ)
    if store is not None:
        command += ["--s3", f"{store.url}/{store.bucket}"]
        env |= {"AWS_ACCESS_KEY_ID": store.access_key, "AWS_SECRET_ACCESS_KEY": store.secret_key}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        announced: dict[str, str] = {}
        deadline = time.monotonic() + START_TIMEOUT
        while "C2C_CLIENT_SECRET" not in announced and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the sandbox exited before it announced itself")
            if "=" in line and not line.startswith("#"):
                name, value = line.strip().split("=", 1)
                announced[name] = value
        yield process, RemoteSandbox(announced["C2C_API_URL"]), announced["C2C_CLIENT_SECRET"]
    finally:
        process.terminate()
        process.wait(30)


def one_run(mode: str, cameras: int, clips: int, clip_bytes: int | None, folder: Path) -> FleetRow:
    """A fresh sandbox (and store) for one fleet, measured from the outside."""
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(WeedMini(folder / f"store-{cameras}")) if mode == "store" else None
        process, remote, secret = stack.enter_context(served_sandbox(folder / f"{mode}-{cameras}", store))
        pids = {"sandbox": process.pid} | ({"store": store.process.pid} if store and store.process else {})
        samplers = {name: RSSSampler(pid) for name, pid in pids.items()}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        report = run_fleet(cameras, clips, network=None, sandbox=remote, client_secret=secret, clip_bytes=clip_bytes)
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        peaks = {name: sampler.peak / 1e6 for name, sampler in samplers.items()}
        remote.clear_assets()
    gib = report.total_bytes / GiB or 1.0
    return FleetRow(
        mode=mode,
        cameras=cameras,
        clips=clips,
        gb=report.total_bytes / 1e9,
        mbps=report.throughput / 1e6,
        jain=report.fairness,
        failures=report.failures,
        seconds=report.seconds,
        sandbox_cpu_s_per_gib=cpu["sandbox"] / gib,
        sandbox_peak_mb=peaks["sandbox"],
        store_cpu_s_per_gib=cpu["store"] / gib if "store" in cpu else None,
        store_peak_mb=peaks.get("store"),
        why=tuple(f for c in report.cameras for f in c.failures)[:3],
    )


def run(cameras: list[int], clips: int, clip_bytes: int | None, modes: tuple[str, ...] = MODES) -> list[FleetRow]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="c2c-fleets-") as tmp:
        for mode in modes:
            for n in cameras:
                rows.append(one_run(mode, n, clips, clip_bytes, Path(tmp)))
                print(f"# {mode}: {n} cameras x {clips} clips done", file=sys.stderr, flush=True)
    return rows


def _opt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(rows: list[FleetRow]) -> str:
    """The rows, then how each mode grows from its fewest cameras to its most."""
    lines = [
        "| mode | cameras × clips | GB | MB/s | Jain | failures | sandbox CPU s/GiB | sandbox peak MB |"
        " store CPU s/GiB | store peak MB | target |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        target = ("met" if r.ok else "MISSED") if r.cameras == max(x.cameras for x in rows) else ""
        lines.append(
            f"| {r.mode} | {r.cameras} × {r.clips} | {r.gb:.2f} | {r.mbps:,.0f} | {r.jain:.3f} | {r.failures} |"
            f" {r.sandbox_cpu_s_per_gib:.2f} | {r.sandbox_peak_mb:,.0f} | {_opt(r.store_cpu_s_per_gib)} |"
            f" {_opt(r.store_peak_mb, 0)} | {target} |"
        )
    lines += ["", "| mode | growth, fewest → most cameras |", "|---|---|"]
    for mode in MODES:
        mine = sorted((r for r in rows if r.mode == mode), key=lambda r: r.cameras)
        if len(mine) < 2:
            continue
        low, high = mine[0], mine[-1]
        parts = [
            f"{high.cameras / low.cameras:.0f}× the cameras: throughput {high.mbps / low.mbps:.2f}×",
            f"sandbox CPU/GiB {high.sandbox_cpu_s_per_gib / low.sandbox_cpu_s_per_gib:.2f}×",
            f"sandbox peak {high.sandbox_peak_mb / low.sandbox_peak_mb:.2f}×",
        ]
        if low.store_peak_mb and high.store_peak_mb and low.store_cpu_s_per_gib and high.store_cpu_s_per_gib:
            parts.append(f"store CPU/GiB {high.store_cpu_s_per_gib / low.store_cpu_s_per_gib:.2f}×")
            parts.append(f"store peak {high.store_peak_mb / low.store_peak_mb:.2f}×")
        lines.append(f"| {mode} | {'; '.join(parts)} |")
    return "\n".join(lines)


def to_json(rows: list[FleetRow]) -> list[dict[str, Any]]:
    return [asdict(r) | {"ok": r.ok} for r in rows]


def parse_cameras(text: str) -> list[int]:
    return sorted({int(n) for n in text.split(",") if n.strip()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleets", description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", default="20,50,100", help="numbers of cameras, comma separated")
    parser.add_argument("--clips", type=int, default=3, help="clips per camera")
    parser.add_argument(
        "--clip-bytes", type=int, default=None, help="a generated clip of this size (default: the test clip)"
    )
    parser.add_argument("--modes", default=",".join(MODES), help="embedded and/or store")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.fleets " + " ".join(sys.argv[1:] if argv is None else argv)
    rows = run(parse_cameras(args.cameras), args.clips, args.clip_bytes, tuple(args.modes.split(",")))
    print(table(rows))
    for row in rows:
        for why in row.why:
            print(f"# {row.mode}, {row.cameras} cameras: {why}")
    print(f"\n`{command.strip()}`, {os.cpu_count()} CPUs")
    print(json.dumps(to_json(rows)))


if __name__ == "__main__":
    main()
