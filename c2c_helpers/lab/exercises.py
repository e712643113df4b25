"""The notebooks' exercises: each ``check_*`` judges a learner's answer, prints a pass or a hint, returns a bool.

Pure and standard library only: nothing here talks to a service, so a check gives the same verdict anywhere.
A placeholder answer (``None`` or ``...``) gets a hint, never an exception, so JupyterLab's Run All goes on.

================================  ========  ============================================================
check                             notebook  the question
================================  ========  ============================================================
:func:`check_create_body`         01        the asset-create body for a clip recorded an hour ago
:func:`check_part_sizes`          02        a function giving every part's size for n upload URLs
:func:`check_tail_head`           03        ``tail -c +OFFSET | head -c SIZE`` for a part in the middle
:func:`check_copied_offset`       04        the offset of a file copied with ``cp -p``, and ``st_ctime``'s
:func:`check_workers_to_fill`     05        how many parallel parts fill an uplink
:func:`check_retry_choices`       06        which failures to retry
:func:`check_jain_index`          07        a function giving Jain's fairness index of throughputs
================================  ========  ============================================================

The side trips' checks (08, 09) are in :mod:`~c2c_helpers.lab.side_trips`. The expected answers are worked out
here, not asked of the kit's own functions: the tests check that both agree.

>>> check_tail_head(None)
✗ no answer yet: set answer = (OFFSET, SIZE), two whole numbers
False
>>> check_tail_head((7_045_418, 7_045_417))
✓ right: tail -c +7045418 C2C_TEST_CLIP.mp4 | head -c 7045417 gives part 2 of 3
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "RETRY_CASES",
    "check_copied_offset",
    "check_create_body",
    "check_jain_index",
    "check_part_sizes",
    "check_retry_choices",
    "check_tail_head",
    "check_workers_to_fill",
]

CLIP_SIZE = 21_136_250  # the guide's test clip


def _verdict(passed: bool, text: str) -> bool:
    print(("✓ " if passed else "✗ ") + text)
    return passed


def _missing(answer: Any) -> bool:
    return answer is None or answer is ...


def _whole(value: Any) -> bool:
    """A whole number, as an int or a float with nothing after the point (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value == int(value)


# -- 01 ------------------------------------------------------------------------------------------------------
def check_create_body(body: Any) -> bool:
    """01: the body of ``POST /v2/devices/assets`` for ``A001_C003_0101AB.mov``: 52,428,800 bytes, recorded an
    hour ago, sent now.

    >>> check_create_body({"name": "A001_C003_0101AB.mov", "filetype": "video/quicktime",
    ...                    "filesize": 52_428_800, "offset": 3600})
    ✓ right: Frame.io files it under the day it was made, and checks that against pauses
    True
    >>> check_create_body({"name": "A001_C003_0101AB.mov", "filetype": "video/quicktime",
    ...                    "filesize": 52_428_800, "offset": 60})
    ✗ offset is in seconds: an hour is 60 × 60 of them
    False
    """
    if _missing(body):
        return _verdict(False, "no answer yet: set body = {...} with the four fields of the guide's request")
    if not isinstance(body, Mapping):
        return _verdict(False, f"the body is a dict of fields, not a {type(body).__name__}")
    missing = [k for k in ("name", "filetype", "filesize", "offset") if k not in body]
    if missing:
        return _verdict(False, f"the body needs {', '.join(missing)} too (the guide sends four fields)")
    offset = body["offset"]
    hints = [
        (not isinstance(body["name"], str) or not body["name"], "name is the text Frame.io shows: the file's name"),
        (
            body["filetype"] != "video/quicktime",
            "filetype is the MIME type of a .mov file: c2c.guess_filetype('A001_C003_0101AB.mov') tells you",
        ),
        (body["filesize"] != 52_428_800, "filesize is the size in bytes, as a number: 52_428_800"),
        (offset in (60, 1, 3600 * 1000), "offset is in seconds: an hour is 60 × 60 of them"),
        (_whole(offset) and offset < 0, "offset counts back from now: seconds since the file was made, so positive"),
        (offset != 3600, "offset is the number of seconds since the file was created (now − creation time)"),
    ]
    for wrong, hint in hints:
        if wrong:
            return _verdict(False, hint)
    return _verdict(True, "right: Frame.io files it under the day it was made, and checks that against pauses")


# -- 02 ------------------------------------------------------------------------------------------------------
def _sizes(filesize: int, urls: int) -> list[int]:
    size = math.ceil(filesize / urls)
    return [min(size, filesize - i * size) for i in range(urls)]


PART_CASES = ((CLIP_SIZE, 2), (CLIP_SIZE, 3), (50_645_990, 3), (50_645_990, 4), (10, 3), (1, 1))


def check_part_sizes(part_sizes: Callable[[int, int], Any] | None) -> bool:
    """02: ``part_sizes(filesize, n_urls)`` returns the list of every part's size, in order.

    >>> check_part_sizes(lambda filesize, n: [math.ceil(filesize / n)] * (n - 1)
    ...                  + [filesize - (n - 1) * math.ceil(filesize / n)])
    ✓ right on all 6 cases, e.g. 50,645,990 bytes in 4 parts: 12,661,498 × 3 + 12,661,496
    True
    >>> check_part_sizes(lambda filesize, n: [filesize // n] * n)
    ✗ for 21,136,250 bytes and 3 URLs you gave [7045416, 7045416, 7045416]: 21,136,248 bytes; round up (ceil)
    False
    """
    if not callable(part_sizes):
        return _verdict(False, "no answer yet: define part_sizes(filesize, n_urls) returning a list of sizes")
    for filesize, urls in PART_CASES:
        want = _sizes(filesize, urls)
        try:
            got = part_sizes(filesize, urls)
        except Exception as err:  # a learner's function may fail in any way: say how, and go on
            return _verdict(False, f"part_sizes({filesize}, {urls}) raised {type(err).__name__}: {err}")
        case = f"for {filesize:,} bytes and {urls} URL{'s' * (urls > 1)}"
        if got is None or got is ...:
            return _verdict(False, "your function returned None: return the list of sizes")
        try:
            got = [int(x) if _whole(x) else x for x in got]
        except TypeError:
            return _verdict(False, f"{case} you returned {got!r}: return a list, one size per URL")
        if got == want:
            continue
        if len(got) != urls:
            return _verdict(False, f"{case} you gave {len(got)} sizes: one per URL, so {urls}")
        if any(not isinstance(x, int) for x in got):
            return _verdict(False, f"{case} you gave {got}: sizes are whole bytes (math.ceil, then int)")
        if sum(got) != filesize:
            hint = "round up (ceil)" if sum(got) < filesize else "the last part takes only what is left"
            return _verdict(False, f"{case} you gave {got}: {sum(got):,} bytes; {hint}")
        return _verdict(False, f"{case} you gave {got}; every part but the last is ceil(filesize / n_urls)")
    return _verdict(
        True, f"right on all {len(PART_CASES)} cases, e.g. 50,645,990 bytes in 4 parts: 12,661,498 × 3 + 12,661,496"
    )


# -- 03 ------------------------------------------------------------------------------------------------------
def check_tail_head(answer: Any) -> bool:
    """03: ``(OFFSET, SIZE)`` for ``tail -c +OFFSET C2C_TEST_CLIP.mp4 | head -c SIZE``: part 2 of 3 (the clip
    split for three upload URLs).

    >>> check_tail_head((7_045_417, 7_045_417))
    ✗ one byte early: tail -c +N starts at byte N counting from 1 (+1 is the whole file)
    False
    """
    size = math.ceil(CLIP_SIZE / 3)
    if _missing(answer):
        return _verdict(False, "no answer yet: set answer = (OFFSET, SIZE), two whole numbers")
    if not isinstance(answer, tuple | list) or len(answer) != 2 or not all(_whole(x) for x in answer):
        return _verdict(False, f"the answer is two whole numbers, (OFFSET, SIZE), not {answer!r}")
    offset, got_size = (int(x) for x in answer)
    if got_size != size:
        return _verdict(False, f"SIZE is one part's size: ceil({CLIP_SIZE:,} / 3) = {size:,}")
    if offset == size:
        return _verdict(
            False,
            "one byte early: tail -c +N starts at byte N counting from 1 (+1 is the whole file)",
        )
    if offset != size + 1:
        return _verdict(False, f"OFFSET is where part 2 starts, counted from 1: the bytes before it ({size:,}) + 1")
    return _verdict(True, f"right: tail -c +{offset} C2C_TEST_CLIP.mp4 | head -c {size} gives part 2 of 3")


# -- 04 ------------------------------------------------------------------------------------------------------
def check_copied_offset(answer: Any) -> bool:
    """04: a camera wrote a clip at 09:00:00 (its modification time); at 09:40:00 it was copied with ``cp -p``
    (which keeps the modification time); it is 10:00:00 now. ``(offset, what ST_CTIME would give)``, in seconds.

    >>> check_copied_offset((3600, 1200))
    ✓ right: the clip is an hour old, but its ctime says 20 minutes: ctime is when its inode last changed
    True
    >>> check_copied_offset((1200, 1200))
    ✗ 1200 s is the copy's age, not the clip's: cp -p kept the modification time (09:00:00), use that
    False
    """
    if _missing(answer) or (isinstance(answer, tuple | list) and any(_missing(x) for x in answer)):
        return _verdict(False, "no answer yet: set answer = (offset, ctime_offset), two numbers of seconds")
    if not isinstance(answer, tuple | list) or len(answer) != 2 or not all(_whole(x) for x in answer):
        return _verdict(False, f"the answer is two whole numbers of seconds, (offset, ctime_offset), not {answer!r}")
    offset, ctime_offset = (int(x) for x in answer)
    if offset == 1200:
        return _verdict(
            False, "1200 s is the copy's age, not the clip's: cp -p kept the modification time (09:00:00), use that"
        )
    if offset in (60, 1):
        return _verdict(False, "offset is in seconds: an hour is 3600 of them")
    if offset != 3600:
        return _verdict(False, "offset is now − when the clip was made: 10:00:00 − 09:00:00, in seconds")
    if ctime_offset == 3600:
        return _verdict(
            False,
            "on Linux st_ctime is not the creation time: it moves whenever the inode changes, and the copy "
            "made a new inode at 09:40:00",
        )
    if ctime_offset != 1200:
        return _verdict(False, "ST_CTIME would say the file was made when the copy was: 10:00:00 − 09:40:00")
    return _verdict(
        True, "right: the clip is an hour old, but its ctime says 20 minutes: ctime is when its inode last changed"
    )


# -- 05 ------------------------------------------------------------------------------------------------------
def check_workers_to_fill(answer: Any, *, per_connection: float = 200, uplink: float = 500) -> bool:
    """05: the fewest parallel part uploads that fill the uplink (same units for both rates; by default the
    sandbox's ``wired-studio``: 200 Mbps per connection, 500 Mbps uplink).

    >>> check_workers_to_fill(3)
    ✓ right: 3 × 200 = 600 ≥ 500, while 2 × 200 = 400 leaves the uplink part idle; more than 3 only share it
    True
    >>> check_workers_to_fill(2)
    ✗ 2 × 200 = 400 < 500: the uplink has room
    False
    """
    need = math.ceil(uplink / per_connection)
    if _missing(answer):
        return _verdict(False, "no answer yet: set answer to a whole number of workers")
    if not _whole(answer) or answer < 1:
        return _verdict(False, f"the answer is a whole number of workers (at least 1), not {answer!r}")
    n = int(answer)
    if n < need:
        return _verdict(False, f"{n} × {per_connection:g} = {n * per_connection:g} < {uplink:g}: the uplink has room")
    if n > need:
        return _verdict(
            False,
            f"{n} fills it, but so does {n - 1}: {n - 1} × {per_connection:g} = {(n - 1) * per_connection:g}"
            f" ≥ {uplink:g}. What is the fewest?",
        )
    return _verdict(
        True,
        f"right: {n} × {per_connection:g} = {n * per_connection:g} ≥ {uplink:g}, while {n - 1} × {per_connection:g}"
        f" = {(n - 1) * per_connection:g} leaves the uplink part idle; more than {n} only share it",
    )


# -- 06 ------------------------------------------------------------------------------------------------------
#: The failures of notebook 06's exercise: whether to retry each one, and why.
_RETRY_ANSWERS: dict[str, tuple[bool, str]] = {
    "part PUT: 503 SlowDown": (True, "a transient S3 error: wait (backoff) and send the part again"),
    "part PUT: 500 InternalError": (True, "a transient S3 error: re-sending a part replaces it, so it is safe"),
    "part PUT: the connection dropped": (True, "the part may be half there; sending it again replaces it"),
    "part PUT: 403 AccessDenied, Request has expired": (
        False,
        "an expired URL stays expired: create the asset again for fresh URLs",
    ),
    "part PUT: 403 SignatureDoesNotMatch": (
        False,
        "the request differs from what was signed (Content-Type, x-amz-acl): the same request fails the same way",
    ),
    "asset create: 429 Too Many Requests": (True, "the request was not processed: wait for the window, then repeat"),
    "asset create: 500, or no answer at all": (
        False,
        "the asset may have been created: a blind retry can make a second one",
    ),
}


#: the failures of the exercise, by name only (the answers stay in this module, out of the learner's cell)
RETRY_CASES: tuple[str, ...] = tuple(_RETRY_ANSWERS)


def check_retry_choices(answer: Any) -> bool:
    """06: ``{failure: True or False}`` for every failure in :data:`RETRY_CASES`: retry it or not.

    >>> check_retry_choices({case: right for case, (right, _) in _RETRY_ANSWERS.items()})
    ✓ right on all 7: retry what can succeed next time and cannot do harm; stop on the rest
    True
    """
    if _missing(answer):
        return _verdict(False, "no answer yet: set answer to a dict {failure: True or False}")
    if not isinstance(answer, Mapping):
        return _verdict(False, f"the answer is a dict of failure → True or False, not a {type(answer).__name__}")
    open_cases = [case for case in RETRY_CASES if not isinstance(answer.get(case), bool)]
    if len(open_cases) == len(RETRY_CASES):
        return _verdict(False, "no answer yet: replace each None with True (retry) or False (don't)")
    if open_cases:
        return _verdict(False, f"still to decide: {'; '.join(open_cases)}")
    wrong = [(case, why) for case, (right, why) in _RETRY_ANSWERS.items() if answer[case] != right]
    if wrong:
        lines = [f"{len(wrong)} of {len(RETRY_CASES)} to think again:"]
        lines += [f"  - {case}: {why}" for case, why in wrong]
        return _verdict(False, "\n".join(lines))
    return _verdict(
        True, f"right on all {len(RETRY_CASES)}: retry what can succeed next time and cannot do harm; stop on the rest"
    )


# -- 07 ------------------------------------------------------------------------------------------------------
#: Throughputs and their Jain index, ``(Σx)² / (n · Σx²)``: equal shares, one camera with everything, and between.
JAIN_CASES: tuple[tuple[tuple[float, ...], float], ...] = (
    ((5.0, 5.0, 5.0, 5.0), 1.0),
    ((1.0, 0.0, 0.0, 0.0), 0.25),
    ((30.0, 10.0), 0.8),
    ((7.0,), 1.0),
    ((2.0, 4.0, 6.0), 144 / 168),
)


def check_jain_index(candidate: Callable[[Sequence[float]], float]) -> bool:
    """07: ``jain_index(throughputs)`` returns Jain's fairness index; tried on each of :data:`JAIN_CASES`.

    >>> check_jain_index(lambda xs: sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)))
    ✓ right on all 5 cases: equal shares give 1.0, one camera taking everything gives 1/n
    True
    >>> check_jain_index(lambda xs: sum(xs) ** 2 / sum(x * x for x in xs))  # doctest: +ELLIPSIS
    ✗ for throughputs [5.0, 5.0, 5.0, 5.0] expected 1.0000, got 4.0000; hint: square the sum, and divide by n ...
    False
    """
    if not callable(candidate):
        return _verdict(False, "no answer yet: define jain_index(throughputs) returning the index")
    for values, expected in JAIN_CASES:
        try:
            answer = candidate(list(values))
            if answer is None:
                return _verdict(False, "your function returned None: replace the ... with the formula and return it")
            got = float(answer)
        except Exception as exc:  # the learner's code: say what went wrong, not a traceback
            return _verdict(False, f"{list(values)} raised {type(exc).__name__}: {exc}")
        if abs(got - expected) > 1e-6:
            hint = (
                "hint: square the sum, and divide by n times the sum of the squares"
                if got > 1 or got <= 0
                else "hint: (Σx)² / (n · Σx²), with n the number of cameras"
            )
            return _verdict(False, f"for throughputs {list(values)} expected {expected:.4f}, got {got:.4f}; {hint}")
    return _verdict(
        True, f"right on all {len(JAIN_CASES)} cases: equal shares give 1.0, one camera taking everything gives 1/n"
    )
