"""The progress lines' pure core: formatting, rate, time left and pacing, on a fake clock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubspot_api.errors import ConfigError
from hubspot_api.progress import (
    DEFAULT_PROGRESS_INTERVAL_S,
    Pacer,
    SettleProgress,
    StreamProgress,
    duration_text,
    percent,
    progress_interval,
    rate_text,
    read_done_line,
    read_line,
    seconds_left,
    settled_done_line,
    settled_line,
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


counts = st.integers(min_value=0, max_value=10**9)


@given(count=counts, total=counts)
def test_percent_stays_within_0_and_100_even_past_an_approximate_total(count, total):
    assert 0 <= percent(count, total) <= 100


@given(count=counts, total=st.integers(min_value=1, max_value=10**9))
def test_percent_says_100_only_when_the_count_reached_the_total(count, total):
    assert (percent(count, total) == 100) == (count >= total)


@given(
    count=counts,
    total=st.one_of(st.none(), counts),
    rate=st.floats(min_value=0, max_value=1e9, allow_nan=False),
)
def test_seconds_left_is_never_negative(count, total, rate):
    left = seconds_left(count, total, rate)
    assert left is None or left >= 0
    assert (left is None) == (total is None or rate == 0)


@given(
    count=counts,
    total=st.one_of(st.none(), counts),
    seconds=st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_a_read_line_never_shows_a_negative_or_impossible_figure(count, total, seconds):
    line = read_line("tickets", count, total, seconds)
    assert line.startswith(f"tickets: {count:,} ")
    assert "-" not in line
    if total is not None and count >= total:
        assert "(100%)" in line
        assert "left" not in line


@pytest.mark.parametrize(
    ("count", "total", "seconds", "line"),
    [
        (12_400, 30_000, 5.77, "tickets: 12,400 of 30,000 read (41%), 2,149/s, about 9 s left"),
        (12_400, None, 5.77, "tickets: 12,400 read, 2,149/s"),
        (30_100, 30_000, 10.0, "tickets: 30,100 of 30,000 read (100%), 3,010/s"),
        (0, 30_000, 0.0, "tickets: 0 of 30,000 read (0%), 0.0/s"),
        (150, 90_000, 60.0, "tickets: 150 of 90,000 read (0%), 2.5/s, about 10.0 h left"),
        (3_000, 90_000, 60.0, "tickets: 3,000 of 90,000 read (3%), 50/s, about 29 min left"),
    ],
    ids=["total", "no-total", "past-total", "nothing-yet", "hours", "minutes"],
)
def test_read_line(count, total, seconds, line):
    assert read_line("tickets", count, total, seconds) == line


def test_done_lines_give_the_count_the_seconds_and_the_rate():
    assert read_done_line("tickets", 30_000, 14.2) == "tickets: 30,000 read in 14.2 s (2,113/s)"
    outcomes = {"created": 4_987, "updated": 0, "rejected": 13}
    assert settled_done_line("tickets", 5_000, outcomes, 2.0) == (
        "tickets: 5,000 of 5,000 read settled in 2.0 s (4,987 created, 13 rejected, 2,500/s)"
    )


def test_settled_line_names_the_outcomes_that_happened_and_the_batches_in_flight():
    outcomes = {"created": 3_900, "updated": 0, "unchanged": 288, "rejected": 12}
    assert settled_line("tickets", 5_000, outcomes, 6, 5.06) == (
        "tickets: 4,200 of 5,000 read settled (3,900 created, 288 unchanged, 12 rejected), "
        "6 batches in flight, 830/s"
    )
    assert settled_line("tickets", 7, {"created": 0}, 1, 0.0) == (
        "tickets: 0 of 7 read settled, 1 batch in flight, 0.0/s"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (8.0, "8 s"), (89.5, "90 s"), (240.0, "4 min"), (5_400.0, "1.5 h")],
)
def test_durations_read_in_their_largest_sensible_unit(seconds, text):
    assert duration_text(seconds) == text


def test_rates_below_ten_keep_a_decimal():
    assert rate_text(3.46) == "3.5/s"
    assert rate_text(2_150.4) == "2,150/s"


def test_a_pacer_says_due_once_per_interval_and_never_when_off():
    clock = FakeClock()
    pacer = Pacer(10, clock)
    assert not pacer.due()
    clock.now += 9.9
    assert not pacer.due()
    clock.now += 0.1
    assert pacer.due()
    assert not pacer.due()  # the interval starts again from the line
    clock.now += 25
    assert pacer.due()
    off = Pacer(0, clock)
    clock.now += 1e6
    assert not off.due()


def test_stream_progress_logs_on_the_record_path_with_the_total_it_was_given():
    clock = FakeClock()
    lines: list[str] = []
    progress = StreamProgress("tickets", 10, lines.append, clock)
    clock.now += 100  # set up long before the stream starts: the rate counts from start()
    progress.start()
    progress.expect(30_000)
    for _ in range(12_400):
        progress.add()
    assert lines == []
    clock.now += 10
    progress.add(100)
    assert lines == ["tickets: 12,500 of 30,000 read (41%), 1,250/s, about 14 s left"]
    clock.now += 2
    progress.finish()
    assert lines[-1] == "tickets: 12,500 read in 12.0 s (1,042/s)"


def test_stream_progress_with_interval_zero_logs_nothing():
    clock = FakeClock()
    lines: list[str] = []
    progress = StreamProgress("tickets", 0, lines.append, clock)
    progress.start()
    for _ in range(5):
        clock.now += 100
        progress.add()
    progress.finish()
    assert lines == []
    assert progress.count == 5


def test_settle_progress_counts_batches_in_flight_and_logs_the_tally():
    clock = FakeClock()
    lines: list[str] = []
    tally = {"created": 0, "rejected": 0}
    read = [0]
    progress = SettleProgress("tickets", 10, lines.append, lambda: (read[0], tally), clock)
    read[0] = 50
    with progress.batch(), progress.batch():
        tally["created"] = 40
        clock.now += 10
        progress.poke()
    assert progress.in_flight == 0
    assert lines == ["tickets: 40 of 50 read settled (40 created), 2 batches in flight, 4.0/s"]
    tally["rejected"] = 10
    clock.now += 5
    progress.finish()
    assert lines[-1] == (
        "tickets: 50 of 50 read settled in 15.0 s (40 created, 10 rejected, 3.3/s)"
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, DEFAULT_PROGRESS_INTERVAL_S),
        ("", DEFAULT_PROGRESS_INTERVAL_S),
        (0, 0.0),
        (0.2, 0.2),
        (Decimal("0.25"), 0.25),
    ],
    ids=["absent", "empty", "off", "fraction", "decimal"],
)
def test_progress_interval_setting(value, seconds):
    config = {} if value is None else {"progress_interval_s": value}
    assert progress_interval(config) == seconds


@pytest.mark.parametrize("value", [-1, True, "10", 10**6], ids=["negative", "bool", "text", "huge"])
def test_a_bad_progress_interval_is_one_line_naming_the_setting(value):
    with pytest.raises(ConfigError, match=r"^progress_interval_s must be a number of seconds"):
        progress_interval({"progress_interval_s": value})
