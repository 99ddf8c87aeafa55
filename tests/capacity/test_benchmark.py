"""Coalition benchmarks on small hand-built models; every median and quartile is worked out by hand in the test."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.capacity.benchmark import (
    SUPPRESSED_REASON,
    Aggregate,
    Quartiles,
    StageBenchmark,
    SubjectAggregates,
    aggregate,
    benchmark_stages,
    benchmark_weighted,
    place,
    stage_positions,
    weighted_positions,
)
from ribat.capacity.scoring import Answer, ModelResult, WeightedResult, score_stages, score_weighted
from ribat.capacity.types import Dimension, Factor, Indicator, Model, Stage, Tier
from ribat.errors import ValidationError

M, P, N, U = Answer.MET, Answer.PARTLY_MET, Answer.NOT_MET, Answer.UNKNOWN
T = {"en": "text", "ar": "نص", "fr": "texte"}
STAGES = tuple(Stage(id=f"s{level}", level=level, name=T) for level in range(1, 6))


def ladder(fid: str, dim: str) -> Factor:
    """A factor with one indicator of weight 1 per stage: ``{fid}.1`` at stage 1 up to ``{fid}.5`` at stage 5."""
    return Factor(
        id=fid,
        name=T,
        indicators=tuple(
            Indicator(id=f"{fid}.{level}", stage=f"s{level}", weight=1, text=T, dimension=dim, factor=fid)
            for level in range(1, 6)
        ),
    )


def cmm(version: str = "1") -> Model:
    """Two dimensions: d1 with factors f1 and f2, d2 with factor f3."""
    return Model(
        id="cmm",
        version=version,
        kind="stages",
        title=T,
        stages=STAGES,
        dimensions=(
            Dimension(id="d1", name=T, factors=(ladder("f1", "d1"), ladder("f2", "d1"))),
            Dimension(id="d2", name=T, factors=(ladder("f3", "d2"),)),
        ),
    )


def at(fid: str, stage: int) -> dict[str, Answer]:
    """Answers making ladder factor ``fid`` reach exactly ``stage`` (met up to it, not met above)."""
    return {f"{fid}.{level}": (M if level <= stage else N) for level in range(1, 6)}


def country(f1: int | None, f2: int | None, f3: int | None, model: Model | None = None) -> ModelResult:
    """A country at the given stages; ``None`` leaves the factor wholly unknown."""
    answers: dict[str, Answer] = {}
    for fid, stage in (("f1", f1), ("f2", f2), ("f3", f3)):
        if stage is not None:
            answers.update(at(fid, stage))
    return score_stages(model or cmm(), answers)


def subject(items: Sequence[SubjectAggregates], subject_id: str) -> SubjectAggregates:
    return next(s for s in items if s.subject_id == subject_id)


def numbers(value: object) -> Iterator[float]:
    """Every int or float held anywhere in ``value`` (dataclasses, tuples and dicts walked)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from numbers(getattr(value, item.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)


# ------------------------------------------------------------------------------------------ aggregates


def test_quartiles_are_inclusive_and_interpolated() -> None:
    # [1, 2, 3, 4]: positions (n - 1) × p = 0.75, 1.5, 2.25 → 1.75, 2.5, 3.25
    assert aggregate([4, 1, 3, 2]).values == Quartiles(count=4, q1=1.75, median=2.5, q3=3.25)
    # [0, 2, 5]: positions 0.5, 1, 1.5 → 1, 2, 3.5
    assert aggregate([5, 0, 2]).values == Quartiles(count=3, q1=1.0, median=2.0, q3=3.5)


def test_an_aggregate_of_two_values_holds_only_the_reason() -> None:
    agg = aggregate([1, 4])
    assert agg == Aggregate(values=None, reason=SUPPRESSED_REASON)
    assert agg.suppressed
    assert SUPPRESSED_REASON == "fewer than 3"


def test_factor_and_dimension_aggregates_of_four_countries() -> None:
    results = [
        ("AA", country(1, 0, 5)),
        ("BB", country(2, 2, 0)),
        ("CC", country(3, 4, 2)),
        ("DD", country(4, 4, 5)),
    ]
    bench = benchmark_stages(results)
    assert bench.model_key == "cmm@1"
    f1 = subject(bench.factors, "f1")
    assert f1.scope == "factor"
    assert f1.level.values == Quartiles(count=4, q1=1.75, median=2.5, q3=3.25)
    # completion of a ladder at stage s is 20 × s percent: 20, 40, 60, 80
    assert f1.completion is not None
    assert f1.completion.values == Quartiles(count=4, q1=35.0, median=50.0, q3=65.0)
    # f2 stages [0, 2, 4, 4]: positions 0.75, 1.5, 2.25 → 1.5, 3, 4
    assert subject(bench.factors, "f2").level.values == Quartiles(count=4, q1=1.5, median=3.0, q3=4.0)
    # d1 level = median of its two factors: AA 0.5, BB 2, CC 3.5, DD 4 → q1 1.625, median 2.75, q3 3.625
    d1 = subject(bench.dimensions, "d1")
    assert d1.scope == "dimension"
    assert d1.level.values == Quartiles(count=4, q1=1.625, median=2.75, q3=3.625)
    # d1 completion = (f1 + f2 stages) × 10: 10, 40, 70, 80 → 32.5, 55, 72.5
    assert d1.completion is not None
    assert d1.completion.values == Quartiles(count=4, q1=32.5, median=55.0, q3=72.5)
    # overall level = median of the three factors: AA 1, BB 2, CC 3, DD 4
    assert bench.overall.scope == "overall"
    assert bench.overall.level.values == Quartiles(count=4, q1=1.75, median=2.5, q3=3.25)


def test_exactly_two_countries_are_suppressed_everywhere_and_reveal_nothing() -> None:
    bench = benchmark_stages([("AA", country(1, 2, 3)), ("BB", country(5, 4, 0))])
    subjects = [*bench.factors, *bench.dimensions, bench.overall]
    assert [s.subject_id for s in subjects] == ["f1", "f2", "f3", "d1", "d2", "cmm@1"]
    for item in subjects:
        assert item.level == Aggregate(values=None, reason="fewer than 3")
        assert item.completion == Aggregate(values=None, reason="fewer than 3")
    assert list(numbers(bench)) == []


def test_three_countries_are_shown() -> None:
    bench = benchmark_stages([("AA", country(0, 1, 1)), ("BB", country(2, 1, 1)), ("CC", country(5, 1, 1))])
    assert subject(bench.factors, "f1").level.values == Quartiles(count=3, q1=1.0, median=2.0, q3=3.5)
    assert all(not s.level.suppressed for s in (*bench.factors, *bench.dimensions, bench.overall))


def test_a_factor_left_wholly_unknown_does_not_count_for_it() -> None:
    results = [
        ("AA", country(1, 1, 2)),
        ("BB", country(2, 3, 2)),
        ("CC", country(3, None, 2)),
        ("DD", country(4, None, None)),
    ]
    bench = benchmark_stages(results)
    assert subject(bench.factors, "f1").level.values == Quartiles(count=4, q1=1.75, median=2.5, q3=3.25)
    # only AA and BB answered f2: suppressed, although four countries took part
    f2 = subject(bench.factors, "f2")
    assert f2.level.suppressed and f2.completion is not None and f2.completion.suppressed
    # f3: AA, BB, CC; DD answered nothing in d2, so d2 has three contributors too
    assert subject(bench.factors, "f3").level.values == Quartiles(count=3, q1=2.0, median=2.0, q3=2.0)
    assert subject(bench.dimensions, "d2").level.values == Quartiles(count=3, q1=2.0, median=2.0, q3=2.0)
    # d1 is answered by all four (each answered f1)
    d1 = subject(bench.dimensions, "d1").level.values
    assert d1 is not None and d1.count == 4


def test_a_factor_answered_only_partly_or_with_not_met_counts() -> None:
    only_partly = score_stages(cmm(), {"f1.1": P})
    results = [("AA", only_partly), ("BB", country(1, 1, 1)), ("CC", country(3, 1, 1))]
    f1 = subject(benchmark_stages(results).factors, "f1").level.values
    assert f1 == Quartiles(count=3, q1=0.5, median=1.0, q3=2.0)


def test_mixing_model_versions_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        benchmark_stages([("AA", country(1, 1, 1)), ("BB", country(1, 1, 1, cmm("2"))), ("CC", country(1, 1, 1))])
    assert caught.value.field == "model_key"
    assert "cmm@1" in caught.value.reason and "cmm@2" in caught.value.reason


def test_a_country_twice_or_no_result_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        benchmark_stages([("AA", country(1, 1, 1)), ("AA", country(2, 2, 2)), ("CC", country(1, 1, 1))])
    assert caught.value.field == "country"
    assert "AA" in caught.value.reason
    with pytest.raises(ValidationError) as caught:
        benchmark_stages([])
    assert caught.value.field == "results"


# ------------------------------------------------------------------------------------------ positions


def test_place_says_below_q1_above_q3_or_between() -> None:
    shown = aggregate([1, 2, 3, 4])  # q1 1.75, q3 3.25
    assert (place(shown, 1).below_q1, place(shown, 1).above_q3) == (True, False)
    assert (place(shown, 2).below_q1, place(shown, 2).above_q3) == (False, False)
    assert (place(shown, 3.25).below_q1, place(shown, 3.25).above_q3) == (False, False)
    assert (place(shown, 4).below_q1, place(shown, 4).above_q3) == (False, True)
    hidden = place(aggregate([1, 4]), 1)
    assert (hidden.value, hidden.below_q1, hidden.above_q3) == (1, None, None)


def test_a_country_sees_its_own_levels_beside_the_aggregates() -> None:
    results = [
        ("AA", country(1, 0, 5)),
        ("BB", country(2, 2, None)),
        ("CC", country(3, 4, None)),
        ("DD", country(4, 4, 5)),
    ]
    bench = benchmark_stages(results)
    rows = {(r.scope, r.subject_id): r for r in stage_positions(bench, results[0][1])}
    assert list(rows) == [
        ("factor", "f1"),
        ("factor", "f2"),
        ("factor", "f3"),
        ("dimension", "d1"),
        ("dimension", "d2"),
        ("overall", "cmm@1"),
    ]
    f1 = rows[("factor", "f1")]
    assert (f1.level.value, f1.level.below_q1, f1.level.above_q3) == (1, True, False)
    assert f1.completion is not None and f1.completion.value == 20.0 and f1.completion.below_q1
    # f3 has two contributors: AA sees its own stage, but no comparison
    f3 = rows[("factor", "f3")]
    assert (f3.level.value, f3.level.below_q1, f3.level.above_q3) == (5, None, None)
    # BB left f3 unknown: no own value there
    bb = {(r.scope, r.subject_id): r for r in stage_positions(bench, results[1][1])}
    assert bb[("factor", "f3")].level.value is None


def test_positions_of_another_model_version_are_refused() -> None:
    bench = benchmark_stages([("AA", country(1, 1, 1)), ("BB", country(1, 1, 1)), ("CC", country(1, 1, 1))])
    with pytest.raises(ValidationError) as caught:
        stage_positions(bench, country(1, 1, 1, cmm("2")))
    assert caught.value.field == "model_key"


# ------------------------------------------------------------------------------------------ weighted


def gci(version: str = "1") -> Model:
    """Two pillars of equal weight: p1 with questions q1 (weight 1) and q2 (weight 3); p2 with q3 (weight 1)."""

    def question(qid: str, pillar: str, weight: float) -> Indicator:
        return Indicator(id=qid, stage=None, weight=weight, text=T, dimension=pillar, factor=f"{pillar}.a")

    return Model(
        id="gci",
        version=version,
        kind="weighted",
        title=T,
        tiers=(Tier(id="low", lower_bound=0, name=T), Tier(id="high", lower_bound=50, name=T)),
        dimensions=(
            Dimension(
                id="p1",
                name=T,
                weight=1,
                factors=(Factor(id="p1.a", name=T, indicators=(question("q1", "p1", 1), question("q2", "p1", 3))),),
            ),
            Dimension(
                id="p2", name=T, weight=1, factors=(Factor(id="p2.a", name=T, indicators=(question("q3", "p2", 1),)),)
            ),
        ),
    )


def weighted(q1: Answer, q2: Answer, q3: Answer, model: Model | None = None) -> WeightedResult:
    return score_weighted(model or gci(), {"q1": q1, "q2": q2, "q3": q3})


def test_weighted_pillar_and_overall_aggregates() -> None:
    # p1 scores: 100, 75, 25, 0; p2 scores: 100, 0, 100, unknown; overall: 100, 37.5, 62.5, 0
    results = [
        ("AA", weighted(M, M, M)),
        ("BB", weighted(N, M, N)),
        ("CC", weighted(M, P, M)),
        ("DD", weighted(N, N, U)),
    ]
    bench = benchmark_weighted(results)
    p1 = subject(bench.pillars, "p1")
    assert p1.completion is None
    # [0, 25, 75, 100] → 18.75, 50, 81.25
    assert p1.level.values == Quartiles(count=4, q1=18.75, median=50.0, q3=81.25)
    # p2: DD left it unknown → [0, 100, 100] → 50, 100, 100
    assert subject(bench.pillars, "p2").level.values == Quartiles(count=3, q1=50.0, median=100.0, q3=100.0)
    # overall [0, 37.5, 62.5, 100] → 28.125, 50, 71.875
    assert bench.overall.level.values == Quartiles(count=4, q1=28.125, median=50.0, q3=71.875)
    rows = weighted_positions(bench, results[3][1])
    assert [(r.subject_id, r.level.value, r.level.below_q1) for r in rows] == [
        ("p1", 0.0, True),
        ("p2", None, None),
        ("gci@1", 0.0, True),
    ]


def test_weighted_two_countries_suppressed_and_versions_not_mixed() -> None:
    bench = benchmark_weighted([("AA", weighted(M, M, M)), ("BB", weighted(N, N, N))])
    assert all(s.level.suppressed for s in (*bench.pillars, bench.overall))
    assert list(numbers(bench)) == []
    with pytest.raises(ValidationError) as caught:
        benchmark_weighted([("AA", weighted(M, M, M)), ("BB", weighted(N, N, N, gci("2")))])
    assert caught.value.field == "model_key"


# ------------------------------------------------------------------------------------------ property

stage_or_unknown = st.one_of(st.none(), st.integers(min_value=0, max_value=5))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(stage_or_unknown, stage_or_unknown, stage_or_unknown), min_size=1, max_size=6))
def test_no_aggregate_of_fewer_than_three_countries_carries_numbers(
    stages: list[tuple[int | None, int | None, int | None]],
) -> None:
    model = cmm()
    results = [(f"C{n}", country(row[0], row[1], row[2], model=model)) for n, row in enumerate(stages)]
    bench: StageBenchmark = benchmark_stages(results)
    contributors = {
        "f1": sum(row[0] is not None for row in stages),
        "f2": sum(row[1] is not None for row in stages),
        "f3": sum(row[2] is not None for row in stages),
        "d1": sum(row[0] is not None or row[1] is not None for row in stages),
        "d2": sum(row[2] is not None for row in stages),
        "cmm@1": sum(any(v is not None for v in row) for row in stages),
    }
    for item in (*bench.factors, *bench.dimensions, bench.overall):
        expected = contributors[item.subject_id]
        for agg in (item.level, item.completion):
            assert agg is not None
            if expected < 3:
                assert agg.values is None and agg.reason == "fewer than 3"
                assert list(numbers(agg)) == []
            else:
                assert agg.values is not None and agg.values.count == expected
