"""A fleet: many cameras, each its own paired device, uploading at once through one sandbox's shared uplink.

``c2c fleet`` and :func:`run_fleet` pair N simulated cameras with a sandbox (the device-code flow of
:mod:`c2c_helpers.pairing`; the sandbox's ``approve`` control plays the person who types the code), give each its
own :class:`~c2c_helpers.client.C2CClient`, and have every camera upload its clips with
:func:`~c2c_helpers.upload.upload_file`, all at once, under the network conditions named (a preset of
:data:`c2c_sandbox.network.PRESETS`, usually time-compressed with ``scale=``). The :class:`FleetReport` gives each
camera's throughput, how fairly the uplink was shared (:func:`jain_index`), the 429s the API answered (asset
creation is rate limited), part retries, failures and the total, as a table and as JSON.

A glue module, like :mod:`c2c_helpers.lab.connect`: it starts or drives a sandbox, so the client modules never
import it.

>>> jain_index([10.0, 10.0, 10.0, 10.0])
1.0
>>> jain_index([30.0, 10.0])
0.8
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from c2c_helpers._http import new_session
from c2c_helpers._redact import redact
from c2c_helpers.client import C2CClient
from c2c_helpers.errors import C2CError, InvalidArgument
from c2c_helpers.pairing import DeviceCode, pair_device
from c2c_helpers.upload import upload_file

if TYPE_CHECKING:
    from c2c_sandbox import Sandbox
    from c2c_sandbox.network.profiles import NetworkProfile
    from c2c_sandbox.remote import RemoteSandbox

__all__ = ["CameraResult", "FleetReport", "jain_index", "run_fleet"]

#: What a fleet runs under unless told: a bonded cellular modem shared by the set, time compressed ten-fold.
DEFAULT_NETWORK = "bonded-cellular,scale=10"
#: Parts each camera sends at once: few, because the uplink is shared (and one camera's many would crowd out
#: the others' part PUTs without making the set's total any larger).
CAMERA_WORKERS = 2


def jain_index(values: Sequence[float]) -> float:
    """Jain's fairness index of ``values``: ``(Σx)² / (n · Σx²)``; 1 when all are equal, 1/n when one has all.

    >>> jain_index([1.0, 0.0, 0.0, 0.0])
    0.25
    """
    if not values:
        raise InvalidArgument("no values")
    total, squares = sum(values), sum(v * v for v in values)
    return 1.0 if squares == 0 else total * total / (len(values) * squares)


@dataclass(frozen=True)
class CameraResult:
    """One camera's run: ``bytes`` of ``clips`` complete clips sent in ``seconds`` (from the start signal to its
    last clip's last part), the 429s its API calls met, its part retries, and what failed."""

    name: str
    device_id: str
    clips: int
    bytes: int
    seconds: float
    create_429s: int = 0
    retries: int = 0
    failures: tuple[str, ...] = ()

    @property
    def throughput(self) -> float:
        """Bytes per second."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class FleetReport:
    """What a fleet did. ``uplink`` is the shared cap in bytes per second (None: unlimited)."""

    network: str
    uplink: float | None
    workers: int
    clips_per_camera: int
    clip_bytes: int
    seconds: float
    cameras: tuple[CameraResult, ...] = field(default=())

    @property
    def total_bytes(self) -> int:
        return sum(c.bytes for c in self.cameras)

    @property
    def throughput(self) -> float:
        """The set's bytes per second: every byte sent over the whole run's wall time."""
        return self.total_bytes / self.seconds if self.seconds > 0 else 0.0

    @property
    def fairness(self) -> float:
        """Jain's index over the cameras' throughputs (1.0: the uplink was shared evenly)."""
        return jain_index([c.throughput for c in self.cameras])

    @property
    def failures(self) -> int:
        return sum(len(c.failures) for c in self.cameras)

    @property
    def backoffs(self) -> int:
        """429 answers the cameras met (each one a wait before repeating the call)."""
        return sum(c.create_429s for c in self.cameras)

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.cameras)

    def summary(self) -> str:
        cap = f" of the {_mbps(self.uplink)} Mbps uplink" if self.uplink else ""
        return (
            f"{len(self.cameras)} cameras × {self.clips_per_camera} clips, {self.workers} workers each, on"
            f" {self.network}: {self.total_bytes / 1e6:,.1f} MB in {self.seconds:.1f} s, {_mbps(self.throughput)}"
            f" Mbps{cap}; fairness {self.fairness:.3f}; {self.backoffs} 429s, {self.retries} retries,"
            f" {self.failures} failures"
        )

    def table(self) -> str:
        """A Markdown table: one row per camera, then the total."""
        rows = [
            "| camera | clips | MB | seconds | Mbps | 429s | retries | failures |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in self.cameras:
            rows.append(
                f"| {c.name} | {c.clips} | {c.bytes / 1e6:,.1f} | {c.seconds:.2f} | {_mbps(c.throughput)} |"
                f" {c.create_429s} | {c.retries} | {len(c.failures)} |"
            )
        rows.append(
            f"| **all {len(self.cameras)}** | {sum(c.clips for c in self.cameras)} | {self.total_bytes / 1e6:,.1f} |"
            f" {self.seconds:.2f} | {_mbps(self.throughput)} | {self.backoffs} | {self.retries} | {self.failures} |"
        )
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cameras"] = [{**asdict(c), "throughput": c.throughput} for c in self.cameras]
        totals = ("total_bytes", "throughput", "fairness", "failures", "backoffs", "retries")
        return {**data, **{name: getattr(self, name) for name in totals}}


def _mbps(rate: float | None) -> str:
    return f"{(rate or 0) * 8 / 1e6:,.1f}"


# -- running one ----------------------------------------------------------------------------------------------
@dataclass
class _Camera:
    name: str
    device_id: str
    client: C2CClient
    statuses: list[int] = field(default_factory=list)


def run_fleet(
    cameras: int = 3,
    clips: int = 1,
    *,
    network: str | NetworkProfile | None = DEFAULT_NETWORK,
    workers: int = CAMERA_WORKERS,
    clip: str | os.PathLike[str] | None = None,
    clip_bytes: int | None = None,
    sandbox: Sandbox | RemoteSandbox | None = None,
    client_secret: str | None = None,
    timeout: float = 600.0,
) -> FleetReport:
    """Pair ``cameras`` cameras with a sandbox and have each upload ``clips`` clips at once; report how it went.

    Parameters
    ----------
    cameras, clips : int
        How many cameras, and how many clips each sends (one after the other).
    network : str or NetworkProfile, optional
        The conditions to run under (``"bonded-cellular,scale=10"``, a preset, ``k=v,...``); None keeps the
        sandbox's. A sandbox passed in gets its own conditions back afterwards.
    workers : int
        Parts each camera sends at once.
    clip : path-like, optional
        The file every camera uploads; the guide's test clip by default (needs the ``clip`` extra).
    clip_bytes : int, optional
        Instead of ``clip``: a generated file of this many pseudo-random bytes.
    sandbox : Sandbox or RemoteSandbox, optional
        Where the cameras upload; a fresh embedded sandbox, stopped afterwards, by default.
    client_secret : str, optional
        The device model's secret, when ``sandbox`` is a :class:`~c2c_sandbox.remote.RemoteSandbox` (default:
        ``C2C_CLIENT_SECRET``).
    timeout : float
        Seconds each camera's clips may take, assembly included.
    """
    if cameras < 1 or clips < 1 or workers < 1:
        raise InvalidArgument("cameras, clips and workers must be at least 1")
    with _clip_file(clip, clip_bytes) as path, _sandbox(sandbox, network) as sb:
        secret = client_secret or getattr(sb, "client_secret", "") or os.environ.get("C2C_CLIENT_SECRET", "")
        if not secret:
            raise C2CError("the sandbox's client secret is needed to pair cameras: pass client_secret")
        fleet = [_pair(sb, secret, number) for number in range(1, cameras + 1)]
        try:
            results, seconds = _upload_all(sb, fleet, path, clips, workers, timeout)
        finally:
            for camera in fleet:
                camera.client.close()
        network_now = sb.network
        size = path.stat().st_size
    return FleetReport(network_now.name, network_now.uplink, workers, clips, size, seconds, tuple(results))


@contextmanager
def _clip_file(clip: str | os.PathLike[str] | None, clip_bytes: int | None) -> Iterator[Path]:
    if clip is not None:
        yield Path(clip)
        return
    if clip_bytes is None:
        from c2c_helpers.lab.testclip import make_test_clip

        yield make_test_clip()
        return
    with tempfile.TemporaryDirectory(prefix="c2c-fleet-") as folder:
        path = Path(folder) / "fleet-clip.mov"
        path.write_bytes(random.Random(14).randbytes(clip_bytes))
        yield path


@contextmanager
def _sandbox(
    sandbox: Sandbox | RemoteSandbox | None, network: str | NetworkProfile | None
) -> Iterator[Sandbox | RemoteSandbox]:
    """The sandbox to use, under ``network``; one of our own (stopped after) when none is given."""
    if sandbox is None:
        from c2c_sandbox import Sandbox

        with Sandbox(network=network) as own:
            yield own
        return
    if network is None:  # the sandbox's own conditions (a store-backed sandbox has none to change)
        yield sandbox
        return
    before = sandbox.network
    sandbox.set_network(network)
    try:
        yield sandbox
    finally:
        sandbox.set_network(before)


def _pair(sandbox: Sandbox | RemoteSandbox, secret: str, number: int) -> _Camera:
    """Pair camera ``number`` with the device-code flow; the sandbox's ``approve`` is the person entering the code
    (at once, so the first poll already gets the tokens)."""
    client_id = f"FLEET-CAM-{number:02d}"
    approved: list[str] = []

    def enter_code(code: DeviceCode) -> None:
        approved.append(sandbox.approve(code.user_code).id)

    tokens = pair_device(sandbox.api_url, client_id, secret, show_code=enter_code, sleep=lambda _: None)
    statuses: list[int] = []
    session = new_session()  # counts every answer's status: the 429s go in the report
    session.hooks["response"].append(lambda response, *args, **kwargs: statuses.append(response.status_code))
    client = C2CClient(
        sandbox.api_url,
        tokens.access_token,
        session=session,
        refresh_token=tokens.refresh_token,
        client_id=client_id,
        client_secret=secret,
    )
    camera = _Camera(f"CAM-{number:02d}", approved[0], client, statuses)
    return camera


def _upload_all(
    sandbox: Sandbox | RemoteSandbox,
    fleet: list[_Camera],
    path: Path,
    clips: int,
    workers: int,
    timeout: float,
) -> tuple[list[CameraResult], float]:
    """Every camera's clips, all cameras at once from one start signal; then every asset must be complete."""
    go = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(len(fleet), thread_name_prefix="c2c-fleet") as pool:
        futures = [pool.submit(_camera_run, camera, path, clips, workers, go) for camera in fleet]
        started = time.monotonic()
        go.set()
        runs = [future.result() for future in futures]
        seconds = time.monotonic() - started
    results = []
    for camera, (sent, elapsed, retries, failures) in zip(fleet, runs, strict=True):
        complete = 0
        for asset_id, size in sent:
            status = _final_status(sandbox, asset_id, timeout)
            if status == "complete":
                complete += size
            else:
                failures.append(f"asset {asset_id}: {status}")
        results.append(
            CameraResult(
                camera.name,
                camera.device_id,
                clips=clips - len(failures),
                bytes=complete,
                seconds=elapsed,
                create_429s=camera.statuses.count(429),
                retries=retries,
                failures=tuple(failures),
            )
        )
    return results, seconds


