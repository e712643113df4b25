"""The targets, checked, and the two Markdown tables: every measured row, then the ratios the targets are set on.

On the test clip: ``upload_file`` at its best worker count reaches 90 % of ``bare`` into the
sandbox and 70 % of ``curl`` into the sink. On the big file (the same worker count for
both): ``upload_file`` at ≥ 0.9× the floor's throughput into the sink and ≥ 0.85× into the sandbox; the
client's CPU seconds per GiB within 1.3× of the floor's. The client MD5s every part it sends
(its ETag check), which the raw floor does not do, so these targets apply to the floor+MD5 baseline (the same
sender, hashing each block in its workers); the ratios to the raw floor are printed beside them with what MD5
costs (its CPU per GiB, and the raw floor's throughput it gives up). Client peak RSS < 120 MB and flat (within
10 %) from the small scale size to the big one; the sandbox's own ingest (the floor's clients into it) at least twice
a reference figure (bare clients at 544–617 MB/s into the sandbox on 1 GiB).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.client import NO_VERIFY
from benchmarks.measure import MB, Measure

UPLOAD_VS_BARE = 0.90  # upload_file at its best vs bare parallel requests, sandbox, clip
UPLOAD_VS_CURL = 0.70  # upload_file at its best vs curl, sink, clip
FLOOR_SINK = 0.95  # upload_file / floor+MD5 into the sink (0.90 before verify=False and coalesced progress)
NO_VERIFY_SINK = 0.90  # upload_file(verify=False) / the raw floor into the sink
FLOOR_SANDBOX = 0.85  # upload_file / floor into the sandbox
CPU_VS_FLOOR = 1.30  # client CPU s/GiB / the floor's
CLIENT_RSS_MAX = 120e6  # client peak RSS on the big file
CLIENT_RSS_GROWTH = 0.10  # "flat": the big file's peak within 10 % of the small one's
SANDBOX_RSS_MAX = 500e6  # sandbox peak RSS accepting and assembling the big file
INGEST_BEFORE = (544.0, 617.0)  # MB/s: bare clients into the sandbox, 1 GiB, as the reference figure
INGEST_GAIN = 2.0  # at least twice that (against its upper end)


@dataclass
class Ratio:
    """One line of the ratio table."""

    measure: str
    value: str
    target: str
    result: str


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def check_clip_targets(rows: list[Measure]) -> None:
    """The clip's targets, on the throughput rows: fill `target` and `result` of each best upload_file row."""
    for server, file in sorted({(r.server, r.file) for r in rows if r.section == "throughput"}):
        group = [r for r in rows if r.section == "throughput" and r.server == server and r.file == file]
        uploads = [r for r in group if r.way == "upload_file" and r.mbps]
        if not uploads:
            continue
        best = max(uploads, key=lambda r: r.mbps or 0)
        assert best.mbps is not None
        if server == "sandbox":
            ceiling = max((r for r in group if r.way == "bare" and r.mbps), key=lambda r: r.mbps or 0)
            assert ceiling.mbps is not None
            best.target = (
                f"≥ {UPLOAD_VS_BARE:.0%} of bare ×{ceiling.workers} ({UPLOAD_VS_BARE * ceiling.mbps:,.0f} MB/s)"
            )
            share = best.mbps / ceiling.mbps
            best.result = f"{_verdict(share >= UPLOAD_VS_BARE)}: {share:.0%} of bare"
        else:
            curl = next(r for r in group if r.way == "curl")
            assert curl.mbps is not None
            best.target = f"≥ {UPLOAD_VS_CURL:.0%} of curl ({UPLOAD_VS_CURL * curl.mbps:,.0f} MB/s)"
            share = best.mbps / curl.mbps
            best.result = f"{_verdict(share >= UPLOAD_VS_CURL)}: {share:.0%} of curl"


def _pick(rows: list[Measure], section: str, server: str, way: str, workers: int | None = None) -> Measure | None:
    found = [r for r in rows if r.section == section and r.server == server and r.way == way and r.mbps]
    if workers is not None:
        found = [r for r in found if r.workers == workers]
    return max(found, key=lambda r: r.mbps or 0) if found else None


