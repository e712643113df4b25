"""``python -m benchmarks`` (``make bench``): every way of uploading the same parts, and the speed floor.

    python -m benchmarks [--quick] [--sizes clip] [--runs 3] [--workers 1,2,4,8]
                         [--floor 2GiB] [--floor-workers 2,4,8] [--scale 256MiB,2GiB]
                         [--network all] [--network-seconds 3] [--fleet 20x3] [--fleet-network NAME,k=v]
                         [--fleets 20,50,100x3]

Servers and clients each run in a process of their own: the sandbox (``python -m c2c_sandbox``), the
discard-only sink (``python -m benchmarks.sink``), and one process per client run (:mod:`benchmarks.measure`),
so a client's peak RSS and CPU time are its own. The sections:

1. throughput (``--sizes``, default the test clip): on each server, the guide's ``curl`` procedure, a
   ``naive`` loop, ``bare`` parallel requests and ``upload_file``, at each worker count (the clip's targets);
2. floor (``--floor``, default 2 GiB): on each server, the bare ``http.client`` sender of
   :mod:`benchmarks.floor`, the same sender hashing each part (``floor+MD5``, the integrity work
   ``upload_file`` must do) and ``upload_file``, the same file and the same worker count (``upload_file``'s
   default), their runs interleaved; the floor also at ``--floor-workers`` to find the sandbox's own ingest;
3. scale (``--scale``, default 256 MiB and 2 GiB): ``upload_file`` into the sandbox, sha256 checked, for the
   client's peak RSS (the 2 GiB row reuses the floor section's runs when the sizes agree);
4. network (``--network``, default every shaped preset) and fleet (``--fleet``, default 20 cameras × 3 clips):
   the shaped S3 side against its model, and many cameras on one uplink (:mod:`benchmarks.network`); these run
   in this process, with an embedded sandbox, and print their tables after the others;
5. real-time (``--realtime``, default the clip at its bitrate and 1 GiB recorded at 64 MiB/s): from the last byte
   a recorder writes to the asset complete at the sandbox, and the client's peak RSS (:mod:`benchmarks.realtime`);
6. fleets (``--fleets``, default 20, 50 and 100 cameras × 3 clips): each set against the embedded sandbox and
   against the sandbox with a real S3 store behind it, each server in its own process: throughput, Jain's index,
   failures, CPU s/GiB and peak RSS of the sandbox and of the store, growth with cameras (:mod:`benchmarks.fleets`).

The floor section also runs ``upload_file(verify=False)`` (no MD5, no ETag check), set against the raw floor.

MB/s is file bytes (10^6) over the wall time of the part PUTs, median of the runs. Then the ratio table:
upload_file ÷ floor+MD5 on each server (the targets) and ÷ the raw floor, client CPU s/GiB ÷ both, what MD5
costs, client RSS small → big, the sandbox's ingest against the sink's and against a reference figure
(:mod:`benchmarks.report` has the targets).
Figures also go, as JSON, to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import fleets, network, realtime, report
from benchmarks.client import NO_VERIFY
from benchmarks.measure import Measure, measure_way, run_once, summarise
from benchmarks.sandbox import start_in_process
from benchmarks.servers import Server, servers

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "latest.json"
MiB = 1024 * 1024


def parse_size(text: str) -> int | str:
    """``"clip"`` or a byte count such as ``1GiB``, ``256MiB``, ``20MB``, ``12345``.

    >>> parse_size("1GiB"), parse_size("256MiB"), parse_size("clip")
    (1073741824, 268435456, 'clip')
    """
    text = text.strip()
    if text.lower() == "clip":
        return "clip"
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(|B|KB|MB|GB|KiB|MiB|GiB)", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. clip, 1GiB, 256MiB)")
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    return int(float(match.group(1)) * units[match.group(2).lower()])


def size_label(size: int | str) -> str:
    """``"clip"``, ``"1 GiB"``, ``"256 MiB"``, or bytes."""
    if isinstance(size, str):
        return size
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} B"


def make_file(directory: Path, size: int) -> tuple[Path, str]:
    """Write `size` cheap but incompressible bytes (a 16 MiB random pool, rotated) and return (path, sha256)."""
    pool = os.urandom(16 * MiB)
    sha = hashlib.sha256()
    path = directory / f"bench-{size}.mp4"
    with open(path, "wb") as out:
        written, i = 0, 0
        while written < size:
            n = min(4 * MiB, size - written)
            offset = (i * 4_099_997) % (len(pool) - n)  # a different window each block
            block = pool[offset : offset + n]
            out.write(block)
            sha.update(block)
            written += n
            i += 1
    return path, sha.hexdigest()


def default_workers() -> int:
    """``upload_file``'s own default worker count, read from its public signature."""
    from c2c_helpers import upload_file

    return int(inspect.signature(upload_file).parameters["workers"].default)