def _camera_run(
    camera: _Camera, path: Path, clips: int, workers: int, go: threading.Event
) -> tuple[list[tuple[str, int]], float, int, list[str]]:
    """One camera's clips, one after the other: (asset id, bytes) of each sent, seconds, retries, failures."""
    go.wait()
    started = time.monotonic()
    sent: list[tuple[str, int]] = []
    retries, failures = 0, []
    for k in range(1, clips + 1):
        name = f"{camera.name}_C{k:03d}{path.suffix}"
        try:
            result = upload_file(path, client=camera.client, name=name, workers=workers, wait=False)
        except (C2CError, OSError, requests.RequestException) as exc:
            failures.append(f"{name}: {redact(str(exc), (camera.client.token,))}")
            continue
        sent.append((result.asset.id, result.bytes))
        retries += result.retries
    return sent, time.monotonic() - started, retries, failures


def _final_status(sandbox: Sandbox | RemoteSandbox, asset_id: str, timeout: float) -> str:
    """``complete``, ``failed: <why>`` or ``not complete after ... s``, from the sandbox's side."""
    try:
        asset: Any = sandbox.wait_for_asset(asset_id, timeout=timeout)
    except TimeoutError as exc:
        return str(exc)
    status = asset["status"] if isinstance(asset, dict) else asset.status
    error = asset.get("error") if isinstance(asset, dict) else asset.error
    return str(status) if status == "complete" else f"{status}: {error}"


