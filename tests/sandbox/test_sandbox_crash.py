"""Crash safety: SIGKILL the sandbox at seeded random points of 50 uploads, restart it, resend what got no 200.

Every acknowledged part must survive the kill, so that sending only the parts that got no 200 completes the
asset with the file's exact sha256. The sandbox runs as ``python -m c2c_sandbox`` in a process of its own,
restarted on the same port and data dir after each kill; parts go as plain ``http.client`` PUTs, three at once
or one by one in a random order.

Run it alone (it prints its figures)::

    .venv/bin/python -m pytest tests/sandbox/test_sandbox_crash.py -s -q -p no:cacheprovider
"""

from __future__ import annotations

import hashlib
import http.client
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from c2c_helpers import plan_chunks

MiB = 1024 * 1024
UPLOADS = 50
SEED = 1111
SIZE = 15 * MiB + 12_345  # three parts of a little over 5 MiB (S3's smallest but the last)
PARTS = 3
HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


class SandboxProcess:
    """``python -m c2c_sandbox`` on a fixed port and data dir, killed with SIGKILL and started again."""

    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.data_dir, self.port, self.log = data_dir, port, log
        self.process: subprocess.Popen[str] | None = None
        self.url = self.token = ""

    def start(self) -> None:
        with self.log.open("a") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "c2c_sandbox", "--port", str(self.port), "--data-dir", str(self.data_dir)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self.process.stdout is not None
        url = self.process.stdout.readline().strip().partition("=")[2]
        token = self.process.stdout.readline().strip().partition("=")[2]
        assert url and token, self.log.read_text()
        self.url, self.token = url, self.token or token  # the first token stays valid across restarts

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL: no clean-up of any kind
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)


def free_port(rng: random.Random) -> int:
    """A free port below Linux's ephemeral range, so no client connection takes it while the sandbox is down."""
    for _ in range(100):
        port = rng.randrange(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def put_part(url: str, body: memoryview, on_block: object = None) -> int | None:
    """PUT one part in 1 MiB blocks; the status, or None when the connection broke (the sandbox was killed)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
        for key, value in HEADERS.items():
            conn.putheader(key, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        for start in range(0, len(body), MiB):
            conn.send(body[start : start + MiB])
            if callable(on_block):
                on_block(len(body[start : start + MiB]))
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def send_parts(
    box: SandboxProcess, urls: list[str], data: bytes, numbers: list[int], kill_at: int | None, parallel: bool = True
) -> dict[int, int | None]:
    """Send parts (at once, or one by one in the given order); kill the sandbox once ``kill_at`` bytes are sent.

    Returns {part number: HTTP status, or None when the connection broke}.
    """
    chunks = {c.number: c for c in plan_chunks(len(data), urls)}
    view = memoryview(data)
    statuses: dict[int, int | None] = {}
    sent = [0]
    lock = threading.Lock()

    def on_block(n: int) -> None:
        with lock:
            sent[0] += n
            if kill_at is not None and sent[0] >= kill_at:
                box.kill()

    def send(number: int) -> None:
        chunk = chunks[number]
        statuses[number] = put_part(chunk.url, view[chunk.start : chunk.end], on_block)

    if not parallel:
        for number in numbers:
            send(number)
        return statuses
    threads = [threading.Thread(target=send, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def wait_done(box: SandboxProcess, asset_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        detail = requests.get(f"{box.url}/sandbox/assets/{asset_id}", timeout=5).json()
        if detail["status"] in ("complete", "failed") or time.monotonic() > deadline:
            return detail
        time.sleep(0.02)


@pytest.mark.soak
@pytest.mark.timeout(170)
def test_sigkill_at_random_points_loses_no_acknowledged_part(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = random.Random(SEED)
    base = random.Random(SEED).randbytes(SIZE)
    box = SandboxProcess(tmp_path / "data", free_port(rng), tmp_path / "sandbox.log")
    box.start()
    outcomes: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for i in range(UPLOADS):
            data = hashlib.sha256(f"upload {i}".encode()).digest() + base[32:]  # every upload different
            created = requests.post(
                f"{box.url}/v2/devices/assets",
                headers={"Authorization": f"Bearer {box.token}"},
                json={"name": f"crash-{i}.mp4", "filetype": "video/mp4", "filesize": SIZE, "parts": PARTS},
                timeout=10,
            )
            assert created.status_code == 200, created.text
            asset = created.json()
            plan = rng.random()
            kill_at = rng.randrange(1, SIZE) if plan < 0.4 else None  # mid-body, or between two 200s
            kill_after = rng.uniform(0, 0.06) if 0.4 <= plan < 0.6 else None  # around assembly
            order = rng.sample([1, 2, 3], 3)
            statuses = send_parts(box, asset["upload_urls"], data, order, kill_at, parallel=rng.random() < 0.5)
            if kill_after is not None:
                time.sleep(kill_after)
                box.kill()
            killed = box.process is not None and box.process.poll() is not None
            if killed:
                outcomes["kills"] += 1
                box.start()
            missing = [n for n, status in statuses.items() if status != 200]
            outcomes["parts acknowledged before a kill"] += (PARTS - len(missing)) if killed else 0
            outcomes["parts sent again"] += len(missing)
            for number, status in send_parts(box, asset["upload_urls"], data, missing, None).items():
                # 404 NoSuchUpload: the part was stored but its 200 was lost in the kill, and it completed the set
                assert status in (200, 404), (i, number, status)
                outcomes["late 404 (part was in, its 200 lost)"] += status == 404
            detail = wait_done(box, asset["id"])
            assert detail["status"] == "complete", (i, detail)
            assert detail["sha256"] == hashlib.sha256(data).hexdigest(), f"upload {i}: wrong bytes"
            outcomes["complete and exact"] += 1
            if i % 10 == 0:  # the recorded digest is the file's: check it now and then
                original = requests.get(f"{box.url}/sandbox/assets/{asset['id']}/original", timeout=10).content
                assert original == data
    finally:
        box.stop()
    seconds = time.monotonic() - started
    log = box.log.read_text()
    assert "Traceback" not in log, log[-3000:]
    leftovers = [p for p in (box.data_dir / "parts").rglob("*") if p.is_file()]
    assert not leftovers and not list((box.data_dir / "originals").glob("*.tmp"))
    with capsys.disabled():
        print(
            f"\ncrash test: {UPLOADS} uploads of {SIZE:,} bytes in {PARTS} parts, {seconds:.1f} s (seed {SEED}): "
            + ", ".join(f"{k} {v}" for k, v in outcomes.items())
        )
    assert outcomes["complete and exact"] == UPLOADS
    assert outcomes["kills"] >= 15 and outcomes["parts acknowledged before a kill"] >= 10