def throughput(sandbox: Server, sink: Server, path: Path, label: str, runs: int, workers: list[int]) -> list[Measure]:
    """Every way, for one file on each server."""
    measure_way(sandbox, path, label, "bare", 2, 1)  # warm-up, not recorded
    rows = []
    for server in (sandbox, sink):
        rows += [measure_way(server, path, label, way, None, runs) for way in ("curl", "naive")]
        rows += [measure_way(server, path, label, "bare", w, runs) for w in workers]
        rows += [measure_way(server, path, label, "upload_file", w, runs) for w in workers]
    return rows


def floor_section(sandbox: Server, sink: Server, path: Path, sha: str, runs: int, workers: int,
                  ingest_workers: list[int]) -> list[Measure]:  # fmt: skip
    """The floor, the floor+MD5 and upload_file at the same worker count (runs interleaved), then the floor at
    the other worker counts, on each server; sha256 checked at the sandbox."""
    label, size, rows = size_label(path.stat().st_size), path.stat().st_size, []
    ways = ("floor", "floor+MD5", "upload_file", NO_VERIFY)
    for server in (sink, sandbox):
        server.sampler.reset()
        rounds = [[run_once(server, path, way, workers, sha) for way in ways] for _ in range(runs)]
        for i, way in enumerate(ways):
            rows.append(summarise("floor", server, label, size, way, workers, [r[i] for r in rounds]))
        for w in ingest_workers:
            if w != workers:
                rows.append(measure_way(server, path, label, "floor", w, 1, section="floor", sha=sha))
    return rows