# -- c2c fleet ---------------------------------------------------------------------------------------------------
@contextmanager
def _store_sandbox(args: argparse.Namespace) -> Iterator[Sandbox | None]:
    """With ``--store`` or ``--s3``: a sandbox whose part bytes go to that store (``--store``: one started now)."""
    if not (args.store or args.s3):
        yield None
        return
    from c2c_sandbox import Sandbox
    from c2c_sandbox.s3.weed import WeedMini

    with contextlib.ExitStack() as stack:
        url, key, secret = args.s3, None, None
        if args.store:
            store = stack.enter_context(WeedMini())
            url, key, secret = f"{store.url}/{store.bucket}", store.access_key, store.secret_key
        yield stack.enter_context(Sandbox(s3=url, s3_key=key, s3_secret=secret))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``c2c fleet``'s options."""
    parser.add_argument("--cameras", type=int, default=3, help="cameras, each its own paired device (default 3)")
    parser.add_argument("--clips", type=int, default=1, help="clips each camera uploads (default 1)")
    parser.add_argument(
        "--network",
        default=DEFAULT_NETWORK,
        metavar="NAME|k=v,...",
        help=f"network conditions: a preset, k=v pairs, or NAME,k=v,... (default {DEFAULT_NETWORK})",
    )
    parser.add_argument(
        "--workers", type=int, default=CAMERA_WORKERS, help=f"parts each camera sends at once ({CAMERA_WORKERS})"
    )
    parser.add_argument("--clip", type=Path, default=None, help="the file to upload (default: the test clip)")
    parser.add_argument("--clip-bytes", type=int, default=None, help="upload a generated file of this size instead")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the report as JSON")
    parser.add_argument(
        "--s3", metavar="URL", default=None, help="the part bytes to this S3 store (key and secret: AWS_* variables)"
    )
    parser.add_argument("--store", action="store_true", help="the part bytes to a weed mini started for the run")


def main(args: argparse.Namespace) -> int:
    """``c2c fleet``: run it on an embedded sandbox, print the summary and the table (0: no failures)."""
    print(f"pairing {args.cameras} cameras, then {args.clips} clip(s) each...", file=sys.stderr, flush=True)
    with _store_sandbox(args) as sandbox:
        report = run_fleet(
            args.cameras,
            args.clips,
            network=args.network if sandbox is None else None,  # a store-backed sandbox has no conditions
            workers=args.workers,
            clip=args.clip,
            clip_bytes=args.clip_bytes,
            sandbox=sandbox,
        )
    print(report.summary())
    print()
    print(report.table())
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return 1 if report.failures else 0
