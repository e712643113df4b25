"""The judges of the checklist's items that the guide's traffic alone does not show: what the device reports
(its ``C2C_CHECK_REPORT`` lines, checked against the traffic), what the session saw of it (its output, its
folder), and the newer script's conditions (a power cut, the S3 side gone for a while, a corrupt file, a wired
WAN); and the checklist items that several of the kit's checks judge together.
"""

from __future__ import annotations

import itertools
import re

from c2c_sandbox.scorecard.evidence import FAIL, PASS, Entry, Item, View, end, ids, shown
from c2c_sandbox.scorecard.recorder import PROXY_HEADERS
from c2c_sandbox.scorecard.traffic import no_retry_403, s3_retry, token_refresh

__all__ = ["MIN_MBPS", "NO_REPORT", "PROXY_HEADERS"]

MIN_MBPS = 50.0
NO_REPORT = "the device reported nothing (C2C_CHECK_REPORT, see docs/scorecard-example.md): a person must look"


def _ok(item: Item, detail: str, evidence: list[Entry] | None = None) -> None:
    item.verdict, item.detail, item.evidence = PASS, detail, ids(evidence or [])


def _bad(item: Item, detail: str, evidence: list[Entry] | None = None) -> None:
    item.verdict, item.detail, item.evidence = FAIL, detail, ids(evidence or [])


def _file(v: View, role: str) -> dict | None:  # type: ignore[type-arg]
    return v.by_role.get(role)


# -- graded from the device's report ----------------------------------------------------------------------
def code_shown(v: View, item: Item) -> None:
    issued = v.scenario.get("pairing", {}).get("user_codes") or []
    if not issued:
        item.detail = "the session handed the device its tokens, so it never paired: `c2c check --pair` grades this"
        return
    shown_codes = [r.get("user_code") for r in v.reported("pairing")]
    if not shown_codes:
        item.detail = NO_REPORT
        return
    good = [c for c in shown_codes if isinstance(c, str) and re.fullmatch(r"\d{6}", c) and c in issued]
    if good:
        _ok(item, "the device showed the six-digit code the service issued")
    else:
        _bad(item, f"the device showed {shown(shown_codes[0])}, not a code the service issued")


def project_shown(v: View, item: Item, key: str = "name") -> None:
    want = v.device.get(f"project_{key}")
    seen = [r.get(key if key == "name" else "id") for r in v.reported("project")]
    if not seen:
        item.detail = NO_REPORT
        return
    if want and all(s == want for s in seen):
        _ok(item, f"the device showed the connected project's {key} after each authorization ({len(seen)}x)")
    else:
        _bad(item, f"the device showed {shown(seen[-1])}; its project's {key} is {shown(want)}")


def project_id(v: View, item: Item) -> None:
    project_shown(v, item, "id")


def upload_status(v: View, item: Item) -> None:
    queue = v.reported("queue")
    if not queue:
        item.detail = NO_REPORT
        return
    needed = {"files_remaining", "bytes_remaining", "completed", "queued", "failed", "current"}
    missing = sorted(needed - set().union(*(set(q) for q in queue)))
    done = sum(v.complete(f) for f in v.scenario["files"])
    last = queue[-1]
    if missing:
        _bad(item, f"the device's status never showed: {', '.join(missing)}")
    elif last.get("completed") != done:
        _bad(item, f"the device's last status said {shown(last.get('completed'))} completed; {done} were")
    else:
        _ok(item, f"files and bytes remaining, the current file, completed/queued/failed: {done} completed")


def network_status(v: View, item: Item) -> None:
    outage = v.scenario.get("outage")
    if not outage:
        item.detail = "the S3 side never went away in this session"
        return
    states = v.reported("network")
    if not states:
        item.detail = NO_REPORT
        return
    down = [r for r in states if r.get("state") != "online" and outage["start"] <= r["t"] <= outage["end"] + 30]
    back = [r for r in states if r.get("state") == "online" and r["t"] >= outage["start"]]
    if down and back:
        _ok(item, "the device showed the network as down while S3 was unreachable, and online again after")
    else:
        _bad(
            item,
            "the device never showed the network down while S3 was unreachable"
            if not down
            else "the device never showed the network online again",
        )


