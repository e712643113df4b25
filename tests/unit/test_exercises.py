"""The notebooks' exercise checks: a right answer passes, each common mistake gets its own hint, nothing raises."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import pytest

from c2c_helpers import chunk_size, plan_chunks
from c2c_helpers.lab import (
    RETRY_CASES,
    check_copied_offset,
    check_create_body,
    check_final_registration,
    check_jain_index,
    check_part_sizes,
    check_put_part,
    check_retry_choices,
    check_tail_head,
    check_workers_to_fill,
)
from c2c_helpers.lab.exercises import _RETRY_ANSWERS
from c2c_helpers.lab.side_trips import FINAL_CASES, _final_call
from c2c_helpers.realtime import plan_cuts
from c2c_helpers.tools.fleet import jain_index

CHECKS = (
    check_copied_offset,
    check_create_body,
    check_jain_index,
    check_part_sizes,
    check_retry_choices,
    check_tail_head,
    check_workers_to_fill,
)
BODY = {"name": "A001_C003_0101AB.mov", "filetype": "video/quicktime", "filesize": 52_428_800, "offset": 3600}
RIGHT_RETRIES = {case: right for case, (right, _) in _RETRY_ANSWERS.items()}


def verdict(capsys: pytest.CaptureFixture[str], check, answer) -> tuple[bool, str]:
    passed = check(answer)
    out = capsys.readouterr().out
    assert isinstance(passed, bool)
    assert out.startswith("✓ " if passed else "✗ "), out
    return passed, out


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("placeholder", [None, ...])
def test_a_placeholder_gets_a_hint_not_an_exception(capsys, check, placeholder) -> None:
    passed, out = verdict(capsys, check, placeholder)
    assert not passed and "no answer yet" in out


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("junk", ["3600", 3.5, -1, True, [], {}, (1,), (None, None), float("nan"), object()])
def test_junk_is_refused_with_a_hint(capsys, check, junk) -> None:
    passed, _ = verdict(capsys, check, junk)
    assert not passed


def test_the_create_body(capsys) -> None:
    assert verdict(capsys, check_create_body, BODY)[0]
    assert verdict(capsys, check_create_body, {**BODY, "offset": 3600.0})[0]
    cases = {
        "offset": (60, "seconds"),
        "filetype": ("video/mp4", "MIME type of a .mov"),
        "filesize": ("50 MB", "bytes"),
        "name": ("", "name"),
    }
    for field, (value, hint) in cases.items():
        passed, out = verdict(capsys, check_create_body, {**BODY, field: value})
        assert not passed and hint in out, out
    passed, out = verdict(capsys, check_create_body, {"name": "x.mov"})
    assert not passed and "filetype, filesize, offset" in out
    assert "positive" in verdict(capsys, check_create_body, {**BODY, "offset": -3600})[1]


def test_part_sizes_agree_with_the_kit(capsys) -> None:
    def from_the_kit(filesize: int, n: int) -> list[int]:
        return [c.size for c in plan_chunks(filesize, [f"u{i}" for i in range(n)])]

    assert verdict(capsys, check_part_sizes, from_the_kit)[0]
    assert from_the_kit(50_645_990, 3) == [16_881_997, 16_881_997, 16_881_996]  # a published data point
    assert chunk_size(50_645_990, 4) == 12_661_498


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda f, n: [f // n] * n, "round up (ceil)"),
        (lambda f, n: [math.ceil(f / n)] * n, "the last part takes only what is left"),
        (lambda f, n: [math.ceil(f / n)] * (n + 1), "one per URL"),
        (lambda f, n: [f / n] * n, "whole bytes"),
        (lambda f, n: None, "returned None"),
        (lambda f, n: 1 / 0, "ZeroDivisionError"),
        (lambda f, n: 42, "return a list"),
        (lambda f: [f], "TypeError"),
    ],
)
def test_part_sizes_mistakes(capsys, wrong, hint) -> None:
    passed, out = verdict(capsys, check_part_sizes, wrong)
    assert not passed and hint in out, out


def test_tail_head(capsys) -> None:
    size = math.ceil(21_136_250 / 3)
    assert verdict(capsys, check_tail_head, (size + 1, size))[0]
    assert verdict(capsys, check_tail_head, [size + 1, size])[0]
    assert "one byte early" in verdict(capsys, check_tail_head, (size, size))[1]
    assert "one part's size" in verdict(capsys, check_tail_head, (size + 1, 21_136_250 // 3))[1]
    assert "counted from 1" in verdict(capsys, check_tail_head, (2 * size + 1, size))[1]


def test_copied_offset(capsys) -> None:
    assert verdict(capsys, check_copied_offset, (3600, 1200))[0]
    assert "copy's age" in verdict(capsys, check_copied_offset, (1200, 1200))[1]
    assert "not the creation time" in verdict(capsys, check_copied_offset, (3600, 3600))[1]
    assert "seconds" in verdict(capsys, check_copied_offset, (60, 20))[1]
    assert "no answer yet" in verdict(capsys, check_copied_offset, (3600, None))[1]


def test_workers_to_fill(capsys) -> None:
    assert verdict(capsys, check_workers_to_fill, 3)[0]
    assert "has room" in verdict(capsys, check_workers_to_fill, 2)[1]
    assert "What is the fewest" in verdict(capsys, check_workers_to_fill, 8)[1]
    passed = check_workers_to_fill(4, per_connection=30, uplink=100)  # set-wifi
    assert passed and "4 × 30 = 120 ≥ 100" in capsys.readouterr().out


def test_retry_choices(capsys) -> None:
    assert verdict(capsys, check_retry_choices, RIGHT_RETRIES)[0]
    assert "no answer yet" in verdict(capsys, check_retry_choices, dict.fromkeys(RETRY_CASES))[1]
    everything = dict.fromkeys(RETRY_CASES, True)
    passed, out = verdict(capsys, check_retry_choices, everything)
    assert not passed and "second one" in out and "expired URL" in out
    half = {**RIGHT_RETRIES, "part PUT: 503 SlowDown": None}
    assert "still to decide: part PUT: 503 SlowDown" in verdict(capsys, check_retry_choices, half)[1]
    assert sum(right for right, _ in _RETRY_ANSWERS.values()) == 4  # both kinds are in the quiz


def test_jain_index_agrees_with_the_fleet_s(capsys) -> None:
    passed, out = verdict(capsys, check_jain_index, jain_index)
    assert passed and "right on all 5 cases" in out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda xs: sum(xs) / len(xs), "square the sum"),  # the mean throughput, not how fairly it was shared
        (lambda xs: sum(xs) ** 2 / sum(x * x for x in xs), "divide by n"),  # n forgotten
        (lambda xs: sum(xs) ** 2 / len(xs) * sum(x * x for x in xs), "divide by n"),  # n · Σx² not in brackets
        (lambda xs: sum(x * x for x in xs) / sum(xs) ** 2, "(Σx)² / (n · Σx²)"),  # upside down, without n
        (lambda xs: len(xs) * sum(x * x for x in xs) / sum(xs) ** 2, "square the sum"),  # upside down
        (lambda xs: sum(xs) / (len(xs) * sum(x * x for x in xs)), "(Σx)² / (n · Σx²)"),  # the sum not squared
        (lambda xs: sum(xs) ** 2 / (len(xs) ** 2 * sum(x * x for x in xs)), "(Σx)² / (n · Σx²)"),  # n²
        (lambda xs: sum(xs) ** 2 // (len(xs) * sum(x * x for x in xs)), "square the sum"),  # floor division
        (lambda xs: min(xs) / max(xs), "square the sum"),  # another fairness measure
        (lambda xs: None, "returned None"),  # the learner's cell as given: a body of ...
        (lambda xs: sum(xs) ** 2 / (len(xs) * sum(xs**2)), "raised TypeError"),  # a list squared, as in numpy
    ],
)
def test_jain_index_mistakes(capsys, wrong, hint) -> None:
    passed, out = verdict(capsys, check_jain_index, wrong)
    assert not passed and hint in out, out


def test_the_final_call_agrees_with_the_kit_s_cutting_rule() -> None:
    grid = []
    for part in (5 * 1024 * 1024, 8 * 1024 * 1024):
        for size in (1, 1000, part - 1, part, part + 1, 2 * part, 2 * part + 1, 21_136_250):
            grid += [(size, part, sent) for sent in range(math.ceil(size / part))]  # every full part sent or not
    for filesize, part_size, sent in [*FINAL_CASES, *grid]:
        kit = [p.registration() for p in plan_cuts(filesize, part_size, cut=sent, final=True)]
        assert _final_call(filesize, part_size, sent) == {"parts": kit, "asset_filesize": filesize}


def _rest(filesize: int, part_size: int, sent: int) -> list[dict]:
    return _final_call(filesize, part_size, sent)["parts"]


def _with_parts(parts):
    """A learner's answer that gets asset_filesize right and builds the parts list with ``parts``."""
    return lambda filesize, part_size, sent: {"parts": parts(filesize, part_size, sent), "asset_filesize": filesize}


