"""Coalition benchmarks: aggregates of several countries' final results, with small groups suppressed.

Pure functions, no I/O (see ``docs/capacity-benchmark.md``). :func:`benchmark_stages` takes the final
:class:`~ribat.capacity.scoring.ModelResult` of several countries for one model version and returns, per factor,
per dimension and overall, the number of contributing countries, the first quartile, the median and the third
quartile of the stage level and of the weighted completion. :func:`benchmark_weighted` does the same for the
pillar scores and the overall score of :class:`~ribat.capacity.scoring.WeightedResult`.

Quartiles are :func:`statistics.quantiles` with ``n=4`` and ``method="inclusive"``: the data are read as the whole
population, and a quartile between two values is interpolated linearly (the median is the ordinary median).

An aggregate with fewer than :data:`MINIMUM_CONTRIBUTORS` contributing countries is *suppressed*: it holds no
number at all, not even the count, only the reason :data:`SUPPRESSED_REASON`. :func:`place` and the ``*_positions``
functions put one country's own values beside the aggregates.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from ribat.capacity.scoring import DimensionResult, FactorResult, ModelResult, PillarResult, WeightedResult
from ribat.errors import ValidationError

__all__ = [
    "MINIMUM_CONTRIBUTORS",
    "SUPPRESSED_REASON",
    "Aggregate",
    "Position",
    "Quartiles",
    "StageBenchmark",
    "SubjectAggregates",
    "SubjectPosition",
    "WeightedBenchmark",
    "aggregate",
    "benchmark_stages",
    "benchmark_weighted",
    "place",
    "stage_positions",
    "weighted_positions",
]

MINIMUM_CONTRIBUTORS = 3
"""An aggregate is shown only when at least this many countries contribute to it."""

SUPPRESSED_REASON = f"fewer than {MINIMUM_CONTRIBUTORS}"
"""The only thing a suppressed aggregate says."""

Scope = Literal["factor", "dimension", "overall"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Quartiles:
    """The numbers of a shown aggregate: contributing countries, first quartile, median, third quartile."""

    count: int
    q1: float
    median: float
    q3: float


@dataclass(frozen=True)
class Aggregate:
    """One aggregate; ``values`` is ``None`` when suppressed, and then ``reason`` says why (nothing else is kept)."""

    values: Quartiles | None
    reason: str | None = None

    @property
    def suppressed(self) -> bool:
        return self.values is None


@dataclass(frozen=True)
class SubjectAggregates:
    """The aggregates of one factor, dimension (or pillar) or of the whole model.

    ``level`` aggregates stage levels in a stages model and scores (0–100) in a weighted model; ``completion`` is the
    weighted completion in percent of a stages model, ``None`` for a weighted model.
    """

    scope: Scope
    subject_id: str
    level: Aggregate
    completion: Aggregate | None


@dataclass(frozen=True)
class StageBenchmark:
    model_key: str
    factors: tuple[SubjectAggregates, ...]
    dimensions: tuple[SubjectAggregates, ...]
    overall: SubjectAggregates


@dataclass(frozen=True)
class WeightedBenchmark:
    model_key: str
    pillars: tuple[SubjectAggregates, ...]
    overall: SubjectAggregates


@dataclass(frozen=True)
class Position:
    """A country's own value beside an aggregate.

    ``value`` is the country's value (``None`` when it did not answer that subject). ``below_q1`` and ``above_q3``
    compare it with the quartiles; both are ``None`` when the aggregate is suppressed or the value is missing, so a
    suppressed aggregate reveals nothing through them.
    """

    value: float | None
    below_q1: bool | None
    above_q3: bool | None


@dataclass(frozen=True)
class SubjectPosition:
    scope: Scope
    subject_id: str
    level: Position
    completion: Position | None


# --------------------------------------------------------------------------------------------- aggregates


def aggregate(values: Sequence[float], *, minimum: int = MINIMUM_CONTRIBUTORS) -> Aggregate:
    """Count and quartiles of ``values`` (one per contributing country), suppressed below ``minimum`` values."""
    if minimum < 2:
        raise ValidationError("minimum", f"must be at least 2, got {minimum}")
    if len(values) < minimum:
        return Aggregate(values=None, reason=f"fewer than {minimum}")
    q1, median, q3 = statistics.quantiles([float(v) for v in values], n=4, method="inclusive")
    return Aggregate(values=Quartiles(count=len(values), q1=q1, median=median, q3=q3))


def place(agg: Aggregate, value: float | None) -> Position:
    """``value`` beside ``agg``: below the first quartile, above the third, or (both ``False``) between them."""
    if agg.values is None or value is None:
        return Position(value=value, below_q1=None, above_q3=None)
    return Position(value=value, below_q1=value < agg.values.q1, above_q3=value > agg.values.q3)


def _check_results(results: Sequence[tuple[str, ModelResult]] | Sequence[tuple[str, WeightedResult]]) -> str:
    if not results:
        raise ValidationError("results", "a benchmark needs at least one result")
    seen: set[str] = set()
    for code, _ in results:
        if not code.strip():
            raise ValidationError("country", "a country code is empty")
        if code in seen:
            raise ValidationError("country", f"{code} has more than one result")
        seen.add(code)
    keys = sorted({result.model_key for _, result in results})
    if len(keys) > 1:
        raise ValidationError("model_key", f"results of different model versions cannot be mixed: {', '.join(keys)}")
    return keys[0]


def _answered_factor(factor: FactorResult) -> bool:
    return bool(factor.met or factor.partly_met or factor.not_met)


def _answered_dimension(dimension: DimensionResult) -> bool:
    return any(_answered_factor(f) for f in dimension.factors)


def _answered_pillar(pillar: PillarResult) -> bool:
    return bool(pillar.yes or pillar.no or pillar.partly_met)


def _completions(items: Sequence[float | None]) -> list[float]:
    return [c for c in items if c is not None]


def benchmark_stages(
    results: Sequence[tuple[str, ModelResult]], *, minimum: int = MINIMUM_CONTRIBUTORS
) -> StageBenchmark:
    """Coalition aggregates of the ``(country code, final result)`` pairs, all of one model version.

    A country contributes to a factor when it gave at least one known answer (met, partly met or not met) to it; a
    factor it left wholly unknown is left out of that factor's aggregates. It contributes to a dimension (level: the
    median stage of the dimension's factors; completion: the dimension's completion) when it answered at least one
    of its factors, and to the overall aggregates when it answered at least one factor of the model.
    """
    model_key = _check_results(results)
    factor_order: dict[str, None] = {}
    dimension_order: dict[str, None] = {}
    for _, result in results:
        for dimension in result.dimensions:
            dimension_order.setdefault(dimension.dimension_id)
            for factor in dimension.factors:
                factor_order.setdefault(factor.factor_id)

    def factor_rows(factor_id: str) -> list[FactorResult]:
        rows = []
        for _, result in results:
            try:
                factor = result.factor(factor_id)
            except KeyError:
                continue
            if _answered_factor(factor):
                rows.append(factor)
        return rows

    def dimension_rows(dimension_id: str) -> list[DimensionResult]:
        rows = []
        for _, result in results:
            try:
                dimension = result.dimension(dimension_id)
            except KeyError:
                continue
            if _answered_dimension(dimension):
                rows.append(dimension)
        return rows

    factors = []
    for factor_id in factor_order:
        f_rows = factor_rows(factor_id)
        factors.append(
            SubjectAggregates(
                scope="factor",
                subject_id=factor_id,
                level=aggregate([f.stage for f in f_rows], minimum=minimum),
                completion=aggregate(_completions([f.completion for f in f_rows]), minimum=minimum),
            )
        )
    dimensions = []
    for dimension_id in dimension_order:
        d_rows = dimension_rows(dimension_id)
        dimensions.append(
            SubjectAggregates(
                scope="dimension",
                subject_id=dimension_id,
                level=aggregate([d.summary.median for d in d_rows], minimum=minimum),
                completion=aggregate(_completions([d.completion for d in d_rows]), minimum=minimum),
            )
        )
    answered = [r for _, r in results if any(_answered_dimension(d) for d in r.dimensions)]
    overall = SubjectAggregates(
        scope="overall",
        subject_id=model_key,
        level=aggregate([r.summary.median for r in answered], minimum=minimum),
        completion=aggregate(_completions([r.completion for r in answered]), minimum=minimum),
    )
    return StageBenchmark(model_key=model_key, factors=tuple(factors), dimensions=tuple(dimensions), overall=overall)


def benchmark_weighted(
    results: Sequence[tuple[str, WeightedResult]], *, minimum: int = MINIMUM_CONTRIBUTORS
) -> WeightedBenchmark:
    """Coalition aggregates of pillar scores and overall scores of a weighted (GCI-style) model version.

    A country contributes to a pillar when it answered at least one of its questions (yes, no or partly met), and to
    the overall score when it answered at least one question of the model.
    """
    model_key = _check_results(results)
    pillar_order: dict[str, None] = {}
    for _, result in results:
        for pillar in result.pillars:
            pillar_order.setdefault(pillar.dimension_id)
    pillars = []
    for pillar_id in pillar_order:
        scores = []
        for _, result in results:
            try:
                pillar = result.pillar(pillar_id)
            except KeyError:
                continue
            if _answered_pillar(pillar):
                scores.append(pillar.score)
        pillars.append(
            SubjectAggregates(
                scope="dimension", subject_id=pillar_id, level=aggregate(scores, minimum=minimum), completion=None
            )
        )
    answered = [r.score for _, r in results if any(_answered_pillar(p) for p in r.pillars)]
    overall = SubjectAggregates(
        scope="overall", subject_id=model_key, level=aggregate(answered, minimum=minimum), completion=None
    )
    return WeightedBenchmark(model_key=model_key, pillars=tuple(pillars), overall=overall)


# --------------------------------------------------------------------------------------------- positions


def _own_check(benchmark_key: str, result_key: str) -> None:
    if benchmark_key != result_key:
        raise ValidationError("model_key", f"the result is for {result_key}, the benchmark for {benchmark_key}")


def _position(subject: SubjectAggregates, level: float | None, completion: float | None) -> SubjectPosition:
    return SubjectPosition(
        scope=subject.scope,
        subject_id=subject.subject_id,
        level=place(subject.level, level),
        completion=None if subject.completion is None else place(subject.completion, completion),
    )


def _lookup(get: Callable[[str], _T], key: str) -> _T | None:
    try:
        return get(key)
    except KeyError:
        return None


def stage_positions(benchmark: StageBenchmark, result: ModelResult) -> tuple[SubjectPosition, ...]:
    """One country's ``result`` beside ``benchmark``: its factors, then its dimensions, then overall.

    The country's values are ``None`` where it did not contribute (a factor it left wholly unknown).
    """
    _own_check(benchmark.model_key, result.model_key)
    rows = []
    for subject in benchmark.factors:
        factor = _lookup(result.factor, subject.subject_id)
        if factor is None or not _answered_factor(factor):
            rows.append(_position(subject, None, None))
        else:
            rows.append(_position(subject, factor.stage, factor.completion))
    for subject in benchmark.dimensions:
        dimension = _lookup(result.dimension, subject.subject_id)
        if dimension is None or not _answered_dimension(dimension):
            rows.append(_position(subject, None, None))
        else:
            rows.append(_position(subject, dimension.summary.median, dimension.completion))
    answered = any(_answered_dimension(d) for d in result.dimensions)
    overall = benchmark.overall
    rows.append(
        _position(overall, result.summary.median, result.completion) if answered else _position(overall, None, None)
    )
    return tuple(rows)


def weighted_positions(benchmark: WeightedBenchmark, result: WeightedResult) -> tuple[SubjectPosition, ...]:
    """One country's weighted ``result`` beside ``benchmark``: its pillars, then overall."""
    _own_check(benchmark.model_key, result.model_key)
    rows = []
    for subject in benchmark.pillars:
        pillar = _lookup(result.pillar, subject.subject_id)
        value = pillar.score if pillar is not None and _answered_pillar(pillar) else None
        rows.append(_position(subject, value, None))
    answered = any(_answered_pillar(p) for p in result.pillars)
    rows.append(_position(benchmark.overall, result.score if answered else None, None))
    return tuple(rows)
