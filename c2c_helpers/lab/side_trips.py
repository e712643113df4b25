"""The checks of the optional side trips: 08 (real-time uploads), 09 (the scorecard) and 10 (logging, comments).

Like :mod:`~c2c_helpers.lab.exercises`: each ``check_*`` prints a pass (``✓``) or a hint (``✗``) and returns a
bool; a hint says what is wrong, never the expected answer. The standard library only at import: the
scorecard's exercise loads the sandbox when it runs.

================================  ========  ============================================================
check                             notebook  the question
================================  ========  ============================================================
:func:`check_final_registration`  08        the body of the parts call that ends a real-time upload
:func:`check_put_part`            09        a part upload that retries what can be retried, with backoff
:func:`check_items`               09        the scorecard's items for a device built with that upload
:func:`check_timecode`            10        a frame count as the SMPTE timecode a logging trigger sends
================================  ========  ============================================================
"""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "FINAL_CASES",
    "TIMECODE_CASES",
    "check_final_registration",
    "check_items",
    "check_put_part",
    "check_timecode",
]

CLIP_SIZE = 21_136_250  # the guide's test clip
MIB = 1024 * 1024
#: ``(filesize, part_size, sent)``: the clip with two parts sent and with one (a full part still to cut), a
#: recording that ended on a part boundary, and one smaller than a part.
FINAL_CASES = ((CLIP_SIZE, 8 * MIB, 2), (CLIP_SIZE, 8 * MIB, 1), (16 * MIB, 8 * MIB, 1), (1_000, 8 * MIB, 0))


def _verdict(passed: bool, text: str) -> bool:
    print(("✓ " if passed else "✗ ") + text)
    return passed


# -- 08 ------------------------------------------------------------------------------------------------------
def _final_call(filesize: int, part_size: int, sent: int) -> dict[str, Any]:
    """The parts call that ends an upload (the rule of :mod:`c2c_helpers.realtime.growing`: the final part is
    never empty, so a recording that ends on a boundary ends with a full final part)."""
    last = max(1, math.ceil(filesize / part_size))
    parts = [{"number": n, "size": part_size, "is_final": False} for n in range(sent + 1, last)]
    parts.append({"number": last, "size": filesize - (last - 1) * part_size, "is_final": True})
    return {"parts": parts, "asset_filesize": filesize}


def _parts_hint(got: Any, expected: list[dict[str, Any]], part_size: int, sent: int) -> str:
    """What is wrong with a parts list, without giving the list away."""
    if not isinstance(got, list) or not all(isinstance(p, dict) for p in got):
        return 'parts is a list of {"number", "size", "is_final"} dicts'
    finals = [p for p in got if p.get("is_final") is True]
    if len(finals) != 1 or got[-1].get("is_final") is not True:
        return "exactly one part is the final one (is_final: true), and it comes last; the others say false"
    if got and got[0].get("number") != sent + 1:
        return f"{sent} part(s) are registered already: the first part of this call is the next number"
    if [p.get("number") for p in got] != [p["number"] for p in expected]:
        return "the numbers run on without a gap up to the final part; how many parts has the file in all?"
    if any(p.get("size") != part_size for p in got[:-1]):
        return f"every part before the final one is a full part of {part_size:,} bytes"
    return "the final part holds the rest of the file: filesize minus the bytes of the parts before it"


def _final_answer_problem(fn: Callable[..., Any], case: tuple[int, int, int]) -> str | None:
    filesize, part_size, sent = case
    where = f"filesize={filesize:,}, part_size={part_size:,}, {sent} part(s) sent"
    try:
        got = fn(filesize, part_size, sent)
    except Exception as exc:  # a learner's error is a hint, not a traceback
        return f"final_call({filesize:,}, {part_size:,}, {sent}) raised {type(exc).__name__}: {exc}"
    if isinstance(got, str | bytes):
        return "return the body as a dict: requests.post(..., json=body) turns it into JSON"
    if not isinstance(got, dict) or got.get("asset_filesize") != filesize:
        return f"{where}: the body needs asset_filesize, the whole file's size, beside the final part"
    expected = _final_call(filesize, part_size, sent)["parts"]
    if got.get("parts") != expected:
        return f"{where}: {_parts_hint(got.get('parts'), expected, part_size, sent)}"
    return None