def _floor_and_one_more(filesize: int, part_size: int, sent: int) -> list[dict]:
    last = filesize // part_size + 1  # an empty final part when the recording ends on a boundary
    full = [{"number": n, "size": part_size, "is_final": False} for n in range(sent + 1, last)]
    return [*full, {"number": last, "size": filesize - (last - 1) * part_size, "is_final": True}]


def _floor(filesize: int, part_size: int, sent: int) -> list[dict]:
    last = filesize // part_size  # the number of parts rounded down: the rest is in no part
    return [{"number": last, "size": filesize - (last - 1) * part_size, "is_final": True}]


def _final_numbered_9(filesize: int, part_size: int, sent: int) -> list[dict]:
    rest = _rest(filesize, part_size, sent)  # a gap before the final part, where the call has two or more parts
    return rest if len(rest) < 2 else [*rest[:-1], {**rest[-1], "number": 9}]


def test_the_final_call_from_the_kit_passes() -> None:
    def solution(filesize: int, part_size: int, sent: int) -> dict:
        rest = [p.registration() for p in plan_cuts(filesize, part_size, cut=sent, final=True)]
        return {"parts": rest, "asset_filesize": filesize}

    assert check_final_registration(solution) and check_final_registration(_final_call)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_with_parts(_floor_and_one_more), "filesize=16,777,216"),  # the boundary: an empty final part
        (_with_parts(_floor), "filesize=21,136,250"),
        (_with_parts(lambda f, p, s: _rest(f, p, 0)), "registered already"),  # registers the sent parts again
        (_with_parts(lambda f, p, s: _rest(f, p, s)[-1:]), "the next number"),  # the full part still to cut forgotten
        (_with_parts(lambda f, p, s: [{**x, "size": p} for x in _rest(f, p, s)]), "the rest of the file"),
        (_with_parts(lambda f, p, s: [{**x, "is_final": False} for x in _rest(f, p, s)]), "exactly one part"),
        (_with_parts(lambda f, p, s: [{**x, "is_final": True} for x in _rest(f, p, s)]), "exactly one part"),
        (_with_parts(lambda f, p, s: [{**x, "number": x["number"] - 1} for x in _rest(f, p, s)]), "the next number"),
        (
            _with_parts(lambda f, p, s: [x if x["is_final"] else {**x, "size": p - 1} for x in _rest(f, p, s)]),
            "full part",
        ),
        (_with_parts(_final_numbered_9), "without a gap"),
        (lambda f, p, s: {"parts": _rest(f, p, s)}, "needs asset_filesize"),  # asset_filesize forgotten
        (lambda f, p, s: {"parts": (r := _rest(f, p, s)), "asset_filesize": sum(x["size"] for x in r)}, "needs"),
        (lambda f, p, s: {"parts": _rest(f, p, s), "filesize": f}, "asset_filesize"),  # the create call's name
        (lambda f, p, s: json.dumps(_final_call(f, p, s)), "as a dict"),  # the JSON text, not the body
        (lambda f, p, s: None, "needs asset_filesize"),  # the learner's cell as given
        (lambda f, p, s: {"parts": [], "asset_filesize": f}, "exactly one part"),
        (lambda f, p, s: f // 0, "raised ZeroDivisionError"),
        (lambda f, p: {}, "raised TypeError"),
        (None, "no answer yet"),
        (..., "no answer yet"),
    ],
)
def test_final_call_mistakes(capsys, wrong, hint) -> None:
    passed, said = verdict(capsys, check_final_registration, wrong)
    assert not passed and hint in said, said
    assert "'number'" not in said and "is_final': " not in said, "the hint gives the expected parts away"


