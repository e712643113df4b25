"""Frame.io's integrator checklist, every item, in its own sections, and how the sandbox can (or cannot) judge it.

The items paraphrase Frame.io's "Integrator Checklist" (https://developer.frame.io/camera-to-cloud/integrator-checklist),
section by section: Basic, General, Security, Uploader, Upload options, Network, Testing. Each has a kind:

- graded from traffic: what the device sent during the scripted session shows it;
- graded from the device's report: only the device knows it (what its screen shows); the device appends JSON
  lines to ``C2C_CHECK_REPORT`` (the documented hook, ``docs/scorecard-example.md``), and the sandbox checks
  them against the traffic; the session's own look at the device's output and folder counts here too;
- manual: nothing the sandbox can see shows it (radio, hardware, a person's choice); the reason says why.

The judges of the items the guide's traffic already showed live in :mod:`~c2c_sandbox.scorecard.grader`; the
ones here need the session's newer script (a power cut, the S3 side gone for a while, a corrupt file, the
wired preset) or the device's report.
"""

from __future__ import annotations

from collections.abc import Callable

from c2c_sandbox.scorecard import judges as j
from c2c_sandbox.scorecard import traffic as t
from c2c_sandbox.scorecard.evidence import BY_HAND, DEVICE, TRAFFIC, Item, View

__all__ = ["CHECKLIST", "CHECKLIST_URL", "SECTIONS", "Judge"]

CHECKLIST_URL = "https://developer.frame.io/camera-to-cloud/integrator-checklist"
SECTIONS = ("Basic", "General", "Security", "Uploader", "Upload options", "Network", "Testing")
Judge = Callable[[View, Item], None]


