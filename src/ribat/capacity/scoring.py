"""The scoring engine: answers in, results out. Pure functions, no I/O.

Two model kinds are scored (see ``docs/capacity-scoring.md``, section "Scoring"):

* ``stages`` models (CMM style) by :func:`score_stages`: per factor, the stage reached is the highest
  stage whose indicators, and those of every lower stage, are all *met*. "Partly met" does not reach a
  stage (it is reported, and counts half in the weighted completion); "unknown" counts as not met, and
  every result also carries its optimistic bound: the value it would take if every unknown answer were met.
* ``weighted`` models (GCI style) by :func:`score_weighted`: per pillar, the weighted share of questions
  answered yes (met), 0–100; overall, the pillar scores weighted by pillar weight; the tier is the one with
  the highest lower bound not above the score. Unknown counts as no, with the same optimistic bound.

Arithmetic is exact (:class:`fractions.Fraction` over the decimal text of each weight), so a score that
lands on a tier's lower bound is in that tier; results hold unrounded floats and are rounded only when
shown.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from ribat.capacity.types import Dimension, Factor, Indicator, Model, Tier
from ribat.errors import ValidationError

__all__ = [
    "Answer",
    "Answers",
    "DimensionResult",
    "FactorResult",
    "ModelResult",
    "PillarResult",
    "StageResult",
    "StageSummary",
    "WeightedResult",
    "parse_answer",
    "score",
    "score_factor",
    "score_stages",
    "score_weighted",
    "summarize",
]


class Answer(StrEnum):
    """An assessor's (or the review's consensus) answer to one indicator."""

    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


Answers = Mapping[str, Answer]
"""Indicator id → answer. An indicator absent from the mapping is :attr:`Answer.UNKNOWN`."""

# Credit of each answer in a weighted completion or score, as (actual, optimistic): unknown is 0 for the
# actual value and 1 for the optimistic bound ("what if every unknown were met").
_COMPLETION_CREDIT: dict[Answer, tuple[Fraction, Fraction]] = {
    Answer.MET: (Fraction(1), Fraction(1)),
    Answer.PARTLY_MET: (Fraction(1, 2), Fraction(1, 2)),
    Answer.NOT_MET: (Fraction(0), Fraction(0)),
    Answer.UNKNOWN: (Fraction(0), Fraction(1)),
}
# A yes/no question has no half answer: partly met is not a yes.
_YES_CREDIT: dict[Answer, tuple[Fraction, Fraction]] = {
    Answer.MET: (Fraction(1), Fraction(1)),
    Answer.PARTLY_MET: (Fraction(0), Fraction(0)),
    Answer.NOT_MET: (Fraction(0), Fraction(0)),
    Answer.UNKNOWN: (Fraction(0), Fraction(1)),
}


def parse_answer(value: str) -> Answer:
    """``value`` ("met", "partly_met", "not_met", "unknown"; "partly met"/"not met" with a space too) as an Answer."""
    text = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return Answer(text)
    except ValueError:
        allowed = ", ".join(a.value for a in Answer)
        raise ValidationError("answer", f"{value!r} is not one of {allowed}") from None


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StageSummary:
    """Minimum, median and mean of a set of factor stage levels (0 = no stage reached, up to the top level)."""

    minimum: int
    median: float
    mean: float
    count: int


@dataclass(frozen=True)
class FactorResult:
    """The stage a factor reached and how complete it is.

    ``stage`` is the level reached (0 = none) with unknown answers counted as not met; ``stage_high`` is the
    level it would reach if every unknown answer were met, so the true level lies in ``stage..stage_high``.
    ``completion`` is the weighted completion in percent (met 1, partly met 0.5, not met and unknown 0),
    ``completion_high`` the same with unknown counted as met; both are ``None`` for a factor without
    indicators. ``next_stage`` is the level of the first stage above ``stage`` that has indicators (``None``
    at the top) and ``blocking`` the ids of its indicators that are not met.
    """

    factor_id: str
    dimension_id: str
    stage: int
    stage_high: int
    completion: float | None
    completion_high: float | None
    met: tuple[str, ...]
    partly_met: tuple[str, ...]
    not_met: tuple[str, ...]
    unknown: tuple[str, ...]
    next_stage: int | None
    blocking: tuple[str, ...]

    @property
    def stage_range(self) -> tuple[int, int]:
        """``(stage, stage_high)``: how far unknown answers could move the result."""
        return (self.stage, self.stage_high)


@dataclass(frozen=True)
class DimensionResult:
    """A dimension's factors and their summary (``summary_high``: every unknown met)."""

    dimension_id: str
    factors: tuple[FactorResult, ...]
    summary: StageSummary
    summary_high: StageSummary
    completion: float | None
    completion_high: float | None