# -- 09: a part upload that retries ---------------------------------------------------------------------------
def _retrying(*, first: float = 0.2, factor: float = 2, attempts: int | None = 5, retry_403: bool = False,
              retry_timeout: bool = True, sleep_after_success: bool = False):  # fmt: skip
    """A learner's ``put_part`` with knobs for the usual mistakes (``attempts=None``: no limit)."""

    def put_part(url, data, filetype):
        wait, made = first, 0
        while attempts is None or made < attempts:
            answer = put_once(url, data, filetype)  # noqa: F821  # replaced by the check's scripted one
            made += 1
            transient = answer is None or answer.status_code >= 500
            transient |= retry_timeout and answer is not None and b"RequestTimeout" in answer.content
            transient |= retry_403 and answer is not None and answer.status_code == 403
            if not transient:
                if sleep_after_success:
                    time.sleep(wait)  # noqa: F821
                return answer
            time.sleep(wait)  # noqa: F821
            wait *= factor
        return answer

    return put_part


def test_a_right_put_part_passes(capsys) -> None:
    assert verdict(capsys, check_put_part, _retrying())[0]
    assert verdict(capsys, check_put_part, _retrying(first=0.5, factor=3))[0]  # more patient is fine


def _once(url, data, filetype):
    return put_once(url, data, filetype)  # noqa: F821


