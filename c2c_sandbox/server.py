"""Run the sandbox: :class:`Sandbox` serves it from a thread of your process (``c2c sandbox`` runs one in a shell).

>>> from c2c_sandbox import Sandbox
>>> with Sandbox() as sb:                      # doctest: +SKIP
...     sb.api_url, sb.access_token            # the API (and part URLs) on 127.0.0.1, a paired device's token

One port serves both sides, as one WSGI app: paths under ``/<bucket>/`` go to the S3 gateway, everything else
to the Flask API. State is SQLite and files under ``data_dir`` (see :mod:`c2c_sandbox.s3.partstore` for the
layout); without a ``data_dir`` the sandbox uses a temporary one and deletes it on stop. One sandbox at a
time per data dir: a second one refuses to start (:class:`DataDirInUse`). The data dir and everything in it is
readable by its owner only (0700, 0600; see :mod:`c2c_sandbox.datadir`, which says what that protects).

The controls (``/sandbox/*``) and the page have no authentication: whoever can reach the port can plan faults,
pause devices and approve pairings. So the sandbox listens on loopback; another address is refused
(:class:`RemoteHostRefused`) unless ``allow_remote=True`` (``c2c sandbox --i-know``). A connection that sends
nothing for ``idle_timeout`` seconds is answered 400 ``RequestTimeout`` (when mid-body) and closed, as S3 does
after about 20 s, so a half-sent body never holds a thread.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from c2c_sandbox import datadir
from c2c_sandbox.api import create_app
from c2c_sandbox.datadir import DataDirInUse, DataDirLock
from c2c_sandbox.domain.model import Model, Settings
from c2c_sandbox.domain.records import Asset, Device
from c2c_sandbox.domain.store import Store
from c2c_sandbox.network.profiles import NetworkProfile, resolve_network
from c2c_sandbox.network.shaping import Network
from c2c_sandbox.s3.faults import Faults
from c2c_sandbox.s3.gateway import SEND_CONTINUE, S3Gateway, Signer
from c2c_sandbox.s3.partstore import PartStore
from c2c_sandbox.s3.storeparts import STORE_MODE, StoreParts, open_store

__all__ = ["DataDirInUse", "RemoteHostRefused", "Sandbox"]

log = logging.getLogger("c2c_sandbox")
http_log = logging.getLogger("c2c_sandbox.http")

IDLE_TIMEOUT = 20.0  # seconds of silence after which S3 answers RequestTimeout and closes (about 20 s)
JANITOR_EVERY = 1.0  # seconds between two looks at check sessions (idle ones finish, old ones go) and expired tokens


class RemoteHostRefused(ValueError):
    """The sandbox was asked to listen beyond loopback without ``allow_remote=True``."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, logging to ``c2c_sandbox.http`` (access lines at DEBUG), not to werkzeug's logger.

    A dropped connection (the ``drop`` fault, a client gone mid-body) is closed, not read on as a new request.
    ``Expect: 100-continue`` gets exactly one ``HTTP/1.1 100 Continue``, sent when the app calls
    ``environ[SEND_CONTINUE]`` (the S3 gateway does once the signature and headers checked out; the API at
    once), not by http.server and then again by werkzeug, as both would. Two different ``Content-Length``
    headers make a request whose body cannot be framed: it is refused (400) and its connection closed.
    """

    protocol_version = "HTTP/1.1"
    _continue_pending = False

    def handle_expect_100(self) -> bool:
        """Defer the interim answer to the app (http.server would send it now, werkzeug once more)."""
        self._continue_pending = True
        del self.headers["Expect"]  # werkzeug's run_wsgi sends its own 100 when it sees the header
        return True

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if self._continue_pending:
            environ[SEND_CONTINUE] = self._send_continue
        lengths = self.headers.get_all("Content-Length") or []
        if len({value.strip() for value in lengths}) > 1:  # werkzeug keeps the last; RFC 9112 and S3: a 400
            environ["CONTENT_LENGTH"] = ", ".join(lengths)  # not a length: the guard and the S3 gateway refuse it
            self.close_connection = True  # where this body ends is anybody's guess: nothing more is read
        return environ

    def _send_continue(self) -> None:
        if self._continue_pending:
            self._continue_pending = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One DEBUG line per request: method and path, never the query (a part URL's is its signature)."""
        if http_log.isEnabledFor(logging.DEBUG):
            path = getattr(self, "path", "").split("?", 1)[0]
            http_log.debug('"%s %s" %s %s', getattr(self, "command", "-"), path, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        http_log.log(logging.ERROR if type == "error" else logging.INFO, message.rstrip(), *args)


class _Server(ThreadedWSGIServer):
    daemon_threads = True

    def log(self, type: str, message: str, *args: Any) -> None:
        http_log.log(logging.ERROR if type == "error" else logging.INFO, message.rstrip(), *args)


class Sandbox:
    """An embedded stand-in for Frame.io's C2C API and its S3 part uploads, on loopback.

    Parameters
    ----------
    host, port
        Where to listen; ``port=0`` picks a free port. Binds 127.0.0.1 unless told otherwise; an address beyond
        loopback raises :class:`RemoteHostRefused` unless ``allow_remote=True``.
    data_dir
        Where the database, the parts and the assembled originals live; a temporary directory when None.
    url_ttl, token_ttl, refresh_ttl, poll_interval, code_ttl, create_rate, api_rate
        See :class:`~c2c_sandbox.domain.model.Settings`; :meth:`reset` goes back to these values.
    idle_timeout
        Seconds a connection may stay silent (mid-request or mid-body) before it is answered 400
        ``RequestTimeout`` and closed; S3 waits about 20 s.
    allow_remote
        Listen on a non-loopback ``host`` even though the controls and the page have no authentication.
    network
        Network conditions of the S3 side: a preset's name (``"set-wifi"``; see
        :data:`c2c_sandbox.network.profiles.PRESETS`), a ``"k=v,..."`` string, a
        :class:`~c2c_sandbox.network.profiles.NetworkProfile`, or None (loopback speed); :meth:`set_network` changes it
        live and :meth:`reset` comes back to this one.
    s3, s3_key, s3_secret, s3_profile
        An external S3-compatible store for the part bytes (``http://host:port/bucket``), its key and secret (else
        found as boto3 finds them: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile); see
        :mod:`c2c_sandbox.s3.storeparts`. Faults, network conditions and the scorecard then refuse.
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
        api_rate: int = 100,
        idle_timeout: float = IDLE_TIMEOUT,
        allow_remote: bool = False,
        network: str | NetworkProfile | None = None,
        s3: str | None = None,
        s3_key: str | None = None,
        s3_secret: str | None = None,
        s3_profile: str | None = None,
    ) -> None:
        if s3 is not None and network is not None:
            raise ValueError(STORE_MODE.format(what="network conditions"))
        if not allow_remote and not is_loopback(host):
            raise RemoteHostRefused(
                f"refusing to listen on {host}: the sandbox's controls (/sandbox/*: faults, pauses, pairing) have"
                " no authentication, so anyone who can reach that address could use them; pass allow_remote=True"
                " (c2c sandbox --i-know) to listen there anyway"
            )
        if not 0 < idle_timeout <= 3600:
            raise ValueError("idle_timeout must be a number of seconds, more than 0 and at most 3600")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a whole number from 0 (any free port) to 65535, got {port!r}")
        self.idle_timeout, self.allow_remote = float(idle_timeout), allow_remote
        self.settings = Settings(url_ttl, token_ttl, refresh_ttl, poll_interval, code_ttl, create_rate, api_rate)
        profile = resolve_network(network)  # (all checked before a temporary data dir is made)
        self.host, self.port, self._s3 = host, port, (s3, s3_key, s3_secret, s3_profile)
        self._requested_port = port
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="c2c-sandbox-"))
        self._stop = threading.Event()
        self.faults = Faults(self._stop)
        self._network = Network(profile, self._stop)
        self.access_token = self.refresh_token = self.client_secret = ""
        self._server: _Server | None = None
        self._janitor = threading.Thread()
        self._lock = DataDirLock(self.data_dir)
        self.model: Model
        self.store: Store
        self.signer: Signer

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Take the data dir, recover what a previous run left, listen, serve from a daemon thread."""
        if self._server is not None:
            return self
        self._stop.clear()
        datadir.create(self.data_dir)
        self._lock.acquire()
        try:
            datadir.secure(self.data_dir)  # owner only, whatever an earlier run or the umask left
            self._open()
            listener = self._listen()
        except BaseException:
            self._close()
            if self._own_dir:  # a temporary data dir of a sandbox that never ran: nothing in it to keep
                shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        parts = self.model.parts  # the parts go to an external store (StoreParts): no gateway of our own
        gateway = None
        if isinstance(parts, PartStore):
            gateway = S3Gateway(
                store=self.store, signer=self.signer, faults=self.faults, parts=parts, network=self._network
            )
        api, prefix = create_app(self.model, remote=self.allow_remote), f"/{self.model.bucket}/"

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if gateway is not None and environ.get("PATH_INFO", "").startswith(prefix):
                return gateway(environ, start_response)  # sends its 100 Continue once the request checked out
            send_continue = environ.pop(SEND_CONTINUE, None)
            if send_continue is not None:
                send_continue()
            return api(environ, start_response)

        self.port = int(listener.getsockname()[1])
        handler = type("_Handler", (_RequestHandler,), {"timeout": self.idle_timeout})  # socketserver applies it
        recorded = self.model.recorder.wrap(  # device requests (a part request only with a URL that was signed)
            app, routes=api.url_map, bucket=self.model.bucket, signed=gateway.signed if gateway else lambda e: False
        )
        self._server = _Server(self.host, self.port, recorded, handler=handler, fd=listener.fileno())
        listener.close()  # the server has its own duplicate of the socket
        self.model.base_url = self.api_url
        self._lock.record(self.port)
        device = self.model.device
        settings = self.model.settings
        self.access_token, self.refresh_token = self.store.issue_tokens(
            device.id, "asset_create offline", settings.token_ttl, settings.refresh_ttl
        )
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="c2c-sandbox", daemon=True
        ).start()
        self._janitor = threading.Thread(target=self._sweep, name="c2c-sandbox-janitor", daemon=True)
        self._janitor.start()
        return self

    def _sweep(self) -> None:
        """Now and then, what nobody comes back for: idle check sessions finish, finished ones are released,
        expired tokens and pairing codes are deleted."""
        model = self.model
        while not self._stop.wait(JANITOR_EVERY):
            try:
                model.sweep_checks()
                model.purge_expired()
            except Exception:  # keep sweeping; what cannot be released now is logged, not fatal
                log.exception("sweeping the check sessions and expired tokens")

    def _open(self) -> None:
        store = Store(self.data_dir)
        self.store = store
        self.client_secret = store.meta_or_create("client_secret", lambda: secrets.token_urlsafe(24))
        bucket = store.meta_or_create("bucket", lambda: f"c2c-sandbox-{uuid.uuid4().hex[:12]}")
        access_key = store.meta_or_create("s3_access_key", lambda: "AKIA" + secrets.token_hex(8).upper())
        secret_key = store.meta_or_create("s3_secret_key", lambda: secrets.token_urlsafe(30))
        self.signer = Signer(access_key, secret_key)
        external, kept = open_store(*self._s3, store=store, data_dir=self.data_dir)
        parts: PartStore | StoreParts = PartStore(self.data_dir, store) if kept is None else kept
        if external is not None:
            self.faults.refused = STORE_MODE.format(what="planning S3 faults")
            bucket = external.name
        self.model = Model(
            store=store,
            parts=parts,
            signer=self.signer,
            faults=self.faults,
            settings=dataclasses.replace(self.settings),
            bucket=bucket,
            client_secret=self.client_secret,
            network=self._network,
            external=external,
        )
        parts.recover()
        self.model.forget_checks()  # what the check sessions of a run that was killed left behind

    def _listen(self) -> socket.socket:
        """Bind first, ourselves: a busy port is then a plain OSError (werkzeug would print and exit)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self._requested_port))
            listener.listen(128)
        except OSError:
            listener.close()
            raise
        return listener

    def stop(self) -> None:
        """Stop serving, finish queued assemblies, close the store, release the data dir."""
        if self._server is None:
            return
        self._stop.set()
        self._network.wake()
        self.faults.wake()
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        self._janitor.join(timeout=10)
        try:
            self.model.release_checks()
        finally:
            self._close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _close(self) -> None:
        model = getattr(self, "model", None)
        if model is not None:
            model.parts.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        self._lock.release()

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

    @property
    def address(self) -> tuple[str, int]:
        """The address the server is bound to (host, port)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    # -- the model's controls, for a running sandbox (also under /sandbox/* over HTTP) -------------------
    @property
    def device(self) -> Device:
        """The device paired from the start (``access_token`` is one of its tokens)."""
        return self.model.device

    @property
    def bucket(self) -> str:
        """The bucket in the upload URLs' paths (``/<bucket>/...`` is the S3 side)."""
        return self.model.bucket

    @property
    def url_ttl(self) -> int:
        return self.model.settings.url_ttl if hasattr(self, "model") else self.settings.url_ttl

    def approve(self, user_code: str, project: str | None = None) -> Device:
        """Approve a pairing code, as a person does in Frame.io; returns the (new or known) device."""
        return self.model.approve(user_code, project)

    @property
    def network(self) -> NetworkProfile:
        """The network conditions part uploads meet now."""
        return self._network.profile

    def set_network(self, network: str | NetworkProfile | dict[str, Any] | None) -> NetworkProfile:
        """Change the network conditions, live: every part body read from now on follows them (None: loopback)."""
        if self._s3[0] is not None:
            raise ValueError(STORE_MODE.format(what="network conditions"))
        profile = resolve_network(network)
        self._network.set(profile)
        return profile

    def pause(
        self,
        channel: int | None = None,
        *,
        device_id: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        """Pause a device (the default one unless told) or one channel, from ``start`` (now) until ``end``."""
        self.model.pause(channel, device_id=device_id, start=start, end=end)

    def resume(self, channel: int | None = None, *, device_id: str | None = None) -> None:
        self.model.resume(channel, device_id=device_id)

    def reset(self) -> None:
        """Forget planned faults and pause windows; settings and network as constructed (tests call it)."""
        self.model.reset()

    def clear_assets(self) -> int:
        """Delete every asset with its parts and original (the page's Reset); devices and tokens stay."""
        return self.model.clear_assets()

    def set_url_ttl(self, seconds: int) -> None:
        """Lifetime of the upload URLs issued from now on."""
        self.model.set_url_ttl(seconds)

    def expire_token(self, token: str) -> bool:
        """Make an access (or refresh) token expire now; False when it is unknown."""
        return self.model.expire_token(token)

    def asset_path(self, asset_id: str) -> Path:
        return self.model.asset_path(asset_id)

    def asset_bytes(self, asset_id: str) -> bytes:
        return self.model.asset_bytes(asset_id)

    def asset_sha256(self, asset_id: str) -> str | None:
        return self.model.asset_sha256(asset_id)

    def wait_for_asset(self, asset_id: str, timeout: float = 30) -> Asset:
        """Block until the asset is complete or failed (assembly runs just after the last part)."""
        return self.model.wait_for_asset(asset_id, timeout)

    def asset_detail(self, asset_id: str) -> dict[str, Any] | None:
        return self.model.asset_detail(asset_id)

    def tree(self) -> list[dict[str, Any]]:
        return self.model.tree()

    def state(self) -> dict[str, Any]:
        return self.model.state()