def scale(sandbox: Server, tmp: Path, sizes: list[int], workers: int, floor_rows: list[Measure]) -> list[Measure]:
    """upload_file into the sandbox at each size, sha256 checked: the client's peak RSS against the file size.
    A size the floor section already sent reuses its upload_file runs."""
    rows = []
    for size in sizes:
        label = size_label(size)
        done = [r for r in floor_rows if r.server == "sandbox" and r.way == "upload_file" and r.file == label]
        if done:
            rows.append(Measure(**{**asdict(done[0]), "section": "scale", "target": "", "result": ""}))
            rows[-1].note = (rows[-1].note + "; the floor section's runs").lstrip("; ")
            continue
        path, sha = make_file(tmp, size)
        try:
            rows.append(measure_way(sandbox, path, label, "upload_file", workers, 1, section="scale", sha=sha))
        finally:
            path.unlink(missing_ok=True)
    if rows:
        rows[-1].note += f"; sandbox VmHWM {sandbox.sampler.hwm() / 1e6:.0f} MB over its life"
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test of every section")
    parser.add_argument("--sizes", help="files for the throughput rows (default clip; 'none' to skip)")
    parser.add_argument("--runs", type=int, help="runs per way, median taken (default 3; quick: 1)")
    parser.add_argument("--workers", help="worker counts for bare and upload_file (default 1,2,4,8; quick: 1,2)")
    parser.add_argument("--floor", help="file size for the floor section (default 2GiB; quick: 32MiB; 'none')")
    parser.add_argument("--floor-workers", help="worker counts for the floor's ingest rows (default 2,4,8)")
    parser.add_argument(
        "--scale", help="sizes for the scale rows, small then big (default 256MiB,2GiB; quick: 8MiB,16MiB)"
    )
    parser.add_argument(
        "--network", help="presets for the model section: all (default), none, or a;b (quick: set-wifi)"
    )
    parser.add_argument("--network-seconds", type=float, help="one worker's time on each preset (default 3; quick 1)")
    parser.add_argument("--fleet", help="cameras x clips for the fleet section (default 20x3; quick 3x1; none)")
    parser.add_argument("--fleet-network", default=network.DEFAULT_NETWORK, help="the fleet's network conditions")
    parser.add_argument(
        "--fleets", help="cameras x clips against the embedded sandbox and the store (default 20,50,100x3; quick: none)"
    )
    parser.add_argument(
        "--realtime", help="real-time upload latency: clip and/or sizes (default clip,1GiB; quick: none), or none"
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the figures ({RESULTS})")
    args = parser.parse_args(argv)
    quick = args.quick
    sizes = args.sizes or "clip"
    args.sizes = [] if sizes == "none" else [parse_size(s) for s in sizes.split(",")]
    args.runs = args.runs or (1 if quick else 3)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.workers = [int(w) for w in (args.workers or ("1,2" if quick else "1,2,4,8")).split(",")]
    floor = args.floor or ("32MiB" if quick else "2GiB")
    args.floor = None if floor == "none" else int(parse_size(floor))
    args.floor_workers = [int(w) for w in (args.floor_workers or ("" if quick else "2,4,8")).split(",") if w]
    scale_arg = args.scale or ("8MiB,16MiB" if quick else "256MiB,2GiB")
    args.scale = [] if scale_arg == "none" else [int(parse_size(s)) for s in scale_arg.split(",")]
    args.network = network.presets_arg(args.network or ("set-wifi" if quick else "all"))
    args.network_seconds = args.network_seconds or (1.0 if quick else 3.0)
    args.fleet = args.fleet or ("3x1" if quick else "20x3")
    args.fleets = args.fleets or ("none" if quick else "20,50,100x3")
    args.realtime = args.realtime or ("none" if quick else realtime.DEFAULT_SIZES)
    return args


def run(args: argparse.Namespace, tmp: Path) -> tuple[list[Measure], dict[str, float], int]:
    """Every section; the rows, the start times and the worker count of the floor comparison."""
    from c2c_helpers import make_test_clip

    workers = default_workers()
    rows: list[Measure] = []
    startup = {"start_in_process_s": statistics.median(start_in_process() for _ in range(1 if args.quick else 3))}
    with servers(tmp) as (sandbox, sink):
        startup["start_process_s"] = sandbox.started_s
        for size in args.sizes:
            path = make_test_clip(tmp) if size == "clip" else make_file(tmp, int(size))[0]
            try:
                rows += throughput(sandbox, sink, path, size_label(size), args.runs, args.workers)
            finally:
                path.unlink(missing_ok=True)
        floor_rows: list[Measure] = []
        if args.floor:
            path, sha = make_file(tmp, args.floor)
            try:
                floor_rows = floor_section(sandbox, sink, path, sha, args.runs, workers, args.floor_workers)
            finally:
                path.unlink(missing_ok=True)
        rows += floor_rows
        rows += scale(sandbox, tmp, args.scale, workers, floor_rows)
    return rows, startup, workers


def fleets_section(spec: str) -> list[dict[str, Any]]:
    """``N,M,...xK``: that many cameras x K clips in each mode (:mod:`benchmarks.fleets`); the table printed."""
    if spec == "none":
        return []
    cameras, clips = spec.lower().rsplit("x", 1)
    rows = fleets.run(fleets.parse_cameras(cameras), int(clips), None)
    print("", fleets.table(rows), sep="\n")
    return fleets.to_json(rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks, print the tables, write the JSON."""
    args = parse_args(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="c2c-bench-"))
    try:
        rows, startup, workers = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.check_clip_targets(rows)
    ratios = report.floor_ratios(rows, workers) + report.memory_ratios(rows) + report.ingest_ratios(rows)
    table, ratio_table = report.rows_table(rows, startup), report.ratio_table(ratios)
    command = " ".join(["python -m benchmarks", *(sys.argv[1:] if argv is None else argv)])
    print(table, ratio_table, sep="\n\n")
    shaped = network.model_rows(args.network, args.runs, args.network_seconds) if args.network else []
    fleet = network.fleet_section(args.fleet, args.fleet_network) if args.fleet != "none" else None
    if shaped:
        print("", network.model_table(shaped), sep="\n")
    if fleet:
        print("", network.fleet_text(fleet), sep="\n")
    live = [] if args.realtime == "none" else realtime.main(["--sizes", args.realtime, "--runs", str(args.runs)])
    modes = fleets_section(args.fleets)
    print(f"\n{command}: {time.perf_counter() - started:.0f} s; runs={args.runs}, {os.cpu_count()} CPUs")
    result = {
        "command": command,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "startup": startup,
        "rows": [asdict(r) for r in rows],
        "ratios": [asdict(r) for r in ratios],
        "table": table,
        "ratio_table": ratio_table,
        "network": shaped,
        "fleet": fleet,
        "realtime": live,
        "fleets": modes,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    return result
