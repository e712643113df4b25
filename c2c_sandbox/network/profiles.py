"""Network conditions on the S3 side: per-connection bandwidth, a shared uplink, latency, stalls and drops.

On loopback every part PUT runs at memory speed. A real camera's parts are limited twice: **per connection**
(one TCP flow over a long round trip, with loss, or a per-flow shaper in the path, gets only part of the link)
and by **the uplink** every connection shares (a cellular modem, the location's internet line). That is why
the service hands out several part URLs, and why ten cameras on one uplink share it. The sandbox reproduces
both with token buckets on the reads of each part body (never OS traffic control): one bucket per connection,
one shared by every connection (the uplink), optionally one per device; the API side stays fast.

A :class:`NetworkProfile` says what to shape; :data:`PRESETS` names a few, with their numbers and why;
:func:`parse_network` reads ``NAME``, ``k=v,...`` or ``NAME,k=v,...`` (as ``c2c sandbox --network`` takes it);
:func:`predict_seconds` is the model a measured upload must match (``tests/sandbox/test_network.py``, ``python -m
benchmarks``). :mod:`c2c_sandbox.network.shaping` applies a profile to a running sandbox; change it live with
``Sandbox.set_network(...)`` or ``POST /sandbox/network``.

>>> p = PRESETS["set-wifi"]
>>> p.summary()
'set-wifi: 30 Mbps per connection, 100 Mbps uplink, 40 ms to first byte, 20 ms to answer, stalls 0.5% × 0.3 s'
>>> round(throughput(p, 2) * 8 / 1e6), round(throughput(p, 8) * 8 / 1e6)   # Mbps: two flows, then the cap
(60, 100)
>>> parse_network("set-wifi,uplink=50Mbps,scale=10").summary()
'set-wifi ×10: 300 Mbps per connection, 500 Mbps uplink, 4 ms to first byte, 2 ms to answer, stalls 0.5% × 0.03 s'
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PRESETS",
    "NetworkProfile",
    "parse_network",
    "predict_seconds",
    "resolve_network",
    "throughput",
]

MBPS = 1e6 / 8  # bytes per second in one megabit per second
RATE_FIELDS = ("per_connection", "uplink", "device_uplink")
TIME_FIELDS = ("ttfb", "response", "stall_seconds")
#: The slowest rate a profile may set, in bytes per second (128 kbit/s). The shaper reads a part body 16 KiB at a
#: time; at this rate each read waits a second, and slower ones would leave a connection silent for longer than a
#: client waits for its socket, so that every part PUT would fail.
MIN_RATE = 16 * 1024
MAX_SEED = 2**63 - 1
MAX_NAME, MAX_DESCRIPTION = 80, 500  # characters: a profile's name and description are shown on the page


@dataclass(frozen=True)
class NetworkProfile:
    """What the S3 side does to part uploads. Rates in bytes per second (None: unlimited), times in seconds.

    ``per_connection``: each part PUT's own limit; ``uplink``: shared by every part PUT in flight;
    ``device_uplink``: shared by one device's part PUTs; ``ttfb``: before a part's body starts to flow (the
    request's round trip); ``response``: between a part's last byte and its 200; ``stall_rate`` of the parts
    pause once mid-body for ``stall_seconds``; ``drop_rate`` of the parts lose their connection mid-body (the
    client must send them again); both drawn from a generator seeded with ``seed``.
    """

    name: str = "custom"
    description: str = ""
    per_connection: float | None = None
    uplink: float | None = None
    device_uplink: float | None = None
    ttfb: float = 0.0
    response: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME or len(self.description) > MAX_DESCRIPTION:
            raise ValueError(f"a network's name has at most {MAX_NAME} characters, its description {MAX_DESCRIPTION}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}")
        for name in RATE_FIELDS:
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= MIN_RATE):
                raise ValueError(
                    f"{name} must be at least {MIN_RATE:,} bytes per second ({MIN_RATE * 8 / 1000:g} kbit/s), or"
                    f" none, got {value:g}: slower, every part PUT would time out"
                )
        for name in TIME_FIELDS:
            if not (math.isfinite(getattr(self, name)) and 0 <= getattr(self, name) <= 3600):
                raise ValueError(f"{name} must be between 0 and 3600 seconds")
        for name in ("stall_rate", "drop_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")

    @property
    def shaped(self) -> bool:
        """Whether anything is slowed down, delayed, stalled or dropped."""
        limits = (self.per_connection, self.uplink, self.device_uplink)
        return any(v is not None for v in limits) or any((self.ttfb, self.response, self.stall_rate, self.drop_rate))

    def faster(self, factor: float) -> NetworkProfile:
        """The same network with time compressed ``factor`` times: rates × factor, delays ÷ factor.

        Every prediction of :func:`predict_seconds` is then exactly ``factor`` times shorter, so a test or a
        lesson can run a slow network's upload in a few seconds and keep its shape.
        """
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"scale must be a positive number, got {factor}")
        if factor == 1:
            return self
        rates = {k: None if getattr(self, k) is None else getattr(self, k) * factor for k in RATE_FIELDS}
        times = {k: getattr(self, k) / factor for k in TIME_FIELDS}
        return dataclasses.replace(self, name=f"{self.name} ×{factor:g}", **rates, **times)  # type: ignore[arg-type]

    def summary(self) -> str:
        """One line: the name and the numbers that are set."""
        bits = [f"{_mbps(self.per_connection)} per connection"] if self.per_connection else []
        bits += [f"{_mbps(self.uplink)} uplink"] if self.uplink else []
        bits += [f"{_mbps(self.device_uplink)} per device"] if self.device_uplink else []
        bits += [f"{_ms(self.ttfb)} to first byte"] if self.ttfb else []
        bits += [f"{_ms(self.response)} to answer"] if self.response else []
        bits += [f"stalls {self.stall_rate:.1%} × {self.stall_seconds:g} s"] if self.stall_rate else []
        bits += [f"drops {self.drop_rate:.1%}"] if self.drop_rate else []
        return f"{self.name}: {', '.join(bits) or 'unshaped (loopback speed)'}"

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "summary": self.summary()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NetworkProfile:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def _mbps(rate: float | None) -> str:
    return f"{rate / MBPS:.3g} Mbps" if rate else "unlimited"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


def _preset(name: str, description: str, conn: float | None, uplink: float | None, rtt: float, **kw: Any) -> Any:
    """A preset from Mbps and a round-trip time: first byte after one round trip, the answer half a one later."""
    return NetworkProfile(
        name,
        description,
        per_connection=conn * MBPS if conn else None,
        uplink=uplink * MBPS if uplink else None,
        ttfb=rtt,
        response=rtt / 2,
        **kw,
    )


#: Named conditions. The numbers are assumptions chosen to be typical of each setting, not measurements of a
#: network; measure your own and pass them as a custom profile (``k=v,...``).
PRESETS: dict[str, NetworkProfile] = {
    "loopback": NetworkProfile("loopback", "unshaped: this machine's own speed (the sandbox's default)"),
    "congested-cellular": _preset(
        "congested-cellular",
        "one 4G/5G modem in a crowded cell (a stadium, a festival): the cell grants the uplink a few Mbps, and"
        " one TCP flow over a lossy 120 ms round trip gets half of it; a handover now and then stalls a part",
        2.5,
        5,
        0.12,
        stall_rate=0.02,
        stall_seconds=1.5,
    ),
    "bonded-cellular": _preset(
        "bonded-cellular",
        "a bonding modem spreading traffic over four cellular links (about 10 Mbps up each): 40 Mbps between"
        " them, but one TCP flow through the tunnel (80 ms round trip, reordering) fills about one link's worth",
        10,
        40,
        0.08,
        stall_rate=0.01,
        stall_seconds=0.5,
    ),
    "set-wifi": _preset(
        "set-wifi",
        "cameras on the production's 5 GHz Wi-Fi behind the location's 100 Mbps line: airtime shared with"
        " other devices and a 40 ms round trip to the S3 region hold one flow to about 30 Mbps",
        30,
        100,
        0.04,
        stall_rate=0.005,
        stall_seconds=0.3,
    ),
    "wired-studio": _preset(
        "wired-studio",
        "gigabit Ethernet to a 500 Mbps business fibre line: one TCP flow over a 30 ms round trip reaches about"
        " 200 Mbps (window ÷ round trip), so a few flows fill the line",
        200,
        500,
        0.03,
    ),
}

_UNITS = {
    "bps": 1 / 8,
    "kbps": 1e3 / 8,
    "mbps": 1e6 / 8,
    "gbps": 1e9 / 8,
    "b/s": 1,
    "kb/s": 1e3,
    "mb/s": 1e6,
    "gb/s": 1e9,
    "kib/s": 1024,
    "mib/s": 1024**2,
}
_TIME_UNITS = {"s": 1.0, "ms": 1e-3}


def _number(text: str, units: Mapping[str, float], what: str) -> float:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-zA-Z/]*)\s*", text)
    if not match:
        raise ValueError(f"{what}: not a number: {text!r}")
    unit = match.group(2).lower()
    if unit and unit not in units:
        raise ValueError(f"{what}: unknown unit {match.group(2)!r}; use one of {', '.join(units)}")
    return float(match.group(1)) * (units[unit] if unit else 1.0)


def parse_network(text: str) -> NetworkProfile:
    """``NAME`` (a preset), ``k=v,...`` (a custom profile) or ``NAME,k=v,...`` (a preset, changed).

    Rates take a unit (``40Mbps``, ``5MB/s``; bytes per second without one), times ``ms`` or ``s`` (seconds
    without one); ``scale=K`` compresses time K-fold (:meth:`NetworkProfile.faster`); ``none`` means unlimited.

    >>> parse_network("per_connection=8Mbps,ttfb=50ms").summary()
    'custom: 8 Mbps per connection, 50 ms to first byte'
    """
    pieces = [p.strip() for p in text.split(",") if p.strip()]
    if not pieces:
        raise ValueError("an empty network: name a preset or give k=v pairs")
    base = NetworkProfile()
    if "=" not in pieces[0]:
        name = pieces.pop(0)
        if name not in PRESETS:
            raise ValueError(f"unknown network preset {name!r}; presets: {', '.join(PRESETS)}")
        base = PRESETS[name]
    changes: dict[str, Any] = {}
    for piece in pieces:
        key, sep, value = (s.strip() for s in piece.partition("="))
        if not sep:
            raise ValueError(f"expected k=v, got {piece!r}")
        changes[key] = value
    return _changed(base, changes)


def _changed(base: NetworkProfile, changes: Mapping[str, Any]) -> NetworkProfile:
    """``base`` with ``changes`` (strings with units, or numbers) applied, then ``scale``."""
    fields = {f.name for f in dataclasses.fields(NetworkProfile)}
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in fields | {"scale"}:
            raise ValueError(f"unknown network field {key!r}; fields: scale, {', '.join(sorted(fields))}")
        values[key] = _field_value(key, value)
    scale = values.pop("scale", 1.0)
    return dataclasses.replace(base, **values).faster(scale)


def _field_value(key: str, value: Any) -> Any:
    try:
        return _converted(key, value)
    except OverflowError:  # a number too large for a float (10**400), or an infinite seed
        raise ValueError(f"{key}: not a usable number: {str(value)[:40]!r}") from None


def _converted(key: str, value: Any) -> Any:
    if key in ("name", "description"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
        raise ValueError(f"{key}: not a number: {value!r}")
    if key in RATE_FIELDS and (value is None or str(value).lower() in ("none", "unlimited")):
        return None
    if value is None:
        raise ValueError(f"{key}: not a number: None")
    if not isinstance(value, str):
        return _seed(value) if key == "seed" else float(value)
    if key in RATE_FIELDS:
        return _number(value, _UNITS, key)
    if key in TIME_FIELDS:
        return _number(value, _TIME_UNITS, key)
    if key in ("stall_rate", "drop_rate"):
        return _number(value.removesuffix("%"), {}, key) / (100 if value.endswith("%") else 1)
    if key == "scale":
        return _number(value.removeprefix("×").removesuffix("x"), {}, key)
    return _seed(_number(value, {}, key))


def _seed(value: float) -> int:
    if not float(value).is_integer():
        raise ValueError(f"seed must be a whole number, got {value!r}")
    return int(value)


def resolve_network(spec: str | NetworkProfile | Mapping[str, Any] | None) -> NetworkProfile:
    """A profile from what ``Sandbox(network=...)`` and the controls accept: a preset's name or a ``k=v,...``
    string (:func:`parse_network`), a profile, a mapping of fields (``preset`` as the base, ``scale``), or None
    (``loopback``)."""
    if spec is None:
        return PRESETS["loopback"]
    if isinstance(spec, NetworkProfile):
        return spec
    if isinstance(spec, str):
        return parse_network(spec)
    if isinstance(spec, Mapping):
        data = {k: v for k, v in spec.items() if k != "summary"}
        base = parse_network(str(data.pop("preset"))) if "preset" in data else NetworkProfile()
        return _changed(base, data)
    raise TypeError(f"a network is a preset name, a NetworkProfile or a mapping, not {type(spec).__name__}")


# -- the model ----------------------------------------------------------------------------------------------
def throughput(profile: NetworkProfile, connections: int) -> float:
    """Bytes per second ``connections`` parallel part PUTs of one device reach together, once under way:
    ``min(connections × per_connection, uplink, device_uplink)``."""
    limits = [profile.per_connection * connections] if profile.per_connection else []
    limits += [v for v in (profile.uplink, profile.device_uplink) if v]
    return min(limits) if limits else math.inf


def predict_seconds(profile: NetworkProfile, part_sizes: Sequence[int], workers: int) -> float:
    """How long ``workers`` workers take to send parts of ``part_sizes`` bytes, under ``profile``.

    A fluid model of what the pool does: each worker takes the next part; a part costs ``ttfb``, its expected
    stall (``stall_rate × stall_seconds``), its bytes at its share of the bandwidth, then ``response``. The
    parts in transfer share the link equally: each gets ``min(per_connection, uplink ÷ n, device_uplink ÷ n)``.
    Steady state is :func:`throughput`; this adds the round trips and the tail, when fewer parts are left than
    workers. Drops are not modelled (a dropped part is sent again, after the client's backoff).

    >>> p = NetworkProfile(per_connection=1e6, uplink=3e6, ttfb=0.1, response=0.05)
    >>> round(predict_seconds(p, [2_000_000] * 4, 1), 3)     # 4 × (0.1 + 2 + 0.05)
    8.6
    >>> round(predict_seconds(p, [2_000_000] * 4, 4), 3)     # 0.1 + 8 MB at the 3 MB/s uplink + 0.05
    2.817
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    fixed_before = profile.ttfb + profile.stall_rate * profile.stall_seconds
    queue = [float(size) for size in part_sizes]
    active: list[list[float]] = []  # [phase, what is left of it, part size]; phases: 0 first byte, 1 send, 2 answer
    now = 0.0
    while queue or active:
        while queue and len(active) < workers:
            size = queue.pop(0)
            active.append([0.0, fixed_before, size] if fixed_before else [1.0, size, size])
        rate = _share(profile, sum(1 for a in active if a[0] == 1))
        step = min(a[1] / rate if a[0] == 1 else a[1] for a in active)
        now += step
        for a in active:
            a[1] = (0.0 if rate == math.inf else a[1] - step * rate) if a[0] == 1 else a[1] - step
        for a in [a for a in active if a[1] <= 1e-9]:
            if a[0] == 0:
                a[:2] = [1.0, a[2]]
            elif a[0] == 1 and profile.response:
                a[:2] = [2.0, profile.response]
            else:
                active.remove(a)
    return now


def _share(profile: NetworkProfile, sending: int) -> float:
    """Each sending part's bytes per second (infinite when nothing is sending, or nothing limits them)."""
    return throughput(profile, sending) / sending if sending else math.inf
