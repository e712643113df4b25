"""The grade: Frame.io's uploader checklist, item by item, judged from a recorded session (a transcript).

:func:`grade` reads a transcript (what :meth:`~c2c_sandbox.scorecard.scenario.Session.transcript` returns: the
scenario, the device's recorded requests, the assets' final state) and gives, for every checklist item the
traffic can show, a verdict: ``pass``, ``fail`` or ``not exercised`` (the device never met the condition), the
requests that show it (their indices in the device's log) and, on a fail, what to change. It only reads: a
transcript recorded elsewhere (another machine, another client, a fixture) grades the same way. It never
raises on traffic it did not expect: an item it cannot judge says so (``not exercised``, and why), and the
other items are graded all the same.

Times in the transcript are POSIX seconds; an entry's end is ``t + ms / 1000``. The heartbeat is judged on the
scenario's compressed clock (``clock.seconds_per_minute``: 1.0 means "1 minute = 1 second").
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable

from c2c_sandbox.scorecard.evidence import (
    FAIL,
    NOT_EXERCISED,
    PASS,
    Entry,
    Item,
    Scorecard,
    Transcript,
    View,
    end,
    ids,
    part_sizes,
    shown,
)

__all__ = ["FAIL", "ITEMS", "MIN_MEAN_BACKOFF", "NOT_EXERCISED", "PASS", "Item", "Scorecard", "grade"]

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
MIN_MEAN_BACKOFF = 0.1  # seconds: the mean wait before retrying a part after a transient S3 error
STORM_MAX, STORM_GAP = 3, 1.0  # creates of one paused file, and the least seconds between two of them
TRANSIENT_STATUSES = (500, 502, 503, 504)


# -- the items ------------------------------------------------------------------------------------------
def client_version(v: View, item: Item) -> None:
    if not v.api:
        return
    bad = [e for e in v.api if not SEMVER.match(e["headers"].get("x-client-version", ""))]
    if bad:
        seen = sorted({e["headers"].get("x-client-version", "(none)") for e in bad})
        item.verdict, item.evidence = FAIL, ids(bad)
        sent = ", ".join(shown(version) for version in seen[:5])
        item.detail = f"{len(bad)} of {len(v.api)} API calls had no semantic x-client-version (sent: {sent})"
        return
    item.verdict, item.evidence = PASS, ids(v.api[:3])
    item.detail = "every API call sent a semantic x-client-version"


def chunk_arithmetic(v: View, item: Item) -> None:
    if not v.puts:
        return
    wrong, missing, bytes_wrong, judged = [], [], [], []
    for asset_id in dict.fromkeys(e["asset"] for e in v.puts):
        asset = v.assets.get(asset_id)
        if asset is None or asset.get("realtime") or not asset.get("parts"):
            continue  # a real-time upload's parts are the device's to size (and it may have no final part yet)
        sizes, puts = part_sizes(asset["filesize"], asset["parts"]), v.puts_of(asset_id)
        judged += puts
        wrong += [e for e in puts if sizes.get(e.get("part") or 0) != e.get("size")]
        stopped = any(e["status"] in (403, 404) for e in puts)  # the device rightly gave up on this asset
        absent = sorted(set(sizes) - {e.get("part") for e in puts})
        if absent and not stopped:
            missing.append(f"{v.name_of(asset_id)}: part(s) {', '.join(map(str, absent))} never sent")
        wanted = v.files.get(asset["filesize"], {}).get("sha256")
        if asset.get("status") == "complete" and wanted and asset.get("sha256") != wanted:
            bytes_wrong.append(f"{v.name_of(asset_id)}: the assembled bytes differ from the file")
    if wrong or missing or bytes_wrong:
        item.verdict, item.evidence = FAIL, ids(wrong)
        sized = [f"{v.name_of(e['asset'])} part {e.get('part')} sent {e.get('size')} bytes" for e in wrong[:4]]
        item.detail = "; ".join([*sized, *missing, *bytes_wrong])
        return
    if not judged:
        item.detail = "only real-time uploads: their parts are sized by the device, not by the guide's arithmetic"
        return
    item.verdict, item.evidence = PASS, ids(judged[:4])
    item.detail = f"all {len(judged)} part PUTs had the guide's size; every part of every asset was sent"


def part_headers(v: View, item: Item) -> None:
    if not v.puts:
        return
    bad = []
    for e in v.puts:
        filetype = v.assets.get(e["asset"], {}).get("filetype")
        if e["headers"].get("content-type") != filetype or e["headers"].get("x-amz-acl") != "private":
            bad.append(e)
    if bad:
        e = bad[0]
        item.verdict, item.evidence = FAIL, ids(bad)
        item.detail = (
            f"{len(bad)} of {len(v.puts)} part PUTs: e.g. Content-Type {shown(e['headers'].get('content-type'))}, "
            f"x-amz-acl {shown(e['headers'].get('x-amz-acl'))}"
        )
        return
    item.verdict, item.evidence = PASS, ids(v.puts[:3])
    item.detail = f"all {len(v.puts)} part PUTs sent Content-Type = the asset's filetype and x-amz-acl: private"


def _transient(e: Entry) -> bool:
    return e["status"] is None or e["status"] in TRANSIENT_STATUSES or e.get("error") == "RequestTimeout"


def s3_retry(v: View, item: Item) -> None:
    failed = [e for e in v.puts if _transient(e)]
    if not failed:
        return
    dropped, gaps, retries = [], [], []
    for e in failed:
        later = [r for r in v.puts_of(e["asset"], e.get("part")) if r["t"] >= end(e) and r is not e]
        if not later:
            dropped.append(e)
        else:
            retries.append(later[0])
            gaps.append(later[0]["t"] - end(e))
    if dropped:
        item.verdict, item.evidence = FAIL, ids(dropped)
        what = ", ".join(
            f"{v.name_of(e['asset'])} part {e.get('part')} ({e.get('error') or e['status']})" for e in dropped[:4]
        )
        item.detail = f"{len(dropped)} transient failure(s) never retried: {what}; those assets stay incomplete"
        return
    mean = sum(gaps) / len(gaps)
    item.evidence = ids(failed + retries)
    if mean < MIN_MEAN_BACKOFF:
        item.verdict = FAIL
        item.detail = f"every transient failure was retried, but after {mean * 1000:.0f} ms on average: no backoff"
        return
    item.verdict = PASS
    item.detail = f"all {len(failed)} transient failures were retried, with backoff"


def no_retry_403(v: View, item: Item) -> None:
    refused = [e for e in v.puts if e["status"] == 403]
    if not refused:
        return
    repeated = [r for e in refused for r in v.puts_of(e["asset"], e.get("part")) if r["t"] > e["t"]]
    item.evidence = ids(refused + repeated)
    if repeated:
        item.verdict = FAIL
        item.detail = f"{len(repeated)} PUT(s) repeated a URL S3 had refused with 403"
        return
    item.verdict = PASS
    item.detail = f"{len(refused)} PUT(s) refused with 403 ({refused[0].get('error')}); none was repeated"


def create_not_repeated(v: View, item: Item) -> None:
    ambiguous = [e for e in v.creates if e["status"] is None or (e["status"] or 0) >= 500]
    if not ambiguous:
        return
    repeats = [r for e in ambiguous for r in v.creates if r["t"] > e["t"] and v.file_of(r) is v.file_of(e)]
    item.evidence = ids(ambiguous + repeats)
    if repeats:
        item.verdict = FAIL
        item.detail = (
            f"after {len(ambiguous)} create(s) with no answer, the same file was created {len(repeats)} more time(s)"
        )
        return
    item.verdict = PASS
    item.detail = f"{len(ambiguous)} create(s) got no answer; the device did not POST the same file again"


def rate_limit_backoff(v: View, item: Item) -> None:
    limited = [e for e in v.creates if e["status"] == 429]
    if not limited:
        return
    problems, after = [], []
    for e in limited:
        nxt = [r for r in v.creates if r["t"] > e["t"] and v.file_of(r) is v.file_of(e)]
        window = (e.get("ratelimit") or {}).get("window") or 1000
        if not nxt:
            problems.append("the file was never created after its 429")
            continue
        after.append(nxt[0])
        waited = nxt[0]["t"] - end(e)
        if waited < 0.95 * window / 1000:
            problems.append(f"retried after {waited * 1000:.0f} ms; x-ratelimit-window said {window} ms")
    item.evidence = ids(limited + after)
    item.verdict = FAIL if problems else PASS
    item.detail = (
        "; ".join(dict.fromkeys(problems))
        or f"{len(limited)} 429(s): each create waited out x-ratelimit-window, then went through"
    )


def pause_honoured(v: View, item: Item) -> None:
    creates = v.creates_of("paused")
    if not creates:
        return
    accepted = [e for e in creates if e["status"] == 200]
    uploads = [p for e in accepted for p in v.puts_of(e.get("asset") or "")]
    item.evidence = ids(creates + uploads)
    if accepted:
        offsets = sorted({(e.get("create") or {}).get("offset") for e in accepted}, key=str)
        item.verdict = FAIL
        item.detail = (
            f"the file created inside the pause window was accepted (offset sent: {offsets}) and "
            f"{len(uploads)} part(s) uploaded: the offset does not say when the file was created"
        )
        return
    item.verdict = PASS
    item.detail = "the file created inside the pause window was refused with 409 and never uploaded"


def no_409_storm(v: View, item: Item) -> None:
    refused = [e for e in v.creates if e["status"] == 409]
    if not refused:
        return
    item.evidence = ids(refused)
    by_file: dict[int, list[Entry]] = {}
    for e in refused:
        by_file.setdefault(id(v.file_of(e)), []).append(e)
    for entries in by_file.values():
        close = [b for a, b in itertools.pairwise(entries) if b["t"] - end(a) < STORM_GAP]
        if len(entries) > STORM_MAX or close:
            item.verdict = FAIL
            item.detail = f"one paused file was created {len(entries)} times" + (
                f", {len(close)} time(s) less than {STORM_GAP:g} s after the last 409" if close else ""
            )
            return
    item.verdict = PASS
    item.detail = f"{len(refused)} create(s) refused with 409; no storm"


def token_refresh(v: View, item: Item) -> None:
    refused = [e for e in v.api if e["status"] == 401]
    refreshes = [e for e in v.api if e.get("grant") == "refresh_token" and e["status"] == 200]
    if not refused and not refreshes:
        return
    first = refused[0] if refused else None
    done = [r for r in refreshes if first is None or end(r) >= first["t"]]
    if first is not None and not done:
        later = [e for e in v.api if e["t"] > first["t"] and e.get("token") == first.get("token")]
        item.verdict, item.evidence = FAIL, ids([first, *later])
        item.detail = f"401 with an expired token; the device never refreshed it ({len(later)} more call(s) with it)"
        return
    refresh = done[0]
    old = {e.get("token") for e in v.api if e.get("token") and end(e) <= refresh["t"]}
    stale = [e for e in v.api if e["t"] > end(refresh) and e.get("token") in old]
    item.evidence = ids([*refused[:2], refresh, *stale])
    if stale:
        item.verdict = FAIL
        item.detail = f"{len(stale)} call(s) after the refresh still used the old access token"
        return
    item.verdict = PASS
    item.detail = "the device refreshed its token on the 401 and used only the new one afterwards"


def heartbeat(v: View, item: Item) -> None:
    minute = float(v.scenario.get("clock", {}).get("seconds_per_minute", 60.0))
    beats = [e for e in v.api if e["route"].endswith("/v2/devices/heartbeat")]
    if not v.requests:
        return
    start, stop = v.requests[0]["t"], max(end(e) for e in v.requests)
    if not beats:
        if stop - start > 5 * minute * 1.1:
            item.verdict = FAIL
            item.detail = f"no heartbeat in a session of {(stop - start) / minute:.0f} (compressed) minutes"
        else:
            item.detail = "no heartbeat, but the session was shorter than 5 (compressed) minutes"
        return
    gaps = [b - a for a, b in itertools.pairwise([start, *(b["t"] for b in beats), stop])]
    between = gaps[1:-1]
    item.evidence = ids(beats)
    if any(g < 0.9 * minute for g in between):
        item.verdict = FAIL
        item.detail = f"heartbeats {min(between) / minute:.1f} (compressed) minutes apart: at most one a minute"
    elif max(gaps) > 5 * minute * 1.1:
        item.verdict = FAIL
        item.detail = f"{max(gaps) / minute:.1f} (compressed) minutes without a heartbeat: at least one every 5"
    else:
        item.verdict = PASS
        item.detail = "heartbeats came 1 to 5 (compressed) minutes apart"


def resume_missing_only(v: View, item: Item) -> None:
    assets = v.assets_of("restart")
    if not assets:
        return
    acked: dict[int, Entry] = {}
    resent = []
    for asset_id in assets:
        for e in v.puts_of(asset_id):
            part = e.get("part") or 0
            if part in acked and e["t"] >= end(acked[part]):
                resent.append(e)
            elif e["status"] == 200:
                acked[part] = e
    last = v.assets.get(assets[-1], {})
    item.evidence = ids([e for a in assets for e in v.puts_of(a)])
    if resent:
        item.verdict = FAIL
        item.detail = (
            f"part(s) {sorted({e.get('part') or 0 for e in resent})} were sent again after S3 had acknowledged them"
            + (" (on a new asset: the upload started over)" if len(assets) > 1 else "")
        )
    elif last.get("status") != "complete":
        item.verdict = FAIL
        missing = sorted(set(range(1, last.get("parts", 0) + 1)) - set(acked))
        item.detail = f"the interrupted upload was never resumed: part(s) {missing} never arrived"
    else:
        item.verdict = PASS
        item.detail = "after the connections dropped, only the missing parts were sent, and the file completed"


def next_file(v: View, item: Item) -> None:
    files = v.scenario["files"]
    attempted = {id(v.file_of(e)) for e in v.creates}
    never = [f["name"] for f in files if id(f) not in attempted]
    bad = [e for e in v.creates if e["status"] != 200]
    item.evidence = ids(bad)
    if never:
        item.verdict = FAIL
        item.detail = f"file(s) never attempted: {', '.join(never)}"
        if v.requests:
            item.evidence = ids([*bad, v.requests[-1]])
        return
    if bad or any(e["status"] in (403,) or _transient(e) for e in v.puts):
        item.verdict = PASS
        item.detail = f"all {len(files)} files were attempted, whatever happened to the ones before"


ITEMS: list[tuple[str, str, str, Callable[[View, Item], None], str]] = [
    (
        "client_version",
        "x-client-version",
        "every C2C call sends x-client-version: <semver>",
        client_version,
        "Send x-client-version with your firmware's semantic version (e.g. 2.16.4) on every API call.",
    ),
    (
        "chunk_arithmetic",
        "Chunk sizes and coverage",
        "chunk = ceil(filesize / len(upload_urls)), the last part shorter, every byte sent once",
        chunk_arithmetic,
        "Split with ceil(filesize / len(upload_urls)); part i is bytes [i*chunk, min((i+1)*chunk, filesize));"
        " send every URL.",
    ),
    (
        "part_headers",
        "Part headers",
        "every part PUT sends Content-Type: <filetype> and x-amz-acl: private",
        part_headers,
        "Send exactly the asset's filetype as Content-Type and x-amz-acl: private on every part PUT.",
    ),
    (
        "s3_retry",
        "Retry transient S3 errors, with backoff",
        "treat AWS's non-fatal errors as non-fatal: retry timeouts, network errors, 5xx and SlowDown with backoff",
        s3_retry,
        "Retry a part on no answer, 5xx, SlowDown or RequestTimeout, waiting (exponential backoff with jitter) "
        "between attempts; raise, never print, when it fails for good.",
    ),
    (
        "no_retry_403",
        "No retry on 403",
        "a 403 (expired URL, bad signature) cannot be fixed by sending again",
        no_retry_403,
        "Do not repeat a PUT S3 refused with 403: an expired URL needs a new asset, a bad signature a fix.",
    ),
    (
        "create_not_repeated",
        "No repeated asset create after an ambiguous failure",
        "the asset-create POST is not blindly retried: the asset may exist",
        create_not_repeated,
        "When a create gets no answer or a 5xx, do not POST it again at once: the asset may exist (a duplicate).",
    ),
    (
        "rate_limit_backoff",
        "429 backoff honours the rate-limit headers",
        "on 429 back off (x-ratelimit-window), then try again",
        rate_limit_backoff,
        "On 429 wait at least x-ratelimit-window ms (doubling if it repeats), then create the asset again.",
    ),
    (
        "pause_honoured",
        "Pause honoured",
        "a file created while the device was paused is refused (409) and never "
        "uploaded; offset = seconds since the file was created",
        pause_honoured,
        "Send offset = now - the file's creation time, so that the service can refuse files made while paused.",
    ),
    (
        "no_409_storm",
        "No retry storm on 409",
        "honour PAUSED: a 409 Channel Paused is final for that file",
        no_409_storm,
        "Treat 409 Channel Paused as final for that file: drop it from the queue, do not retry.",
    ),
    (
        "token_refresh",
        "Token refresh",
        "refresh before or on expiry; after a refresh the old token is not used",
        token_refresh,
        "On 401, refresh with the refresh token once, store the new pair, and use only the new token.",
    ),
    (
        "heartbeat",
        "Heartbeat cadence",
        "POST /v2/devices/heartbeat at most once a minute, at least every 5 minutes",
        heartbeat,
        "Send a heartbeat every 1 to 5 minutes while the device is on, uploading or not.",
    ),
    (
        "resume_missing_only",
        "Resume sends only the missing parts",
        "resume from the last successful chunk",
        resume_missing_only,
        "Keep which parts S3 acknowledged; after an interruption send only the others, on the same asset.",
    ),
    (
        "next_file",
        "One bad file does not stop the next",
        "never let one corrupt file block the other uploads",
        next_file,
        "Catch a file's failure, record it, and go on with the rest of the queue.",
    ),
]


def grade(transcript: Transcript) -> Scorecard:
    """Every item's verdict for a recorded session (see the module docstring)."""
    view = View(transcript)
    skipped = set(transcript["scenario"].get("skipped", ()))
    items = []
    for item_id, title, requirement, judge, fix in ITEMS:
        item = Item(item_id, title, requirement)
        if item_id in skipped:
            item.detail = "skipped for this run: the scenario left its condition out"
        else:
            try:
                judge(view, item)
            except Exception as exc:  # traffic the item did not foresee: say so, and grade the others
                logging.getLogger(__name__).exception("grading %s", item_id)
                item = Item(item_id, title, requirement, detail=f"could not be judged ({type(exc).__name__})")
            if item.verdict == NOT_EXERCISED and not item.detail:
                item.detail = "the device never met this condition (it never reached the file that plays it)"
        item.fix = fix if item.verdict == FAIL else ""
        items.append(item)
    return Scorecard(transcript.get("device", {}), transcript["scenario"], items)
