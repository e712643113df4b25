"""Run the sandbox: :class:`Sandbox` in a thread of your process, or ``c2c sandbox`` / ``c2c lab`` in a shell.

>>> from c2c_sandbox import Sandbox
>>> with Sandbox() as sb:                      # doctest: +SKIP
...     sb.api_url, sb.access_token            # the API (and part URLs) on 127.0.0.1, a paired device's token

One port serves both sides, as one WSGI app: paths under ``/<bucket>/`` go to the S3 gateway (moto's model of
multipart uploads behind signature checks and faults), everything else to the Flask API. State is SQLite under
``data_dir``; without a ``data_dir`` the sandbox uses a temporary one and deletes it on stop.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .api import FOLDER_NAMESPACE, category, create_app, folder_path, iso
from .s3 import ACCOUNT_ID, Assembler, Faults, S3Gateway, Signer
from .store import OPEN_STATES, Asset, Device, Store

log = logging.getLogger("c2c_sandbox")

DEFAULT_CLIENT_ID = "sandbox-camera-01"
DEFAULT_DEVICE_NAME = "Sandbox Camera"
DEFAULT_PROJECT = "Sandbox Project"
DEFAULT_PORT = 8765  # `c2c sandbox` and `c2c lab`; the Python class picks a free port by default


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, but a dropped connection (the ``drop`` fault) is closed, not read on as a new request."""

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True