def network_detail(v: View, item: Item) -> None:
    states = v.reported("network")
    if not states:
        item.detail = NO_REPORT
        return
    full = [r for r in states if r.get("type") and isinstance(r.get("mbps"), int | float) and r["mbps"] > 0]
    if full:
        _ok(item, f"connection type {shown(full[-1]['type'])}, speed {full[-1]['mbps']:g} Mbps, state shown")
    else:
        _bad(item, "the device showed its network state but not its connection type and speed")


def queue_shown(v: View, item: Item) -> None:
    results = {r.get("name"): r.get("state") for r in v.reported("file")}
    if not v.reports:
        item.detail = NO_REPORT
        return
    wrong = []
    for f in v.scenario["files"]:
        said = results.get(f["name"])
        if said is None:
            wrong.append(f"{f['name']}: no result shown")
        elif (said == "done") != v.complete(f):
            wrong.append(f"{f['name']}: shown {shown(said)}, but it {'is' if v.complete(f) else 'is not'} complete")
    if wrong:
        _bad(item, "; ".join(wrong[:4]))
    else:
        _ok(item, f"the device showed a result for all {len(v.scenario['files'])} files, matching the service")


def secrets_kept(v: View, item: Item) -> None:
    leaks = v.checks.get("leaks")
    if leaks is None:
        item.detail = "the device's output was not seen (a callable device, or one started outside c2c check)"
        return
    if leaks:
        _bad(item, "a secret showed in: " + ", ".join(shown(x) for x in leaks[:4]))
    else:
        _ok(item, "no token, client id or client secret in the device's output, report or the user's folder")


def storage_kept(v: View, item: Item) -> None:
    kept = v.checks.get("files")
    if kept is None:
        item.detail = "the session could not look at the folder"
        return
    gone = [name for name, state in kept.items() if state != "kept"]
    if gone:
        _bad(item, f"file(s) removed or changed on the user's storage: {', '.join(map(shown, gone[:4]))}")
    else:
        _ok(item, f"all {len(kept)} files are still on the user's storage, unchanged")


# -- graded from traffic ----------------------------------------------------------------------------------
def formats(v: View, item: Item) -> None:
    kinds = {f["filetype"].split("/")[0] for f in v.scenario["files"] if f.get("filetype")}
    if not v.creates:
        return
    if len(kinds) < 2:
        item.detail = "this session's files are all of one kind"
        return
    meant = [f for f in v.scenario["files"] if f["role"] not in ("paused", "corrupt", "create_dropped")]
    bad = [f["name"] for f in meant if not v.complete(f)]
    wrong_type = [a for a in v.assets.values() if (a.get("filetype") or "/").split("/")[0] not in kinds]
    if bad or wrong_type:
        _bad(
            item,
            "; ".join(
                [
                    *(f"{n} not uploaded whole" for n in bad[:4]),
                    *(f"asset filetype {shown(a.get('filetype'))}" for a in wrong_type[:2]),
                ]
            ),
        )
    else:
        _ok(item, f"video, audio and stills ({', '.join(sorted(kinds))}) all uploaded with their own MIME type")


def direct(v: View, item: Item) -> None:
    if not v.requests:
        return
    proxied = [e for e in v.requests if any(h in e.get("headers", {}) for h in PROXY_HEADERS)]
    if proxied:
        _bad(item, "requests came through a proxy (Via / Forwarded / X-Forwarded-For)", proxied)
    else:
        _ok(item, "no request carried a proxy's headers (Via, Forwarded, X-Forwarded-For)")