def check_final_registration(fn: Callable[[int, int, int], dict[str, Any]] | None) -> bool:
    """08: ``fn(filesize, part_size, sent)`` returns the parts call's body that ends an upload whose first
    ``sent`` full parts are registered; tried on each of :data:`FINAL_CASES`.

    >>> check_final_registration(_final_call)
    ✓ right on 4 cases, among them a recording that ended on a part boundary and one smaller than a part
    True
    >>> check_final_registration(lambda size, part, sent: {"asset_filesize": size})  # doctest: +ELLIPSIS
    ✗ filesize=21,136,250, part_size=8,388,608, 2 part(s) sent: parts is a list of ...
    False
    """
    if not callable(fn):
        return _verdict(False, "no answer yet: define final_call(filesize, part_size, sent) returning the body")
    for case in FINAL_CASES:
        problem = _final_answer_problem(fn, case)
        if problem:
            return _verdict(False, problem)
    return _verdict(
        True, f"right on {len(FINAL_CASES)} cases, among them a recording that ended on a part boundary and one "
        "smaller than a part"
    )  # fmt: skip


# -- 09 ------------------------------------------------------------------------------------------------------
class _Answer:
    """What ``put_once`` returns in the exercise's scripts: a status and S3's body."""

    def __init__(self, status: int, code: str = "") -> None:
        self.status_code = status
        self.content = f"<Error><Code>{code}</Code></Error>".encode() if code else b""
        self.text = self.content.decode()
        self.ok = status < 400


class _GaveUpNever(Exception):
    """Raised by the scripted ``put_once`` when a learner's loop does not stop."""


#: ``(name, answers put_once gives in turn (None: no answer), attempts expected)``; the last answer repeats.
PUT_SCRIPTS: tuple[tuple[str, tuple[tuple[int, str] | None, ...], int], ...] = (
    ("a 200 at once", ((200, ""),), 1),
    ("503 SlowDown, then 200", ((503, "SlowDown"), (200, "")), 2),
    ("no answer twice, then 200", (None, None, (200, "")), 3),
    ("400 RequestTimeout, then 200", ((400, "RequestTimeout"), (200, "")), 2),
    ("403 Request has expired", ((403, "AccessDenied"),), 1),
    ("403 SignatureDoesNotMatch", ((403, "SignatureDoesNotMatch"),), 1),
    ("500 InternalError every time", ((500, "InternalError"),), 5),
)
MAX_CALLS = 50


def _run_script(put_part: Callable[..., Any], answers: Sequence[tuple[int, str] | None]) -> tuple[int, list[float]]:
    """Run ``put_part`` with ``put_once`` and ``time.sleep`` replaced: (attempts, waits)."""
    calls: list[int] = []
    waits: list[float] = []

    def put_once(url: str, data: bytes, filetype: str) -> _Answer | None:
        calls.append(1)
        if len(calls) > MAX_CALLS:
            raise _GaveUpNever
        answer = answers[min(len(calls), len(answers)) - 1]
        return None if answer is None else _Answer(*answer)

    fake_time = types.SimpleNamespace(sleep=waits.append, time=lambda: 0.0, monotonic=lambda: 0.0)
    scope = {**put_part.__globals__, "put_once": put_once, "time": fake_time, "sleep": waits.append}
    fn = types.FunctionType(put_part.__code__, scope, put_part.__name__, put_part.__defaults__, put_part.__closure__)
    fn("https://s3.example/part-1", b"bytes", "video/mp4")
    return len(calls), waits


def _script_problem(put_part: Callable[..., Any], name: str, answers: Any, attempts: int) -> str | None:
    try:
        made, waits = _run_script(put_part, answers)
    except _GaveUpNever:
        return f"{name}: still trying after {MAX_CALLS} attempts: stop after 5"
    except Exception as exc:  # the learner's code: a hint, not a traceback
        return f"{name}: put_part raised {type(exc).__name__}: {exc}"
    if made == 0:
        return "no answer yet: put_part never called put_once"
    if made != attempts:
        return f"{name}: {made} attempt(s); " + (
            "a 200 or a 403 ends it, and only no answer, 5xx or RequestTimeout is tried again"
            if made > attempts
            else "no answer, 5xx and RequestTimeout are transient: try again, up to 5 attempts in all"
        )
    if attempts > 1 and (len(waits) < attempts - 1 or waits[0] < 0.2):
        return f"{name}: wait before each new attempt, at least 0.2 s the first time"
    if any(later < 1.5 * earlier for earlier, later in itertools.pairwise(waits)):
        return f"{name}: waits of {', '.join(f'{x:g}' for x in waits)} s: each wait should double the one before"
    return None


