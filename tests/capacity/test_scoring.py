"""The scoring engine on small hand-built models whose results are computed by hand in each test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.capacity.scoring import (
    Answer,
    ModelResult,
    parse_answer,
    score,
    score_factor,
    score_stages,
    score_weighted,
    summarize,
)
from ribat.capacity.types import Dimension, Factor, Indicator, Model, Stage, Tier
from ribat.errors import ValidationError

M, P, N, U = Answer.MET, Answer.PARTLY_MET, Answer.NOT_MET, Answer.UNKNOWN
T = {"en": "text", "ar": "نص", "fr": "texte"}
STAGES = tuple(Stage(id=f"s{level}", level=level, name=T) for level in range(1, 6))


def indicator(ident: str, level: int | None, weight: float = 1.0, *, dim: str = "d1", factor: str = "f1") -> Indicator:
    stage = None if level is None else f"s{level}"
    return Indicator(id=ident, stage=stage, weight=weight, text=T, dimension=dim, factor=factor)


def ladder(fid: str, dim: str = "d1", weights: Sequence[float] = (1, 1, 1, 1, 1)) -> Factor:
    """A factor with one indicator per stage, ``{fid}.1`` at stage 1 up to ``{fid}.5`` at stage 5."""
    indicators = tuple(
        indicator(f"{fid}.{level}", level, w, dim=dim, factor=fid)
        for level, w in zip(range(1, 6), weights, strict=True)
    )
    return Factor(id=fid, name=T, indicators=indicators)


def stages_model(*dimensions: Dimension) -> Model:
    return Model(id="cmm", version="1", kind="stages", title=T, dimensions=dimensions, stages=STAGES)


def one_factor_model(factor: Factor) -> Model:
    return stages_model(Dimension(id="d1", name=T, factors=(factor,)))


def ladder_answers(fid: str, *answers: Answer) -> dict[str, Answer]:
    return {f"{fid}.{level}": answer for level, answer in enumerate(answers, start=1)}


def reaching(fid: str, stage: int, dim: str) -> tuple[Factor, dict[str, Answer]]:
    """A ladder factor and answers making it reach exactly ``stage``."""
    return ladder(fid, dim), ladder_answers(fid, *([M] * stage + [N] * (5 - stage)))


# ------------------------------------------------------------------------------------------ answers


def test_answers_parse_from_their_text_forms() -> None:
    assert parse_answer("met") is M
    assert parse_answer("Partly met") is P
    assert parse_answer("not-met") is N
    assert parse_answer(" unknown ") is U
    with pytest.raises(ValidationError) as caught:
        parse_answer("mostly")
    assert caught.value.field == "answer"
    assert "'mostly'" in caught.value.reason


# ------------------------------------------------------------------------------------------ stages


def test_factor_with_every_indicator_met_reaches_the_top_stage() -> None:
    model = one_factor_model(ladder("f1"))
    result = score_stages(model, ladder_answers("f1", M, M, M, M, M)).factor("f1")
    assert result.stage_range == (5, 5)
    assert result.completion == 100.0
    assert result.next_stage is None
    assert result.blocking == ()
    assert result.met == ("f1.1", "f1.2", "f1.3", "f1.4", "f1.5")


def test_gap_at_a_lower_stage_blocks_every_higher_stage() -> None:
    model = one_factor_model(ladder("f1"))
    result = score_stages(model, ladder_answers("f1", M, N, M, M, M)).factor("f1")
    assert result.stage == 1
    assert result.stage_high == 1
    assert result.next_stage == 2
    assert result.blocking == ("f1.2",)
    assert result.completion == pytest.approx(80.0)  # 4 of 5 equal weights met


def test_nothing_met_at_the_first_stage_is_stage_zero() -> None:
    model = one_factor_model(ladder("f1"))
    result = score_stages(model, ladder_answers("f1", N, M, M, M, M)).factor("f1")
    assert result.stage_range == (0, 0)
    assert result.next_stage == 1
    assert result.blocking == ("f1.1",)


def test_every_indicator_of_a_stage_must_be_met() -> None:
    factor = Factor(
        id="f1",
        name=T,
        indicators=(indicator("a", 1), indicator("b", 1), indicator("c", 2), indicator("d", 2)),
    )
    model = one_factor_model(factor)
    result = score_stages(model, {"a": M, "b": M, "c": M, "d": N}).factor("f1")
    assert result.stage == 1
    assert result.blocking == ("d",)


def test_partly_met_does_not_reach_a_stage_but_counts_half_in_completion() -> None:
    model = one_factor_model(ladder("f1"))
    result = score_stages(model, ladder_answers("f1", M, P, N, N, N)).factor("f1")
    assert result.stage_range == (1, 1)  # partly met is a known answer: no range
    assert result.partly_met == ("f1.2",)
    assert result.blocking == ("f1.2",)
    assert result.completion == pytest.approx(30.0)  # (1 + 0.5) / 5
    assert result.completion_high == pytest.approx(30.0)


def test_unknown_counts_as_not_met_and_reports_the_range_it_could_reach() -> None:
    model = one_factor_model(ladder("f1"))
    result = score_stages(model, ladder_answers("f1", M, U, M, N, U)).factor("f1")
    assert result.stage == 1  # the unknown at stage 2 blocks
    assert result.stage_high == 3  # had it been met, stage 4's "not met" would block next
    assert result.unknown == ("f1.2", "f1.5")
    assert result.not_met == ("f1.4",)
    assert result.completion == pytest.approx(40.0)  # 2 of 5 met
    assert result.completion_high == pytest.approx(80.0)  # plus the 2 unknown


def test_an_unanswered_indicator_is_unknown() -> None:
    model = one_factor_model(ladder("f1"))
    result = score_stages(model, {"f1.1": M}).factor("f1")
    assert result.stage_range == (1, 5)
    assert result.unknown == ("f1.2", "f1.3", "f1.4", "f1.5")


def test_factor_without_indicators_is_at_stage_zero_with_no_completion() -> None:
    model = stages_model(Dimension(id="d1", name=T, factors=(Factor(id="f1", name=T, indicators=()), ladder("f2"))))
    result = score_stages(model, ladder_answers("f2", M, M, M, M, M))
    empty = result.factor("f1")
    assert empty.stage_range == (0, 0)
    assert empty.completion is None
    assert empty.next_stage is None
    assert result.dimension("d1").summary.mean == pytest.approx(2.5)  # (0 + 5) / 2


def test_a_stage_without_indicators_in_the_factor_is_passed_through_but_not_reached_on_its_own() -> None:
    factor = Factor(id="f1", name=T, indicators=(indicator("a", 1), indicator("c", 3)))
    model = one_factor_model(factor)
    assert score_stages(model, {"a": M, "c": M}).factor("f1").stage == 3  # stages 4 and 5 have nothing to show
    partial = score_stages(model, {"a": M, "c": N}).factor("f1")
    assert partial.stage == 1
    assert partial.next_stage == 3


def test_completion_is_weighted_by_indicator_weight() -> None:
    model = one_factor_model(ladder("f1", weights=(3, 1, 2, 4, 0.5)))
    result = score_stages(model, ladder_answers("f1", M, P, U, N, N)).factor("f1")
    # total 10.5; met 3, partly 1 × 0.5, unknown 2 counted only in the optimistic bound
    assert result.completion == pytest.approx(100 * 3.5 / 10.5)
    assert result.completion_high == pytest.approx(100 * 5.5 / 10.5)


def test_dimension_and_overall_summaries_are_min_median_and_mean_of_factor_stages() -> None:
    answers: dict[str, Answer] = {}
    d1_factors = []
    for fid, stage in (("a", 0), ("b", 2), ("c", 3), ("d", 5)):
        factor, factor_answers = reaching(fid, stage, "d1")
        d1_factors.append(factor)
        answers |= factor_answers
    d2_factors = []
    for fid, stage in (("e", 1), ("f", 1), ("g", 4)):
        factor, factor_answers = reaching(fid, stage, "d2")
        d2_factors.append(factor)
        answers |= factor_answers
    answers["g.5"] = U  # g: stage 4, could be 5
    model = stages_model(
        Dimension(id="d1", name=T, factors=tuple(d1_factors)), Dimension(id="d2", name=T, factors=tuple(d2_factors))
    )
    result = score_stages(model, answers)

    d1 = result.dimension("d1").summary
    assert (d1.minimum, d1.median, d1.mean, d1.count) == (0, 2.5, 2.5, 4)
    d2 = result.dimension("d2")
    assert (d2.summary.minimum, d2.summary.median, d2.summary.mean) == (1, 1.0, 2.0)
    assert d2.summary_high.mean == pytest.approx(7 / 3)  # 1, 1, 5
    assert d2.completion == pytest.approx(100 * 6 / 15)  # e 1, f 1, g 4 of 5 each
    assert d2.completion_high == pytest.approx(100 * 7 / 15)

    overall = result.summary  # every factor once: 0 2 3 5 1 1 4
    assert (overall.minimum, overall.median, overall.count) == (0, 2.0, 7)
    assert overall.mean == pytest.approx(16 / 7)
    assert result.summary_high.mean == pytest.approx(17 / 7)
    assert result.completion == pytest.approx(100 * 16 / 35)
    assert result.top_stage == 5


def test_score_factor_scores_one_factor() -> None:
    factor = ladder("f1")
    model = one_factor_model(factor)
    result = score_factor(model, factor, ladder_answers("f1", M, M, U))
    assert result.stage_range == (2, 5)
    assert result.dimension_id == "d1"  # taken from its indicators


def test_answers_for_indicators_outside_the_model_are_rejected() -> None:
    model = one_factor_model(ladder("f1"))
    with pytest.raises(ValidationError) as caught:
        score_stages(model, {"f1.1": M, "zz.9": M})
    assert caught.value.field == "answers"
    assert "zz.9" in caught.value.reason


def test_an_answer_given_as_its_text_is_accepted_and_any_other_value_rejected() -> None:
    model = one_factor_model(ladder("f1"))
    assert score_stages(model, {"f1.1": "met"}).factor("f1").stage == 1  # type: ignore[dict-item]
    with pytest.raises(ValidationError) as caught:
        score_stages(model, {"f1.1": "yes"})  # type: ignore[dict-item]
    assert caught.value.field == "answers.f1.1"
    assert "'yes'" in caught.value.reason


def test_an_indicator_at_a_stage_the_model_lacks_is_rejected() -> None:
    factor = Factor(id="f1", name=T, indicators=(indicator("a", 9),))
    with pytest.raises(ValidationError) as caught:
        score_stages(one_factor_model(factor), {})
    assert caught.value.field == "indicators.a.stage"


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (stages_model(), "model.dimensions"),
        (stages_model(Dimension(id="d1", name=T, factors=())), "dimensions.d1.factors"),
        (one_factor_model(Factor(id="f1", name=T, indicators=(indicator("a", 1, 0),))), "indicators.a.weight"),
        (Model(id="x", version="1", kind="stages", title=T, dimensions=()), "model.stages"),
    ],
)
def test_a_stages_model_that_cannot_be_scored_is_rejected_naming_the_field(model: Model, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        score_stages(model, {})
    assert caught.value.field == field


def test_summary_needs_a_factor() -> None:
    with pytest.raises(ValidationError):
        summarize([])


# ------------------------------------------------------------------------------------------ weighted

TIERS = (
    Tier(id="t4", lower_bound=80, name=T),
    Tier(id="t1", lower_bound=0, name=T),
    Tier(id="t2", lower_bound=20, name=T),
    Tier(id="t3", lower_bound=50, name=T),
)


def pillar(pid: str, weight: float, *questions: tuple[str, float]) -> Dimension:
    indicators = tuple(indicator(q, None, w, dim=pid, factor=f"{pid}.f") for q, w in questions)
    return Dimension(id=pid, name=T, factors=(Factor(id=f"{pid}.f", name=T, indicators=indicators),), weight=weight)


def weighted_model(*pillars: Dimension, tiers: tuple[Tier, ...] = TIERS) -> Model:
    return Model(id="gci", version="1", kind="weighted", title=T, dimensions=pillars, tiers=tiers)


GCI = weighted_model(
    pillar("legal", 2, ("q1", 1), ("q2", 3)),
    pillar("technical", 1, ("q3", 1), ("q4", 1)),
)


def test_pillar_score_is_the_weighted_share_of_yes() -> None:
    result = score_weighted(GCI, {"q1": M, "q2": N, "q3": M, "q4": U})
    legal = result.pillar("legal")
    assert (legal.score, legal.score_high) == (25.0, 25.0)  # 1 of 4
    assert (legal.yes, legal.no) == (("q1",), ("q2",))
    technical = result.pillar("technical")
    assert (technical.score, technical.score_high) == (50.0, 100.0)
    assert technical.unknown == ("q4",)


def test_overall_score_weighs_pillars_and_unknown_gives_a_range_and_tiers() -> None:
    result = score_weighted(GCI, {"q1": M, "q2": N, "q3": M, "q4": U})
    assert result.score == pytest.approx(100 / 3)  # (2 × 25 + 1 × 50) / 3
    assert result.score_high == 50.0  # (2 × 25 + 1 × 100) / 3, exactly on tier t3's bound
    assert result.tier.id == "t2"
    assert result.tier_high.id == "t3"


def test_partly_met_is_not_a_yes() -> None:
    result = score_weighted(GCI, {"q1": P, "q2": M, "q3": M, "q4": M})
    assert result.pillar("legal").score == 75.0
    assert result.pillar("legal").partly_met == ("q1",)
    assert result.score == pytest.approx((2 * 75 + 100) / 3)


@pytest.mark.parametrize(
    ("yes", "tier"),
    [
        ([], "t1"),  # 0: the lowest tier
        (["b"], "t1"),  # 10
        (["a"], "t2"),  # 20: exactly on a bound
        (["d", "b"], "t2"),  # 40
        (["a", "d"], "t3"),  # 50: exactly on a bound
        (["d", "e", "b"], "t3"),  # 70
        (["d", "e", "a"], "t4"),  # 80: exactly on a bound
        (["a", "b", "c", "d", "e"], "t4"),  # 100
    ],
)
def test_tier_is_the_highest_whose_lower_bound_is_not_above_the_score(yes: list[str], tier: str) -> None:
    model = weighted_model(pillar("p", 1, ("a", 0.2), ("b", 0.1), ("c", 0.1), ("d", 0.3), ("e", 0.3)))
    result = score_weighted(model, dict.fromkeys(yes, M))
    assert result.tier.id == tier


def test_a_score_on_a_bound_reached_through_decimal_weights_is_in_that_tier() -> None:
    # In binary floats 100 * 0.17 / (0.17 + 0.17) is 49.99999999999999; the exact share is 50.
    model = weighted_model(pillar("p", 1, ("a", 0.17), ("b", 0.17)))
    result = score_weighted(model, {"a": M, "b": N})
    assert result.score == 50.0
    assert result.tier.id == "t3"


def test_every_unknown_spans_the_whole_scale() -> None:
    result = score_weighted(GCI, {})
    assert result.score_range == (0.0, 100.0)
    assert (result.tier.id, result.tier_high.id) == ("t1", "t4")


def test_a_weighted_model_needs_tiers_from_zero() -> None:
    with pytest.raises(ValidationError) as caught:
        score_weighted(weighted_model(pillar("p", 1, ("a", 1)), tiers=(Tier(id="t", lower_bound=10, name=T),)), {})
    assert caught.value.field == "model.tiers"


def test_a_pillar_weight_must_be_positive() -> None:
    with pytest.raises(ValidationError) as caught:
        score_weighted(weighted_model(pillar("p", 0, ("a", 1))), {})
    assert caught.value.field == "dimensions.p.weight"


def test_a_pillar_without_questions_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        score_weighted(weighted_model(pillar("p", 1)), {})
    assert caught.value.field == "dimensions.p"


def test_score_dispatches_on_the_model_kind_and_each_scorer_refuses_the_other_kind() -> None:
    cmm = one_factor_model(ladder("f1"))
    assert isinstance(score(cmm, {}), ModelResult)
    assert score(GCI, {"q1": M}).model_key == "gci@1"
    with pytest.raises(ValidationError):
        score_stages(GCI, {})
    with pytest.raises(ValidationError):
        score_weighted(cmm, {})


# ------------------------------------------------------------------------------------------ properties

answer_values = st.sampled_from(list(Answer))
weights = st.sampled_from([0.5, 1.0, 2.0, 3.0])


@st.composite
def stage_cases(draw: st.DrawFn) -> tuple[Model, dict[str, Answer]]:
    dimensions = []
    answers: dict[str, Answer] = {}
    counter = 0
    for d in range(draw(st.integers(1, 2))):
        factors = []
        for f in range(draw(st.integers(1, 3))):
            fid = f"d{d}f{f}"
            indicators = []
            for _ in range(draw(st.integers(0, 7))):
                counter += 1
                iid = f"i{counter}"
                indicators.append(indicator(iid, draw(st.integers(1, 5)), draw(weights), dim=f"d{d}", factor=fid))
                if draw(st.booleans()):
                    answers[iid] = draw(answer_values)
            factors.append(Factor(id=fid, name=T, indicators=tuple(indicators)))
        dimensions.append(Dimension(id=f"d{d}", name=T, factors=tuple(factors)))
    return stages_model(*dimensions), answers


def _unknowns(model: Model, answers: Mapping[str, Answer]) -> list[str]:
    return [i.id for i in model.indicators() if answers.get(i.id, U) is U]


@settings(max_examples=150, deadline=None)
@given(case=stage_cases(), data=st.data())
def test_turning_an_unknown_into_met_never_lowers_a_stage(
    case: tuple[Model, dict[str, Answer]], data: st.DataObject
) -> None:
    model, answers = case
    unknowns = _unknowns(model, answers)
    if not unknowns:
        return
    chosen = data.draw(st.sampled_from(unknowns))
    before = score_stages(model, answers)
    after = score_stages(model, {**answers, chosen: M})
    for old, new in zip(before.dimensions, after.dimensions, strict=True):
        for f_old, f_new in zip(old.factors, new.factors, strict=True):
            assert f_new.stage >= f_old.stage
            assert f_new.stage_high == f_old.stage_high


@settings(max_examples=150, deadline=None)
@given(case=stage_cases(), data=st.data())
def test_the_stage_range_contains_every_way_the_unknowns_could_be_answered(
    case: tuple[Model, dict[str, Answer]], data: st.DataObject
) -> None:
    model, answers = case
    resolved = {**answers, **{i: data.draw(st.sampled_from([M, P, N])) for i in _unknowns(model, answers)}}
    before = score_stages(model, answers)
    after = score_stages(model, resolved)
    for old, new in zip(before.dimensions, after.dimensions, strict=True):
        for f_old, f_new in zip(old.factors, new.factors, strict=True):
            assert f_old.stage <= f_new.stage <= f_old.stage_high
            if f_old.completion is not None:
                assert f_new.completion is not None and f_old.completion_high is not None
                assert f_old.completion <= f_new.completion + 1e-9
                assert f_new.completion <= f_old.completion_high + 1e-9
    assert before.summary.mean <= after.summary.mean <= before.summary_high.mean
    assert before.summary.median <= after.summary.median <= before.summary_high.median
    assert before.summary.minimum <= after.summary.minimum <= before.summary_high.minimum


@st.composite
def weighted_cases(draw: st.DrawFn) -> tuple[Model, dict[str, Answer]]:
    pillars = []
    answers: dict[str, Answer] = {}
    counter = 0
    for p in range(draw(st.integers(1, 4))):
        questions = []
        for _ in range(draw(st.integers(1, 5))):
            counter += 1
            questions.append((f"q{counter}", draw(weights)))
            if draw(st.booleans()):
                answers[f"q{counter}"] = draw(answer_values)
        pillars.append(pillar(f"p{p}", draw(weights), *questions))
    return weighted_model(*pillars), answers


@settings(max_examples=150, deadline=None)
@given(case=weighted_cases(), data=st.data())
def test_the_weighted_score_range_contains_every_way_the_unknowns_could_be_answered(
    case: tuple[Model, dict[str, Answer]], data: st.DataObject
) -> None:
    model, answers = case
    resolved = {**answers, **{i: data.draw(st.sampled_from([M, P, N])) for i in _unknowns(model, answers)}}
    before = score_weighted(model, answers)
    after = score_weighted(model, resolved)
    assert before.score - 1e-9 <= after.score <= before.score_high + 1e-9
    assert before.tier.lower_bound <= after.tier.lower_bound <= before.tier_high.lower_bound
