"""``c2c device``: the kit's open reference device, a camera's uploader built only on the client's public API.

Frame.io gives certified partners a private "skeleton" device; this is an open one to read and start from. It
watches a folder (a camera card) and uploads what appears there, the way Frame.io's integrator checklist asks:

- **pairing**: with saved tokens it uses them; else with ``C2C_ACCESS_TOKEN`` (and ``C2C_REFRESH_TOKEN``) from
  the environment; else it pairs with the device-code flow (:func:`~c2c_helpers.pairing.pair_device`), showing
  the six-digit code and the link. Ctrl-C cancels pairing at any step (nothing is saved);
- **tokens**: kept across runs in ``<state>/tokens.json`` (mode 0600), replaced after every silent refresh (the
  client renews on a 401 by itself); ``GET /v2/devices/me`` after every grant and refresh;
- **heartbeat**: ``POST /v2/devices/heartbeat`` every 2 minutes while it runs (Frame.io: 1 to 5);
- **a persistent queue**: ``<state>/queue.json`` holds each file's state (queued, done, refused, failed), so a
  power cut loses nothing: the next run skips what is done and resumes what was half sent from its resume
  manifest (``<state>/uploads/``, :mod:`c2c_helpers.resume`): only the parts S3 had not acknowledged go again;
- **faults**: a paused device's 409 is final for that file; an unreadable (corrupt) file is reported and
  skipped; network trouble leaves the file queued and it is tried again later, waiting longer each time
  (1, 2, 4 ... up to 30 minutes) and at most :data:`MAX_TRIES` times; a create that got no answer is never sent
  again (the asset may exist: it is reported for a person to look at);
- **real time**: a file still growing (written in the last :data:`GROWING_MINUTES` minutes) is uploaded as it
  grows (:func:`~c2c_helpers.realtime.upload_growing_file`);
- **cancel**: ``c2c device --cancel NAME`` (or ``--cancel all``) cancels queued files; the device skips them from
  its next file on (the one being sent finishes);
- **what it shows**: the project's name, the queue (files and bytes left, the current file), network state and
  speed, one line each on standard error, never a token or the client's credentials. With ``C2C_CHECK_REPORT``
  set (``c2c check`` sets it) the same events are appended there as JSON lines: the scorecard's documented hook
  for what only the device can show (``docs/scorecard-example.md``).

Configuration comes from the environment (what ``c2c check -- c2c device`` hands it): ``C2C_API_URL``,
``C2C_ACCESS_TOKEN``, ``C2C_REFRESH_TOKEN``, ``C2C_CLIENT_ID``, ``C2C_CLIENT_SECRET``, ``C2C_CHECK_DIR`` (the
folder), ``C2C_CHECK_MINUTE`` (seconds in a minute: a check compresses the clock), ``C2C_STATE_DIR``. In a
check it ends once the queue has been settled for 3 (compressed) minutes; otherwise it runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from c2c_helpers import (
    APIError,
    AuthError,
    C2CClient,
    C2CError,
    ChannelPaused,
    DeviceCode,
    InvalidArgument,
    ProgressEvent,
    RetryPolicy,
    Tokens,
    TransportError,
    UploadError,
    pair_device,
    upload_file,
)
from c2c_helpers.realtime import upload_growing_file

__all__ = ["MAX_TRIES", "Device", "as_device", "device_main", "heartbeats", "save_tokens", "saved_tokens"]

MAX_TRIES = 8  # tries of one file across network trouble, the first included: then it is reported failed
GROWING_MINUTES = 2.0  # a file written this recently is still being recorded
FINAL = ("done", "refused", "failed", "cancelled")


class Device:
    """One device: its client, its saved state, its queue (see the module docstring)."""

    def __init__(self, folder: Path, state: Path, env: dict[str, str]) -> None:
        self.folder, self.state, self.env = folder, state, env
        self.minute = float(env.get("C2C_CHECK_MINUTE") or 60)
        self.api_url = env["C2C_API_URL"].rstrip("/")
        self.client_id, self.secret = env.get("C2C_CLIENT_ID", ""), env.get("C2C_CLIENT_SECRET", "")
        self.report_path = Path(env["C2C_CHECK_REPORT"]) if env.get("C2C_CHECK_REPORT") else None
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(state, 0o700)
        self.queue: dict[str, dict[str, Any]] = _read(state / "queue.json") or {}
        self.stop = threading.Event()
        self.network = "unknown"
        self.client = self._connect()

    # -- what it shows ------------------------------------------------------------------------------------
    def show(self, event: str, **fields: Any) -> None:
        """Show one event to the person (stderr) and, in a check, append it to the report (JSON lines)."""
        text = " ".join(f"{k}={v}" for k, v in fields.items())
        print(f"c2c device: {event} {text}", file=sys.stderr, flush=True)
        if self.report_path is not None:
            with self.report_path.open("a") as out:
                out.write(json.dumps({"t": time.time(), "event": event, **fields}) + "\n")

    def show_queue(self, current: str | None = None, sent: int = 0) -> None:
        files = self.files()
        left = [p for p in files if self.queue.get(p.name, {}).get("state") not in FINAL]
        counts = {s: sum(self.queue.get(p.name, {}).get("state") == s for p in files) for s in FINAL}
        size = sum(_size(p) for p in left)
        self.show(
            "queue",
            queued=len(left),
            completed=counts["done"],
            failed=counts["failed"] + counts["refused"],
            files_remaining=len(left),
            bytes_remaining=max(0, size - sent),
            current=current,
        )

    def set_network(self, state: str, mbps: float | None = None) -> None:
        if state != self.network or mbps is not None:
            self.network = state
            self.show("network", state=state, type="ethernet", mbps=None if mbps is None else round(mbps, 1))

    # -- tokens -------------------------------------------------------------------------------------------
    def _connect(self) -> C2CClient:
        saved = saved_tokens(self.state, self.api_url, self.client_id)
        if saved:
            access, refresh = saved
        elif self.env.get("C2C_ACCESS_TOKEN"):  # tokens handed over (a check): kept from now on, like its own
            access, refresh = self.env["C2C_ACCESS_TOKEN"], self.env.get("C2C_REFRESH_TOKEN")
            self._save(Tokens(access, refresh))
        else:
            tokens = pair_device(self.api_url, self.client_id, self.secret, show_code=self._show_code)
            access, refresh = tokens.access_token, tokens.refresh_token
            self._save(tokens)
        client = C2CClient(
            self.api_url,
            access,
            refresh_token=refresh,
            client_id=self.client_id or None,
            client_secret=self.secret or None,
            on_tokens=self._refreshed,
        )
        self._me(client)  # after every new authorization (and this run's first use of saved tokens)
        return client

    def _show_code(self, code: DeviceCode) -> None:
        self.show("pairing", user_code=code.user_code, link=code.verification_uri_complete or code.verification_uri)

    def _refreshed(self, tokens: Tokens) -> None:
        self._save(tokens)
        self._me(self.client)

    def _save(self, tokens: Tokens) -> None:
        save_tokens(self.state, self.api_url, self.client_id, tokens)

    def _me(self, client: C2CClient) -> None:
        me = client.me()
        project = me.get("project") or {}
        self.show("project", id=me.get("project_id") or project.get("id"), name=project.get("name"))

    def _beat(self) -> None:
        heartbeats(self.client, self.state, self.minute, self.stop)

    # -- the queue ----------------------------------------------------------------------------------------
    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if not p.name.startswith(".") and not p.is_dir())

    def mark(self, path: Path, state: str, reason: str = "", **extra: Any) -> None:
        entry = {**self.queue.get(path.name, {}), "state": state, "reason": reason, **extra}
        self.queue[path.name] = entry
        _write(self.state / "queue.json", self.queue)
        if state in FINAL:
            self.show("file", name=path.name, state=state, reason=reason)

    def due(self, path: Path) -> bool:
        entry = self.queue.get(path.name, {})
        if entry.get("state") in FINAL:
            return False
        cancelled = _read(self.state / "cancel.json") or []
        if path.name in cancelled or "all" in cancelled:  # c2c device --cancel NAME (or all)
            self.mark(path, "cancelled", "cancelled by the person")
            return False
        return bool(entry.get("next_try", 0) <= time.time())

    def run(self, idle_exit: float | None) -> int:
        beater = threading.Thread(target=self._beat, daemon=True)
        beater.start()
        settled = time.monotonic()
        try:
            while not self.stop.is_set():
                pending = [p for p in self.files() if self.due(p)]
                for path in pending:
                    self.upload(path)
                    self.show_queue()
                waiting = any(self.queue.get(p.name, {}).get("state") not in FINAL for p in self.files())
                if pending or waiting:
                    settled = time.monotonic()
                elif idle_exit is not None and time.monotonic() - settled >= idle_exit:
                    return 0
                self.stop.wait(min(1.0, self.minute / 4))
        except AuthError as exc:
            self.show("error", reason=f"the service refused this device's tokens ({exc.status}): pair it again")
            return 1
        finally:
            self.stop.set()
            beater.join(timeout=5)
        return 0

    def upload(self, path: Path) -> None:
        """One file: upload it (or resume it), and record what became of it."""
        manifest = self.state / "uploads" / f"{hashlib.sha256(path.name.encode()).hexdigest()[:16]}.json"
        manifest.parent.mkdir(mode=0o700, exist_ok=True)
        tries = int(self.queue.get(path.name, {}).get("tries", 0)) + 1
        self.mark(path, "sending", tries=tries)
        self.show_queue(current=path.name)
        started = time.monotonic()
        try:
            if time.time() - path.stat().st_mtime < GROWING_MINUTES * self.minute:
                live = upload_growing_file(
                    path,
                    client=self.client,
                    idle_timeout=self.minute,
                    wait=False,
                    resume=manifest.with_suffix(".live.json"),
                    progress=self._progress,
                )
                sent = live.bytes
            else:
                result = upload_file(
                    path,
                    client=self.client,
                    resume=manifest,
                    on_expired="recreate",
                    wait=False,
                    retry=RetryPolicy(max_attempts=4, jitter=0.5),  # waits of 0.5 to 1, 1 to 2, 2 to 4 s
                    progress=self._progress,
                )
                sent = result.bytes_sent
        except ChannelPaused:
            self.mark(path, "refused", "the device was paused when this file was made")
        except (InvalidArgument, OSError) as exc:  # unreadable, empty, or changed under us: a corrupt file
            self.mark(path, "failed", f"corrupt or unreadable: {type(exc).__name__}")
        except (UploadError, TransportError, APIError) as exc:
            self._later(path, tries, exc)
        else:
            seconds = max(time.monotonic() - started, 1e-6)
            self.set_network("online", sent * 8 / seconds / 1e6)
            self.mark(path, "done")

    def _later(self, path: Path, tries: int, exc: C2CError) -> None:
        if isinstance(exc, AuthError):
            raise exc
        if isinstance(exc, TransportError | APIError) and not exc.retryable:  # the create may have happened
            self.mark(path, "failed", f"needs a person: {type(exc).__name__} (the asset may exist)")
            return
        if tries >= MAX_TRIES:
            self.mark(path, "failed", f"gave up after {tries} tries: {type(exc).__name__}")
            return
        wait = min(30 * self.minute, self.minute * 2 ** (tries - 1))
        self.set_network("offline")
        self.mark(path, "queued", f"will try again in {wait:g} s", next_try=time.time() + wait)

    def _progress(self, event: ProgressEvent) -> None:
        if event.state == "retrying":
            self.set_network("unstable")
        elif event.state == "done" and self.network != "online":
            self.set_network("online")


def as_device(client: C2CClient, stop: threading.Event, *, embedded: bool = False) -> C2CClient:
    """With ``C2C_REFRESH_TOKEN``, ``C2C_CLIENT_ID`` and ``C2C_CLIENT_SECRET`` set (as ``c2c check`` sets them), act as
    the device they name: refresh the token on a 401 and keep the new pair in the device's private state
    (``C2C_STATE_DIR``, as ``c2c device`` does: the next run uses it), and send heartbeats (one a minute at most
    across runs, at least every 5 minutes while it uploads); ``c2c upload`` uses it. Else (or for an `embedded`
    sandbox) the client as it is."""
    env = os.environ
    if embedded or not all(env.get(k) for k in ("C2C_REFRESH_TOKEN", "C2C_CLIENT_ID", "C2C_CLIENT_SECRET")):
        return client
    state = Path(env.get("C2C_STATE_DIR") or Path.home() / ".local/state/c2c-device")
    client_id = env["C2C_CLIENT_ID"]
    access, refresh = saved_tokens(state, client.api_url, client_id) or (client.token, env["C2C_REFRESH_TOKEN"])
    device = C2CClient(
        client.api_url,
        access,
        refresh_token=refresh,
        client_id=client_id,
        client_secret=env["C2C_CLIENT_SECRET"],
        on_tokens=lambda tokens: save_tokens(state, client.api_url, client_id, tokens),
        controls=client.controls,
    )
    client.close()
    minute = float(env.get("C2C_CHECK_MINUTE") or 60)
    threading.Thread(target=heartbeats, args=(device, state, minute, stop), daemon=True).start()
    return device


def saved_tokens(state: Path, api_url: str, client_id: str) -> tuple[str, str | None] | None:
    """The access and refresh tokens saved in `state` for this service and device, or None."""
    saved = _read(state / "tokens.json")
    if isinstance(saved, dict) and saved.get("api_url") == api_url and saved.get("client") == _label(client_id):
        return str(saved["access_token"]), saved.get("refresh_token")
    return None


def save_tokens(state: Path, api_url: str, client_id: str, tokens: Tokens) -> None:
    """Keep a new pair (after pairing or a refresh: the old refresh token is spent), private to its owner."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {"api_url": api_url, "client": _label(client_id)}
    _write(state / "tokens.json", {**data, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token})