class Sandbox:
    """An embedded stand-in for Frame.io's C2C API and its S3 part uploads, on loopback.

    Parameters
    ----------
    host, port
        Where to listen; ``port=0`` picks a free port. Binds 127.0.0.1 unless told otherwise.
    data_dir
        Where the database and the assembled originals live; a temporary directory when None.
    url_ttl
        Lifetime of upload URLs in seconds (Frame.io: 24 h). Short values make expiry easy to show.
    token_ttl, refresh_ttl
        Lifetimes of access tokens (8 h) and refresh tokens (14 days).
    poll_interval, code_ttl
        The pairing poll interval and the life of a device code (at most 120 s, as Frame.io).
    create_rate
        Asset creations allowed per second and device (Frame.io: 5); tests that create many raise it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        url_ttl: int = 86400,
        token_ttl: int = 28800,
        refresh_ttl: int = 14 * 86400,
        poll_interval: int = 5,
        code_ttl: int = 120,
        create_rate: int = 5,
    ) -> None:
        if not 1 <= code_ttl <= 120:
            raise ValueError("code_ttl must be between 1 and 120 seconds")
        self.host, self._port = host, port
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="c2c-sandbox-"))
        self.url_ttl, self.token_ttl, self.refresh_ttl = url_ttl, token_ttl, refresh_ttl
        self.poll_interval, self.code_ttl, self.create_rate = poll_interval, code_ttl, create_rate
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.faults = Faults(self._stop)
        self.store: Store
        self.access_token = self.refresh_token = ""
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = ""
        self.device: Device

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("botocore.auth").setLevel(logging.WARNING)  # at DEBUG it logs signatures
        self._stop.clear()
        self.store = Store(self.data_dir)
        self.client_secret = self.store.meta_or_create("client_secret", lambda: secrets.token_urlsafe(24))
        bucket = self.store.meta_or_create("bucket", lambda: f"c2c-sandbox-{uuid.uuid4().hex[:12]}")
        access_key = self.store.meta_or_create("s3_access_key", lambda: "AKIA" + secrets.token_hex(8).upper())
        secret_key = self.store.meta_or_create("s3_secret_key", lambda: secrets.token_urlsafe(30))
        self.bucket = bucket
        self.signer = Signer(access_key, secret_key)
        self._backend = _moto()
        try:
            self._backend.get_bucket(bucket)
        except Exception:
            self._backend.create_bucket(bucket, "us-east-1")
        self.assembler = Assembler(self.store, self._backend, bucket)
        self._recover()
        gateway = S3Gateway(
            store=self.store, signer=self.signer, bucket=bucket, faults=self.faults, assembler=self.assembler
        )
        api = create_app(self)
        prefix = f"/{bucket}/"

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "").startswith(prefix):
                return gateway(environ, start_response)
            return api(environ, start_response)

        # Bind first, ourselves: a busy port is then a plain OSError (werkzeug would print and exit).
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self._port))
            listener.listen(128)
        except OSError:
            listener.close()
            self.assembler.close()
            self.store.close()
            raise
        self._listener = listener
        self._server = make_server(
            self.host,
            listener.getsockname()[1],
            app,
            threaded=True,
            fd=listener.fileno(),
            request_handler=_RequestHandler,
        )
        self._server.daemon_threads = True
        self.port = int(listener.getsockname()[1])
        self.device = self.store.ensure_device(DEFAULT_CLIENT_ID, DEFAULT_DEVICE_NAME, DEFAULT_PROJECT)
        self.access_token, self.refresh_token = self.store.issue_tokens(
            self.device.id, "asset_create offline", self.token_ttl, self.refresh_ttl
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="c2c-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.assembler.close()
        self._server = None
        self.store.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.api_url if self._server is not None else "(stopped)"
        return f"<Sandbox {where} data_dir={str(self.data_dir)!r}>"

    @property
    def api_url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        return f"http://{host}:{self.port}"

    def _recover(self) -> None:
        """After a restart: moto's part buffers are gone, so open uploads start again from no part."""
        bucket = self._backend.get_bucket(self.bucket)
        for asset in self.store.assets(states=(*OPEN_STATES, "processing")):
            if asset.upload_id in bucket.multiparts and asset.status in OPEN_STATES:
                continue  # same process, same moto: the parts are still there
            if asset.status == "processing":
                self.store.set_asset_state(asset.id, "failed", error="the sandbox stopped while assembling")
                continue
            self._open_multipart(asset.s3_key, asset.filetype, upload_id=asset.upload_id)
            self.store.forget_parts(asset.id)
            self.store.set_asset_state(asset.id, "created")

    def _open_multipart(self, key: str, filetype: str, upload_id: str | None = None) -> str:
        from moto.utilities.utils import CaseInsensitiveDict

        multipart = self._backend.create_multipart_upload(
            self.bucket, key, CaseInsensitiveDict({"Content-Type": filetype}), "STANDARD", {}, None, None, None
        )
        if upload_id is not None:  # keep the id the upload URLs were signed with
            bucket = self._backend.get_bucket(self.bucket)
            del bucket.multiparts[multipart.id]
            multipart.id = upload_id
            bucket.multiparts[upload_id] = multipart
        return str(multipart.id)

    # -- what the API calls -----------------------------------------------------------------------------
    def new_asset(
        self,
        device: Device,
        *,
        name: str,
        filetype: str,
        filesize: int,
        offset: int,
        channel: int,
        parts: int,
        file_created_at: float,
    ) -> tuple[Asset, list[str]]:
        asset_id = str(uuid.uuid4())
        key = f"parts/{asset_id}/original"
        upload_id = self._open_multipart(key, filetype)
        day = time.strftime("%Y_%m_%d", time.gmtime(file_created_at))
        parent = uuid.uuid5(FOLDER_NAMESPACE, f"{device.id}/{day}/{category(filetype)}")
        asset = Asset(
            asset_id,
            device.id,
            device.project_id,
            str(parent),
            name,
            filetype,
            filesize,
            offset,
            channel,
            parts,
            upload_id,
            key,
            "created",
            time.time(),
            file_created_at,
            None,
            None,
            None,
        )
        self.store.add_asset(asset)
        urls = [
            self.signer.presign(self.api_url, self.bucket, key, upload_id, n, filetype, self.url_ttl)
            for n in range(1, parts + 1)
        ]
        return asset, urls

    def paused_channels(self, device_id: str, when: float | None = None) -> set[int | None]:
        """Channels paused at ``when`` (now by default); None in the set means the whole device."""
        when = time.time() if when is None else when
        return {p.channel for p in self.store.pauses(device_id) if p.start <= when and (p.end is None or when < p.end)}

    def is_paused(self, device_id: str, channel: int, when: float) -> bool:
        paused = self.paused_channels(device_id, when)
        return None in paused or channel in paused

    # -- controls (also under /sandbox/* over HTTP) -----------------------------------------------------
    def approve(self, user_code: str, project: str | None = None) -> Device:
        """Approve a pairing code, as a person does in Frame.io; returns the (new or known) device."""
        code = str(user_code).strip()
        if not (len(code) == 6 and code.isdigit()):
            raise ValueError("a pairing code is six digits")
        pending = self.store.pending_code(code)
        if pending is None:
            raise ValueError(f"no pending pairing with code {code}: it may have expired or been used")
        device = self.store.ensure_device(pending.client_id, pending.name, project or DEFAULT_PROJECT)
        self.store.approve_code(pending.code_hash, device.id)
        return device

    def _device_id(self, device_id: str | None) -> str:
        if device_id is None:
            return self.device.id
        if self.store.device(device_id) is None:
            raise ValueError(f"no device with id {device_id}")
        return device_id

    def pause(
        self,
        channel: int | None = None,
        *,
        device_id: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        """Pause a device (or one channel) from ``start`` (now) until resumed or ``end``."""
        device = self._device_id(device_id)
        self.store.pause(device, channel, time.time() if start is None else start, end)

    def resume(self, channel: int | None = None, *, device_id: str | None = None) -> None:
        self.store.resume(self._device_id(device_id), channel, time.time())

    def reset(self) -> None:
        """Forget planned faults and pause windows; upload URLs live 24 h again (tests call this between tests)."""
        self.faults.clear()
        self.store.clear_pauses()
        self.url_ttl = 86400

    def set_url_ttl(self, seconds: int) -> None:
        """Lifetime of the upload URLs issued from now on."""
        if not 1 <= int(seconds) <= 7 * 86400:
            raise ValueError("url_ttl must be between 1 second and 7 days (S3's limit)")
        self.url_ttl = int(seconds)

    def expire_token(self, token: str) -> bool:
        """Make an access (or refresh) token expire now; False when it is unknown."""
        return bool(token) and self.store.expire_token(token)

    # -- looking at assets ------------------------------------------------------------------------------
    def asset_path(self, asset_id: str) -> Path:
        asset = self.store.asset(asset_id)
        path = self.store.originals / asset_id
        if asset is None or asset.status != "complete" or not path.is_file():
            raise LookupError(f"asset {asset_id} has no assembled original")
        return path

    def asset_bytes(self, asset_id: str) -> bytes:
        return self.asset_path(asset_id).read_bytes()

    def asset_sha256(self, asset_id: str) -> str | None:
        asset = self.store.asset(asset_id)
        return asset.sha256 if asset else None

    def wait_for_asset(self, asset_id: str, timeout: float = 30) -> Asset:
        """Block until the asset is complete or failed (assembly runs just after the last part)."""
        deadline = time.monotonic() + timeout
        while True:
            asset = self.store.asset(asset_id)
            if asset is None:
                raise LookupError(f"no asset {asset_id}")
            if asset.status in ("complete", "failed"):
                return asset
            if time.monotonic() > deadline:
                raise TimeoutError(f"asset {asset_id} is still {asset.status} after {timeout} s")
            time.sleep(0.02)

    def asset_detail(self, asset_id: str) -> dict[str, Any] | None:
        asset = self.store.asset(asset_id)
        if asset is None:
            return None
        device = self.store.device(asset.device_id)
        received = {p.part_number: p for p in self.store.parts(asset_id)}
        return {
            "id": asset.id,
            "name": asset.name,
            "filetype": asset.filetype,
            "filesize": asset.filesize,
            "status": asset.status,
            "error": asset.error,
            "sha256": asset.sha256,
            "offset": asset.offset,
            "channel": asset.channel,
            "inserted_at": iso(asset.inserted_at),
            "upload_completed_at": iso(asset.upload_completed_at),
            "path": folder_path(asset, device) if device else [asset.name],
            "parts": [
                {"number": n, "received": n in received, "size": received[n].size if n in received else None}
                for n in range(1, asset.parts + 1)
            ],
            "original": f"/sandbox/assets/{asset.id}/original" if asset.status == "complete" else None,
        }

    def tree(self) -> list[dict[str, Any]]:
        """The device folders as the page shows them: day > category > device > assets."""
        days: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
        devices = {d.id: d for d in self.store.devices()}
        for asset in self.store.assets():
            device = devices.get(asset.device_id)
            if device is None:
                continue
            _, day, cat, dev, _ = folder_path(asset, device)
            detail = self.asset_detail(asset.id)
            days.setdefault(day, {}).setdefault(cat, {}).setdefault(dev, []).append(detail or {})
        return [
            {
                "day": day,
                "categories": [
                    {"name": cat, "devices": [{"name": dev, "assets": assets} for dev, assets in sorted(devs.items())]}
                    for cat, devs in sorted(cats.items())
                ],
            }
            for day, cats in sorted(days.items(), reverse=True)
        ]

    def state(self) -> dict[str, Any]:
        devices = []
        for device in self.store.devices():
            paused = self.paused_channels(device.id)
            devices.append(
                {
                    "id": device.id,
                    "name": device.name,
                    "client_id": device.client_id,
                    "project": device.project_name,
                    "status": "paused" if None in paused else "online",
                    "paused_channels": sorted(c for c in paused if c is not None),
                }
            )
        return {
            "devices": devices,
            "tree": self.tree(),
            "pending_pairings": len(self.store.pending_codes()),
            "url_ttl": self.url_ttl,
        }


def _moto() -> Any:
    """moto's S3 backend (shared by every sandbox in the process)."""
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT_ID]["aws"]


