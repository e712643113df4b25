"""One client's upload, run in a process of its own so that its peak RSS and CPU time are its alone.

    echo '{"way": "naive", "file": "...", "filetype": "video/mp4", "urls": [...]}' | python -m benchmarks.client

Reads a JSON spec on stdin, prints one JSON line: ``peak_rss`` (bytes, this process's ``VmHWM``), ``parts_s``
(wall time of the part PUTs only) and ``cpu_s`` (this process's user + system CPU seconds over the same
region, every thread included: ``getrusage(RUSAGE_SELF)``). The ways:

- ``naive``: for each part in order, read the whole chunk into memory and ``requests.put`` it (a new
  connection per part, as most samples do);
- ``bare``: the whole file read into memory first (untimed), then every part ``requests.put`` from a
  ``memoryview`` by a thread pool of ``workers`` over one keep-alive session;
- ``floor``: :mod:`benchmarks.floor`, ``http.client`` and 1 MiB ``os.pread`` blocks, one connection per worker:
  the speed floor ``upload_file`` is measured against;
- ``floor+MD5``: the same, each block also added to the part's MD5 and the digest checked against an MD5
  ``ETag`` (the integrity work ``upload_file`` must do): the fair baseline; it reports ``etags_checked``;
- ``upload_file``: ``c2c_helpers.upload_file(path, client=..., workers=..., wait=False)`` as an integrator
  calls it, timed in process from the first ``create_asset`` call to its return after the last part's 200
  (so the create round trip counts against it); it also reports ``asset_id`` and ``created_at`` (wall clock,
  for the runner's end-to-end time, which adds the wait for assembly). Only public names of ``c2c_helpers``;
- ``upload_file(verify=False)``: the same with ``verify=False``: no MD5, no ETag check (the weak-CPU choice).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

NO_VERIFY = "upload_file(verify=False)"  # the same, no part hashed, no ETag checked


def _chunk(filesize: int, n_urls: int) -> int:
    return -(-filesize // n_urls)


def naive(path: Path, filetype: str, urls: list[str]) -> float:
    """Each part read whole into memory, then PUT; in order, one new connection each."""
    headers = {"Content-Type": filetype, "x-amz-acl": "private"}
    size = _chunk(path.stat().st_size, len(urls))
    started = time.perf_counter()
    with open(path, "rb") as f:
        for i, url in enumerate(urls):
            f.seek(i * size)
            data = f.read(size)
            requests.put(url, data=data, headers=headers, timeout=(10, 120)).raise_for_status()
    return time.perf_counter() - started


def bare(path: Path, filetype: str, urls: list[str], workers: int) -> float:
    """In-memory parts PUT by a thread pool over one session (the file is read before the clock starts)."""
    headers = {"Content-Type": filetype, "x-amz-acl": "private"}
    data = path.read_bytes()
    size = _chunk(len(data), len(urls))
    pieces = [memoryview(data)[i * size : (i + 1) * size] for i in range(len(urls))]
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=workers))

    def send(i: int) -> None:
        session.put(urls[i], data=pieces[i], headers=headers, timeout=(10, 120)).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(send, range(len(urls))))
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor(path: Path, filetype: str, urls: list[str], workers: int, md5: bool = False) -> dict[str, float]:
    """:func:`benchmarks.floor.send`, timed."""
    from benchmarks.floor import send

    cpu, started = cpu_seconds(), time.perf_counter()
    checked = send(str(path), filetype, urls, workers, md5=md5)
    answer = {"parts_s": time.perf_counter() - started, "cpu_s": cpu_seconds() - cpu}
    return answer | ({"etags_checked": checked, "parts": len(urls)} if md5 else {})


def upload_file(path: Path, filetype: str, api_url: str, token: str, workers: int, parts: int | None,
                verify: bool = True) -> dict[str, Any]:  # fmt: skip
    """``c2c_helpers.upload_file`` as an integrator calls it; timed from the first create to the last part."""
    from c2c_helpers import C2CClient
    from c2c_helpers import upload_file as upload

    marks: dict[str, float] = {}

    class TimedClient(C2CClient):
        def create_asset(self, *args: Any, **kwargs: Any) -> Any:
            if "created" not in marks:  # the first create (on_expired="recreate" could make another)
                marks["cpu"], marks["wall"], marks["created"] = cpu_seconds(), time.time(), time.perf_counter()
            return super().create_asset(*args, **kwargs)

    with TimedClient(api_url, token) as client:
        result = upload(
            path, client=client, filetype=filetype, offset=0, workers=workers, parts=parts, wait=False, verify=verify
        )
        ended, cpu = time.perf_counter(), cpu_seconds()
    return {
        "parts_s": ended - marks["created"],
        "cpu_s": cpu - marks["cpu"],
        "created_at": marks["wall"],
        "asset_id": result.asset.id,
        "parts": len(result.parts),
        "etags_checked": sum(part.etag_verified for part in result.parts),
    }


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Do what `spec` says and return the timings."""
    path, filetype, way = Path(spec["file"]), spec["filetype"], spec["way"]
    if way == "naive":
        return {"parts_s": naive(path, filetype, spec["urls"])}
    if way == "bare":
        return {"parts_s": bare(path, filetype, spec["urls"], int(spec["workers"]))}
    if way in ("floor", "floor+MD5"):
        return floor(path, filetype, spec["urls"], int(spec["workers"]), md5=way == "floor+MD5")
    if way in ("upload_file", NO_VERIFY):
        return upload_file(
            path,
            filetype,
            spec["api_url"],
            spec["token"],
            int(spec["workers"]),
            spec.get("parts"),
            way == "upload_file",
        )
    raise ValueError(f"unknown way {way!r}")


def peak_rss() -> int:
    """This process's peak RSS in bytes (``VmHWM``: per address space, so unlike ``ru_maxrss`` it does not
    include the parent's RSS that a vfork/exec child inherits)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    answer = run(json.load(sys.stdin))
    answer["peak_rss"] = peak_rss()
    print(json.dumps(answer), flush=True)