def _versus(upload: Measure, base: Measure, what: str, goal: float | None, cpu_goal: float | None) -> list[Ratio]:
    """upload_file ÷ `base` in throughput and CPU s/GiB; a verdict where a goal is given."""
    assert upload.mbps and base.mbps
    share = upload.mbps / base.mbps
    aside = "none: the floor does no MD5" if goal is None else ""
    ratios = [
        Ratio(
            f"{upload.way} ÷ {what}, {upload.server}, {upload.file}, ×{upload.workers}",
            f"{share:.2f}× ({upload.mbps:,.0f} vs {base.mbps:,.0f} MB/s)",
            f"≥ {goal:.2f}×" if goal is not None else aside,
            _verdict(share >= goal) if goal is not None else "",
        )
    ]
    if upload.cpu_s_per_gib and base.cpu_s_per_gib:
        cpu = upload.cpu_s_per_gib / base.cpu_s_per_gib
        ratios.append(
            Ratio(
                f"client CPU s/GiB ÷ {what}'s, {upload.server}",
                f"{cpu:.2f}× ({upload.cpu_s_per_gib:.2f} vs {base.cpu_s_per_gib:.2f} s/GiB)",
                f"≤ {cpu_goal:.2f}×" if cpu_goal is not None else aside,
                _verdict(cpu <= cpu_goal) if cpu_goal is not None else "",
            )
        )
    return ratios


def md5_cost(floor: Measure, hashed: Measure) -> Ratio:
    """What hashing adds to the bare sender: CPU seconds per GiB, and the throughput it gives up."""
    assert floor.mbps and hashed.mbps
    if floor.cpu_s_per_gib and hashed.cpu_s_per_gib:
        extra = hashed.cpu_s_per_gib - floor.cpu_s_per_gib
        cpu = f"+{extra:.2f} s CPU/GiB ({hashed.cpu_s_per_gib / floor.cpu_s_per_gib:.1f}× the raw floor's CPU); "
    else:
        cpu = ""
    return Ratio(
        f"MD5's cost, {hashed.server}: floor+MD5 vs floor, {hashed.file}, ×{hashed.workers}",
        f"{cpu}{hashed.mbps / floor.mbps:.2f}× its throughput ({hashed.mbps:,.0f} vs {floor.mbps:,.0f} MB/s)",
        "",
        "",
    )


def floor_ratios(rows: list[Measure], workers: int) -> list[Ratio]:
    """upload_file vs the floor+MD5 (the targets) and vs the raw floor (same file, same worker count), throughput
    and CPU, on each server, and what MD5 costs the bare sender. Without a floor+MD5 row the raw floor takes the
    targets."""
    ratios: list[Ratio] = []
    for server, goal in (("sink", FLOOR_SINK), ("sandbox", FLOOR_SANDBOX)):
        floor = _pick(rows, "floor", server, "floor", workers)
        hashed = _pick(rows, "floor", server, "floor+MD5", workers)
        upload = _pick(rows, "floor", server, "upload_file", workers)
        if upload is None:
            continue
        if hashed is not None:
            ratios += _versus(upload, hashed, "floor+MD5", goal, CPU_VS_FLOOR)
        if floor is not None:
            fair = hashed is None
            ratios += _versus(upload, floor, "floor", goal if fair else None, CPU_VS_FLOOR if fair else None)
        if floor is not None and hashed is not None:
            ratios.append(md5_cost(floor, hashed))
        unverified = _pick(rows, "floor", server, NO_VERIFY, workers)
        if floor is not None and unverified is not None:  # the weak-CPU choice: nothing hashed, against the raw floor
            sink = server == "sink"
            ratios += _versus(
                unverified, floor, "floor", NO_VERIFY_SINK if sink else None, CPU_VS_FLOOR if sink else None
            )
    return ratios


