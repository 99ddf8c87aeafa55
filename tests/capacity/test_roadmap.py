"""The prioritised roadmap on a small hand-built model; every priority is worked out by hand in the test."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ribat.capacity.models import shipped_models
from ribat.capacity.roadmap import GapTexts, Strength, build_roadmap, gap_id, gap_texts
from ribat.capacity.scoring import Answer, score_stages
from ribat.capacity.types import Dimension, Factor, Indicator, Model, Stage, Text
from ribat.errors import ValidationError

M, P, N, U = Answer.MET, Answer.PARTLY_MET, Answer.NOT_MET, Answer.UNKNOWN


def text(name: str) -> Text:
    return {"en": name, "ar": f"{name} (ar)", "fr": f"{name} (fr)"}


STAGES = tuple(Stage(id=f"s{level}", level=level, name=text(f"stage {level}")) for level in range(1, 6))


def ladder(fid: str, dim: str, weights: Sequence[float] = (1, 1, 1, 1, 1)) -> Factor:
    """A factor with one indicator per stage (``{fid}.1`` at stage 1 …), as many as ``weights``."""
    return Factor(
        id=fid,
        name=text(f"factor {fid}"),
        indicators=tuple(
            Indicator(id=f"{fid}.{n}", stage=f"s{n}", weight=w, text=text(f"do {fid}.{n}"), dimension=dim, factor=fid)
            for n, w in enumerate(weights, start=1)
        ),
    )


def model() -> Model:
    """d1: f1 (weights 1) and f2 (weights 1, 2, 2, 1, 1); d2: f3 (weights 1), f4 (stages 1 and 2 only), f5."""
    return Model(
        id="cmm",
        version="1",
        kind="stages",
        title=text("model"),
        stages=STAGES,
        dimensions=(
            Dimension(
                id="d1", name=text("dimension d1"), factors=(ladder("f1", "d1"), ladder("f2", "d1", (1, 2, 2, 1, 1)))
            ),
            Dimension(
                id="d2",
                name=text("dimension d2"),
                factors=(ladder("f3", "d2"), ladder("f4", "d2", (1, 1)), ladder("f5", "d2")),
            ),
        ),
    )


def answers(**by_factor: Sequence[Answer]) -> dict[str, Answer]:
    return {f"{fid}.{n}": answer for fid, row in by_factor.items() for n, answer in enumerate(row, start=1)}


BASE = answers(
    f1=(M, N, N, N, N),  # stage 1
    f2=(M, M, P, N, N),  # stage 2
    f3=(U, M, P, N, N),  # stage 0
    f4=(M, M),  # stage 2, its highest
    f5=(M, M, M, M, N),  # stage 4
)


def test_gaps_to_an_explicit_target_are_ranked_by_weight_times_distance() -> None:
    plan = build_roadmap(model(), score_stages(model(), BASE), target=3)
    assert plan.model_key == "cmm@1" and plan.target == 3
    # f3: f3.1 + f3.3 (weight 2) × (3 − 0) = 6; f1: f1.2 + f1.3 (2) × 2 = 4; f2: f2.3 (2) × 1 = 2
    assert [(g.factor_id, g.missing_weight, g.distance, g.priority) for g in plan.gaps] == [
        ("f3", 2.0, 3, 6.0),
        ("f1", 2.0, 2, 4.0),
        ("f2", 2.0, 1, 2.0),
    ]
    f3 = plan.gaps[0]
    assert f3.id == "gap:cmm@1:f3:s3"
    assert (f3.dimension_id, f3.current_stage, f3.target_stage, f3.target_stage_id) == ("d2", 0, 3, "s3")
    assert f3.to_meet == ("f3.1", "f3.3")  # f3.2 is met already: not listed
    assert (f3.unknown, f3.partly_met) == (("f3.1",), ("f3.3",))
    assert plan.gaps[1].to_meet == ("f1.2", "f1.3")
    # f4 cannot go above stage 2 and is there; f5 is above the target
    assert plan.strengths == (
        Strength(factor_id="f4", dimension_id="d2", stage=2, target_stage=2),
        Strength(factor_id="f5", dimension_id="d2", stage=4, target_stage=3),
    )


def test_a_partly_met_indicator_stays_to_do() -> None:
    plan = build_roadmap(model(), score_stages(model(), BASE), target="s3")
    f2 = next(g for g in plan.gaps if g.factor_id == "f2")
    assert f2.to_meet == ("f2.3",) and f2.partly_met == ("f2.3",)
    assert f2.missing_weight == 2.0  # a partly met indicator still counts its whole weight


def test_by_default_each_factor_aims_at_its_next_stage() -> None:
    plan = build_roadmap(model(), score_stages(model(), BASE))
    assert plan.target is None
    # f2: f2.3 (2) × 1 = 2; f1: f1.2 (1) × 1, f3: f3.1 (1) × 1, f5: f5.5 (1) × 1 tie at 1 and go by id
    assert [(g.id, g.to_meet, g.priority) for g in plan.gaps] == [
        ("gap:cmm@1:f2:s3", ("f2.3",), 2.0),
        ("gap:cmm@1:f1:s2", ("f1.2",), 1.0),
        ("gap:cmm@1:f3:s1", ("f3.1",), 1.0),
        ("gap:cmm@1:f5:s5", ("f5.5",), 1.0),
    ]
    assert [s.factor_id for s in plan.strengths] == ["f4"]


def test_a_factor_at_the_target_is_not_a_gap() -> None:
    plan = build_roadmap(model(), score_stages(model(), BASE), target=1)
    assert [g.factor_id for g in plan.gaps] == ["f3"]
    assert [s.factor_id for s in plan.strengths] == ["f1", "f2", "f4", "f5"]


def test_ties_are_broken_by_gap_id() -> None:
    tied = Model(
        id="cmm",
        version="1",
        kind="stages",
        title=text("model"),
        stages=STAGES,
        dimensions=(Dimension(id="d1", name=text("d1"), factors=(ladder("fb", "d1"), ladder("fa", "d1"))),),
    )
    plan = build_roadmap(tied, score_stages(tied, {}), target=2)
    assert [g.id for g in plan.gaps] == ["gap:cmm@1:fa:s2", "gap:cmm@1:fb:s2"]
    assert plan.gaps[0].priority == plan.gaps[1].priority == 4.0


def test_gap_ids_are_stable_across_calls_and_answer_changes() -> None:
    first = build_roadmap(model(), score_stages(model(), BASE), target=3)
    again = build_roadmap(model(), score_stages(model(), BASE), target=3)
    assert first == again
    changed = dict(BASE) | {"f1.2": M, "f1.4": M, "f3.1": N}  # f1 moves to stage 2, f3 stays at 0
    later = build_roadmap(model(), score_stages(model(), changed), target=3)
    assert {g.factor_id: g.id for g in later.gaps} == {g.factor_id: g.id for g in first.gaps}
    assert gap_id("cmm@1", "f1", "s3") == "gap:cmm@1:f1:s3"
    assert next(g for g in later.gaps if g.factor_id == "f1").to_meet == ("f1.3",)


def test_gap_texts_come_from_the_model_in_each_language() -> None:
    plan = build_roadmap(model(), score_stages(model(), BASE), target=3)
    gap = plan.gaps[0]
    assert gap_texts(model(), gap, "en") == GapTexts(
        factor="factor f3",
        dimension="dimension d2",
        target_stage="stage 3",
        indicators=(("f3.1", "do f3.1"), ("f3.3", "do f3.3")),
    )
    arabic = gap_texts(model(), gap, "ar")
    assert arabic.factor == "factor f3 (ar)" and arabic.indicators[0] == ("f3.1", "do f3.1 (ar)")
    assert gap_texts(model(), gap, "fr").target_stage == "stage 3 (fr)"
    assert gap_texts(model(), gap, "de").dimension == "dimension d2"  # falls back to English


def test_bad_targets_and_mismatched_results_are_refused() -> None:
    result = score_stages(model(), BASE)
    for bad in (0, 6, "s9", True):
        with pytest.raises(ValidationError) as caught:
            build_roadmap(model(), result, target=bad)
        assert caught.value.field == "target"
    other = Model(id="cmm", version="2", kind="stages", title=text("m"), stages=STAGES, dimensions=model().dimensions)
    with pytest.raises(ValidationError) as caught:
        build_roadmap(other, result)
    assert caught.value.field == "model_key"


def test_a_weighted_model_has_no_roadmap() -> None:
    weighted = Model(id="gci", version="1", kind="weighted", title=text("m"), dimensions=model().dimensions)
    with pytest.raises(ValidationError) as caught:
        build_roadmap(weighted, score_stages(model(), BASE))
    assert caught.value.field == "model"


def test_the_shipped_coalition_model_gives_gap_ids_by_model_factor_and_stage() -> None:
    coalition = next(m for m in shipped_models() if m.id == "coalition-cmm")
    met_to_formative = {i.id: M for i in coalition.indicators() if i.stage in ("start-up", "formative")}
    plan = build_roadmap(coalition, score_stages(coalition, met_to_formative), target="established")
    assert len(plan.gaps) == 15 and plan.strengths == ()
    assert f"gap:{coalition.key}:cmm.d1.f2:established" in {g.id for g in plan.gaps}
    assert all(g.distance == 1 and len(g.to_meet) == 1 for g in plan.gaps)