def whole_files(v: View, item: Item) -> None:
    done = [f for f in v.scenario["files"] if v.complete(f)]
    partial = [
        a
        for a in v.assets.values()
        if a.get("status") == "complete"
        and a.get("filesize")
        and a.get("sha256") not in {f.get("sha256") for f in v.scenario["files"]}
    ]
    if partial:
        _bad(item, f"{len(partial)} asset(s) completed with bytes no finished file has: uploaded before it was done")
    elif done:
        _ok(item, f"{len(done)} files uploaded automatically once complete, each with its final bytes")


def queue_survives(v: View, item: Item) -> None:
    cut, outage = v.scenario.get("restart", {}).get("killed_at"), v.scenario.get("outage")
    if not cut and not outage:
        item.detail = "the device was never restarted and the network never went away"
        return
    expected = [f for f in v.scenario["files"] if f["role"] not in ("paused", "corrupt", "create_dropped")]
    lost = [f["name"] for f in expected if not v.complete(f)]
    again = []
    if cut:
        before = {id(v.file_of(e)) for e in v.creates if e["status"] == 200 and end(e) < cut}
        again = [e for e in v.creates if e["t"] > cut and id(v.file_of(e)) in before]
    if lost or again:
        _bad(
            item,
            "; ".join(
                [
                    *(f"{n} never completed" for n in lost[:4]),
                    *([f"{len(again)} file(s) created again after the restart"] if again else []),
                ]
            ),
            again,
        )
    else:
        what = " and ".join(w for w, on in (("a power cut", cut), ("S3 going away", outage)) if on)
        _ok(item, f"after {what}, every file in the queue completed, none created twice")


def resume_after_restart(v: View, item: Item) -> None:
    cut = v.scenario.get("restart", {}).get("killed_at")
    assets = v.assets_of("restart")
    if not assets:
        return
    if not cut:
        item.detail = "the device was not restarted (run it as a command: c2c check -- COMMAND)"
        return
    before = [e for a in assets for e in v.puts_of(a) if end(e) <= cut]
    acked = {(e["asset"], e.get("part")) for e in before if e["status"] == 200}
    after = [e for a in assets for e in v.puts_of(a) if e["t"] > cut]
    resent = [e for e in after if (e["asset"], e.get("part")) in acked]
    new = [e for e in v.creates_of("restart") if e["t"] > cut]
    f = _file(v, "restart")
    item.evidence = ids(before + after)
    if new:
        _bad(item, "after the power cut the file was created again: the upload started over", new)
    elif resent:
        _bad(
            item,
            f"part(s) {sorted({e.get('part') or 0 for e in resent})} acknowledged before the cut were sent again",
            resent,
        )
    elif f is None or not v.complete(f):
        _bad(item, "the interrupted upload was never finished after the restart", after)
    else:
        _ok(item, f"the second run sent only the {len(after)} part attempt(s) S3 had not acknowledged", before + after)


def auto_upload(v: View, item: Item) -> None:
    if v.creates:
        _ok(item, "the files were uploaded as they appeared, with no one starting them", v.creates[:1])
    elif v.requests:
        _bad(item, "the device was on (it made requests) but uploaded nothing on its own", v.requests[-1:])


def parallel(v: View, item: Item) -> None:
    puts = sorted(v.puts, key=lambda e: e["t"])
    overlap = [b for a, b in itertools.pairwise(puts) if b["t"] < end(a)]
    if overlap:
        _ok(item, f"{len(overlap)} part PUT(s) overlapped another: parts go in parallel", overlap[:3])
    elif puts:
        item.detail = "one part at a time (optional on the checklist)"