def ingest_ratios(rows: list[Measure]) -> list[Ratio]:
    """The sandbox's own ingest: the floor's best into the sandbox, against the sink and against before."""
    into_sandbox = _pick(rows, "floor", "sandbox", "floor")
    into_sink = _pick(rows, "floor", "sink", "floor")
    if into_sandbox is None or into_sink is None:
        return []
    assert into_sandbox.mbps and into_sink.mbps
    low, high = INGEST_BEFORE
    goal = INGEST_GAIN * high
    return [
        Ratio(
            f"sandbox ingest ÷ sink's (floor ×{into_sandbox.workers} vs ×{into_sink.workers}, {into_sandbox.file})",
            f"{into_sandbox.mbps / into_sink.mbps:.2f}× ({into_sandbox.mbps:,.0f} vs {into_sink.mbps:,.0f} MB/s)",
            "",
            "",
        ),
        Ratio(
            f"sandbox ingest ÷ the reference figure ({low:.0f}–{high:.0f} MB/s, bare, 1 GiB)",
            f"{into_sandbox.mbps / high:.2f}–{into_sandbox.mbps / low:.2f}× ({into_sandbox.mbps:,.0f} MB/s)",
            f"≥ {INGEST_GAIN:.0f}× ({goal:,.0f} MB/s)",
            _verdict(into_sandbox.mbps >= goal),
        ),
    ]


def memory_ratios(rows: list[Measure]) -> list[Ratio]:
    """Client peak RSS flat from the small scale size to the big one; the sandbox's peak on the big one."""
    scaled = [r for r in rows if r.section == "scale"]
    if len(scaled) < 2:
        return []
    small, big = scaled[0], scaled[-1]
    assert small.client_rss_mb and big.client_rss_mb
    growth = big.client_rss_mb / small.client_rss_mb - 1
    ok = big.client_rss_mb < CLIENT_RSS_MAX / MB and growth <= CLIENT_RSS_GROWTH
    ratios = [
        Ratio(
            f"client peak RSS (VmHWM), upload_file, {small.file} → {big.file}",
            f"{small.client_rss_mb:.0f} → {big.client_rss_mb:.0f} MB ({growth:+.0%})",
            f"< {CLIENT_RSS_MAX / MB:.0f} MB, within {CLIENT_RSS_GROWTH:.0%}",
            _verdict(ok),
        )
    ]
    if big.server_rss_mb is not None:
        ratios.append(
            Ratio(
                f"sandbox peak RSS accepting and assembling {big.file}",
                f"{big.server_rss_mb:.0f} MB",
                f"< {SANDBOX_RSS_MAX / MB:.0f} MB",
                _verdict(big.server_rss_mb < SANDBOX_RSS_MAX / MB),
            )
        )
    big.target = "client < 120 MB and flat; sandbox < 500 MB"
    big.result = f"client {_verdict(ok)} ({growth:+.0%} vs {small.file})"
    return ratios


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def rows_table(rows: list[Measure], startup: dict[str, float]) -> str:
    """Every measured row."""
    out = [
        "| server | file | way | MB/s (parts) | MB/s (end to end) | client CPU s/GiB | client peak RSS MB "
        "| server peak RSS MB | target | result |",
        "|---|---|---|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in rows:
        result = "; ".join(x for x in (r.result, r.note) if x)
        server = r.server + {"scale": " (scale)", "floor": " (floor)"}.get(r.section, "")
        out.append(
            f"| {server} | {r.file} | {r.name} | {_fmt(r.mbps)} | {_fmt(r.e2e_mbps)} | {_fmt(r.cpu_s_per_gib, 2)} "
            f"| {_fmt(r.client_rss_mb)} | {_fmt(r.server_rss_mb)} | {r.target} | {result} |"
        )
    if startup:
        out.append(
            f"| sandbox | – | start: `Sandbox().start()` in a fresh interpreter "
            f"{startup['start_in_process_s']:.2f} s; `python -m c2c_sandbox` until /health "
            f"{startup['start_process_s']:.2f} s | | | | | | | |"
        )
    return "\n".join(out)


def ratio_table(ratios: list[Ratio]) -> str:
    """The ratios and figures the targets are set on."""
    out = ["| ratio | value | target | result |", "|---|--:|---|---|"]
    out += [f"| {r.measure} | {r.value} | {r.target} | {r.result} |" for r in ratios]
    return "\n".join(out)