# -- command line ---------------------------------------------------------------------------------------
def default_data_dir() -> Path:
    env = os.environ.get("C2C_SANDBOX_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "c2c-sandbox"


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Frame.io C2C sandbox on loopback.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="state and originals (default $C2C_SANDBOX_DIR or ~/.local/share/c2c-sandbox)",
    )
    parser.add_argument("--url-ttl", type=int, default=86400, help="upload URL lifetime in seconds")
    parser.add_argument("--token-ttl", type=int, default=28800, help="access token lifetime in seconds")
    parser.add_argument("--poll-interval", type=int, default=5, help="pairing poll interval in seconds")
    return parser


def _sandbox_from(args: argparse.Namespace) -> Sandbox:
    return Sandbox(
        args.host,
        args.port,
        args.data_dir or default_data_dir(),
        url_ttl=args.url_ttl,
        token_ttl=args.token_ttl,
        poll_interval=args.poll_interval,
    )


def main(argv: list[str] | None = None) -> int:
    """``c2c sandbox``: print the URL and a ready token, then serve until interrupted."""
    args = _parser("c2c sandbox").parse_args(argv)
    sb = _sandbox_from(args)
    try:
        sb.start()
    except OSError as exc:
        print(f"c2c sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"C2C_API_URL={sb.api_url}")
    print(f"C2C_ACCESS_TOKEN={sb.access_token}")
    print(f"# web page: {sb.api_url}/   data: {sb.data_dir}   stop: Ctrl-C", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        print("sandbox stopped", file=sys.stderr)
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """``c2c lab``: the sandbox in the background, JupyterLab on notebooks/ with the environment set."""
    parser = _parser("c2c lab")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder to open")
    parser.add_argument("--lab-port", type=int, default=8888, help="JupyterLab's port")
    args, lab_args = parser.parse_known_args(argv)
    sb = _sandbox_from(args)
    sb.start()
    env = dict(
        os.environ,
        C2C_API_URL=sb.api_url,
        C2C_ACCESS_TOKEN=sb.access_token,
        C2C_SANDBOX_URL=sb.api_url,
        C2C_CLIENT_ID="SN-000123",
        C2C_CLIENT_SECRET=sb.client_secret,
    )
    print(f"sandbox: {sb.api_url}/  (data: {sb.data_dir})", flush=True)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--notebook-dir={args.notebooks}",
        "--ip=127.0.0.1",
        f"--port={args.lab_port}",
        *lab_args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in lab_args:
        command.append("--allow-root")
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        sb.stop()
