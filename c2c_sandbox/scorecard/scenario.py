"""A graded check session: files for the device to upload, and a fixed, seeded script of conditions played on cue.

:class:`Session` picks the device (a new one, with tokens it prints, or one already paired), writes the files,
hooks into the request recorder (:mod:`c2c_sandbox.scorecard.recorder`) for that device, and, while the device works,
plays the script (:mod:`~c2c_sandbox.scorecard.files`: its files and what each one plays); :meth:`Session.finish`
grades what was recorded (:mod:`c2c_sandbox.scorecard.grader`). During a session the sandbox hands out parts of
5-6 MiB (Frame.io: about 20 MiB), and the clock is compressed: 1 minute = :data:`SECONDS_PER_MINUTE` second.

What a session holds is given back: its files (when they are in the data dir) and its pause window when it is
finished; its device (when it paired one), with the device's tokens, assets and log, when it is released. A
session is finished by itself after :data:`SESSION_IDLE` seconds without a request from its device, released
:data:`SESSION_KEEP` seconds after it finished, on Reset and when the sandbox stops; a restart removes whatever
a killed sandbox's sessions left. At most :data:`MAX_SESSIONS` are kept at once.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from c2c_sandbox.domain.model import CHECK_CLIENT_PREFIX, CHECKS_DIR, Model
from c2c_sandbox.scorecard.files import (
    FAULTS,
    NETWORK,
    OUTAGE_MINUTES,
    POWER_CUT_AFTER,
    RATE_LIMITED,
    ROLES,
    STALL_MAX,
    ScenarioFile,
    ask_parts,
    plan,
    write_file,
)
from c2c_sandbox.scorecard.grader import ITEMS, Item, Scorecard, grade
from c2c_sandbox.scorecard.observed import device_checks, read_report
from c2c_sandbox.scorecard.recorder import Action
from c2c_sandbox.scorecard.report import markdown

__all__ = ["MAX_SESSIONS", "ROLES", "SECONDS_PER_MINUTE", "SESSION_IDLE", "SESSION_KEEP", "ScenarioFile", "Session"]
__all__ += ["SessionRefused", "plan"]


class SessionRefused(RuntimeError):
    """A session that cannot start now (:data:`MAX_SESSIONS` running, or one already running on its device: the
    two would share its requests, its hook and its assets); the controls answer 409."""


SECONDS_PER_MINUTE = 1.0
#: Sessions kept at once, running or finished: a running one holds about 70 MiB of files and a paired device;
#: past this many, the oldest finished one is released first, and a new one is refused while all of them run.
MAX_SESSIONS = 8
#: Seconds a running session waits for its device's next request before it finishes (and grades) by itself:
#: ``c2c check`` gives a device 10 minutes; a person on the page may step away, but not for half an hour.
SESSION_IDLE = 30 * 60.0
#: Seconds a finished session (its scorecard, report and transcript) stays before it is released.
SESSION_KEEP = 60 * 60.0
_REGISTRY = threading.Lock()  # admits and releases sessions (Model.checks) one at a time
#: the check's conditions an item depends on: skipping the item leaves them out
CONDITIONS = {
    "rate_limit_backoff": "rate_limited",
    "create_not_repeated": "create_dropped",
    "token_refresh": "token_expires",
}


class Session:
    """One graded session for one device (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        *,
        device_id: str | None = None,
        directory: str | Path | None = None,
        seed: int = 0,
        skip: tuple[str, ...] = (),
        seconds_per_minute: float = SECONDS_PER_MINUTE,
        pair: bool = False,
    ) -> None:
        self.model, self.seed, self.skip, self.pair = model, int(seed), tuple(skip), pair
        self.id = uuid.uuid4().hex[:12]
        self.minute = float(seconds_per_minute)
        self.own_files = not directory  # files in the data dir: removed once finished
        self.directory = Path(directory) if directory else model.store.data_dir / CHECKS_DIR / self.id
        self.env_file = model.store.data_dir / CHECKS_DIR / f"{self.id}.env"  # beside the files, never among them
        self.report_file = self.env_file.with_suffix(".report.jsonl")  # the device's report hook (C2C_CHECK_REPORT)
        self.state_dir = self.env_file.with_suffix(".state")  # the device's private state (C2C_STATE_DIR)
        self.power_cut, self.killed = threading.Event(), threading.Event()  # the restart: asked for, and done
        self.driven = False  # a driver runs the device's command and can cut its power (else no restart is played)
        self.restart: dict[str, float] = {}  # when the power was cut; and when the S3 side was gone:
        self.outage: dict[str, float] = {}
        self.user_codes: list[str] = []
        self.output: str | None = None  # what the device printed (the command's driver hands it over)
        self._assets_of: dict[str, str] = {}  # role -> the asset its first good create made
        self._network: Any = None
        self.credentials: dict[str, str] = {}
        self.own_device = device_id is None  # a device paired for the session: removed when it is released
        if device_id is not None:
            found = model.store.device(device_id)
            if found is None:
                raise ValueError(f"no device with id {device_id}")
            self.device = found
        self.idle, self.keep = SESSION_IDLE, SESSION_KEEP
        self._pause_id: int | None = None
        self.last_seen = time.monotonic()
        self.files: list[ScenarioFile] = []
        self.started_at = self.ended_at = 0.0
        self.card: Scorecard | None = None
        self._final: dict[str, Any] | None = None
        self._played: set[str] = set()
        self._lock = threading.Lock()
        self._finishing = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> Session:
        """Pair its device (unless given one), write the files, open the pause window, hook into the device's
        requests. SessionRefused when :data:`MAX_SESSIONS` are running."""
        with _REGISTRY:
            kept = [s for s in self.model.checks.values() if isinstance(s, Session)]
            if not self.own_device and any(s.running and s.device.id == self.device.id for s in kept):
                raise SessionRefused(
                    f"a check session is already running on device {self.device.name!r}: finish it first"
                )
            if len(kept) >= MAX_SESSIONS:
                done = sorted((s for s in kept if not s.running), key=lambda s: s.ended_at)
                if not done:
                    raise SessionRefused(f"{MAX_SESSIONS} check sessions are running: finish one first")
                done[0].release(registered=True)
            try:
                if self.own_device:
                    self._pair()
                self._write_files()
                self._pause_id = self.model.store.pause(self.device.id, None, *self.pause)
                self._write_credentials()
                self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(self.report_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600))
                self._network = self.model.network.profile
                self.model.set_network(NETWORK)
            except BaseException:  # (its files' folder cannot be written, say): nothing of it stays
                self._give_back()
                if self.own_device and hasattr(self, "device"):
                    self.model.delete_device(self.device.id)
                raise
            self.since = self.model.recorder.count(self.device.id)
            self.model.recorder.hook(self.device.id, self)
            self.model.checks[self.id] = self
        return self

    def _write_files(self) -> None:
        self.started_at = time.time()
        self.pause = (self.started_at - 7200, self.started_at - 3600)
        self.directory.mkdir(parents=True, exist_ok=True)
        made = {f.name: self.pause[0] + 1800 if f.role == "paused" else self.started_at - 10 for f in plan(self.seed)}
        self.files = [write_file(self.directory, self.seed, f, made[f.name]) for f in plan(self.seed)]

    def _write_credentials(self) -> None:
        """The session's variables, credentials included, in a file beside its files (owner-only, as the data
        dir): where the page points instead of showing them."""
        if self.credentials:
            self.env_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.writelines(f"{k}={shlex.quote(v)}\n" for k, v in self.environment().items())

    def _pair(self) -> None:
        model, settings, client_id = self.model, self.model.settings, f"{CHECK_CLIENT_PREFIX}{self.id}"
        device = model.store.ensure_device(client_id, f"Scorecard device {self.seed}", "Scorecard")
        access, refresh = model.store.issue_tokens(
            device.id, "asset_create offline", settings.token_ttl, settings.refresh_ttl
        )
        self.device = device
        self.credentials = {
            "access_token": access,
            "refresh_token": refresh,
            "client_id": device.client_id,
            "client_secret": model.client_secret,
        }
        if self.pair:  # the device pairs itself (device-code flow); the session plays the person who approves
            model.store.revoke(access)
            model.store.revoke(refresh)
            del self.credentials["access_token"], self.credentials["refresh_token"]

    def release(self, *, registered: bool = False) -> None:
        """Finish (if it runs), then give back all it holds: its files, its pause window, its device (when
        it paired one, with the device's tokens, assets and log); it leaves the sandbox's sessions."""
        self.finish(settle=0)
        if self.own_device:
            self.model.delete_device(self.device.id)
        if registered:
            self.model.checks.pop(self.id, None)
        else:
            with _REGISTRY:
                self.model.checks.pop(self.id, None)

    def sweep(self) -> None:
        """The sandbox's janitor: finish a session idle for :attr:`idle` seconds, release one finished
        :attr:`keep` seconds ago."""
        if self.running and time.monotonic() - self.last_seen >= self.idle:
            self.finish()
        elif not self.running and time.time() - self.ended_at >= self.keep:
            self.release()

    @property
    def running(self) -> bool:
        return self.card is None

    def finish(self, settle: float = 5.0) -> Scorecard:
        """Stop playing the script, let the last assemblies finish, grade what the device did. Whatever
        happens on the way, the session ends: it has a scorecard afterwards (and is no longer running)."""
        with self._finishing:
            if self.card is not None:
                return self.card
            self.model.recorder.unhook(self.device.id, self)
            self.ended_at = time.time()
            self.killed.set()  # a part still waiting for a power cut that never came is let go
            card = None
            try:
                if self._network is not None:
                    self.model.set_network(self._network)
                for asset in self._assets():
                    if asset.status == "processing":
                        with contextlib.suppress(TimeoutError, LookupError):
                            self.model.wait_for_asset(asset.id, settle)
                checks = device_checks(
                    self.model.store,
                    self.directory,
                    self.files,
                    self.report_file,
                    self.output,
                    list(self.credentials.values()),
                )
                self._final = {**self._transcript(), "reports": read_report(self.report_file), "checks": checks}
                card = grade(self._final)
            finally:
                if card is None:  # the transcript could not be read: nothing can be judged
                    why = "could not be judged: the session's requests could not be read"
                    card = Scorecard(self._device(), self.scenario(), [Item(*i[:3], detail=why) for i in ITEMS])
                try:
                    self._give_back()
                finally:
                    self.card = card  # only now is it no longer running: what it held is given back
            return card

    def _give_back(self) -> None:
        """What a finished session no longer needs: its pause window, its credentials file, and its files when
        they are its own."""
        if self._pause_id is not None:
            self.model.store.delete_pause(self._pause_id)
        self.env_file.unlink(missing_ok=True)
        self.report_file.unlink(missing_ok=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        if self.own_files:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- what is graded ---------------------------------------------------------------------------------
    def _assets(self) -> list[Any]:
        return [a for a in self.model.store.assets(device_id=self.device.id) if a.inserted_at >= self.started_at]

    def scenario(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "clock": {"seconds_per_minute": self.minute},
            "pause": {"start": self.pause[0], "end": self.pause[1]},
            "files": [asdict(f) for f in self.files],
            "started_at": self.started_at,
            "ended_at": self.ended_at or time.time(),
            "skipped": list(self.skip),
            "network": NETWORK,
            "restart": dict(self.restart),
            "outage": dict(self.outage),
            "pairing": {"user_codes": list(self.user_codes)} if self.pair else {},
        }

    def transcript(self) -> dict[str, Any]:
        """The scenario, the device's recorded requests since the start, and its assets' (final) state."""
        return self._final if self._final is not None else self._transcript()

    def _transcript(self) -> dict[str, Any]:
        assets = [
            {
                "id": a.id,
                "status": a.status,
                "sha256": a.sha256,
                "filesize": a.filesize,
                "filetype": a.filetype,
                "parts": a.parts,
                "realtime": a.realtime,
            }
            for a in self._assets()
        ]
        return {
            "format": "c2c-scorecard-transcript/1",
            "device": self._device(),
            "scenario": self.scenario(),
            "requests": self.model.recorder.requests(self.device.id, since=self.since),
            "assets": assets,
        }

    def _device(self) -> dict[str, str]:
        device = self.model.store.device(self.device.id) or self.device
        return {
            "id": device.id,
            "name": device.name,
            "project_id": device.project_id,
            "project_name": device.project_name,
        }

    def report(self, *, evidence: bool = True) -> str:
        """The Markdown report (:func:`c2c_sandbox.scorecard.report.markdown`) of the finished session."""
        card = self.finish()
        return markdown(card, evidence=evidence, requests=self.transcript()["requests"] if evidence else None)

    def status(self) -> dict[str, Any]:
        """What the page and ``/sandbox/checks/<id>`` show while it runs (and the grade once finished)."""
        body: dict[str, Any] = {
            "id": self.id,
            "device": {"id": self.device.id, "name": self.device.name},
            "running": self.running,
            "directory": str(self.directory),
            "files": [{"name": f.name, "size": f.size} for f in self.files],
            "requests": self.model.recorder.count(self.device.id) - self.since,
        }
        if self.card is not None:
            body["scorecard"] = self.card.to_json()
        return body

    def environment(self) -> dict[str, str]:
        """The variables a device command gets from ``c2c check -- COMMAND``."""
        env = {"C2C_API_URL": self.model.base_url, "C2C_CHECK_DIR": str(self.directory)}
        env["C2C_CHECK_MINUTE"] = f"{self.minute:g}"
        env.update(C2C_CHECK_REPORT=str(self.report_file), C2C_STATE_DIR=str(self.state_dir))
        env.update({f"C2C_{k.upper()}": v for k, v in self.credentials.items()})  # C2C_ACCESS_TOKEN, ...
        return env

    def instructions(self, *, secrets: bool = True) -> str:
        """What the integrator is asked to do; ``secrets=False`` (the page): where the credentials are, not them."""
        lines = [
            f"A graded session (seed {self.seed}) has started for device {self.device.name!r}.",
            f"Upload these {len(self.files)} files from {self.directory} as your device would, in name order:",
            *(f"  {f.name}  {f.size:,} bytes" for f in self.files),
            f"API: {self.model.base_url}",
        ]
        if self.credentials and secrets:
            hidden = ("C2C_API_URL", "C2C_CHECK_DIR", "C2C_CHECK_MINUTE", "C2C_CHECK_REPORT", "C2C_STATE_DIR")
            lines.append(
                "Credentials: " + " ".join(f"{k}={v}" for k, v in self.environment().items() if k not in hidden)
            )
        elif self.credentials:  # a page shows no secret: they are in a file only this user can read
            lines.append(
                f"Credentials (and the variables above): in {self.env_file}, readable by you only;"
                f" in the device's shell: set -a; . {shlex.quote(str(self.env_file))}; set +a"
            )
        else:
            lines.append("Use the tokens your device got when it was paired.")
        lines += [
            f"The clock is compressed: 1 minute = {self.minute:g} s. Send a heartbeat every 1 to 5 (compressed)"
            " minutes.",
            "Things will go wrong on purpose, as they do on Frame.io: behave as you would there.",
        ]
        return "\n".join(lines)

    # -- the script (called by the recorder, before the app sees the request) ----------------------------
    def before(self, entry: dict[str, Any], environ: dict[str, Any]) -> Action | None:
        self.last_seen = time.monotonic()
        if entry.get("kind") == "s3":
            return self._part(entry)
        if self.pair and entry.get("route") == "POST /v2/auth/device/code":
            return Action(after=self._approve_soon, note="scenario: a person enters the code a second later")
        if entry.get("create") is None:
            return None
        f = next((f for f in self.files if f.size == entry["create"].get("filesize")), None)
        if f is None:
            return None
        ask_parts(environ, f)
        with self._lock:
            first = f.role not in self._played
            self._played.add(f.role)
        if not first or any(CONDITIONS.get(s) == f.role for s in self.skip):
            return None
        return self._condition(f, entry)

    def _condition(self, f: ScenarioFile, entry: dict[str, Any]) -> Action | None:
        if f.role == "rate_limited":
            return Action(answer=RATE_LIMITED, note="scenario: 429 on create")
        if f.role == "create_dropped":
            return Action(drop_answer=True, note="scenario: the create's answer is dropped")
        if f.role == "token_expires":
            self.model.expire_token(entry.get("_token", ""))
            return Action(note="scenario: the access token expires now")
        if f.role == "expired_urls":
            ttl = self.model.settings.url_ttl
            self.model.set_url_ttl(1)
            return Action(hold=1.1, after=lambda _e: self.model.set_url_ttl(ttl), note="scenario: URLs expire in 1 s")
        if f.role in FAULTS:
            return Action(after=lambda e: self._plan_faults(f, e), note="scenario: S3 faults planned for its parts")
        if f.role in ("restart", "outage"):
            return Action(after=lambda e: self._note_asset(f.role, e))
        return None

    def _note_asset(self, role: str, entry: dict[str, Any]) -> None:
        if entry.get("status") == 200 and entry.get("asset"):
            self._assets_of.setdefault(role, entry["asset"])

    def _part(self, entry: dict[str, Any]) -> Action | None:  # the power cut and the outage, on the part PUTs
        now = time.time()
        if self.outage and now < self.outage["end"]:
            return Action(cut=True, note="scenario: the S3 side is unreachable")
        asset = entry.get("asset")
        if asset and asset == self._assets_of.get("outage") and not self.outage:
            self.outage = {"start": now, "end": now + OUTAGE_MINUTES * self.minute}
            return Action(cut=True, note="scenario: the S3 side goes away")
        if not self.driven or not asset or asset != self._assets_of.get("restart") or self.killed.is_set():
            return None
        if entry.get("part") == 1:
            return Action(after=self._cut_power_soon)
        return Action(cut=True, wait=self.killed, wait_max=STALL_MAX, note="scenario: in flight at the power cut")

    def _cut_power_soon(self, entry: dict[str, Any]) -> None:
        if entry.get("status") == 200:
            threading.Timer(POWER_CUT_AFTER, self.power_cut.set).start()

    def powered_off(self) -> None:  # the driver killed the device and starts it again: the held parts go
        self.restart = {"killed_at": time.time()}
        self.killed.set()

    def _approve_soon(self, entry: dict[str, Any]) -> None:
        if entry.get("status") != 200:
            return
        for code in [c for c in self.model.store.pending_codes() if c.client_id == self.device.client_id][-1:]:
            self.user_codes.append(code.user_code)
            threading.Timer(1.0, self._approve, args=(code.user_code,)).start()

    def _approve(self, user_code: str) -> None:
        with contextlib.suppress(LookupError, ValueError):  # the code expired, or the session was released
            self.model.approve(user_code)

    def _plan_faults(self, f: ScenarioFile, entry: dict[str, Any]) -> None:
        if entry.get("status") != 200 or not entry.get("asset"):
            return
        for kind, part, times in FAULTS[f.role]:
            self.model.faults.inject(kind, part=part, times=times, asset=entry["asset"])
