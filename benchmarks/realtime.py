"""Real-time uploads: from the last byte a recorder writes to the asset complete at the sandbox.

    python -m benchmarks.realtime [--sizes clip,1GiB] [--runs 3] [--rate 64MiB] [--part-size 8MiB]

(``python -m benchmarks`` runs it too, after its other sections.) For each size, a child process (so its peak RSS
is its own) records a file, the test clip at its real bitrate (1.32 MB/s, 16 s) or ``size`` synthetic bytes at
``--rate`` (faster than real time), and uploads it as it grows with ``upload_growing_file`` into a sandbox
running in this process; the recorder sets the ``done`` signal as its last byte is fsynced. The figure is the
sandbox's ``upload_completed_at`` minus that moment: the target is under 2 s ("playable seconds
after recording stops"). With the idle-timeout fallback instead of the signal, add the idle timeout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
TARGET_S = 2.0
DEFAULT_SIZES = "clip,1GiB"
DEFAULT_RATE = 64 * MiB


def parse_size(text: str) -> int | str:
    """``clip`` or bytes such as ``1GiB``, ``64MiB``, ``12345``."""
    text = text.strip()
    if text == "clip":
        return text
    units = {"GiB": 1024**3, "MiB": MiB, "KiB": 1024, "": 1}
    for unit, factor in units.items():
        if unit and text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


# -- the child: record and upload at once ------------------------------------------------------------------------
def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Record `spec`'s file in a thread and upload it as it grows; what happened, as JSON."""
    from c2c_helpers import C2CClient
    from c2c_helpers.lab.recording import record_test_clip, start_recording
    from c2c_helpers.realtime.upload import upload_growing_file

    path = Path(spec["dir"]) / ("take.mp4" if spec["size"] == "clip" else "take.bin")
    if spec["size"] == "clip":
        recording = record_test_clip(path, speed=spec.get("speed", 1.0))
    else:
        recording = start_recording(path, size=spec["size"], rate=spec["rate"], block=256 * 1024)
    with C2CClient(spec["api_url"], spec["token"]) as client:
        result = upload_growing_file(
            path, client=client, done=recording.done, part_size=spec["part_size"], filetype="video/mp4"
        )
    recording.wait()
    path.unlink(missing_ok=True)
    return {
        "asset_id": result.asset_id,
        "finished_epoch": recording.finished_epoch,
        "sha256": recording.sha256,
        "bytes": result.bytes,
        "parts": len(result.parts),
        "tail_s": result.tail_seconds,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


# -- the parent: a sandbox, and a child per run ----------------------------------------------------------------
def one_run(sandbox: Any, size: int | str, rate: float, part_size: int, tmp: Path) -> dict[str, Any]:
    spec = {
        "api_url": sandbox.api_url,
        "token": sandbox.access_token,
        "size": size,
        "rate": rate,
        "part_size": part_size,
        "dir": str(tmp),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.realtime", "--child"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the real-time child failed:\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    asset = sandbox.wait_for_asset(answer["asset_id"], 120)
    if asset.status != "complete":
        raise RuntimeError(f"asset {asset.id} is {asset.status}: {asset.error}")
    answer["latency_s"] = asset.upload_completed_at - answer["finished_epoch"]
    answer["sha_ok"] = asset.sha256 == answer["sha256"]
    sandbox.model.asset_path(asset.id).unlink(missing_ok=True)  # a GiB per run: free it at once
    return answer


def rows(sizes: list[int | str], runs: int, rate: float, part_size: int) -> list[dict[str, Any]]:
    """One row per size: the median and worst latency, the client's peak RSS, the sha256 checks."""
    from c2c_helpers.lab.recording import TEST_CLIP_RATE
    from c2c_sandbox import Sandbox

    out = []
    with tempfile.TemporaryDirectory(prefix="c2c-bench-realtime-") as tmp, Sandbox(data_dir=Path(tmp) / "sb") as sb:
        for size in sizes:
            runs_of = [one_run(sb, size, rate, part_size, Path(tmp)) for _ in range(runs)]
            latencies = [r["latency_s"] for r in runs_of]
            out.append(
                {
                    "recording": label(size),
                    "bytes": runs_of[0]["bytes"],
                    "rate_MBps": (TEST_CLIP_RATE if size == "clip" else rate) / 1e6,
                    "parts": runs_of[0]["parts"],
                    "latency_median_s": statistics.median(latencies),
                    "latency_max_s": max(latencies),
                    "client_peak_rss_mb": max(r["peak_rss"] for r in runs_of) / 1e6,
                    "sha256_ok": all(r["sha_ok"] for r in runs_of),
                    "runs": runs,
                }
            )
    return out


def label(size: int | str) -> str:
    """``test clip``, ``1 GiB``, ``12 MiB``."""
    if size == "clip":
        return "test clip"
    size = int(size)
    return f"{size / 1024**3:g} GiB" if size >= 1024**3 else f"{size / MiB:g} MiB"


def table(found: list[dict[str, Any]]) -> str:
    lines = [
        f"Real-time upload: last byte written -> asset complete at the sandbox (done signal; target <= {TARGET_S:g} s)",
        "",
        "| recording | bytes | recorded at | parts | latency median (max) | client peak RSS | sha256 |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in found:
        lines.append(
            f"| {r['recording']} | {r['bytes']:,} | {r['rate_MBps']:.1f} MB/s | {r['parts']} | "
            f"{r['latency_median_s']:.2f} s ({r['latency_max_s']:.2f} s) | {r['client_peak_rss_mb']:.0f} MB | "
            f"{'ok' if r['sha256_ok'] else 'MISMATCH'} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.realtime", description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="clip and/or byte counts (default clip,1GiB)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=parse_size, default=DEFAULT_RATE, help="recording rate, bytes/s (64MiB)")
    parser.add_argument("--part-size", type=parse_size, default=8 * MiB)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(sys.stdin.read()))))
        return []
    started = time.perf_counter()
    found = rows([parse_size(s) for s in args.sizes.split(",")], args.runs, float(args.rate), int(args.part_size))
    print(table(found))
    print(f"\npython -m benchmarks.realtime --sizes {args.sizes} --runs {args.runs}: "
          f"{time.perf_counter() - started:.0f} s, {os.cpu_count()} CPUs, {dt.date.today()}")  # fmt: skip
    return found


if __name__ == "__main__":
    main()
