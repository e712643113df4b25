"""``python -m benchmarks`` (``make bench``): every way of uploading the same parts, one Markdown table.

    python -m benchmarks [--quick] [--sizes clip,1GiB] [--runs 3] [--workers 1,2,4,8] [--scale 256MiB,2GiB]

Servers and clients each run in a process of their own: the sandbox (``python -m c2c_sandbox``) and the
discard-only sink (``python -m benchmarks.sink``), and one process per client run
(``python -m benchmarks.client``, or ``bash`` for the guide's ``tail | head | curl``), so a client's peak RSS
is its own: a Python client reports its ``VmHWM`` (``ru_maxrss`` of a spawned child would include the
parent's RSS, inherited across vfork/exec), each curl runs under ``/usr/bin/time -f %M``. The sandbox's RSS
is sampled every 50 ms (and its ``VmHWM`` read).

For each file size and each server, the same asset layout (the server's default part count) is uploaded by

1. ``curl``: the guide's procedure, one ``tail -c +N | head -c SIZE | curl -X PUT --data-binary @-`` per part,
   in order, with the guide's two headers;
2. ``naive``: a Python loop reading each whole chunk into memory and ``requests.put``-ing it;
3. ``bare``: parallel ``requests.put`` of in-memory bytes over one session, N threads (the Python ceiling);
4. ``upload_file``: ``c2c_helpers.upload_file`` with N workers.

MB/s is file bytes (10^6) over the wall time of the part PUTs, median of the runs: for 1–3 the asset is
created before and completion awaited after the clock; for ``upload_file`` the clock runs from
``create_asset``'s return to the last part's 200 (and "end to end" adds create and the wait for assembly).
Targets (issue 5) are checked and the table says by how much one is missed. Figures also go, as JSON, to
``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks.sandbox import start_in_process

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "latest.json"
FILETYPE = "video/mp4"
MB = 1e6
MiB = 1024 * 1024
START_TIMEOUT = 30.0
COMPLETE_TIMEOUT = 300.0
CHILD_TIMEOUT = 600.0
CREATE_ATTEMPTS = 40

# Targets from issue 5.
UPLOAD_VS_BARE = 0.90  # upload_file at its best worker count vs bare parallel requests, on the sandbox
UPLOAD_VS_CURL = 0.70  # upload_file at its best vs curl, on the sink
CLIENT_RSS_MAX = 120e6  # client peak RSS uploading 2 GiB
CLIENT_RSS_GROWTH = 0.10  # "flat": the big file's peak within 10 % of the small one's
SANDBOX_RSS_MAX = 500e6  # sandbox peak RSS accepting and assembling 2 GiB


# -- files --------------------------------------------------------------------------------------------
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


# -- servers ------------------------------------------------------------------------------------------
class RSSSampler:
    """Samples a process's RSS every `interval` seconds in a thread; `peak` since the last `reset()`."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)

    def reset(self) -> None:
        """Start a new window (the current RSS counts)."""
        with contextlib.suppress(psutil.Error):
            self.peak = self.process.memory_info().rss

    def hwm(self) -> int:
        """The process's lifetime peak RSS (``VmHWM``), in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


@dataclass
class Server:
    """A server process (sandbox or sink) that answers the C2C calls the benchmark makes."""

    kind: str
    process: subprocess.Popen[str]
    url: str
    token: str
    data_dir: Path | None
    started_s: float
    sampler: RSSSampler = field(init=False)

    def __post_init__(self) -> None:
        self.sampler = RSSSampler(self.process.pid)
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {self.token}", "x-client-version": "2.0.0"})

    def create_asset(self, size: int, parts: int | None = None) -> dict[str, Any]:
        """POST an asset (waiting out 429s: asset create allows 5 per second)."""
        body: dict[str, Any] = {"name": "bench.mp4", "filetype": FILETYPE, "filesize": size, "offset": 0}
        if parts:
            body["parts"] = parts
        for _ in range(CREATE_ATTEMPTS):
            response = self.session.post(f"{self.url}/v2/devices/assets", json=body, timeout=30)
            if response.status_code != 429:
                response.raise_for_status()
                return dict(response.json())
            time.sleep(0.25)
        raise RuntimeError(f"{self.kind}: asset create still rate-limited after {CREATE_ATTEMPTS} tries")

    def wait_complete(self, asset_id: str) -> dict[str, Any]:
        """Poll the asset until it is assembled; fail on 'failed' or after COMPLETE_TIMEOUT."""
        deadline = time.monotonic() + COMPLETE_TIMEOUT
        while time.monotonic() < deadline:
            response = self.session.get(f"{self.url}/v2/assets/{asset_id}", timeout=30)
            if response.status_code != 429:
                response.raise_for_status()
                asset = dict(response.json())
                if asset.get("status") == "failed":
                    raise RuntimeError(f"asset {asset_id} failed: {asset}")
                if asset.get("upload_completed_at"):
                    return asset
            time.sleep(0.05)
        raise TimeoutError(f"asset {asset_id} not complete after {COMPLETE_TIMEOUT} s")

    def sha256(self, asset_id: str) -> str | None:
        """The sandbox's record of the assembled original's sha256."""
        response = self.session.get(f"{self.url}/sandbox/assets/{asset_id}", timeout=30)
        response.raise_for_status()
        return response.json().get("sha256")

    def forget(self, asset_id: str) -> None:
        """Delete an assembled original (the benchmark would fill the disk otherwise)."""
        if self.data_dir is not None:
            (self.data_dir / "originals" / asset_id).unlink(missing_ok=True)

    def stop(self) -> None:
        self.sampler.stop()
        self.session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _read_vars(process: subprocess.Popen[str], names: tuple[str, ...]) -> dict[str, str]:
    """Read ``NAME=value`` lines from a starting server's stdout (bounded by START_TIMEOUT)."""
    assert process.stdout is not None
    found: dict[str, str] = {}
    result: dict[str, Any] = {}

    def read() -> None:
        assert process.stdout is not None
        for _ in range(20):
            line = process.stdout.readline()
            if not line:
                break
            key, _, value = line.strip().partition("=")
            if key in names:
                found[key] = value
            if all(n in found for n in names):
                result["ok"] = True
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not result.get("ok"):
        process.kill()
        raise RuntimeError(f"server did not print {names} within {START_TIMEOUT} s")
    return found


