"""The grade: Frame.io's integrator checklist, every item in its sections, and the kit's own checks, judged from a
recorded session (a transcript).

:func:`grade` reads a transcript (what :meth:`~c2c_sandbox.scorecard.scenario.Session.transcript` returns: the
scenario, the device's recorded requests, the assets' final state, the device's report and what the session saw
of it) and gives every item a verdict: ``pass``, ``fail``, ``not exercised`` (the device never met the
condition, or never reported it) or ``manual`` (nothing the sandbox can see shows it: a person checks), the
requests that show it and, on a fail, what to change. The items and their kinds are
:data:`~c2c_sandbox.scorecard.checklist.CHECKLIST`; the judges live in :mod:`~c2c_sandbox.scorecard.traffic`
and :mod:`~c2c_sandbox.scorecard.judges`. It only reads: a transcript recorded elsewhere (another machine,
another client, a fixture) grades the same way. It never raises on traffic it did not expect: an item it cannot
judge says so, and the other items are graded all the same.

Times in the transcript are POSIX seconds; an entry's end is ``t + ms / 1000``. The heartbeat is judged on the
scenario's compressed clock (``clock.seconds_per_minute``: 1.0 means "1 minute = 1 second").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from c2c_sandbox.scorecard.checklist import CHECKLIST
from c2c_sandbox.scorecard.evidence import FAIL, MANUAL, NOT_EXERCISED, PASS, TRAFFIC, Item, Scorecard, Transcript, View
from c2c_sandbox.scorecard.judges import me_after_grant
from c2c_sandbox.scorecard.traffic import (
    MIN_MEAN_BACKOFF,
    chunk_arithmetic,
    create_not_repeated,
    heartbeat,
    no_409_storm,
    no_retry_403,
    part_headers,
    rate_limit_backoff,
    s3_retry,
)

__all__ = ["FAIL", "ITEMS", "KIT", "KIT_SECTION", "MIN_MEAN_BACKOFF", "NOT_EXERCISED", "PASS", "Item", "Scorecard"]
__all__ += ["grade"]
KIT_SECTION = "Kit's own checks"


#: The kit's own checks: what the guide and Frame.io's other pages ask that the checklist does not list.
#: (id, title, requirement, judge, what to change)
KIT: list[tuple[str, str, str, Callable[[View, Item], None], str]] = [
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
        "no_409_storm",
        "No retry storm on 409",
        "honour PAUSED: a 409 Channel Paused is final for that file",
        no_409_storm,
        "Treat 409 Channel Paused as final for that file: drop it from the queue, do not retry.",
    ),
    (
        "heartbeat",
        "Heartbeat cadence",
        "POST /v2/devices/heartbeat at most once a minute, at least every 5 minutes",
        heartbeat,
        "Send a heartbeat every 1 to 5 minutes while the device is on, uploading or not.",
    ),
    (
        "s3_retry",
        "Retry transient S3 errors, with backoff and a cap",
        "retry a part after no answer, 5xx, SlowDown or RequestTimeout, waiting between attempts, a few times at most",
        s3_retry,
        "Retry a part on no answer, 5xx, SlowDown or RequestTimeout, waiting (exponential backoff with jitter) "
        "between attempts, at most a few times; raise, never print, when it fails for good.",
    ),
    (
        "me_after_grant",
        "/v2/devices/me after every authorization and refresh",
        "Frame.io's status guide: call /v2/devices/me right after each new authorization and each refresh",
        me_after_grant,
        "Call GET /v2/devices/me when the device starts with its tokens and after every refresh.",
    ),
]
#: Every item graded: the checklist's (in its sections), then the kit's own. (id, title, requirement, judge, fix)
ITEMS: list[tuple[str, str, str, Callable[[View, Item], None] | None, str]] = [
    (i, words, words, None if isinstance(judge, str) else judge, fix)
    for _section, i, words, _kind, judge, fix in CHECKLIST
] + list(KIT)
_META = {i: (section, kind, judge if isinstance(judge, str) else "") for section, i, _w, kind, judge, _f in CHECKLIST}


def grade(transcript: Transcript) -> Scorecard:
    """Every item's verdict for a recorded session (see the module docstring)."""
    view = View(transcript)
    skipped = set(transcript["scenario"].get("skipped", ()))
    items = []
    for item_id, title, requirement, judge, fix in ITEMS:
        section, kind, reason = _META.get(item_id, (KIT_SECTION, TRAFFIC, ""))
        item = Item(item_id, title, requirement, section=section, kind=kind)
        if judge is None:
            item.verdict, item.detail = MANUAL, f"a person checks it: {reason}"
        elif item_id in skipped:
            item.detail = "skipped for this run: the scenario left its condition out"
        else:
            try:
                judge(view, item)
            except Exception as exc:  # traffic the item did not foresee: say so, and grade the others
                logging.getLogger(__name__).exception("grading %s", item_id)
                item = Item(
                    item_id,
                    title,
                    requirement,
                    detail=f"could not be judged ({type(exc).__name__})",
                    section=section,
                    kind=kind,
                )
            if item.verdict == NOT_EXERCISED and not item.detail:
                item.detail = "the device never got as far as the file that sets this condition up"
        item.fix = fix if item.verdict == FAIL else ""
        items.append(item)
    return Scorecard(transcript.get("device", {}), transcript["scenario"], items)
