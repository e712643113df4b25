"""A check session's files, in name order, and what each one plays (sizes from the seed, each file a different size,
which is how a create is matched to its file):

==================  ============================================================================================
``slowdown``        3 parts; the first attempt at part 2 gets 503 SlowDown
``paused``          created (its mtime) inside a pause window an hour before the session: 409 expected, no upload
``rate_limited``    its first create gets 429 (``x-ratelimit-remaining: 0``, ``x-ratelimit-window: 1000``)
``create_dropped``  its first create succeeds, but the answer is dropped: the device must not POST it again
``dropped_part``    2 parts; the connection drops halfway through the first attempt at part 2
``expired_urls``    its upload URLs have expired when the answer arrives (URL lifetime 1 s, answer held 1.1 s)
``token_expires``   the access token expires as its first create arrives: 401, a refresh expected
``corrupt``         a card entry whose media cannot be read (a link to nothing): reported and skipped
``restart``         3 parts; a power cut: :data:`POWER_CUT_AFTER` s after part 1 is acknowledged (the parts after it
                    held in flight) the device's command is killed with SIGKILL and started again; resume is graded
                    from what the second run sends
``outage``          2 parts; at its first part the S3 side goes away for :data:`OUTAGE_MINUTES` (compressed) minutes:
                    every part PUT's connection is cut, then it returns
``audio``           a ``.wav`` (audio/wav); ``still``: a ``.jpg`` (image/jpeg); ``last``: a plain ``.mov`` at the end
==================  ============================================================================================

The whole session runs on the sandbox's :data:`NETWORK` preset (a wired WAN), where the throughput item asks for
50 Mbps.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from c2c_sandbox.scorecard.recorder import read_fields, set_body

__all__ = ["FAULTS", "NETWORK", "OUTAGE_MINUTES", "POWER_CUT_AFTER", "ROLES", "STALL_MAX", "ScenarioFile", "plan"]
__all__ += ["RATE_LIMITED", "ask_parts", "write_file"]

MIB = 1024 * 1024
OUTAGE_MINUTES = 4.0  # how long the S3 side is gone (compressed minutes)
POWER_CUT_AFTER = 1.0  # seconds after part 1 of the restart file is acknowledged: the device is killed then
STALL_MAX = 20.0  # seconds the parts after it wait for the power cut (a device run without a driver never gets one)
MIB = 1024 * 1024
#: role, parts, what the script does to it
ROLES = (
    ("slowdown", 3, "503 SlowDown on the first attempt at part 2"),
    ("paused", 1, "created inside a pause window: must be refused (409) and never uploaded"),
    ("rate_limited", 1, "its first create is answered 429 (x-ratelimit-remaining 0, window 1000 ms)"),
    ("create_dropped", 1, "its create succeeds but the answer is dropped: the POST must not be repeated"),
    ("dropped_part", 2, "the connection drops halfway through the first attempt at part 2"),
    ("expired_urls", 1, "its upload URLs have expired when they arrive (403 Request has expired)"),
    ("token_expires", 1, "the access token expires as its create arrives (401): refresh expected"),
    ("corrupt", 0, "unreadable media (its card entry points nowhere): reported and skipped, the queue goes on"),
    ("restart", 3, "a power cut: once part 1 is acknowledged the device is killed (SIGKILL) and started again"),
    ("outage", 2, f"the S3 side goes away for {OUTAGE_MINUTES:g} (compressed) minutes at its first part"),
    ("audio", 1, "a WAV file (audio/wav)"),
    ("still", 1, "a JPEG still (image/jpeg)"),
    ("last", 1, "a plain .mov after all the others"),
)
FAULTS = {
    "slowdown": (("slow_down", 2, 1),),
    "dropped_part": (("drop", 2, 1),),
}
TYPES = {"last": (".mov", "video/quicktime"), "audio": (".wav", "audio/wav"), "still": (".jpg", "image/jpeg")}
NETWORK = "wired-studio"  # the preset played during a session: a wired WAN (the throughput item needs one)


@dataclass(frozen=True)
class ScenarioFile:
    name: str
    role: str
    size: int
    parts: int
    filetype: str
    plays: str
    sha256: str = ""
    created_at: float = 0.0


def plan(seed: int) -> list[ScenarioFile]:
    """The session's files for `seed` (pure: the same seed gives the same names and sizes)."""
    rng, files, sizes = random.Random(seed), [], set()
    for n, (role, parts, plays) in enumerate(ROLES, start=1):
        while parts:
            size = rng.randint(MIB, 3 * MIB) if parts == 1 else rng.randint(parts * 5 * MIB + parts, parts * 6 * MIB)
            if size not in sizes and (parts == 1 or size % parts):
                break
        else:
            size = 0  # the corrupt file: nothing can be read
        sizes.add(size)
        ext, filetype = TYPES.get(role, (".mp4", "video/mp4"))
        files.append(ScenarioFile(f"{n:02d}_{role}{ext}", role, size, parts, filetype, plays))
    return files


def write_file(directory: Path, seed: int, f: ScenarioFile, created_at: float) -> ScenarioFile:
    path = directory / f.name
    if f.role == "corrupt":  # listed on the card, but reading it fails (as an I/O error would)
        path.unlink(missing_ok=True)
        path.symlink_to(directory / ".missing-media")
        return ScenarioFile(**{**asdict(f), "created_at": created_at})
    data = random.Random(f"{seed}:{f.name}").randbytes(f.size)
    path.write_bytes(data)
    os.utime(path, (created_at, created_at))
    return ScenarioFile(**{**asdict(f), "sha256": hashlib.sha256(data).hexdigest(), "created_at": created_at})


_LIMITED = {"code": 429, "detail": "Rate limit exceeded: at most 5 requests per 1000 ms. Back off and retry."}
_LIMITED_BODY = {"code": 429, "errors": [{**_LIMITED, "status": 429, "title": "Too Many Requests"}]}
RATE_LIMITED = (  # the API's own 429 (Frame.io's detailed shape, the x-ratelimit-* headers)
    429,
    [("Content-Type", "application/json")]
    + [(f"x-ratelimit-{k}", v) for k, v in (("limit", "5"), ("remaining", "0"), ("window", "1000"))],
    json.dumps({**_LIMITED_BODY, "message": "Too Many Requests"}).encode(),
)


def ask_parts(environ: dict[str, Any], f: ScenarioFile) -> None:
    """The service decides the URL count: for a scenario file, the file's (unless the device asked)."""
    fields = read_fields(environ)
    if fields.get("parts") not in (None, ""):
        return
    fields["parts"] = f.parts
    is_json = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower() == "application/json"
    if is_json:
        set_body(environ, json.dumps(fields).encode())
    else:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        set_body(environ, urlencode({k: v for k, v in fields.items() if v is not None}).encode())