def _wait_health(url: str, started: float) -> None:
    while time.perf_counter() - started < START_TIMEOUT:
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{url}/health", timeout=1).ok:
                return
        time.sleep(0.01)
    raise RuntimeError(f"{url}/health did not answer within {START_TIMEOUT} s")


def start_sandbox(data_dir: Path) -> Server:
    """``python -m c2c_sandbox --port 0 --data-dir D`` in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        found = _read_vars(process, ("C2C_API_URL", "C2C_ACCESS_TOKEN"))
        _wait_health(found["C2C_API_URL"], started)
    except BaseException:
        process.kill()
        process.wait(timeout=5)
        raise
    return Server(
        "sandbox", process, found["C2C_API_URL"], found["C2C_ACCESS_TOKEN"], data_dir, time.perf_counter() - started
    )


def start_sink() -> Server:
    """``python -m benchmarks.sink`` in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sink", "--port", "0"],
        cwd=ROOT.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        found = _read_vars(process, ("SINK_URL",))
        _wait_health(found["SINK_URL"], started)
    except BaseException:
        process.kill()
        process.wait(timeout=5)
        raise
    return Server("sink", process, found["SINK_URL"], "sink-token", None, time.perf_counter() - started)


# -- clients ------------------------------------------------------------------------------------------
def run_child(command: list[str], spec: dict[str, Any] | None) -> tuple[dict[str, Any], float]:
    """Run one client process (killed after CHILD_TIMEOUT); return its JSON answer and its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        command,
        input=json.dumps(spec or {}),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        cwd=ROOT.parent,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} client exited {done.returncode}: {done.stderr[-2000:]}")
    text = done.stdout.strip()
    return (json.loads(text.splitlines()[-1]) if text else {}), wall


def curl_script(path: Path, urls: list[str], size: int, rss_log: Path | None) -> str:
    """The guide's procedure as a shell script: one ``tail | head | curl`` per part, in order.

    With `rss_log`, each curl runs under ``/usr/bin/time -f %M``, which appends its peak RSS (KiB) there.
    """
    chunk = math.ceil(size / len(urls))
    timer = f"/usr/bin/time -a -o {shlex.quote(str(rss_log))} -f %M " if rss_log else ""
    lines = ["set -eu"]  # no pipefail: `tail` dies of SIGPIPE once `head` has its bytes; curl -f decides
    for i, url in enumerate(urls):
        source = (
            f"head -c {chunk} {shlex.quote(str(path))}"
            if i == 0
            else f"tail -c +{i * chunk + 1} {shlex.quote(str(path))} | head -c {chunk}"
        )
        lines.append(
            f"{source} | {timer}curl -sS -f -o /dev/null -X PUT {shlex.quote(url)}"
            " --header 'content-type: video/mp4' --header 'x-amz-acl: private' --data-binary @-"
        )
    return "\n".join(lines)


@dataclass
class Measure:
    """One row of the table."""

    section: str
    server: str
    file: str
    way: str
    workers: int | None = None
    mbps: float | None = None
    e2e_mbps: float | None = None
    client_rss_mb: float | None = None
    server_rss_mb: float | None = None
    seconds: list[float] = field(default_factory=list)
    target: str = ""
    result: str = ""
    note: str = ""


def measure_way(server: Server, path: Path, size: int, way: str, workers: int | None, runs: int, label: str) -> Measure:
    """Upload `path` `runs` times the given way; the median rate, the client's and server's peak RSS."""
    parts_s: list[float] = []
    e2e_s: list[float] = []
    rss: list[int] = []
    server.sampler.reset()
    for _ in range(runs):
        if way == "upload_file":
            spec = {
                "way": way,
                "file": str(path),
                "filetype": FILETYPE,
                "api_url": server.url,
                "token": server.token,
                "workers": workers,
            }
            answer, _ = run_child([sys.executable, "-m", "benchmarks.client"], spec)
            peak = answer["peak_rss"]
            asset_id = answer["asset_id"]
            e2e_s.append(answer["e2e_s"])
            parts_s.append(answer["parts_s"])
        else:
            asset = server.create_asset(size)
            asset_id = asset["id"]
            if way == "curl":
                with tempfile.TemporaryDirectory() as logs:
                    rss_log = Path(logs) / "rss" if Path("/usr/bin/time").exists() else None
                    _, wall = run_child(["bash", "-c", curl_script(path, asset["upload_urls"], size, rss_log)], None)
                    peak = max(int(n) for n in rss_log.read_text().split()) * 1024 if rss_log else 0
                parts_s.append(wall)
            else:
                spec = {
                    "way": way,
                    "file": str(path),
                    "filetype": FILETYPE,
                    "urls": asset["upload_urls"],
                    "workers": workers,
                }
                answer, _ = run_child([sys.executable, "-m", "benchmarks.client"], spec)
                peak = answer["peak_rss"]
                parts_s.append(answer["parts_s"])
            server.wait_complete(asset_id)
        server.forget(asset_id)
        rss.append(peak)
    row = Measure(
        "throughput",
        server.kind,
        label,
        way,
        workers,
        size / statistics.median(parts_s) / MB,
        size / statistics.median(e2e_s) / MB if e2e_s else None,
        max(rss) / MB,
        server.sampler.peak / MB if server.kind == "sandbox" else None,
        parts_s,
    )
    return row


def throughput(server: Server, path: Path, size: int, label: str, runs: int, workers: list[int]) -> list[Measure]:
    """Every way, for one file on one server."""
    rows = [
        measure_way(server, path, size, "curl", None, runs, label),
        measure_way(server, path, size, "naive", None, runs, label),
    ]
    rows += [measure_way(server, path, size, "bare", w, runs, label) for w in workers]
    rows += [measure_way(server, path, size, "upload_file", w, runs, label) for w in workers]
    return rows


def scale(tmp: Path, sizes: list[int], workers: int) -> list[Measure]:
    """Each size through a fresh sandbox with upload_file, end to end, sha256 checked; client and sandbox RSS."""
    rows: list[Measure] = []
    data_dir = tmp / "scale-sandbox"
    data_dir.mkdir()
    server = start_sandbox(data_dir)
    try:
        for size in sizes:
            path, sha = make_file(tmp, size)
            try:
                server.sampler.reset()
                spec = {
                    "way": "upload_file",
                    "file": str(path),
                    "filetype": FILETYPE,
                    "api_url": server.url,
                    "token": server.token,
                    "workers": workers,
                }
                answer, _ = run_child([sys.executable, "-m", "benchmarks.client"], spec)
                peak = answer["peak_rss"]
                got = server.sha256(answer["asset_id"])
                server.forget(answer["asset_id"])
            finally:
                path.unlink(missing_ok=True)
            rows.append(
                Measure(
                    "scale",
                    "sandbox",
                    size_label(size),
                    "upload_file",
                    workers,
                    size / answer["parts_s"] / MB,
                    size / answer["e2e_s"] / MB,
                    peak / MB,
                    server.sampler.peak / MB,
                    [answer["parts_s"]],
                    note="sha256 matches" if got == sha else f"SHA256 MISMATCH: {got} != {sha}",
                )
            )
        rows[-1].note += f"; sandbox VmHWM {server.sampler.hwm() / MB:.0f} MB over its life"
    finally:
        server.stop()
    return rows


# -- targets ------------------------------------------------------------------------------------------
def _verdict(value: float, goal: float, *, higher: bool, unit: str = "") -> str:
    if (value >= goal) if higher else (value < goal):
        return "met"
    if higher:
        return f"MISSED by {goal - value:.0f}{unit} ({(goal - value) / goal:.0%} short)"
    return f"MISSED by {value - goal:.0f}{unit} ({(value - goal) / goal:.0%} over)"


def check_targets(rows: list[Measure]) -> None:
    """Fill `target` and `result` on the rows the issue's targets are about."""
    for server, file in {(r.server, r.file) for r in rows if r.section == "throughput"}:
        group = [r for r in rows if r.section == "throughput" and r.server == server and r.file == file]
        uploads = [r for r in group if r.way == "upload_file" and r.mbps]
        if not uploads:
            continue
        best = max(uploads, key=lambda r: r.mbps or 0)
        assert best.mbps is not None
        if server == "sandbox":
            bares = [r for r in group if r.way == "bare" and r.mbps]
            ceiling = max(bares, key=lambda r: r.mbps or 0)
            assert ceiling.mbps is not None
            goal = UPLOAD_VS_BARE * ceiling.mbps
            best.target = f"≥ {UPLOAD_VS_BARE:.0%} of bare ×{ceiling.workers} ({goal:.0f} MB/s)"
            verdict = _verdict(best.mbps, goal, higher=True, unit=" MB/s")
            best.result = f"{verdict}: {best.mbps / ceiling.mbps:.0%} of the ceiling"
        else:
            curl = next(r for r in group if r.way == "curl")
            assert curl.mbps is not None
            goal = UPLOAD_VS_CURL * curl.mbps
            best.target = f"≥ {UPLOAD_VS_CURL:.0%} of curl ({goal:.0f} MB/s)"
            verdict = _verdict(best.mbps, goal, higher=True, unit=" MB/s")
            best.result = f"{verdict}: {best.mbps / curl.mbps:.0%} of curl"
    scaled = [r for r in rows if r.section == "scale"]
    if scaled:
        big, small = scaled[-1], scaled[0]
        assert big.client_rss_mb is not None and small.client_rss_mb is not None and big.server_rss_mb is not None
        rss_goal = CLIENT_RSS_MAX / MB
        flat = big.client_rss_mb <= small.client_rss_mb * (1 + CLIENT_RSS_GROWTH)
        big.target = (
            f"client < {rss_goal:.0f} MB and within {CLIENT_RSS_GROWTH:.0%} of {small.file}'s; "
            f"sandbox < {SANDBOX_RSS_MAX / MB:.0f} MB"
        )
        growth = f"{(big.client_rss_mb / small.client_rss_mb - 1):+.0%} vs {small.file}"
        big.result = "; ".join(
            [
                f"client {_verdict(big.client_rss_mb, rss_goal, higher=False, unit=' MB')}",
                f"flat {'met' if flat else 'MISSED'} ({growth})",
                f"sandbox {_verdict(big.server_rss_mb, SANDBOX_RSS_MAX / MB, higher=False, unit=' MB')}",
            ]
        )


