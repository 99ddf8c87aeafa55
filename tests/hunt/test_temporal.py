"""Observation operators and qualifiers: batch answers, the counting shortcuts, and streaming."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.errors import ValidationError
from ribat.hunt.evaluate import Matcher
from ribat.hunt.patterns import parse_pattern
from ribat.hunt.temporal import BindingStream, Occurrence, Plan, _Eval, plan

S = 1_000_000  # one second in microseconds


def P(text: str) -> Plan:
    return plan(parse_pattern(text).root)


def occ(*spans: tuple[float, float] | tuple[float, float, int]) -> dict[int, Occurrence]:
    out = {}
    for i, span in enumerate(spans):
        first, last, *count = span
        out[i] = Occurrence(int(first * S), int(last * S), count[0] if count else 1)
    return out


A = "[x:a = 1]"
B = "[x:b = 1]"


def test_and_needs_two_observations_which_one_record_can_supply_when_seen_twice() -> None:
    p = P(f"{A} AND {A}")
    assert not p.exists([[0], [0]], occ((0, 0)))
    assert p.exists([[0], [0]], occ((0, 0, 2)))
    assert p.exists([[0, 1], [0, 1]], occ((0, 0), (5, 5)))
    assert p.binding([[0, 1], [0, 1]], occ((0, 0), (5, 5))) == (0, 1)


def test_or_needs_either_side() -> None:
    p = P(f"{A} OR {B}")
    assert p.exists([[], [0]], occ((0, 0)))
    assert not p.exists([[], []], occ((0, 0)))


def test_followedby_orders_latest_first_before_earliest_last() -> None:
    p = P(f"{A} FOLLOWEDBY {B}")
    hits = [[0], [1]]
    assert p.exists(hits, occ((10, 10), (10, 10)))  # simultaneous is allowed
    assert not p.exists(hits, occ((10, 10), (5, 5)))
    assert p.exists(hits, occ((10, 20), (5, 15)))  # overlapping intervals leave room
    assert not p.exists(hits, occ((16, 20), (5, 15)))
    assert not p.exists([[0], [0]], occ((0, 0)))  # one observation cannot be both sides


def test_followedby_chains_compare_every_earlier_part_with_every_later_one() -> None:
    p = P(f"{A} FOLLOWEDBY {B} FOLLOWEDBY [x:c = 1]")
    assert p.exists([[0], [1], [2]], occ((1, 1), (2, 2), (3, 3)))
    assert not p.exists([[0], [1], [2]], occ((1, 1), (4, 4), (3, 3)))
    assert not p.exists([[0], [1], [2]], occ((4, 4), (2, 2), (3, 3)))


def test_within_is_inclusive_and_measured_between_intervals() -> None:
    hits = [[0], [1]]
    assert P(f"({A} AND {B}) WITHIN 5 SECONDS").exists(hits, occ((0, 0), (5, 5)))
    assert not P(f"({A} AND {B}) WITHIN 4.999999 SECONDS").exists(hits, occ((0, 0), (5, 5)))
    assert P(f"({A} AND {B}) WITHIN 5 SECONDS").exists(hits, occ((0, 3), (8, 8)))
    assert not P(f"({A} AND {B}) WITHIN 5 SECONDS").exists(hits, occ((0, 2.5), (8, 8)))
    assert P(f"({A} AND {B}) WITHIN 1 SECONDS").exists(hits, occ((0, 100), (50, 60)))


def test_repeats_counts_observations_including_number_observed() -> None:
    assert P(f"{A} REPEATS 3 TIMES").exists([[0]], occ((0, 0, 3)))
    assert not P(f"{A} REPEATS 4 TIMES").exists([[0]], occ((0, 0, 3)))
    assert P(f"{A} REPEATS 4 TIMES").exists([[0, 1]], occ((0, 0, 3), (9, 9)))
    assert P(f"({A} AND {B}) REPEATS 2 TIMES").exists([[0], [0]], occ((0, 0, 4)))
    assert not P(f"({A} AND {B}) REPEATS 2 TIMES").exists([[0], [0]], occ((0, 0, 3)))


def test_start_stop_is_half_open() -> None:
    hits = [[0]]
    window = f"{A} START t'1970-01-01T00:00:10Z' STOP t'1970-01-01T00:00:20Z'"
    assert P(window).exists(hits, occ((15, 15)))
    assert P(window).exists(hits, occ((5, 10)))  # ends exactly at START
    assert not P(window).exists(hits, occ((20, 25)))  # starts exactly at STOP
    assert P(window).exists(hits, occ((0, 30)))
    assert not P(window).exists(hits, occ((0, 9)))
    backwards = f"{A} START t'1970-01-01T00:00:20Z' STOP t'1970-01-01T00:00:10Z'"
    assert not P(backwards).exists(hits, occ((15, 15)))


def test_start_stop_applies_to_every_observation_of_a_binding() -> None:
    p = P(f"({A} AND {B}) START t'1970-01-01T00:00:10Z' STOP t'1970-01-01T00:00:20Z'")
    assert p.exists([[0], [1]], occ((12, 12), (18, 18)))
    assert not p.exists([[0], [1]], occ((12, 12), (22, 22)))


def test_bindings_are_minimal_and_in_completion_order() -> None:
    p = P(f"{A} AND {B}")
    found = p.bindings([[0, 2], [1]], occ((0, 0), (1, 1), (2, 2)))
    assert found == [((0, 1), (1, 1)), ((1, 1), (2, 1))]
    assert p.binding([[0, 2], [1]], occ((0, 0), (1, 1), (2, 2)), including=2) == (1, 2)
    assert p.binding([[0, 2], [1]], occ((0, 0), (1, 1), (2, 2)), including=3) is None


def test_horizons() -> None:
    assert P(A).horizon == 0
    assert P(f"({A} AND {B}) WITHIN 2 SECONDS").horizon == 2 * S
    assert P(f"({A} AND {B}) WITHIN 2 SECONDS OR {A}").horizon == 2 * S
    assert P(f"{A} AND {B}").horizon is None
    assert P(f"(({A} AND {B}) WITHIN 2 SECONDS) REPEATS 2 TIMES").horizon is None
    assert P(f"(({A} AND {B}) WITHIN 2 SECONDS FOLLOWEDBY {A}) WITHIN 9 SECONDS").horizon == 9 * S


# --- the counting shortcut equals enumeration -------------------------------------------------------------


def brute_force(times: int, within: int | None, spans: dict[int, Occurrence]) -> bool:
    pool = [i for i, o in spans.items() for _ in range(o.count)]
    for combo in itertools.combinations(pool, times):
        chosen = [spans[i] for i in combo]
        if within is None or max(o.first for o in chosen) - min(o.last for o in chosen) <= within:
            return True
    return False


occurrences = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 6), st.integers(1, 3)).map(
        lambda t: Occurrence(t[0] * S, (t[0] + t[1]) * S, t[2])
    ),
    max_size=7,
).map(lambda spans: dict(enumerate(spans)))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.sampled_from([None, 1, 3, 10]), occurrences)
def test_counted_repeats_equal_enumeration(times: int, within: int | None, spans: dict[int, Occurrence]) -> None:
    text = f"{A} REPEATS {times} TIMES" + (f" WITHIN {within} SECONDS" if within else "")
    p = P(text)
    hits = [list(spans)]
    expected = brute_force(times, within * S if within else None, spans)
    assert p.exists(hits, spans) is expected
    assert bool(_Eval(hits, spans).bindings(p, (), 1 << 80)) is expected  # the enumerating path
    found = p.binding(hits, spans)
    assert (found is not None) is expected
    if found is not None:
        assert brute_force(times, within * S if within else None, {i: spans[i] for i in found})
    for i in spans:
        with_i = p.binding(hits, spans, including=i)
        enumerated = [b for b in _Eval(hits, spans).bindings(p, (), 1 << 80) if any(j == i for j, _ in b[0])]
        assert (with_i is not None) == bool(enumerated)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["AND", "FOLLOWEDBY"]),
    st.sampled_from(["", " WITHIN 1 SECONDS", " WITHIN 4 SECONDS"]),
    occurrences,
    st.data(),
)
def test_the_pair_shortcut_equals_enumeration(op: str, within: str, spans: dict[int, Occurrence], data: Any) -> None:
    p = P(f"({A} {op} {B}){within}")
    left = data.draw(st.lists(st.sampled_from(sorted(spans) or [0]), max_size=4)) if spans else []
    right = data.draw(st.lists(st.sampled_from(sorted(spans) or [0]), max_size=4)) if spans else []
    hits = [left, right]
    ev = _Eval(hits, spans)
    assert ev.pair_of_singles(p, ()) is not None
    assert p.exists(hits, spans) is bool(ev.bindings(p, (), 1 << 80))


# --- streaming --------------------------------------------------------------------------------------------


def record(second: int, value: str, length: int = 0, count: int = 1) -> dict[str, Any]:
    def stamp(s: int) -> str:
        return f"2020-01-01T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"

    return {
        "type": "observed-data",
        "first_observed": stamp(second),
        "last_observed": stamp(second + length),
        "number_observed": count,
        "objects": {"0": {"type": "ipv4-addr", "value": value}},
    }


STREAM_PATTERNS = [
    "[ipv4-addr:value = '10.0.0.1']",
    "[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.2']",
    "([ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.2']) WITHIN 5 SECONDS",
    "[ipv4-addr:value = '10.0.0.1'] REPEATS 3 TIMES WITHIN 4 SECONDS",
    "([ipv4-addr:value ISSUBSET '10.0.0.0/8'] AND [ipv4-addr:value = '10.0.0.9']) WITHIN 3 SECONDS",
    "[ipv4-addr:value = '10.0.0.2'] REPEATS 2 TIMES OR ([ipv4-addr:value = '10.0.0.1'] AND "
    "[ipv4-addr:value = '10.0.0.9']) WITHIN 2 SECONDS",
    "([ipv4-addr:value = '10.0.0.1'] START t'2020-01-01T00:00:05Z' STOP t'2020-01-01T00:00:20Z') REPEATS 2 TIMES",
]


@st.composite
def timelines(draw: st.DrawFn) -> list[dict[str, Any]]:
    starts = sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=9)))
    return [
        record(
            s,
            draw(st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.9", "192.168.0.1"])),
            draw(st.sampled_from([0, 0, 1, 3])),
            draw(st.sampled_from([1, 1, 2])),
        )
        for s in starts
    ]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STREAM_PATTERNS), timelines())
def test_the_stream_reports_a_match_as_soon_as_the_batch_sees_one(pattern: str, records: list[dict[str, Any]]) -> None:
    matcher = Matcher(pattern)
    stream = matcher.stream()
    seen = False
    for k, rec in enumerate(records):
        found = stream.push(rec)
        if found is not None:
            assert k in found
            assert matcher.match([records[i] for i in found])  # the reported records alone match
            seen = True
        assert seen == matcher.match(records[: k + 1])
    assert stream.dropped == 0


def test_memory_stays_within_the_window() -> None:
    matcher = Matcher("([ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.2']) WITHIN 10 SECONDS")
    stream = matcher.stream()
    reports = 0
    largest = 0
    for second in range(5000):
        value = "10.0.0.2" if second % 100 == 99 else "10.0.0.1"
        if stream.push(record(second, value)) is not None:
            reports += 1
        largest = max(largest, len(stream))
    assert reports == 50
    assert largest <= 12


def test_a_burst_is_counted_without_enumerating_combinations() -> None:
    matcher = Matcher("[ipv4-addr:value = '10.0.0.1'] REPEATS 50 TIMES WITHIN 60 SECONDS")
    stream = matcher.stream()
    first_report = None
    for second in range(600):
        found = stream.push(record(second // 5, "10.0.0.1"))  # five a second
        if found is not None and first_report is None:
            first_report = second
            assert len(found) == 50
    assert first_report == 49
    records = [record(second // 5, "10.0.0.1") for second in range(600)]
    assert matcher.match(records)
    assert len(matcher.binding(records) or ()) == 50


def test_unbounded_patterns_keep_at_most_max_buffer_entries() -> None:
    matcher = Matcher("[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.2']")
    stream = matcher.stream(max_buffer=10)
    for second in range(25):
        stream.push(record(second, "10.0.0.1"))
    assert len(stream) == 10 and stream.dropped == 15
    # the new entry is buffered too, pushing out one more
    assert stream.push(record(30, "10.0.0.2")) == (16, 25)
    assert stream.dropped == 16


def test_records_must_arrive_in_time_order() -> None:
    stream = Matcher("[ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.1']").stream()
    stream.push(record(10, "10.0.0.1"))
    with pytest.raises(ValidationError):
        stream.push(record(9, "10.0.0.1"))


def test_binding_stream_speaks_positions_and_occurrences() -> None:
    stream = BindingStream(P(f"({A} FOLLOWEDBY {B}) WITHIN 2 SECONDS"))
    assert stream.push([0], Occurrence(0, 0, 1)) is None
    assert stream.push([], Occurrence(1 * S, 1 * S, 1)) is None
    assert stream.push([1], Occurrence(2 * S, 2 * S, 1)) == (0, 2)
    assert stream.push([1], Occurrence(5 * S, 5 * S, 1)) is None
    assert len(stream) == 1