def check_put_part(put_part: Callable[[str, bytes, str], Any] | None) -> bool:
    """09: ``put_part(url, data, filetype)`` run against :data:`PUT_SCRIPTS`, its ``put_once`` and ``time.sleep``
    replaced by scripted ones (no request is sent, no time passes).

    >>> def put_part(url, data, filetype):
    ...     wait = 0.2
    ...     for _ in range(5):
    ...         answer = put_once(url, data, filetype)
    ...         if not (answer is None or answer.status_code >= 500 or b"RequestTimeout" in answer.content):
    ...             return answer
    ...         time.sleep(wait)
    ...         wait *= 2
    ...     return answer
    >>> check_put_part(put_part)
    ✓ right on all 7 scripts: transient failures retried with doubling waits, at most 5 attempts, never a 403
    True
    """
    if not callable(put_part) or not isinstance(getattr(put_part, "__code__", None), types.CodeType):
        return _verdict(False, "no answer yet: define put_part(url, data, filetype)")
    for name, answers, attempts in PUT_SCRIPTS:
        problem = _script_problem(put_part, name, answers, attempts)
        if problem:
            return _verdict(False, problem)
    return _verdict(
        True, f"right on all {len(PUT_SCRIPTS)} scripts: transient failures retried with doubling waits, at most 5 "
        "attempts, never a 403"
    )  # fmt: skip


def check_items(device: Any, items: Sequence[str], *, seed: int = 1) -> bool:
    """The scorecard's exercise: run a check session against `device` (a callable given the session's
    environment, or a command) and print, for each of `items`, its verdict and, unless it passed, what the
    traffic showed and what to change; True when all of them passed. Starts a sandbox of its own."""
    from c2c_sandbox.scorecard import run_check  # the sandbox only when the exercise runs

    session = run_check(device, seed=seed)
    passed = True
    for item_id in items:
        item = session.card.item(item_id) if session.card is not None else None
        if item is None:
            raise ValueError(f"no item {item_id!r}")
        print(f"{item.title}: {item.verdict}: {item.detail}")
        if item.verdict != "pass":
            passed = False
            print(f"  hint: {item.fix or 'make the device meet this condition (it sent nothing for it)'}")
    print("all passed" if passed else "not yet")
    return passed


# -- 10 ------------------------------------------------------------------------------------------------------
#: ``(frames, fps)``: the first frame, the last of a second, a whole second, an hour and a bit, the last frame of
#: a day, and the same count at another rate.
TIMECODE_CASES = ((0, 24), (23, 24), (24, 24), (86_400 + 49, 24), (24 * 86_400 - 1, 24), (86_400 + 49, 25))


def _timecode(frames: int, fps: int) -> str:
    """A frame count from 0 as a non-drop SMPTE timecode ``HH:MM:SS:FF`` at a whole frame rate."""
    seconds, frame = divmod(frames, fps)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frame:02d}"


def _timecode_hint(got: object, frames: int, fps: int) -> str:
    expected = _timecode(frames, fps)
    if not isinstance(got, str) or len(got.split(":")) != 4:
        return "return a string HH:MM:SS:FF: four two-digit fields joined by colons"
    if got.split(":")[3] != expected.split(":")[3]:
        return f"the frames field counts the frames within one second: it runs from 00 to {fps - 1:02d}"
    if got[:8] != expected[:8]:
        return "hours, minutes and seconds come from the whole seconds (frames // fps); each field has two digits"
    return "compare your fields with the rule: HH:MM:SS from the seconds, FF the frames left over"


def check_timecode(fn: Callable[[int, int], str] | None) -> bool:
    """10: ``fn(frames, fps)`` turns a frame count (a comment's ``timestamp``) into the SMPTE timecode a trigger
    sends (``start``), non-drop, at a whole frame rate; tried on each of :data:`TIMECODE_CASES`.

    >>> check_timecode(_timecode)
    ✓ right on 6 cases, among them the last frame of a day and the same count at 25 fps
    True
    >>> check_timecode(lambda frames, fps: f"00:00:00:{frames:02d}")  # doctest: +ELLIPSIS
    ✗ timecode(24, 24) gave '00:00:00:24': the frames field counts the frames within one second: it runs ...
    False
    """
    if not callable(fn):
        return _verdict(False, "no answer yet: define timecode(frames, fps) returning 'HH:MM:SS:FF'")
    for frames, fps in TIMECODE_CASES:
        try:
            got = fn(frames, fps)
        except Exception as exc:  # a learner's error is a hint, not a traceback
            return _verdict(False, f"timecode({frames}, {fps}) raised {type(exc).__name__}: {exc}")
        if got != _timecode(frames, fps):
            return _verdict(False, f"timecode({frames:,}, {fps}) gave {got!r}: {_timecode_hint(got, frames, fps)}")
    return _verdict(
        True, f"right on {len(TIMECODE_CASES)} cases, among them the last frame of a day and the same count at 25 fps"
    )
