"""The shaped S3 side against its model, and a fleet of cameras on one uplink.

    python -m benchmarks.network [--presets all] [--runs 3] [--seconds 3] [--fleet 20x3] [--fleet-network ...]

(``python -m benchmarks`` runs both sections after its own; ``--network none`` / ``--fleet none`` skip them.)

1. model: for each preset (loopback excluded: nothing to predict), the test clip in 4 parts (the most it can
   have: every part but the last at least 5 MiB) with 1, 2, 4 and 8 workers, measured around ``upload_file``
   (``wait=False``: from the asset create to the last part's 200), median of the runs, against
   :func:`c2c_sandbox.network.predict_seconds`. A preset runs time-compressed (``faster(k)``) so that one worker
   takes about ``--seconds``; a prediction compresses exactly, so the ratio is the preset's own. Target ±15%.
2. fleet: :func:`c2c_helpers.tools.fleet.run_fleet`, e.g. 20 cameras × 3 clips on the shared-uplink preset; target
   no failure and Jain's index at least 0.9.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from c2c_helpers import C2CClient, make_test_clip, upload_file
from c2c_helpers.chunks import plan_chunks
from c2c_helpers.tools.fleet import DEFAULT_NETWORK, run_fleet
from c2c_sandbox import Sandbox
from c2c_sandbox.network.profiles import PRESETS, parse_network, predict_seconds

PARTS = 4
WORKERS = (1, 2, 4, 8)
MODEL_TOLERANCE = 0.15
FAIRNESS_TARGET = 0.9


def model_rows(presets: list[str], runs: int, seconds: float) -> list[dict[str, Any]]:
    """Measured against predicted, per preset and worker count."""
    clip = make_test_clip()
    sizes = [c.size for c in plan_chunks(clip.stat().st_size, ["u"] * PARTS)]
    rows = []
    with Sandbox() as sb, C2CClient(sb.api_url, sb.access_token) as client:
        upload_file(clip, client=client, parts=PARTS, workers=4, wait=False)  # warm-up, not recorded
        for name in presets:
            base = parse_network(name)
            scale = max(1.0, predict_seconds(base, sizes, 1) / seconds)
            profile = sb.set_network(base.faster(scale))
            for workers in WORKERS:
                times = []
                for _ in range(runs):
                    started = time.monotonic()
                    upload_file(clip, client=client, parts=PARTS, workers=workers, wait=False)
                    times.append(time.monotonic() - started)
                    time.sleep(0.2)  # asset create allows 5 per second
                measured, predicted = statistics.median(times), predict_seconds(profile, sizes, workers)
                ratio = measured / predicted
                rows.append(
                    {
                        "preset": base.name,
                        "scale": scale,
                        "workers": workers,
                        "predicted_s": predicted,
                        "measured_s": measured,
                        "ratio": ratio,
                        "mbps": sum(sizes) * 8 / 1e6 / measured / scale,  # in the preset's own (uncompressed) time
                        "result": "✓" if abs(ratio - 1) <= MODEL_TOLERANCE else "✗",
                    }
                )
        sb.set_network(None)
    return rows


def model_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| network (time compressed ×k) | workers | predicted s | measured s | measured ÷ predicted"
        " | Mbps (real time) | ±15% |",
        "|---|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} ×{r['scale']:.3g} | {r['workers']} | {r['predicted_s']:.3f} | {r['measured_s']:.3f} |"
            f" {r['ratio']:.3f} | {r['mbps']:.1f} | {r['result']} |"
        )
    return "\n".join(lines)


def fleet_section(spec: str, network: str) -> dict[str, Any]:
    """``CxK`` cameras × clips on ``network``: the report as JSON, its summary and table, and the verdict."""
    cameras, clips = (int(n) for n in spec.lower().split("x"))
    report = run_fleet(cameras, clips, network=network)
    ok = report.failures == 0 and report.fairness >= FAIRNESS_TARGET
    return {
        "report": report.to_json(),
        "summary": report.summary(),
        "table": report.table(),
        "result": "✓" if ok else "✗",
        "target": f"0 failures, Jain's index ≥ {FAIRNESS_TARGET}",
    }


def fleet_text(fleet: dict[str, Any]) -> str:
    return f"{fleet['summary']}\ntarget {fleet['target']}: {fleet['result']}\n\n{fleet['table']}"


def presets_arg(text: str) -> list[str]:
    if text == "all":
        return [name for name in PRESETS if name != "loopback"]
    return [] if text == "none" else [p.strip() for p in text.split(";") if p.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.network", description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="all", help="'all', 'none', or specs separated by ';'")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="one worker's time, after time compression")
    parser.add_argument("--fleet", default="20x3", help="cameras x clips, or 'none'")
    parser.add_argument("--fleet-network", default=DEFAULT_NETWORK)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    if presets_arg(args.presets):
        result["model"] = model_rows(presets_arg(args.presets), args.runs, args.seconds)
        print(model_table(result["model"]), end="\n\n")
    if args.fleet != "none":
        result["fleet"] = fleet_section(args.fleet, args.fleet_network)
        print(fleet_text(result["fleet"]))
    print(json.dumps({"model": len(result.get("model", [])), "fleet": "fleet" in result}))


if __name__ == "__main__":
    main()
