"""The servers the benchmarks upload to, each in a process of its own: the sandbox (``python -m c2c_sandbox``)
and the discard-only sink (``python -m benchmarks.sink``), with their RSS read from ``/proc``.

Only the sandbox's documented surfaces are used: ``POST /v2/devices/assets`` as a device, and the
``/sandbox/assets/<id>`` control for an asset's state and sha256 (a device cannot read its assets back).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent
FILETYPE = "video/mp4"
START_TIMEOUT = 30.0
COMPLETE_TIMEOUT = 300.0
CREATE_ATTEMPTS = 40


def status_kib(pid: int | str, key: str) -> int:
    """A ``/proc/PID/status`` figure in KiB (``VmRSS``, ``VmHWM``); 0 once the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class RSSSampler:
    """Samples a process's RSS every `interval` seconds in a thread; `peak` since the last `reset()`."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS") * 1024)

    def reset(self) -> None:
        """Start a new window (the current RSS counts)."""
        self.peak = status_kib(self.pid, "VmRSS") * 1024

    def hwm(self) -> int:
        """The process's lifetime peak RSS (``VmHWM``), in bytes."""
        return status_kib(self.pid, "VmHWM") * 1024

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

    def asset(self, asset_id: str) -> dict[str, Any]:
        """The sandbox control's view of an asset (status, sha256, ...)."""
        response = self.session.get(f"{self.url}/sandbox/assets/{asset_id}", timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def wait_complete(self, asset_id: str) -> float:
        """Poll until the asset is assembled; return the wall clock (``time.time()``) when it was first seen
        complete. Fails on 'failed' or after COMPLETE_TIMEOUT."""
        deadline = time.monotonic() + COMPLETE_TIMEOUT
        while time.monotonic() < deadline:
            asset = self.asset(asset_id)
            if asset.get("status") == "failed":
                raise RuntimeError(f"asset {asset_id} failed: {asset}")
            if asset.get("status") == "complete":
                return time.time()
            time.sleep(0.02)
        raise TimeoutError(f"asset {asset_id} not complete after {COMPLETE_TIMEOUT} s")

    def sha256(self, asset_id: str) -> str | None:
        """The sandbox's record of the assembled original's sha256."""
        return self.asset(asset_id).get("sha256")

    def forget(self, asset_id: str) -> None:
        """Delete the files the sandbox keeps for an asset (the benchmark would fill the disk otherwise):
        every file under the data dir whose path names the asset's id."""
        if self.data_dir is None:
            return
        for folder, _, names in os.walk(self.data_dir):  # os.walk skips what vanishes under it (the sandbox
            for name in names:  # drops a finished asset's parts itself)
                path = Path(folder, name)
                if asset_id in path.as_posix():
                    path.unlink(missing_ok=True)

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
    found: dict[str, str] = {}
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for _ in range(20):
            line = process.stdout.readline()
            if not line:
                break
            key, _, value = line.strip().removeprefix("export ").partition("=")
            if key in names:
                found[key] = value
            if all(n in found for n in names):
                done.set()
                return

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(START_TIMEOUT):
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


def _start(command: list[str], names: tuple[str, ...]) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT.parent, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        found = _read_vars(process, names)
        _wait_health(found[names[0]], started)
    except BaseException:
        process.kill()
        process.wait(timeout=5)
        raise
    return process, found, time.perf_counter() - started


def start_sandbox(data_dir: Path) -> Server:
    """``python -m c2c_sandbox --port 0 --data-dir D`` in its own process."""
    command = [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(data_dir)]
    process, found, took = _start(command, ("C2C_API_URL", "C2C_ACCESS_TOKEN"))
    return Server("sandbox", process, found["C2C_API_URL"], found["C2C_ACCESS_TOKEN"], data_dir, took)


def start_sink() -> Server:
    """``python -m benchmarks.sink`` in its own process."""
    process, found, took = _start([sys.executable, "-m", "benchmarks.sink", "--port", "0"], ("SINK_URL",))
    return Server("sink", process, found["SINK_URL"], "sink-token", None, took)


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