def throughput(v: View, item: Item, *, wired: bool = False) -> None:
    net = v.scenario.get("network")
    cut = v.scenario.get("outage") or {}
    good = [e for e in v.puts if e["status"] == 200 and e.get("size") and not e.get("note")]
    good = [e for e in good if not (cut.get("start", 0) <= e["t"] <= cut.get("end", 0))]
    if not net or not good:
        item.detail = "no wired network was played in this session" if not net else ""
        return
    spans = sorted((e["t"], end(e)) for e in good)
    busy, start, stop = 0.0, *spans[0]
    for a, b in spans[1:]:
        if a > stop:
            busy, start = busy + stop - start, a
        stop = max(stop, b)
    busy += stop - start
    mbps = sum(e["size"] for e in good) * 8 / max(busy, 1e-6) / 1e6
    if wired:
        done = [f for f in v.scenario["files"] if v.complete(f)]
        what = f"through the {net} preset (the stand-in for a wired WAN): {len(done)} files completed"
        (_ok if done else _bad)(item, what, good[:3])
        return
    (_ok if mbps >= MIN_MBPS else _bad)(item, f"{mbps:.0f} Mbps while sending, on the {net} preset", good[:3])


def wired(v: View, item: Item) -> None:
    throughput(v, item, wired=True)


def switch_networks(v: View, item: Item) -> None:
    outage = v.scenario.get("outage")
    if not outage:
        item.detail = "the network never went away in this session"
        return
    again = [e for e in v.api if e["route"].endswith("/device/code") and e["t"] >= outage["start"]]
    after = [e for e in v.puts if e["status"] == 200 and e["t"] >= outage["end"]]
    if again:
        _bad(item, "after the network came back the device paired again", again)
    elif not after:
        _bad(item, "after the network came back the device sent nothing more")
    else:
        _ok(item, "after the network came back the device went on with its pairing and tokens", after[:2])


def _combined(item: Item, parts: list[Item]) -> None:
    """One checklist item judged by several of the kit's checks: fails if one fails, passes if one passes."""
    failed = [p for p in parts if p.verdict == FAIL]
    passed = [p for p in parts if p.verdict == PASS]
    chosen = failed or passed
    if chosen:
        item.verdict = FAIL if failed else PASS
        item.detail = "; ".join(p.detail for p in chosen)
        item.evidence = sorted({i for p in chosen for i in p.evidence})[:12]
    else:
        item.detail = "; ".join(p.detail for p in parts if p.detail)


def auto_retry(v: View, item: Item) -> None:
    parts, token = Item("s3", "", ""), Item("token", "", "")
    s3_retry(v, parts)
    token_refresh(v, token)
    _combined(item, [parts, token])


def aws_nonfatal(v: View, item: Item) -> None:
    coded = View.__new__(View)
    coded.__dict__.update(v.__dict__)
    coded.puts = [
        e
        for e in v.puts
        if e.get("error") in ("SlowDown", "InternalError", "RequestTimeout") or e["status"] == 200 or e["status"] == 403
    ]
    retried, refused = Item("aws", "", ""), Item("403", "", "")
    s3_retry(coded, retried)
    no_retry_403(v, refused)
    _combined(item, [retried, refused])


def me_after_grant(v: View, item: Item) -> None:
    me = [e for e in v.api if e["route"].endswith("/v2/devices/me") and e["status"] == 200]
    grants = [e for e in v.api if e.get("kind") == "oauth" and e.get("grant") and e["status"] == 200]
    if not v.creates:
        return
    minute = float(v.scenario.get("clock", {}).get("seconds_per_minute", 60.0))
    problems = []
    if not any(e["t"] < v.creates[0]["t"] for e in me):
        problems.append("no /v2/devices/me before the first upload")
    for g in grants:
        if not any(end(g) <= e["t"] <= end(g) + 2 * minute for e in me):
            problems.append(f"no /v2/devices/me after the {g.get('grant')} grant (request {g['i']})")
    item.evidence = ids(me[:3] + grants)
    item.verdict, item.detail = (
        (FAIL, "; ".join(problems[:3]))
        if problems
        else (PASS, f"/v2/devices/me at the start and after each of {len(grants)} grant(s)")
    )