def heartbeats(client: C2CClient, state: Path, minute: float, stop: threading.Event) -> None:
    """Send a heartbeat every 2 minutes until `stop`; the last one's time is kept in `state`, so that runs one
    after the other (a restart, a loop of ``c2c upload``) send one a minute at most, and at least every 5."""
    last = _read(state / "heartbeat.json")
    delay = max(0.0, float(last) + 2 * minute - time.time()) if isinstance(last, float) else 0.0
    while not stop.wait(delay):
        _write(state / "heartbeat.json", time.time())  # first: a run that ends right after its beat leaves its time
        with contextlib.suppress(C2CError):
            client.heartbeat()
        delay = 2 * minute


def _label(client_id: str) -> str:
    return hashlib.sha256(client_id.encode()).hexdigest()[:12]  # the state file names its device, not in clear


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write(path: Path, data: Any) -> None:
    """Private and atomic: a power cut leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def device_main(argv: list[str] | None = None) -> int:
    """``c2c device [FOLDER] [--state DIR] [--exit-when-idle S]``: see the module docstring."""
    parser = argparse.ArgumentParser(prog="c2c device", description="The kit's reference C2C device.")
    parser.add_argument("folder", nargs="?", type=Path, default=None, help="folder to watch (C2C_CHECK_DIR)")
    parser.add_argument("--state", type=Path, default=None, help="its private state (C2C_STATE_DIR)")
    parser.add_argument("--exit-when-idle", type=float, default=None, help="end after this many idle seconds")
    parser.add_argument("--cancel", action="append", metavar="NAME", help="cancel a queued file (or all), and end")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.cancel:  # for the running device: it skips them from its next file on (the one being sent finishes)
        where = args.state or Path(env.get("C2C_STATE_DIR") or Path.home() / ".local/state/c2c-device")
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write(where / "cancel.json", sorted({*(_read(where / "cancel.json") or []), *args.cancel}))
        return 0
    folder = args.folder or (Path(env["C2C_CHECK_DIR"]) if env.get("C2C_CHECK_DIR") else None)
    if folder is None:
        parser.exit(2, "c2c device: give the FOLDER to watch (or set C2C_CHECK_DIR)\n")
    if not env.get("C2C_API_URL"):  # then tokens (C2C_ACCESS_TOKEN, ...) or pairing (C2C_CLIENT_ID/SECRET)
        parser.exit(2, "c2c device: set C2C_API_URL (the service), and C2C_ACCESS_TOKEN or C2C_CLIENT_ID and "
                    "C2C_CLIENT_SECRET to pair (c2c sandbox prints them)\n")  # fmt: skip
    state = args.state or Path(env.get("C2C_STATE_DIR") or Path.home() / ".local/state/c2c-device")
    idle = args.exit_when_idle
    if idle is None and env.get("C2C_CHECK_DIR"):
        idle = 3 * float(env.get("C2C_CHECK_MINUTE") or 60)  # a check ends when the queue has settled
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        device = Device(folder, state, env)
        return device.run(idle)
    except KeyboardInterrupt:
        print("c2c device: stopped (pairing cancelled, or Ctrl-C); nothing half-done is lost", file=sys.stderr)
        return 130
    except C2CError as exc:
        print(f"c2c device: {exc}", file=sys.stderr)
        return 1