# -- the checklist ------------------------------------------------------------------------------------------
# (section, id, words, kind, judge or the reason nothing can see it, what to change)
CHECKLIST: list[tuple[str, str, str, str, Judge | str, str]] = [
    (
        "Basic",
        "user_code",
        "Show the six-digit code, or a link / QR code from verification_uri_complete",
        DEVICE,
        j.code_shown,
        "Show the user_code (and verification_uri_complete as a link or QR code) until pairing ends.",
    ),
    (
        "Basic",
        "project_name",
        "Show the connected project's name",
        DEVICE,
        j.project_shown,
        "Call /v2/devices/me after pairing and show project.name.",
    ),
    (
        "Basic",
        "upload_status",
        "Upload status: files and bytes remaining, the current file's progress, completed / queued / failed",
        DEVICE,
        j.upload_status,
        "Show the queue's counts and the current file.",
    ),
    (
        "Basic",
        "network_status",
        "Show the network connection's status",
        DEVICE,
        j.network_status,
        "Show when uploads cannot reach the service, and when they can again.",
    ),
    (
        "Basic",
        "token_refresh",
        "Refresh the access token after 8 hours silently (no user action or alert)",
        TRAFFIC,
        t.token_refresh,
        "On 401 refresh once with the refresh token, keep the new pair, go on.",
    ),
    (
        "Basic",
        "auth_cancel",
        "The authorization flow can be cancelled at every step",
        BY_HAND,
        "a person cancels on the device's screen; the service sees only that polling stops, not why",
        "",
    ),
    (
        "Basic",
        "socket_status",
        "Show the socket status for real-time communication",
        BY_HAND,
        "the status websocket's protocol is not documented and the sandbox has none",
        "",
    ),
    (
        "Basic",
        "client_version",
        "Send the firmware version header (x-client-version) on every HTTPS call",
        TRAFFIC,
        t.client_version,
        "Send x-client-version: <semver> on every API call.",
    ),
    (
        "General",
        "timecode",
        "Timecode streams for video and audio",
        BY_HAND,
        "timecode is in the media and the camera's jam sync; no upload call carries it",
        "",
    ),
    (
        "General",
        "formats",
        "Upload many formats (proxies, camera originals, LUT, WAV, RAW, JPG, HEIF, TIFF)",
        TRAFFIC,
        j.formats,
        "Upload every file type the device records, each with its MIME type.",
    ),
    (
        "General",
        "project_id",
        "Handle a renamed project: use project_id, not the project's name",
        DEVICE,
        j.project_id,
        "Keep the project by /v2/devices/me's project_id; show the name, never key on it.",
    ),
    (
        "Security",
        "https_only",
        "HTTPS only: plain HTTP requests are refused",
        BY_HAND,
        "the sandbox itself serves plain HTTP on loopback; whether the device would refuse http:// elsewhere "
        "needs a look at its code",
        "",
    ),
    (
        "Security",
        "direct",
        "Connect to Frame.io directly, no intermediary service",
        TRAFFIC,
        j.direct,
        "Send requests straight to the API and S3, through no proxy or relay of yours.",
    ),
    (
        "Security",
        "secrets",
        "Keep client_secret, client_id and the tokens out of the user's reach",
        DEVICE,
        j.secrets_kept,
        "Never print or store credentials where the user can read them; keep them in private files.",
    ),
    (
        "Security",
        "encrypted",
        "Encrypted storage for keys and tokens (optional, recommended)",
        BY_HAND,
        "the device's disk is not visible to the sandbox",
        "",
    ),
    (
        "Uploader",
        "realtime_or_complete",
        "Upload in real time while recording (preferred) or automatically when a file completes",
        TRAFFIC,
        j.whole_files,
        "Upload a file once it is complete, or as it grows (real-time).",
    ),
    (
        "Uploader",
        "queue_shown",
        "Show the upload status: the queue and each upload's result",
        DEVICE,
        j.queue_shown,
        "Show each file's result: completed, refused (paused), failed (and why).",
    ),
    (
        "Uploader",
        "local_storage",
        "Write the files to local storage the user can reach",
        DEVICE,
        j.storage_kept,
        "Leave recorded files where the user can reach them; never delete or alter them after upload.",
    ),
    (
        "Uploader",
        "queue_survives",
        "A queue that survives concurrent uploads, network loss and power cycles",
        TRAFFIC,
        j.queue_survives,
        "Keep the queue on disk; after a restart or an outage, go on where it stood.",
    ),
    (
        "Uploader",
        "auto_retry",
        "Retry automatically: network errors, power loss, timeouts and expired tokens",
        TRAFFIC,
        j.auto_retry,
        "Retry transient failures with growing backoff and a cap; refresh expired tokens.",
    ),
    (
        "Uploader",
        "resume",
        "Resume an upload from the last successful chunk",
        TRAFFIC,
        j.resume_after_restart,
        "Persist each acknowledged part (a manifest); after a restart send only the others, on the same asset.",
    ),
    (
        "Uploader",
        "paused",
        "Honour the PAUSED state",
        TRAFFIC,
        t.pause_honoured,
        "Send offset = seconds since the file was made; a 409 Channel Paused is final for that file.",
    ),
    (
        "Uploader",
        "aws_nonfatal",
        "Treat AWS's non-fatal errors as non-fatal",
        TRAFFIC,
        j.aws_nonfatal,
        "Retry 5xx, SlowDown and RequestTimeout with backoff; never repeat a URL S3 refused with 403.",
    ),
    (
        "Uploader",
        "corrupt",
        "Corrupt media never blocks the other uploads",
        TRAFFIC,
        t.next_file,
        "Report a file that cannot be read and go on with the rest of the queue.",
    ),
    (
        "Upload options",
        "auto_manual",
        "Automatic or manual uploads",
        TRAFFIC,
        j.auto_upload,
        "Upload new files without a person starting them (a manual mode is the device's own menu).",
    ),
    (
        "Upload options",
        "selection",
        "Single or batch file selection",
        BY_HAND,
        "choosing files is the device's menu; the service sees only what is uploaded",
        "",
    ),
    (
        "Upload options",
        "priority",
        "Priority by file type or in the queue (optional)",
        BY_HAND,
        "the order a person chose is not visible in the traffic",
        "",
    ),
    ("Upload options", "parallel", "Parallel uploads (optional)", TRAFFIC, j.parallel, ""),
    (
        "Upload options",
        "cancel",
        "Cancel one upload or all of them",
        BY_HAND,
        "a person cancels on the device; an upload stopping looks the same as one that failed",
        "",
    ),
    (
        "Network",
        "throughput",
        "At least 50 Mbps upload where the network allows",
        TRAFFIC,
        j.throughput,
        "Send parts in parallel (a few at once) and stream them from disk; look for what stalls between parts.",
    ),
    ("Network", "wpa2", "WPA2 Wi-Fi security (Ethernet recommended)", BY_HAND, "radio: not visible over HTTP", ""),
    ("Network", "dhcp_static", "DHCP and static IP addresses", BY_HAND, "addressing happens below HTTP", ""),
    (
        "Network",
        "network_detail",
        "Show the network's connection type, speed and health",
        DEVICE,
        j.network_detail,
        "Show the interface in use, the measured upload speed and whether it works.",
    ),
    (
        "Network",
        "switch",
        "Switch networks without pairing the project again",
        TRAFFIC,
        j.switch_networks,
        "Keep the tokens when the network changes; pair again only when the service refuses them.",
    ),
    ("Network", "known_wifi", "Remember known Wi-Fi networks", BY_HAND, "the device's own settings", ""),
    (
        "Testing",
        "wired_wan",
        "Test with commercial routers with a wired WAN",
        TRAFFIC,
        j.wired,
        "Run the session on the wired preset; test real routers too.",
    ),
    (
        "Testing",
        "bonded",
        "Test with bonded cellular modems",
        BY_HAND,
        "real modems; the sandbox's bonded-cellular preset is only a model of one",
        "",
    ),
    ("Testing", "cellular", "Test on commercial cellular networks", BY_HAND, "real networks, on location", ""),
]
