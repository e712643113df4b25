"""chunks.py: the guide's arithmetic, checked by example and by property."""

from __future__ import annotations

import ast
import dataclasses
import functools
import itertools
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import c2c_helpers.chunks as chunks_module
from c2c_helpers.chunks import Chunk, chunk_size, plan_chunks
from c2c_helpers.errors import redact_url

SIGNED = (
    "http://127.0.0.1:9/bucket/parts/a/original?partNumber={n}&uploadId=u1"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl"
    "&X-Amz-Signature=0123456789abcdef{n}"
)


@functools.cache
def _urls(n: int) -> tuple[str, ...]:
    return tuple(SIGNED.format(n=i + 1) for i in range(n))


def urls(n: int) -> list[str]:
    return list(_urls(n))


def test_guide_clip_two_urls() -> None:
    assert chunk_size(21_136_250, 2) == 10_568_125
    plan = plan_chunks(21_136_250, urls(2))
    assert [(c.index, c.start, c.size, c.end) for c in plan] == [
        (0, 0, 10_568_125, 10_568_125),
        (1, 10_568_125, 10_568_125, 21_136_250),
    ]
    assert [c.number for c in plan] == [1, 2]


def test_published_three_part_example() -> None:
    # 50,645,990 bytes -> 16,881,997 + 16,881,997 + 16,881,996 (C2C_API.md)
    assert [c.size for c in plan_chunks(50_645_990, urls(3))] == [16_881_997, 16_881_997, 16_881_996]


def test_short_last_chunk_and_ceil_not_floor() -> None:
    plan = plan_chunks(10, urls(3))
    assert [c.size for c in plan] == [4, 4, 2]
    # floor would give 3-byte chunks and a fourth chunk with no URL to go to
    assert len(plan) == 3


def test_one_url_is_the_whole_file() -> None:
    (only,) = plan_chunks(7, urls(1))
    assert (only.start, only.end, only.size) == (0, 7, 7)


@pytest.mark.parametrize(
    ("filesize", "n"),
    [(10, 6), (3, 4), (1, 2), (5, 100)],
    ids=["ceil-leaves-one-empty", "more-urls-than-bytes", "one-byte-two-urls", "many-more-urls"],
)
def test_plans_that_would_leave_a_url_empty_are_refused(filesize: int, n: int) -> None:
    with pytest.raises(ValueError, match="empty; request at most"):
        plan_chunks(filesize, urls(n))


@pytest.mark.parametrize(
    ("filesize", "upload_urls", "message"),
    [
        (0, urls(1), "filesize must be at least 1"),
        (-5, urls(1), "filesize must be at least 1"),
        (10, [], "no upload URLs"),
        (10.0, urls(1), "filesize must be an int"),
        (True, urls(1), "filesize must be an int"),
        (10, ["", "x"], "upload URL 0 is not a non-empty string"),
    ],
)
def test_bad_arguments(filesize: object, upload_urls: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_chunks(filesize, upload_urls)  # type: ignore[arg-type]


@pytest.mark.parametrize(("filesize", "n"), [(0, 1), (1, 0), (10, -1)])
def test_chunk_size_refuses_non_positive(filesize: int, n: int) -> None:
    with pytest.raises(ValueError):
        chunk_size(filesize, n)


def test_chunk_size_is_exact_beyond_float_precision() -> None:
    big = 2**60 + 1
    assert chunk_size(big, 2) == 2**59 + 1


@given(filesize=st.integers(1, 10**13), n=st.integers(1, 300))
@example(filesize=21_136_250, n=2)
@example(filesize=10, n=6)
@example(filesize=1, n=1)
def test_chunks_tile_the_file_or_the_plan_is_refused(filesize: int, n: int) -> None:
    size = chunk_size(filesize, n)
    feasible = (n - 1) * size < filesize
    try:
        plan = plan_chunks(filesize, urls(n))
    except ValueError:
        assert not feasible
        return
    assert feasible
    assert len(plan) == n  # never more chunks than URLs, and no URL left without bytes
    assert plan[0].start == 0
    assert plan[-1].end == filesize
    for before, after in itertools.pairwise(plan):
        assert before.end == after.start  # no gap, no overlap
    expected_urls = urls(n)
    for i, c in enumerate(plan):
        assert c.index == i
        assert c.size > 0  # no empty chunk
        assert c.end - c.start == c.size
        assert c.url == expected_urls[i]
    assert all(c.size == size for c in plan[:-1])
    assert 0 < plan[-1].size <= size
    assert sum(c.size for c in plan) == filesize


@given(filesize=st.integers(1, 10**6), n=st.integers(1, 50))
def test_more_urls_than_bytes_is_always_refused(filesize: int, n: int) -> None:
    if n > filesize:
        with pytest.raises(ValueError):
            plan_chunks(filesize, urls(n))


def test_chunk_is_frozen() -> None:
    c = plan_chunks(10, urls(1))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.size = 3  # type: ignore[misc]


def test_chunk_repr_hides_the_signature() -> None:
    c = plan_chunks(10, urls(2))[1]
    text = repr(c) + str(c)
    assert "X-Amz-" not in text
    assert "0123456789abcdef" not in text
    assert "AKIAEXAMPLE" not in text
    assert "partNumber=2" in text and "127.0.0.1:9/bucket/parts/a/original" in text


_query_values = st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=0, max_size=12)


@given(
    keys=st.lists(
        st.sampled_from(["partNumber", "uploadId", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date", "other"]),
        max_size=6,
    ),
    values=st.lists(_query_values, min_size=6, max_size=6),
    user=st.booleans(),
)
def test_redacted_urls_keep_only_the_part_and_never_a_secret(keys: list[str], values: list[str], user: bool) -> None:
    query = "&".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))
    url = f"https://{'u:p@' if user else ''}s3.example:443/b/k" + (f"?{query}" if query else "")
    shown = redact_url(url)
    assert "u:p@" not in shown and "X-Amz-" not in shown and "other=" not in shown
    assert redact_url(shown) == shown  # idempotent


def test_chunks_module_imports_nothing_of_the_project_but_redaction_and_its_error() -> None:
    tree = ast.parse(Path(chunks_module.__file__).read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            modules.add(node.module or "")
    project = {m for m in modules if m.split(".")[0] in ("c2c_helpers", "c2c_sandbox")}
    assert project <= {"c2c_helpers._redact", "c2c_helpers.errors"}, modules


def test_chunk_constructor_matches_public_fields() -> None:
    assert [f.name for f in dataclasses.fields(Chunk)] == ["index", "start", "size", "end", "url"]