@dataclass(frozen=True)
class ModelResult:
    """The result of a ``stages`` model; ``summary`` covers every factor of every dimension, each once."""

    model_key: str
    top_stage: int
    dimensions: tuple[DimensionResult, ...]
    summary: StageSummary
    summary_high: StageSummary
    completion: float | None
    completion_high: float | None

    def factor(self, factor_id: str) -> FactorResult:
        for dimension in self.dimensions:
            for factor in dimension.factors:
                if factor.factor_id == factor_id:
                    return factor
        raise KeyError(factor_id)

    def dimension(self, dimension_id: str) -> DimensionResult:
        for dimension in self.dimensions:
            if dimension.dimension_id == dimension_id:
                return dimension
        raise KeyError(dimension_id)


StageResult = ModelResult


@dataclass(frozen=True)
class PillarResult:
    """One pillar of a weighted model: score 0–100 (unknown = no) and ``score_high`` (unknown = yes)."""

    dimension_id: str
    weight: float
    score: float
    score_high: float
    yes: tuple[str, ...]
    no: tuple[str, ...]
    partly_met: tuple[str, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class WeightedResult:
    """The result of a ``weighted`` model: overall 0–100 score and tier, with the optimistic bound of both."""

    model_key: str
    pillars: tuple[PillarResult, ...]
    score: float
    score_high: float
    tier: Tier
    tier_high: Tier

    @property
    def score_range(self) -> tuple[float, float]:
        return (self.score, self.score_high)

    def pillar(self, dimension_id: str) -> PillarResult:
        for pillar in self.pillars:
            if pillar.dimension_id == dimension_id:
                return pillar
        raise KeyError(dimension_id)


# --------------------------------------------------------------------------------------------- helpers


def _exact(value: float) -> Fraction:
    """``value`` as the exact fraction of its decimal text (0.1 → 1/10, not the binary float's value)."""
    return Fraction(str(value))


def _answer(answers: Answers, indicator_id: str) -> Answer:
    answer = answers.get(indicator_id, Answer.UNKNOWN)
    if isinstance(answer, Answer):
        return answer
    try:
        return Answer(answer)  # the plain text of an answer ("met") is accepted too
    except ValueError:
        allowed = ", ".join(a.value for a in Answer)
        raise ValidationError(f"answers.{indicator_id}", f"{answer!r} is not one of {allowed}") from None


def _weight(indicator: Indicator) -> Fraction:
    weight = _exact(indicator.weight)
    if weight <= 0:
        raise ValidationError(f"indicators.{indicator.id}.weight", f"must be positive, got {indicator.weight}")
    return weight


def _check_answer_ids(model: Model, answers: Answers) -> None:
    known = {indicator.id for indicator in model.indicators()}
    stray = sorted(set(answers) - known)
    if stray:
        raise ValidationError("answers", f"no indicator {', '.join(stray)} in model {model.key}")


def _percent(indicators: Iterable[Indicator], answers: Answers) -> tuple[float | None, float | None]:
    """Weighted completion (actual, optimistic) in percent, ``None`` when there is nothing to weigh."""
    total = Fraction(0)
    low = Fraction(0)
    high = Fraction(0)
    for indicator in indicators:
        weight = _weight(indicator)
        credit_low, credit_high = _COMPLETION_CREDIT[_answer(answers, indicator.id)]
        total += weight
        low += weight * credit_low
        high += weight * credit_high
    if total == 0:
        return None, None
    return float(100 * low / total), float(100 * high / total)


def summarize(levels: Sequence[int]) -> StageSummary:
    """Minimum, median and mean of stage ``levels``; at least one level is needed."""
    if not levels:
        raise ValidationError("levels", "a summary needs at least one factor")
    return StageSummary(
        minimum=min(levels),
        median=float(statistics.median(levels)),
        mean=float(Fraction(sum(levels), len(levels))),
        count=len(levels),
    )


# --------------------------------------------------------------------------------------------- stages


def _levels(model: Model) -> dict[str, int]:
    if model.kind != "stages":
        raise ValidationError("model", f"{model.key} is a {model.kind} model, not a stages model")
    if not model.stages:
        raise ValidationError("model.stages", f"{model.key} has no stages")
    return {stage.id: stage.level for stage in model.stages}


def _reached(by_level: Sequence[tuple[int, Sequence[Answer]]], passes: frozenset[Answer]) -> int:
    """The highest level such that every answer at it and below passes; stage levels without indicators in
    the factor are passed through but never reached on their own."""
    reached = 0
    for level, level_answers in by_level:
        if not all(answer in passes for answer in level_answers):
            break
        reached = level
    return reached


_MET = frozenset({Answer.MET})
_MET_OR_UNKNOWN = frozenset({Answer.MET, Answer.UNKNOWN})


def _score_factor(factor: Factor, dimension_id: str, answers: Answers, levels: Mapping[str, int]) -> FactorResult:
    grouped: dict[int, list[Indicator]] = {}
    for indicator in factor.indicators:
        level = levels.get(indicator.stage or "")
        if level is None:
            reason = f"{indicator.stage!r} is not a stage of the model"
            raise ValidationError(f"indicators.{indicator.id}.stage", reason)
        grouped.setdefault(level, []).append(indicator)
    by_level = [(level, [_answer(answers, i.id) for i in grouped[level]]) for level in sorted(grouped)]
    stage = _reached(by_level, _MET)
    stage_high = _reached(by_level, _MET_OR_UNKNOWN)
    next_stage = next((level for level in sorted(grouped) if level > stage), None)
    blocking = (
        tuple(i.id for i in grouped[next_stage] if _answer(answers, i.id) != Answer.MET)
        if next_stage is not None
        else ()
    )

    def ids(kind: Answer) -> tuple[str, ...]:
        return tuple(i.id for i in factor.indicators if _answer(answers, i.id) == kind)

    completion, completion_high = _percent(factor.indicators, answers)
    return FactorResult(
        factor_id=factor.id,
        dimension_id=dimension_id,
        stage=stage,
        stage_high=stage_high,
        completion=completion,
        completion_high=completion_high,
        met=ids(Answer.MET),
        partly_met=ids(Answer.PARTLY_MET),
        not_met=ids(Answer.NOT_MET),
        unknown=ids(Answer.UNKNOWN),
        next_stage=next_stage,
        blocking=blocking,
    )


def score_factor(model: Model, factor: Factor, answers: Answers, *, dimension_id: str | None = None) -> FactorResult:
    """Score one factor of the ``stages`` model ``model``; ``dimension_id`` defaults to its indicators' dimension."""
    if dimension_id is None:
        dimension_id = factor.indicators[0].dimension if factor.indicators else ""
    return _score_factor(factor, dimension_id, answers, _levels(model))


def _score_dimension(dimension: Dimension, answers: Answers, levels: Mapping[str, int]) -> DimensionResult:
    if not dimension.factors:
        raise ValidationError(f"dimensions.{dimension.id}.factors", "a dimension needs at least one factor")
    factors = tuple(_score_factor(f, dimension.id, answers, levels) for f in dimension.factors)
    completion, completion_high = _percent(dimension.indicators(), answers)
    return DimensionResult(
        dimension_id=dimension.id,
        factors=factors,
        summary=summarize([f.stage for f in factors]),
        summary_high=summarize([f.stage_high for f in factors]),
        completion=completion,
        completion_high=completion_high,
    )


def score_stages(model: Model, answers: Answers) -> ModelResult:
    """Score a ``stages`` model: every factor's stage, dimension and overall summaries, weighted completion."""
    levels = _levels(model)
    _check_answer_ids(model, answers)
    dimensions = tuple(_score_dimension(d, answers, levels) for d in model.dimensions)
    if not dimensions:
        raise ValidationError("model.dimensions", f"{model.key} has no dimensions")
    factors = [f for d in dimensions for f in d.factors]
    completion, completion_high = _percent(model.indicators(), answers)
    return ModelResult(
        model_key=model.key,
        top_stage=max(levels.values()),
        dimensions=dimensions,
        summary=summarize([f.stage for f in factors]),
        summary_high=summarize([f.stage_high for f in factors]),
        completion=completion,
        completion_high=completion_high,
    )


# --------------------------------------------------------------------------------------------- weighted


def _tier(tiers: Sequence[Tier], score: Fraction) -> Tier:
    chosen = tiers[0]
    for tier in tiers:
        if _exact(tier.lower_bound) <= score:
            chosen = tier
    return chosen


def _score_pillar(dimension: Dimension, answers: Answers) -> tuple[PillarResult, Fraction, Fraction]:
    indicators = list(dimension.indicators())
    if not indicators:
        raise ValidationError(f"dimensions.{dimension.id}", "a pillar needs at least one question")
    total = low = high = Fraction(0)
    groups: dict[Answer, list[str]] = {answer: [] for answer in Answer}
    for indicator in indicators:
        weight = _weight(indicator)
        answer = _answer(answers, indicator.id)
        credit_low, credit_high = _YES_CREDIT[answer]
        total += weight
        low += weight * credit_low
        high += weight * credit_high
        groups[answer].append(indicator.id)
    score, score_high = 100 * low / total, 100 * high / total
    pillar = PillarResult(
        dimension_id=dimension.id,
        weight=dimension.weight,
        score=float(score),
        score_high=float(score_high),
        yes=tuple(groups[Answer.MET]),
        no=tuple(groups[Answer.NOT_MET]),
        partly_met=tuple(groups[Answer.PARTLY_MET]),
        unknown=tuple(groups[Answer.UNKNOWN]),
    )
    return pillar, score, score_high


def score_weighted(model: Model, answers: Answers) -> WeightedResult:
    """Score a ``weighted`` (GCI-style) model: pillar scores, overall 0–100 score and tier."""
    if model.kind != "weighted":
        raise ValidationError("model", f"{model.key} is a {model.kind} model, not a weighted model")
    if not model.dimensions:
        raise ValidationError("model.dimensions", f"{model.key} has no pillars")
    tiers = sorted(model.tiers, key=lambda t: _exact(t.lower_bound))
    if not tiers or _exact(tiers[0].lower_bound) > 0:
        raise ValidationError("model.tiers", f"{model.key} needs tiers, the lowest starting at 0")
    _check_answer_ids(model, answers)
    total = low = high = Fraction(0)
    pillars: list[PillarResult] = []
    for dimension in model.dimensions:
        weight = _exact(dimension.weight)
        if weight <= 0:
            raise ValidationError(f"dimensions.{dimension.id}.weight", f"must be positive, got {dimension.weight}")
        pillar, pillar_low, pillar_high = _score_pillar(dimension, answers)
        pillars.append(pillar)
        total += weight
        low += weight * pillar_low
        high += weight * pillar_high
    score, score_high = low / total, high / total
    return WeightedResult(
        model_key=model.key,
        pillars=tuple(pillars),
        score=float(score),
        score_high=float(score_high),
        tier=_tier(tiers, score),
        tier_high=_tier(tiers, score_high),
    )


def score(model: Model, answers: Answers) -> ModelResult | WeightedResult:
    """Score ``model`` by its kind."""
    if model.kind == "weighted":
        return score_weighted(model, answers)
    return score_stages(model, answers)
