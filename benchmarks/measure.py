"""One measured way of uploading a file: run a client process per run, collect its figures.

A run is one upload in a process of its own (``python -m benchmarks.client``, or ``bash`` for the guide's
``tail | head | curl``), so its peak RSS (``VmHWM``) and CPU time (``getrusage``) are its alone. For every way
but ``upload_file`` the asset is created before the clock starts (the URLs come from a real asset create) and
its completion awaited after it; ``upload_file`` creates its own asset and is timed in process from that
create to its return after the last part's 200 (``wait=False``), and "end to end" adds the wait until the
server reports the file assembled.
"""

from __future__ import annotations

import json
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.servers import FILETYPE, Server

ROOT = Path(__file__).resolve().parent
MB = 1e6
GiB = 1024**3
CHILD_TIMEOUT = 600.0


@dataclass
class Sample:
    """One run's figures."""

    parts_s: float
    e2e_s: float | None = None
    cpu_s: float | None = None
    client_rss: int = 0
    sha_ok: bool | None = None
    etags: tuple[int, int] | None = None  # (parts whose MD5 ETag was checked, parts) for the ways that hash


@dataclass
class Measure:
    """One row of the table: the median of a way's runs."""

    section: str
    server: str
    file: str
    way: str
    workers: int | None = None
    mbps: float | None = None
    e2e_mbps: float | None = None
    cpu_s_per_gib: float | None = None
    client_rss_mb: float | None = None
    server_rss_mb: float | None = None
    seconds: list[float] = field(default_factory=list)
    target: str = ""
    result: str = ""
    note: str = ""

    @property
    def name(self) -> str:
        return self.way + (f" ×{self.workers}" if self.workers else "")


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


def _curl(path: Path, urls: list[str], size: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as logs:
        rss_log = Path(logs) / "rss" if Path("/usr/bin/time").exists() else None
        _, wall = run_child(["bash", "-c", curl_script(path, urls, size, rss_log)], None)
        peak = max(int(n) for n in rss_log.read_text().split()) * 1024 if rss_log else 0
    return wall, peak


def run_once(server: Server, path: Path, way: str, workers: int | None, sha: str | None = None) -> Sample:
    """One upload of `path` to `server` the given way; waits for assembly; checks the sha256 when given."""
    size = path.stat().st_size
    spec: dict[str, Any] = {"way": way, "file": str(path), "filetype": FILETYPE, "workers": workers}
    if way.startswith("upload_file"):  # upload_file and upload_file(verify=False) create their own asset
        spec |= {"api_url": server.url, "token": server.token}
        answer, _ = run_child([sys.executable, "-m", "benchmarks.client"], spec)
        asset_id = answer["asset_id"]
        sample = Sample(answer["parts_s"], cpu_s=answer["cpu_s"], client_rss=answer["peak_rss"])
        sample.e2e_s = server.wait_complete(asset_id) - answer["created_at"]
        sample.etags = _etags(answer)
    else:
        asset = server.create_asset(size)
        asset_id = asset["id"]
        if way == "curl":
            wall, peak = _curl(path, asset["upload_urls"], size)
            sample = Sample(wall, client_rss=peak)
        else:
            answer, _ = run_child([sys.executable, "-m", "benchmarks.client"], spec | {"urls": asset["upload_urls"]})
            sample = Sample(answer["parts_s"], cpu_s=answer.get("cpu_s"), client_rss=answer["peak_rss"])
            sample.etags = _etags(answer)
        server.wait_complete(asset_id)
    if sha is not None and server.kind == "sandbox":
        sample.sha_ok = server.sha256(asset_id) == sha
    server.forget(asset_id)
    return sample


def _etags(answer: dict[str, Any]) -> tuple[int, int] | None:
    return (int(answer["etags_checked"]), int(answer["parts"])) if "etags_checked" in answer else None


def etag_note(samples: list[Sample]) -> str:
    """What a hashing way's runs could check: every part's MD5 against its ETag, or nothing (not an MD5)."""
    counts = [s.etags for s in samples if s.etags is not None]
    if not counts:
        return ""
    checked, parts = sum(c for c, _ in counts), sum(n for _, n in counts)
    if checked == parts:
        return "each part's MD5 = its ETag"
    return "MD5 hashed, not checked: the ETag is not an MD5" if checked == 0 else f"ETag checked on {checked}/{parts}"


def summarise(section: str, server: Server, label: str, size: int, way: str, workers: int | None,
              samples: list[Sample]) -> Measure:  # fmt: skip
    """The row for `samples`: median rates and CPU, the highest client RSS, the server's sampled peak."""
    parts_s = [s.parts_s for s in samples]
    e2e = [s.e2e_s for s in samples if s.e2e_s is not None]
    cpu = [s.cpu_s for s in samples if s.cpu_s is not None]
    row = Measure(
        section,
        server.kind,
        label,
        way,
        workers,
        size / statistics.median(parts_s) / MB,
        size / statistics.median(e2e) / MB if e2e else None,
        statistics.median(cpu) / (size / GiB) if cpu else None,
        max(s.client_rss for s in samples) / MB,
        server.sampler.peak / MB if server.kind == "sandbox" else None,
        parts_s,
    )
    checked = [s.sha_ok for s in samples if s.sha_ok is not None]
    if checked:
        row.note = "sha256 matches" if all(checked) else f"SHA256 MISMATCH in {checked.count(False)} run(s)"
    checks = "nothing hashed, no ETag checked" if way.endswith("(verify=False)") else etag_note(samples)
    row.note = "; ".join(x for x in (row.note, checks) if x)
    return row


def measure_way(server: Server, path: Path, label: str, way: str, workers: int | None, runs: int,
                section: str = "throughput", sha: str | None = None) -> Measure:  # fmt: skip
    """`runs` uploads the given way, summarised."""
    server.sampler.reset()
    samples = [run_once(server, path, way, workers, sha) for _ in range(runs)]
    return summarise(section, server, label, path.stat().st_size, way, workers, samples)
