"""The sandbox's domain: devices and pairing, assets and their upload URLs, pause windows, the device folders.

:class:`Model` is what the API (:mod:`c2c_sandbox.api`) and the :class:`~c2c_sandbox.Sandbox` controls call; it
knows nothing of HTTP or of threads. It keeps its state in the store (SQLite) and the part store (bytes on disk),
presigns upload URLs with the S3 signer, and holds the planned faults and the settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c2c_sandbox.domain import channels, registrations
from c2c_sandbox.domain.records import Asset, Device, Registered
from c2c_sandbox.domain.store import Store
from c2c_sandbox.network.profiles import PRESETS, NetworkProfile, resolve_network
from c2c_sandbox.network.shaping import Network
from c2c_sandbox.s3.bucket import Bucket
from c2c_sandbox.s3.faults import Faults
from c2c_sandbox.s3.gateway import Signer
from c2c_sandbox.s3.partstore import PartStore
from c2c_sandbox.s3.storeparts import STORE_MODE, StoreParts
from c2c_sandbox.scorecard.recorder import Recorder

DEFAULT_CLIENT_ID = "sandbox-camera-01"
DEFAULT_DEVICE_NAME = "Sandbox Camera"
DEFAULT_PROJECT = "Sandbox Project"
FOLDER_NAMESPACE = uuid.UUID("6f1c2c2e-5a0b-4c7e-9a57-0c2c0c2c0c2c")
MAX_URL_TTL = 7 * 86400  # S3's limit for a presigned URL
MAX_TOKEN_TTL = 365 * 86400  # a year: longer than any lesson needs a token (Frame.io: 8 h, and 14 days to refresh)
MAX_POLL_INTERVAL = 120  # seconds: a device code lives at most 120 s, so a longer interval never sees it approved
#: The client id prefix of the devices check sessions pair, and where under the data dir they write their files:
#: both belong to the sessions (:mod:`c2c_sandbox.scorecard.scenario`), which die with the process that ran them.
CHECK_CLIENT_PREFIX = "scorecard-"
#: Seconds an expired token or pairing code is kept before it is deleted: a request with a token that expired is
#: still its device's (the scorecard grades token refresh on such 401s); a day later nobody sends it any more.
EXPIRED_KEEP = 86400.0
PURGE_EVERY = 60.0  # seconds between two purges of expired tokens and codes
CHECKS_DIR = "checks"


@dataclass
class Settings:
    """What a sandbox is started with; only ``url_ttl`` changes while it runs (:meth:`Model.set_url_ttl`).

    ``url_ttl``: lifetime of upload URLs in seconds (Frame.io: 24 h); ``token_ttl``, ``refresh_ttl``: access
    tokens (8 h) and refresh tokens (14 days); ``poll_interval``, ``code_ttl``: the pairing poll interval and
    the life of a device code (at most 120 s); ``create_rate``: asset creations per second and device (5);
    ``api_rate``: every other device call, per second and device (100: the sandbox's inference).
    """

    url_ttl: int = 86400
    token_ttl: int = 28800
    refresh_ttl: int = 14 * 86400
    poll_interval: int = 5
    code_ttl: int = 120
    create_rate: int = 5
    api_rate: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.code_ttl <= 120:
            raise ValueError("code_ttl must be between 1 and 120 seconds")
        _check_url_ttl(self.url_ttl)
        for name in ("token_ttl", "refresh_ttl"):  # a token that is dead when it is issued helps nobody
            if not 1 <= getattr(self, name) <= MAX_TOKEN_TTL:
                raise ValueError(f"{name} must be between 1 second and {MAX_TOKEN_TTL // 86400} days")
        if not 0 <= self.poll_interval <= MAX_POLL_INTERVAL:
            raise ValueError(f"poll_interval must be between 0 and {MAX_POLL_INTERVAL} seconds (a code's life)")
        for name in ("create_rate", "api_rate"):
            if not 1 <= getattr(self, name) <= 1_000_000:
                raise ValueError(f"{name} must be between 1 and 1,000,000 calls per second")


def _check_url_ttl(seconds: int) -> None:
    if not 1 <= int(seconds) <= MAX_URL_TTL:
        raise ValueError("url_ttl must be between 1 second and 7 days (S3's limit)")


# -- values ---------------------------------------------------------------------------------------------
def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def category(filetype: str) -> str:
    major = filetype.split("/", 1)[0].lower()
    return {"video": "VIDEO", "audio": "AUDIO"}.get(major, "DATA")


def folder_path(asset: Asset, device: Device) -> list[str]:
    """Where Frame.io files the asset: Cloud Devices > YYYY_MM_DD > VIDEO|AUDIO|DATA > device > name."""
    day = dt.datetime.fromtimestamp(asset.file_created_at, dt.UTC).strftime("%Y_%m_%d")
    return ["Cloud Devices", day, category(asset.filetype), device.name, asset.name]


class Model:
    """One sandbox's domain operations over its own store, part store, signer, faults and settings."""

    def __init__(
        self,
        *,
        store: Store,
        parts: PartStore | StoreParts,
        signer: Signer,
        faults: Faults,
        settings: Settings,
        bucket: str,
        client_secret: str,
        network: Network | None = None,
        external: Bucket | None = None,
    ) -> None:
        self.store, self.parts, self.signer, self.faults = store, parts, signer, faults
        #: the external S3 store the parts go to (``Sandbox(s3=...)``), or None: the sandbox's own gateway
        self.external = external
        #: the network conditions of the S3 side (:mod:`c2c_sandbox.network.profiles`); :meth:`reset` restores the first
        self.network = network if network is not None else Network(PRESETS["loopback"], threading.Event())
        self.bucket, self.client_secret = bucket, client_secret
        self.initial = dataclasses.replace(settings)
        self.settings = settings
        self.base_url = ""  # set once the server listens: upload URLs point at it
        #: The device every sandbox has paired from the start (``Sandbox.access_token`` is one of its tokens).
        channels.ensure_schema(store)
        self.device = store.ensure_device(DEFAULT_CLIENT_ID, DEFAULT_DEVICE_NAME, DEFAULT_PROJECT)
        #: Each device's recent requests (in memory; the server wraps its app with it), and the check sessions
        #: (:mod:`c2c_sandbox.scorecard.scenario`) by id.
        self.recorder = Recorder(store, client_secret=client_secret)
        self.checks: dict[str, Any] = {}
        self.expired_keep, self.purge_every, self._purged = EXPIRED_KEEP, PURGE_EVERY, time.monotonic()

    # -- pairing and devices --------------------------------------------------------------------------
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

    def expire_token(self, token: str) -> bool:
        """Make an access (or refresh) token expire now; False when it is unknown."""
        return bool(token) and self.store.expire_token(token)

    # -- pauses ---------------------------------------------------------------------------------------
    def pause(
        self,
        channel: int | None = None,
        *,
        device_id: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        """Pause a device (the default one unless told) or one channel, from ``start`` (now) until ``end``."""
        self.store.pause(self._device_id(device_id), channel, time.time() if start is None else start, end)

    def resume(self, channel: int | None = None, *, device_id: str | None = None) -> None:
        """End the open pause windows of a device (the default one unless told), or of one channel."""
        self.store.resume(self._device_id(device_id), channel, time.time())

    def _device_id(self, device_id: str | None) -> str:
        if device_id is None:
            return self.device.id
        if self.store.device(device_id) is None:
            raise ValueError(f"no device with id {device_id}")
        return device_id

    def paused_channels(self, device_id: str, when: float | None = None) -> set[int | None]:
        """Channels paused at ``when`` (now by default); None in the set means the whole device."""
        when = time.time() if when is None else when
        return {p.channel for p in self.store.pauses(device_id) if p.start <= when and (p.end is None or when < p.end)}

    def is_paused(self, device_id: str, channel: int, when: float) -> bool:
        paused = self.paused_channels(device_id, when)
        return None in paused or channel in paused

    # -- settings -------------------------------------------------------------------------------------
    def set_url_ttl(self, seconds: int) -> None:
        """Lifetime of the upload URLs issued from now on."""
        _check_url_ttl(seconds)
        self.settings.url_ttl = int(seconds)

    def set_network(self, network: str | NetworkProfile | dict[str, Any] | None) -> NetworkProfile:
        """Network conditions for every part body read from now on (:func:`~c2c_sandbox.network.resolve_network`)."""
        if self.external is not None:
            raise ValueError(STORE_MODE.format(what="network conditions"))
        profile = resolve_network(network)
        self.network.set(profile)
        return profile

    def reset(self) -> None:
        """Forget planned faults and pause windows; settings and network go back to what the sandbox started with."""
        self.faults.clear()
        self.store.clear_pauses()
        self.settings = dataclasses.replace(self.initial)
        self.network.reset()

    def clear_assets(self) -> int:
        """Delete every asset, its parts and its original; devices, tokens and pairings stay, but for those check
        sessions paired (the sessions are released first). Returns how many assets were deleted."""
        self.release_checks()
        ids = self.store.delete_assets()
        channels.forget(self.store, asset_ids=ids)
        self.parts.clear(ids)
        return len(ids)

    def delete_device(self, device_id: str) -> int:
        """Forget a device: its tokens, codes, pauses, log, and its assets with their files. Returns how many."""
        ids = self.store.delete_device(device_id)
        channels.forget(self.store, device_id=device_id, asset_ids=ids)
        self.parts.clear(ids)
        self.recorder.forget(device_id)
        return len(ids)

    # -- check sessions (what they hold; :mod:`c2c_sandbox.scorecard.scenario`) -----------------------
    def release_checks(self) -> None:
        """Release every check session (Reset, stop): each gives back its files and the device it paired."""
        for session in list(self.checks.values()):
            session.release()

    def sweep_checks(self) -> None:
        """Finish the idle check sessions, release those finished long ago (the sandbox's janitor calls it)."""
        for session in list(self.checks.values()):
            session.sweep()

    def purge_expired(self) -> int:
        """Every :attr:`purge_every` seconds (the janitor calls it), delete the tokens and pairing codes expired
        :attr:`expired_keep` seconds ago: a device refreshing, or anyone asking for codes, adds rows for good."""
        if time.monotonic() - self._purged < self.purge_every:
            return 0
        self._purged, cutoff = time.monotonic(), time.time() - self.expired_keep
        with self.store.transaction() as db:
            codes = db.execute("DELETE FROM device_codes WHERE expires_at < ?", (cutoff,)).rowcount
            return int(codes + db.execute("DELETE FROM tokens WHERE expires_at < ?", (cutoff,)).rowcount)

    def forget_checks(self) -> None:
        """What check sessions of an earlier run left (it stopped without releasing them): their devices and
        files. A session lives in the memory of one run only, so on a start nothing of them is in use."""
        for device in self.store.devices():
            if device.client_id.startswith(CHECK_CLIENT_PREFIX):
                self.delete_device(device.id)
        shutil.rmtree(self.store.data_dir / CHECKS_DIR, ignore_errors=True)

    # -- assets ---------------------------------------------------------------------------------------
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
        realtime: bool = False,
        default_name: bool = False,
    ) -> tuple[Asset, list[str]]:
        """Create an asset and presign one upload URL per part (none for a real-time upload: its parts are
        registered as the file grows, :meth:`register_parts`)."""
        asset_id = str(uuid.uuid4())
        key = f"parts/{asset_id}/original"
        upload_id = self.external.create_upload(key, filetype) if self.external else secrets.token_urlsafe(42)
        day = time.strftime("%Y_%m_%d", time.gmtime(file_created_at))
        parent = uuid.uuid5(FOLDER_NAMESPACE, f"{device.id}/{day}/{category(filetype)}")
        asset = Asset(
            id=asset_id,
            device_id=device.id,
            project_id=device.project_id,
            parent_id=str(parent),
            name=name,
            filetype=filetype,
            filesize=filesize,
            offset=offset,
            channel=channel,
            parts=parts,
            upload_id=upload_id,
            s3_key=key,
            status="created",
            inserted_at=time.time(),
            file_created_at=file_created_at,
            upload_completed_at=None,
            sha256=None,
            error=None,
            realtime=realtime,
            default_name=default_name,
        )
        self.store.add_asset(asset)
        return asset, [self._presign(asset, n) for n in range(1, parts + 1)]

    def _presign(self, asset: Asset, number: int) -> str:
        """One part's upload URL: the store's own when the parts go to an external store, else the gateway's."""
        ttl = self.settings.url_ttl
        if self.external is not None:
            return self.external.presign_part(asset.s3_key, asset.upload_id, number, asset.filetype, ttl)
        return self.signer.presign(
            self.base_url, self.bucket, asset.s3_key, asset.upload_id, number, asset.filetype, ttl
        )

    def register_parts(
        self, asset: Asset, parts: list[Registered], *, filesize: int | None, name: str | None
    ) -> list[str]:
        """Register parts of a real-time upload; one presigned URL per entry of `parts`, in its order.

        Raises UploadClosed and RegistrationRefused (see :meth:`Store.register_parts`).
        """
        for file in registrations.register_parts(self.store, asset.id, parts, filesize=filesize, name=name):
            self.parts.forget(asset.id, file)
        return [self._presign(asset, p.number) for p in parts]

    def asset_path(self, asset_id: str) -> Path:
        """The assembled original of a complete asset; LookupError otherwise."""
        asset = self.store.asset(asset_id)
        path = self.parts.original(asset) if asset is not None else None
        if path is None:
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
        if isinstance(self.parts, StoreParts):
            self.parts.poke(asset_id)  # ask the store now
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
        """What the page and ``/sandbox/assets/<id>`` show of an asset: state, folder, parts received."""
        asset = self.store.asset(asset_id)
        if asset is None:
            return None
        device = self.store.device(asset.device_id)
        received = {p.part_number: p for p in self.store.parts(asset_id)}
        registered = (
            {r.number: r for r in registrations.registered_parts(self.store, asset_id)} if asset.realtime else {}
        )
        numbers = sorted(registered) if asset.realtime else range(1, asset.parts + 1)
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
            "realtime": asset.realtime,
            "parts": [
                {
                    "number": n,
                    "received": n in received,
                    "size": received[n].size if n in received else None,
                    **({"final": registered[n].is_final} if asset.realtime else {}),
                }
                for n in numbers
            ],
            "original": f"/sandbox/assets/{asset.id}/original" if asset.status == "complete" else None,
            # the part numbers the original was assembled from, in order (a real-time upload may skip some)
            "assembled_from": sorted(received) if asset.status == "complete" else None,
            "comments": [{k: c[k] for k in ("text", "timestamp")} for c in channels.comments(self.store, asset.id)],
        }

    # -- what the page shows --------------------------------------------------------------------------
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
        """Devices (with their pause state), the folder tree, pending pairings, the URL lifetime."""
        return {
            "devices": self.devices_state(),
            "tree": self.tree(),
            "pending_pairings": len(self.store.pending_codes()),
            "url_ttl": self.settings.url_ttl,
        }

    def devices_state(self) -> list[dict[str, Any]]:
        """Each device with its pause state, its channels and its newest real-time logging events."""
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
                    "channels": [
                        {k: c[k] for k in ("id", "external_index", "name", "status")}
                        for c in channels.channels(self.store, device)
                    ],
                    "log_events": channels.events(self.store, device.id),
                }
            )
        return devices