# -- output -------------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Measure], startup: dict[str, float]) -> str:
    """The Markdown table."""
    out = [
        "| server | file | way | MB/s (parts) | MB/s (end to end) | client peak RSS MB | server peak RSS MB "
        "| target | result |",
        "|---|---|---|--:|--:|--:|--:|---|---|",
    ]
    for r in rows:
        way = r.way + (f" ×{r.workers}" if r.workers else "")
        result = "; ".join(x for x in (r.result, r.note) if x)
        out.append(
            f"| {r.server}{' (scale)' if r.section == 'scale' else ''} | {r.file} | {way} | {_fmt(r.mbps)} "
            f"| {_fmt(r.e2e_mbps)} | {_fmt(r.client_rss_mb)} | {_fmt(r.server_rss_mb)} | {r.target} "
            f"| {result} |"
        )
    if startup:
        out.append(
            f"| sandbox | – | start: `Sandbox().start()` in a fresh interpreter "
            f"{startup['start_in_process_s']:.2f} s; `python -m c2c_sandbox` until /health "
            f"{startup['start_process_s']:.2f} s | | | | | | |"
        )
    return "\n".join(out)


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[tuple[Server, Server]]:
    """The sandbox and the sink, stopped on the way out whatever happens."""
    data_dir = tmp / "sandbox"
    data_dir.mkdir()
    sandbox = start_sandbox(data_dir)
    try:
        sink = start_sink()
        try:
            yield sandbox, sink
        finally:
            sink.stop()
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks, print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    parser.add_argument(
        "--sizes", help="files for the throughput rows (default clip,1GiB; quick: clip; 'none' to skip)"
    )
    parser.add_argument("--runs", type=int, help="runs per way, median taken (default 3; quick: 1)")
    parser.add_argument("--workers", help="worker counts for bare and upload_file (default 1,2,4,8; quick: 1,2)")
    parser.add_argument(
        "--scale",
        help="sizes for the scale rows, small then big (default 256MiB,2GiB; quick: 8MiB,16MiB; 'none' to skip)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the figures ({RESULTS})")
    args = parser.parse_args(argv)
    quick = args.quick
    sizes_arg = args.sizes or ("clip" if quick else "clip,1GiB")
    sizes = [] if sizes_arg == "none" else [parse_size(s) for s in sizes_arg.split(",")]
    runs = args.runs or (1 if quick else 3)
    if runs < 1:
        parser.error("--runs must be at least 1")
    workers = [int(w) for w in (args.workers or ("1,2" if quick else "1,2,4,8")).split(",")]
    scale_arg = args.scale or ("8MiB,16MiB" if quick else "256MiB,2GiB")
    scale_sizes = [] if scale_arg == "none" else [int(parse_size(s)) for s in scale_arg.split(",")]

    from c2c_helpers import make_test_clip
    from c2c_helpers.upload import DEFAULT_WORKERS

    started = time.perf_counter()
    rows: list[Measure] = []
    startup: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix="c2c-bench-"))
    try:
        startup["start_in_process_s"] = statistics.median(start_in_process() for _ in range(1 if quick else 3))
        with servers(tmp) as (sandbox, sink):
            startup["start_process_s"] = sandbox.started_s
            for size in sizes:
                if size == "clip":
                    path, nbytes = make_test_clip(), None
                else:
                    path, _ = make_file(tmp, int(size))
                nbytes = path.stat().st_size
                try:
                    label = size_label(size)
                    measure_way(sandbox, path, nbytes, "bare", 2, 1, label)  # warm-up, not recorded
                    for server in (sandbox, sink):
                        rows += throughput(server, path, nbytes, label, runs, workers)
                finally:
                    if size != "clip":
                        path.unlink(missing_ok=True)
        if scale_sizes:
            rows += scale(tmp, scale_sizes, DEFAULT_WORKERS)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check_targets(rows)
    text = table(rows, startup)
    command = "python -m benchmarks" + ("" if argv is None else " " + " ".join(argv)).rstrip()
    print(text)
    print(f"\n{command}: {time.perf_counter() - started:.0f} s; runs={runs}, {os.cpu_count()} CPUs")
    report = {
        "command": command,
        "runs": runs,
        "cpus": os.cpu_count(),
        "startup": startup,
        "rows": [asdict(r) for r in rows],
        "table": text,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    return report
