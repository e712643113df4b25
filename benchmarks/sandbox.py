"""How fast the sandbox starts and accepts the test clip's two parts, with the sandbox in its own process.

    python -m benchmarks.sandbox [--runs N]

Start time is measured twice: ``Sandbox().start()`` in a fresh interpreter (imports included), and
``c2c sandbox`` as a process until ``/health`` answers. Throughput is the clip's 21,136,250 bytes over the
wall time of its two part PUTs (sequential, and both at once), completion excluded, median of N runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from c2c_helpers import TEST_CLIP_SIZE, make_test_clip

HEADERS = {"Content-Type": "video/mp4", "x-amz-acl": "private"}


def start_in_process() -> float:
    code = (
        "import time; t = time.perf_counter(); from c2c_sandbox import Sandbox; sb = Sandbox().start();"
        " print(time.perf_counter() - t); sb.stop()"
    )
    return float(subprocess.check_output([sys.executable, "-c", code], text=True).strip())


def start_process(data_dir: Path) -> tuple[subprocess.Popen[str], str, str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "c2c_sandbox", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().split("=", 1)[1]
    token = process.stdout.readline().strip().split("=", 1)[1]
    while time.perf_counter() - started < 30:  # bounded: a sandbox that never answers fails the benchmark
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return process, url, token, time.perf_counter() - started
        except requests.ConnectionError:
            time.sleep(0.01)
    process.kill()
    raise RuntimeError(f"{url}/health did not answer within 30 s")


def upload_parts(url: str, token: str, data: bytes, parallel: bool) -> float:
    for _ in range(40):  # asset create allows 5 per second: wait out a 429 (not part of the measured time)
        created = requests.post(
            f"{url}/v2/devices/assets",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            json={"name": "bench.mp4", "filetype": "video/mp4", "filesize": len(data)},
        )
        if created.status_code != 429:
            break
        time.sleep(0.25)
    created.raise_for_status()
    asset = created.json()
    urls = asset["upload_urls"]
    size = -(-len(data) // len(urls))
    pieces = [memoryview(data)[i * size : (i + 1) * size] for i in range(len(urls))]

    def send(i: int) -> None:
        response = requests.put(urls[i], data=pieces[i], headers=HEADERS, timeout=60)
        response.raise_for_status()

    started = time.perf_counter()
    if parallel:
        with ThreadPoolExecutor(len(urls)) as pool:
            list(pool.map(send, range(len(urls))))
    else:
        for i in range(len(urls)):
            send(i)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    data = make_test_clip().read_bytes()
    assert len(data) == TEST_CLIP_SIZE
    results: dict[str, float] = {}
    results["start_in_process_s"] = statistics.median(start_in_process() for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        process, url, token, startup = start_process(Path(tmp))
        try:
            results["start_process_s"] = startup
            upload_parts(url, token, data, parallel=False)  # warm-up
            for mode in ("sequential", "parallel"):
                times = [upload_parts(url, token, data, parallel=mode == "parallel") for _ in range(args.runs)]
                results[f"clip_parts_{mode}_MBps"] = len(data) / statistics.median(times) / 1e6
        finally:
            process.terminate()
            process.wait(timeout=10)
    print("| measure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value:.3f} |" if key.endswith("_s") else f"| {key} | {value:.0f} |")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
