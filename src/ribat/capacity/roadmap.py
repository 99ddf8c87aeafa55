"""The prioritised roadmap of one country: gaps to a target stage, ranked, and strengths. Pure, no I/O.

From a stages model and one country's :class:`~ribat.capacity.scoring.ModelResult`, :func:`build_roadmap` lists

* **gaps**: every factor below its target stage, with the indicators still to meet (those not met at the stages
  above the one reached, up to the target), ranked by priority
  ``(total weight of the indicators to meet) × (target level − level reached)``, highest first, ties broken by gap id;
* **strengths**: every factor at or above its target.

Each gap has a stable id, ``gap:<model id>@<version>:<factor id>:<target stage id>``, that depends on nothing but
the model version, the factor and the target stage, so other records can link to it. The texts of a gap (factor,
dimension, stage and indicator names in English, Arabic or French) come from the model: see :func:`gap_texts`.
See ``docs/capacity-benchmark.md``, section "Roadmap".
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ribat.capacity.scoring import Answer, FactorResult, ModelResult
from ribat.capacity.types import Factor, Model, localized
from ribat.errors import ValidationError

__all__ = [
    "Gap",
    "GapTexts",
    "Roadmap",
    "Strength",
    "build_roadmap",
    "gap_id",
    "gap_texts",
]


@dataclass(frozen=True)
class Gap:
    """A factor below its target stage.

    ``to_meet`` lists the factor's indicators at the stages above ``current_stage`` up to ``target_stage`` that are
    not met (not met, partly met or unknown), lowest stage first; ``partly_met`` and ``unknown`` are the subsets of
    them so answered. ``missing_weight`` is the sum of their weights, ``distance`` the number of stage levels to
    climb and ``priority`` their product.
    """

    id: str
    factor_id: str
    dimension_id: str
    current_stage: int
    target_stage: int
    target_stage_id: str
    to_meet: tuple[str, ...]
    partly_met: tuple[str, ...]
    unknown: tuple[str, ...]
    missing_weight: float
    distance: int
    priority: float


@dataclass(frozen=True)
class Strength:
    """A factor at or above its target stage."""

    factor_id: str
    dimension_id: str
    stage: int
    target_stage: int


@dataclass(frozen=True)
class Roadmap:
    """Gaps, highest priority first, and strengths, in model order. ``target`` is the level asked for (``None``:
    each factor's next stage up)."""

    model_key: str
    target: int | None
    gaps: tuple[Gap, ...]
    strengths: tuple[Strength, ...]


@dataclass(frozen=True)
class GapTexts:
    """The human-readable texts of a gap in one language; ``indicators`` pairs each id of ``to_meet`` with its text."""

    factor: str
    dimension: str
    target_stage: str
    indicators: tuple[tuple[str, str], ...]


def gap_id(model_key: str, factor_id: str, target_stage_id: str) -> str:
    """The stable id of the gap between ``factor_id`` and ``target_stage_id`` in model version ``model_key``."""
    return f"gap:{model_key}:{factor_id}:{target_stage_id}"


def _target_level(model: Model, target: int | str | None) -> int | None:
    if target is None:
        return None
    levels = {stage.level for stage in model.stages}
    if isinstance(target, str):
        for stage in model.stages:
            if stage.id == target:
                return stage.level
        raise ValidationError("target", f"{target!r} is not a stage of {model.key}")
    if isinstance(target, bool) or target not in levels:
        raise ValidationError("target", f"{target!r} is not a stage level of {model.key} ({min(levels)}–{max(levels)})")
    return target


def _factor_target(factor: Factor, levels: dict[str, int], result: FactorResult, target: int | None) -> int | None:
    """The level ``factor`` is measured against: the target asked for (or the next level up), capped at the highest
    level at which the factor has indicators, since nothing shows a factor above it. ``None``: no indicators."""
    own = sorted({levels[i.stage] for i in factor.indicators if i.stage is not None and i.stage in levels})
    if not own:
        return None
    wanted = target if target is not None else (result.next_stage if result.next_stage is not None else own[-1])
    return min(wanted, own[-1])


def build_roadmap(model: Model, result: ModelResult, *, target: int | str | None = None) -> Roadmap:
    """The roadmap of ``result`` (scored with ``model``) towards ``target``.

    ``target`` is a stage level (1 = lowest) or a stage id of the model, the same for every factor; ``None`` (the
    default) gives each factor its own next stage up (the first stage above the one it reached at which it has
    indicators). A factor's target is capped at the highest stage at which it has indicators; a factor without
    indicators is neither a gap nor a strength.
    """
    if model.kind != "stages":
        raise ValidationError("model", f"{model.key} is a {model.kind} model: a roadmap needs a stages model")
    if result.model_key != model.key:
        raise ValidationError("model_key", f"the result is for {result.model_key}, the model is {model.key}")
    levels = {stage.id: stage.level for stage in model.stages}
    stage_by_level = {stage.level: stage for stage in model.stages}
    wanted = _target_level(model, target)
    ranked: list[tuple[Fraction, Gap]] = []
    strengths: list[Strength] = []
    for dimension, factor in model.factors():
        try:
            factor_result = result.factor(factor.id)
        except KeyError:
            raise ValidationError("result", f"no result for factor {factor.id} of {model.key}") from None
        goal = _factor_target(factor, levels, factor_result, wanted)
        if goal is None:
            continue
        current = factor_result.stage
        if current >= goal:
            strengths.append(Strength(factor_id=factor.id, dimension_id=dimension.id, stage=current, target_stage=goal))
            continue
        answers = _answers_of(factor_result)
        todo = sorted(
            (
                indicator
                for indicator in factor.indicators
                if indicator.stage is not None
                and current < levels[indicator.stage] <= goal
                and answers.get(indicator.id) != Answer.MET
            ),
            key=lambda i: levels[i.stage or ""],
        )
        weight = sum((Fraction(str(i.weight)) for i in todo), Fraction(0))
        distance = goal - current
        priority = weight * distance
        stage = stage_by_level[goal]
        gap = Gap(
            id=gap_id(model.key, factor.id, stage.id),
            factor_id=factor.id,
            dimension_id=dimension.id,
            current_stage=current,
            target_stage=goal,
            target_stage_id=stage.id,
            to_meet=tuple(i.id for i in todo),
            partly_met=tuple(i.id for i in todo if answers.get(i.id) == Answer.PARTLY_MET),
            unknown=tuple(i.id for i in todo if answers.get(i.id, Answer.UNKNOWN) == Answer.UNKNOWN),
            missing_weight=float(weight),
            distance=distance,
            priority=float(priority),
        )
        ranked.append((priority, gap))
    ranked.sort(key=lambda pair: (-pair[0], pair[1].id))
    return Roadmap(model_key=model.key, target=wanted, gaps=tuple(gap for _, gap in ranked), strengths=tuple(strengths))


def _answers_of(result: FactorResult) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    for answer, ids in (
        (Answer.MET, result.met),
        (Answer.PARTLY_MET, result.partly_met),
        (Answer.NOT_MET, result.not_met),
        (Answer.UNKNOWN, result.unknown),
    ):
        for indicator_id in ids:
            answers[indicator_id] = answer
    return answers


def gap_texts(model: Model, gap: Gap, language: str) -> GapTexts:
    """The names of ``gap``'s factor, dimension and target stage and the texts of its indicators, in ``language``
    (English where the model lacks that language)."""
    return GapTexts(
        factor=localized(model.factor(gap.factor_id).name, language),
        dimension=localized(model.dimension(gap.dimension_id).name, language),
        target_stage=localized(model.stage(gap.target_stage_id).name, language),
        indicators=tuple((i, localized(model.indicator(i).text, language)) for i in gap.to_meet),
    )
