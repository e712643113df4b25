"""ProgressTotals: the one place where the parts' absolute bytes are summed (pool, panel and CLI bar use it)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from c2c_helpers.parts import PartProgress
from c2c_helpers.pool import ProgressEvent, ProgressTotals


def test_known_sizes_sum_absolute_bytes_per_part() -> None:
    totals = ProgressTotals([10, 5])
    assert (totals.bytes_sent, totals.total, totals.done) == (0, 15, 0)
    event = totals.add(PartProgress(part=2, part_bytes=5, part_size=5, attempt=1, state="done"))
    assert isinstance(event, ProgressEvent) and (event.bytes_sent, event.total, event.part) == (5, 15, 2)
    totals.add(PartProgress(part=1, part_bytes=8, part_size=10, attempt=1, state="sending"))
    assert (totals.bytes_sent, totals.done, totals.fraction) == (13, 1, 13 / 15)


def test_a_retry_moves_its_part_back() -> None:
    totals = ProgressTotals([10])
    totals.add(PartProgress(1, 9, 10, 1, "sending"))
    event = totals.add(PartProgress(1, 0, 10, 1, "retrying", message="part 1: 503 SlowDown", delay=0.5))
    assert (event.bytes_sent, event.state, event.message, event.delay) == (0, "retrying", "part 1: 503 SlowDown", 0.5)
    totals.add(PartProgress(1, 10, 10, 2, "done"))
    assert totals.parts[0].attempts == 2 and totals.fraction == 1.0


def test_unknown_parts_are_added_as_they_are_announced() -> None:
    totals = ProgressTotals()
    for number, size in ((1, 4), (2, 3)):
        totals.add(PartProgress(number, 0, size, 0, "queued"))
    assert totals.total == 7 and [p.state for p in totals.parts] == ["queued", "queued"]
    # file-level events fold the same way (a view may be handed either kind)
    totals.add(ProgressEvent(part=2, part_bytes=3, part_size=3, bytes_sent=3, total=7, attempt=1, state="done"))
    assert totals.bytes_sent == 3


def test_set_part_takes_final_figures() -> None:
    totals = ProgressTotals([4, 4])
    totals.add(PartProgress(1, 2, 4, 1, "sending"))
    totals.set_part(1, sent=2, state="failed")
    totals.set_part(2, sent=4, state="done", attempts=1)
    assert totals.bytes_sent == 6 and [p.state for p in totals.parts] == ["failed", "done"]


@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.integers(0, 200), st.sampled_from(["sending", "retrying", "done"])),
        max_size=60,
    )
)
def test_the_total_is_always_the_sum_and_never_passes_the_file(events: list[tuple[int, int, str]]) -> None:
    sizes = [100, 100, 100, 50]
    totals = ProgressTotals(sizes)
    for part, sent, state in events:
        event = totals.add(PartProgress(part, sent, sizes[part - 1], 1, state))  # type: ignore[arg-type]
        assert event.bytes_sent == sum(p.sent for p in totals.parts) <= event.total == sum(sizes)
