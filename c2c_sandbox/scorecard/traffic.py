"""The checks the guide's traffic shows, each judged from a recorded session (a transcript): the x-client-version
header, the chunk arithmetic and part headers, retries and their backoff, 403s, creates, 429s, pauses, tokens,
the heartbeat, and one bad file not stopping the next. :mod:`~c2c_sandbox.scorecard.grader` puts them to work.

A judge reads a :class:`~c2c_sandbox.scorecard.evidence.View` and fills an
:class:`~c2c_sandbox.scorecard.evidence.Item`: its verdict, the requests that show it (their indices in the
device's log) and what was seen; it leaves the verdict "not exercised" when the device never met the condition.
"""

from __future__ import annotations

import itertools
import re

from c2c_sandbox.scorecard.evidence import (
    FAIL,
    PASS,
    Entry,
    Item,
    View,
    end,
    ids,
    part_sizes,
    shown,
)

__all__ = ["MIN_MEAN_BACKOFF", "SEMVER", "TRANSIENT_STATUSES"]

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
#: Seconds: a device backs off when at least one of its retries after a transient S3 error waited this long. The
#: longest wait, not the mean: a full-jitter backoff (AWS's advice) may draw a short wait now and then.
MIN_MEAN_BACKOFF = 0.1
STORM_MAX, STORM_GAP = 3, 1.0  # creates of one paused file, and the least seconds between two of them
TRANSIENT_STATUSES = (500, 502, 503, 504)
STORM_PART = 10  # attempts at one part within 2 (compressed) minutes: more is a retry with no cap on attempts


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


def _storm(v: View) -> list[Entry]:
    """Attempts at one part beyond :data:`STORM_PART` within 2 (compressed) minutes: retries with no cap."""
    minute = float(v.scenario.get("clock", {}).get("seconds_per_minute", 60.0))
    by_part: dict[tuple[str, int], list[Entry]] = {}
    for e in v.puts:
        by_part.setdefault((e["asset"], e.get("part") or 0), []).append(e)
    for attempts in by_part.values():
        times = sorted(e["t"] for e in attempts)
        for n in range(len(times) - STORM_PART):
            if times[n + STORM_PART] - times[n] < 2 * minute:
                return sorted(attempts, key=lambda e: e["t"])[n : n + STORM_PART + 1]
    return []


def s3_retry(v: View, item: Item) -> None:
    failed = [e for e in v.puts if _transient(e)]
    if not failed:
        return
    storm = _storm(v)
    if storm:
        item.verdict, item.evidence = FAIL, ids(storm)
        item.detail = f"{len(storm)} attempts at one part within 2 (compressed) minutes: retries with no cap"
        return
    outage = v.scenario.get("outage") or {}
    dropped, gaps, retries = [], [], []
    for e in failed:
        later = [r for r in v.puts_of(e["asset"], e.get("part")) if r["t"] >= end(e) and r is not e]
        if not later and outage and outage["start"] - 1 <= e["t"] <= outage["end"]:
            continue  # the network was gone: giving up then is the cap; the queue's retry is queue_survives'
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
    longest = max(gaps, default=MIN_MEAN_BACKOFF)
    item.evidence = ids(failed + retries)
    if longest < MIN_MEAN_BACKOFF:
        item.verdict = FAIL
        item.detail = f"every transient failure was retried within {longest * 1000:.0f} ms: no backoff"
        return
    item.verdict = PASS
    item.detail = f"all {len(gaps)} transient failures were retried, with backoff" + (
        " (those while S3 was gone: later, by the queue)" if len(gaps) < len(failed) else ""
    )


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
    signed_in = [e for e in v.requests if e.get("kind") != "oauth"]  # pairing first: no token, no heartbeat yet
    if not signed_in:
        return
    start, stop = signed_in[0]["t"], max(end(e) for e in v.requests)
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


def next_file(v: View, item: Item) -> None:
    files = v.scenario["files"]
    attempted = {id(v.file_of(e)) for e in v.creates}
    corrupt = [f for f in files if f["role"] == "corrupt"]
    never = [f["name"] for f in files if id(f) not in attempted and f["role"] != "corrupt"]
    bad = [e for e in v.creates if e["status"] != 200]
    item.evidence = ids(bad)
    if never:
        item.verdict = FAIL
        item.detail = f"file(s) never attempted: {', '.join(never)}"
        if v.requests:
            item.evidence = ids([*bad, v.requests[-1]])
        return
    if corrupt or bad or any(e["status"] in (403,) or _transient(e) for e in v.puts):
        item.verdict = PASS
        item.detail = f"all {len(files) - len(corrupt)} readable files were attempted, whatever happened before" + (
            f" (and after the unreadable {corrupt[0]['name']})" if corrupt else ""
        )