def _sleep_first(url, data, filetype):  # waits before the first attempt too, then never again
    time.sleep(0.2)  # noqa: F821
    return put_once(url, data, filetype)  # noqa: F821


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_retrying(factor=1), "each wait should double"),  # a constant sleep(0.2)
        (_retrying(attempts=None), "stop after 5"),  # unlimited attempts
        (_retrying(attempts=10), "10 attempt(s)"),
        (_retrying(attempts=3), "up to 5 attempts"),
        (_retrying(first=0), "at least 0.2 s"),  # no wait at all
        (_retrying(first=0.05), "at least 0.2 s"),
        (_retrying(retry_403=True), "a 200 or a 403 ends it"),  # retries an expired URL
        (_retrying(retry_timeout=False), "RequestTimeout, then 200: 1 attempt"),
        (_retrying(factor=0.5), "each wait should double"),
        (_once, "503 SlowDown, then 200: 1 attempt"),  # the naive client's put_once
        (_sleep_first, "503 SlowDown, then 200: 1 attempt"),
        (lambda url, data, filetype: requests_put(url), "raised NameError"),  # noqa: F821
        (None, "no answer yet"),
        (..., "no answer yet"),
        (print, "no answer yet"),  # a builtin has no code to run with the scripted put_once
    ],
)
def test_put_part_mistakes(capsys, wrong, hint) -> None:
    passed, said = verdict(capsys, check_put_part, wrong)
    assert not passed and hint in said, said


# -- 06: the answers stay out of the learner's cell -----------------------------------------------------------
def test_the_retry_cases_name_the_failures_only() -> None:
    assert tuple(_RETRY_ANSWERS) == RETRY_CASES and all(isinstance(case, str) for case in RETRY_CASES)


@pytest.mark.parametrize("module", ["exercises", "side_trips"])
def test_the_module_uses_the_standard_library_only(module: str) -> None:
    """At import: only the standard library (the scorecard's exercise loads the sandbox when it runs)."""
    source = Path(__file__).resolve().parents[2] / "c2c_helpers" / "lab" / f"{module}.py"
    tree = ast.parse(source.read_text())
    names = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    assert names - {"__future__"} <= set(sys.stdlib_module_names), names
    deferred = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} - {
        n.module for n in tree.body if isinstance(n, ast.ImportFrom)
    }
    assert deferred == ({"c2c_sandbox.scorecard"} if module == "side_trips" else set()), deferred


# -- 10: a frame count as an SMPTE timecode -------------------------------------------------------------------
def test_check_timecode_passes_a_right_answer_and_hints_at_each_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    from c2c_helpers.lab import check_timecode

    def right(frames: int, fps: int) -> str:
        seconds, frame = divmod(frames, fps)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frame:02d}"

    assert verdict(capsys, check_timecode, right)[0]
    for wrong, words in [
        (None, "no answer yet"),
        (lambda frames, fps: frames, "HH:MM:SS:FF"),
        (lambda frames, fps: f"00:00:00:{frames:02d}", "frames within one second"),
        (lambda frames, fps: right(frames, 24), "frames within one second"),  # 24 fps whatever the rate
        (
            lambda frames, fps: right(frames, fps).replace("01:", "1:", 1) if frames > 86_000 else right(frames, fps),
            "two digits",
        ),
        (lambda frames, fps: 1 / 0, "raised ZeroDivisionError"),
    ]:
        passed, said = verdict(capsys, check_timecode, wrong)
        assert not passed and words in said, said
