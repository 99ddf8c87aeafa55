"""Maturity model files: the shipped models and the validation of bad files (file, line, field)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ribat.capacity import LANGUAGES, Model, Text, load_model, load_models, localized, parse_model, shipped_models
from ribat.errors import ModelFileError, NotFoundError, ValidationError

CMM_DIMENSIONS = [
    "Cybersecurity Policy and Strategy",
    "Cybersecurity Culture and Society",
    "Building Cybersecurity Knowledge and Capabilities",
    "Legal and Regulatory Frameworks",
    "Standards and Technologies",
]
CMM_STAGES = ["Start-up", "Formative", "Established", "Strategic", "Dynamic"]
ARABIC = re.compile(r"[\u0600-\u06FF]")

# Line numbers matter: the tests below assert them.
TINY = """\
id: tiny
version: "1.0"
kind: stages
title: {en: Tiny, ar: صغير, fr: Petit}
stages:
  - id: low
    name: {en: Low, ar: منخفض, fr: Bas}
  - id: high
    name: {en: High, ar: مرتفع, fr: Haut}
dimensions:
  - id: t.d1
    name: {en: One, ar: واحد, fr: Un}
    factors:
      - id: t.d1.f1
        name: {en: Factor, ar: عامل, fr: Facteur}
        indicators:
          - id: t.d1.f1.i1
            stage: low
            weight: 1
            text: {en: First, ar: الأول, fr: Premier}
          - id: t.d1.f1.i2
            stage: high
            weight: 2.5
            text: {en: Second, ar: الثاني, fr: Deuxième}
        aspects:
          - id: t.d1.f1.a1
            name: {en: Aspect, ar: جانب, fr: Aspect}
            indicators:
              - id: t.d1.f1.i3
                stage: high
                weight: 1
                text: {en: Third, ar: الثالث, fr: Troisième}
"""


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejected(tmp_path: Path, text: str, name: str = "bad.yaml") -> ModelFileError:
    path = write(tmp_path, text, name)
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    error = caught.value
    assert isinstance(error, ValidationError)
    assert error.file == str(path)
    assert error.message.startswith(f"{path}:{error.line}: ")
    return error


def all_texts(model: Model) -> list[tuple[str, Text]]:
    texts: list[tuple[str, Text]] = [("title", model.title)]
    texts += [(s.id, s.name) for s in model.stages]
    texts += [(t.id, t.name) for t in model.tiers]
    for dimension in model.dimensions:
        texts.append((dimension.id, dimension.name))
        for factor in dimension.factors:
            texts.append((factor.id, factor.name))
            texts += [(a.id, a.name) for a in factor.aspects]
            texts += [(i.id, i.text) for i in factor.indicators]
    if model.description is not None:
        texts.append(("description", model.description))
    return texts


# -- the shipped models -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models() -> dict[str, Model]:
    return {m.id: m for m in shipped_models()}


def test_both_shipped_models_load(models: dict[str, Model]) -> None:
    assert sorted(models) == ["coalition-cmm", "gci-style"]
    assert models["coalition-cmm"].kind == "stages"
    assert models["gci-style"].kind == "weighted"
    assert all(m.version == "2026.1" for m in models.values())


def test_cmm_has_the_five_dimensions_and_stages_of_the_oxford_structure(models: dict[str, Model]) -> None:
    cmm = models["coalition-cmm"]
    assert [d.name["en"] for d in cmm.dimensions] == CMM_DIMENSIONS
    assert [s.name["en"] for s in cmm.stages] == CMM_STAGES
    assert [s.level for s in cmm.stages] == [1, 2, 3, 4, 5]
    assert cmm.tiers == ()


def test_cmm_has_an_indicator_per_stage_in_every_factor(models: dict[str, Model]) -> None:
    cmm = models["coalition-cmm"]
    for dimension in cmm.dimensions:
        assert len(dimension.factors) >= 3, dimension.id
        for factor in dimension.factors:
            for stage in cmm.stages:
                assert factor.at_stage(stage.id), f"{factor.id} has nothing at {stage.id}"
    indicators = list(cmm.indicators())
    assert len(indicators) >= 75
    assert all(i.weight > 0 and i.stage in {s.id for s in cmm.stages} for i in indicators)


def test_gci_style_model_has_five_weighted_pillars_and_ascending_tiers(models: dict[str, Model]) -> None:
    gci = models["gci-style"]
    assert [d.name["en"] for d in gci.dimensions] == [
        "Legal measures",
        "Technical measures",
        "Organizational measures",
        "Capacity development",
        "Cooperative measures",
    ]
    assert gci.stages == ()
    for pillar in gci.dimensions:
        questions = list(pillar.indicators())
        assert len(questions) >= 4, pillar.id
        assert pillar.weight > 0
        assert all(q.stage is None and q.weight > 0 for q in questions)
    assert sum(p.weight for p in gci.dimensions) == 100
    bounds = [t.lower_bound for t in gci.tiers]
    assert bounds[0] == 0 and bounds == sorted(set(bounds)) and bounds[-1] <= 100
    assert gci.tier_for(0).id == gci.tiers[0].id
    assert gci.tier_for(100).id == gci.tiers[-1].id
    assert gci.tier_for(gci.tiers[2].lower_bound).id == gci.tiers[2].id


@pytest.mark.parametrize("model_id", ["coalition-cmm", "gci-style"])
def test_every_text_of_a_shipped_model_is_in_english_arabic_and_french(models: dict[str, Model], model_id: str) -> None:
    for where, text in all_texts(models[model_id]):
        for language in LANGUAGES:
            assert text[language].strip(), f"{where} lacks {language}"
        assert ARABIC.search(text["ar"]), f"{where}: Arabic text has no Arabic script"
        assert not ARABIC.search(text["en"] + text["fr"]), where
        assert text["en"] != text["fr"] or len(text["en"]) < 12, f"{where}: French text is the English text"


@pytest.mark.parametrize("model_id", ["coalition-cmm", "gci-style"])
def test_ids_of_a_shipped_model_are_unique_and_nested(models: dict[str, Model], model_id: str) -> None:
    model = models[model_id]
    ids = [d.id for d in model.dimensions] + [f.id for _, f in model.factors()] + [i.id for i in model.indicators()]
    assert len(ids) == len(set(ids))
    for indicator in model.indicators():
        assert indicator.id.startswith(indicator.dimension + ".")
        assert model.indicator(indicator.id) is indicator


def test_indicator_lookup_of_an_unknown_id_is_not_found(models: dict[str, Model]) -> None:
    cmm = models["coalition-cmm"]
    assert cmm.indicator("cmm.d1.f1.i3").stage == "established"
    assert cmm.indicator("cmm.d1.f1.i3").factor == "cmm.d1.f1"
    with pytest.raises(NotFoundError):
        cmm.indicator("cmm.d9.f9.i9")
    with pytest.raises(NotFoundError):
        cmm.tier_for(50)


# -- a small valid model ------------------------------------------------------------------------


def test_aspect_indicators_belong_to_their_factor_too(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, TINY, "tiny.yaml"))
    factor = model.factor("t.d1.f1")
    assert [i.id for i in factor.indicators] == ["t.d1.f1.i1", "t.d1.f1.i2", "t.d1.f1.i3"]
    assert [i.id for i in factor.aspects[0].indicators] == ["t.d1.f1.i3"]
    assert model.indicator("t.d1.f1.i3").aspect == "t.d1.f1.a1"
    assert model.indicator("t.d1.f1.i1").aspect is None
    assert model.indicator("t.d1.f1.i2").weight == 2.5
    assert model.stage("high").level == 2
    assert model.key == "tiny@1.0"
    assert localized(model.title, "ar") == "صغير"
    assert localized(model.title, "de") == "Tiny"


def test_a_json_model_loads_like_yaml(tmp_path: Path) -> None:
    import yaml

    document = yaml.safe_load(TINY)
    path = write(tmp_path, json.dumps(document, ensure_ascii=False, indent=2), "tiny.json")
    assert load_model(path) == load_model(write(tmp_path, TINY, "tiny.yaml"))


def test_a_json_model_indented_with_tabs_loads(tmp_path: Path) -> None:
    import yaml

    document = yaml.safe_load(TINY)
    path = write(tmp_path, json.dumps(document, ensure_ascii=True, indent="\t"), "tiny.json")
    model = load_model(path)
    assert model.title["ar"] == "صغير"
    assert len(list(model.indicators())) == 3


def test_load_models_reads_a_directory_and_refuses_a_model_defined_twice(tmp_path: Path) -> None:
    write(tmp_path, TINY, "a.yaml")
    write(tmp_path, "not a model", "notes.txt")
    assert [m.key for m in load_models(tmp_path)] == ["tiny@1.0"]
    write(tmp_path, TINY, "b.yaml")
    with pytest.raises(ModelFileError, match=r"b\.yaml:1: id: model tiny@1.0 is also defined in .*a\.yaml"):
        load_models(tmp_path)


# -- bad files: one check per test, exact line ----------------------------------------------------


def test_missing_field_names_the_mapping_line(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("            weight: 2.5\n", ""))
    assert (error.line, error.field) == (21, "dimensions[0].factors[0].indicators[1].weight")
    assert "required field is missing" in error.message


def test_missing_top_level_field(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace('version: "1.0"\n', ""))
    assert (error.line, error.field) == (1, "version")


def test_bad_stage_lists_the_stages_of_the_model(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("            stage: high\n", "            stage: expert\n"))
    assert error.line == 22
    assert error.message == (
        f"{tmp_path / 'bad.yaml'}:22: dimensions[0].factors[0].indicators[1].stage: "
        "'expert' is not a stage of this model (use low, high)"
    )


def test_bad_stage_under_an_aspect(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("                stage: high\n", "                stage: top\n"))
    assert (error.line, error.field) == (30, "dimensions[0].factors[0].aspects[0].indicators[0].stage")


def test_duplicate_id(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("- id: t.d1.f1.i3", "- id: t.d1.f1.i1"))
    assert (error.line, error.field) == (29, "dimensions[0].factors[0].aspects[0].indicators[0].id")
    assert "duplicate id 't.d1.f1.i1' (first used at dimensions[0].factors[0].indicators[0].id)" in error.message


def test_duplicate_stage_id(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("  - id: high\n", "  - id: low\n"))
    assert (error.line, error.field) == (8, "stages[1].id")


def test_missing_arabic_text(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("{en: Second, ar: الثاني, fr: Deuxième}", "{en: Second, fr: Deuxième}"))
    assert (error.line, error.field) == (24, "dimensions[0].factors[0].indicators[1].text.ar")
    assert "missing in this language" in error.message


def test_empty_french_text(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("fr: Facteur}", 'fr: "  "}'))
    assert (error.line, error.field) == (15, "dimensions[0].factors[0].name.fr")


@pytest.mark.parametrize("weight", ["0", "-1", "-0.5"])
def test_non_positive_weight(tmp_path: Path, weight: str) -> None:
    error = rejected(tmp_path, TINY.replace("weight: 2.5", f"weight: {weight}"))
    assert (error.line, error.field) == (23, "dimensions[0].factors[0].indicators[1].weight")
    assert "must be a positive number" in error.message


def test_weight_that_is_not_a_number(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("weight: 2.5", "weight: heavy"))
    assert (error.line, error.field) == (23, "dimensions[0].factors[0].indicators[1].weight")


def test_unknown_key_catches_a_typo(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("            weight: 2.5\n", "            wieght: 2.5\n"))
    assert (error.line, error.field) == (23, "dimensions[0].factors[0].indicators[1].wieght")
    assert "unknown key" in error.message


def test_duplicate_key(tmp_path: Path) -> None:
    error = rejected(
        tmp_path, TINY.replace("            weight: 2.5\n", "            weight: 2.5\n            weight: 3\n")
    )
    assert (error.line, error.field) == (24, "dimensions[0].factors[0].indicators[1].weight")


def test_malformed_yaml(tmp_path: Path) -> None:
    error = rejected(
        tmp_path, TINY.replace("    name: {en: Low, ar: منخفض, fr: Bas}", "    name: {en: Low, ar: منخفض, fr: Bas")
    )
    assert error.line == 8
    assert "invalid YAML" in error.message


def test_malformed_json(tmp_path: Path) -> None:
    error = rejected(tmp_path, '{\n  "id": "tiny",\n  "version": "1.0",\n}\n', "bad.json")
    assert error.line == 4
    assert "invalid JSON" in error.message


def test_unknown_yaml_tag_is_refused(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("weight: 2.5", "weight: !!python/object:os.system 2"))
    assert (error.line, error.field) == (23, "dimensions[0].factors[0].indicators[1].weight")
    assert "\n" not in error.message


def test_unquoted_version_is_refused(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace('version: "1.0"', "version: 1.0"))
    assert (error.line, error.field) == (2, "version")
    assert 'quote it: "1.0"' in error.message


def test_unknown_kind(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("kind: stages", "kind: levels"))
    assert (error.line, error.field) == (3, "kind")


def test_empty_file(tmp_path: Path) -> None:
    error = rejected(tmp_path, "# nothing here\n")
    assert error.line == 1


WEIGHTED = """\
id: mini-index
version: "2026.1"
kind: weighted
title: {en: Index, ar: مؤشر, fr: Indice}
tiers:
  - id: low
    lower_bound: 0
    name: {en: Low, ar: منخفض, fr: Bas}
  - id: high
    lower_bound: 60
    name: {en: High, ar: مرتفع, fr: Haut}
dimensions:
  - id: m.p1
    name: {en: Legal, ar: قانوني, fr: Juridique}
    weight: 50
    factors:
      - id: m.p1.a1
        name: {en: Laws, ar: قوانين, fr: Lois}
        indicators:
          - id: m.p1.q1
            weight: 2
            text: {en: "Is there a law?", ar: "هل يوجد قانون؟", fr: "Existe-t-il une loi ?"}
"""


def test_a_weighted_model_loads(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, WEIGHTED, "mini.yaml"))
    assert model.kind == "weighted"
    assert model.dimension("m.p1").weight == 50
    assert model.tier_for(59.9).id == "low"
    assert model.tier_for(60).id == "high"


def test_tiers_out_of_order(tmp_path: Path) -> None:
    error = rejected(tmp_path, WEIGHTED.replace("lower_bound: 60", "lower_bound: 0"))
    assert (error.line, error.field) == (10, "tiers[1].lower_bound")
    assert "ascending" in error.message


def test_first_tier_must_start_at_zero(tmp_path: Path) -> None:
    error = rejected(tmp_path, WEIGHTED.replace("lower_bound: 0", "lower_bound: 10"))
    assert (error.line, error.field) == (7, "tiers[0].lower_bound")


def test_stage_on_a_weighted_question(tmp_path: Path) -> None:
    error = rejected(
        tmp_path, WEIGHTED.replace("            weight: 2\n", "            weight: 2\n            stage: low\n")
    )
    assert (error.line, error.field) == (22, "dimensions[0].factors[0].indicators[0].stage")


def test_weighted_model_without_tiers(tmp_path: Path) -> None:
    lines = WEIGHTED.splitlines(keepends=True)
    error = rejected(tmp_path, "".join(lines[:4] + lines[11:]))
    assert (error.line, error.field) == (1, "tiers")


def test_stages_model_with_tiers(tmp_path: Path) -> None:
    text = TINY.replace("dimensions:\n", "tiers: []\ndimensions:\n")
    error = rejected(tmp_path, text)
    assert (error.line, error.field) == (10, "tiers")


def test_parse_model_names_its_source() -> None:
    with pytest.raises(ModelFileError, match=r"^inline:3: kind: 'x' is not a model kind"):
        parse_model(TINY.replace("kind: stages", "kind: x"), "inline")


def test_public_names_of_the_capacity_package() -> None:
    import ribat.capacity

    assert set(ribat.capacity.__all__) >= {
        "Aspect",
        "Dimension",
        "Factor",
        "Indicator",
        "Model",
        "Stage",
        "Text",
        "Tier",
        "load_model",
        "load_models",
        "shipped_models",
    }
    assert all(hasattr(ribat.capacity, name) for name in ribat.capacity.__all__)


def test_shipped_model_files_are_yaml_so_that_the_package_includes_them() -> None:
    from ribat.capacity import SHIPPED_MODELS

    files = sorted(p.name for p in SHIPPED_MODELS.iterdir() if p.is_file())
    assert files == ["coalition-cmm.yaml", "gci-style.yaml"]


# -- platform evidence named by indicators ---------------------------------------------------------


def test_an_indicator_names_the_platform_metrics_that_can_evidence_it(tmp_path: Path) -> None:
    tagged = "weight: 2.5\n            evidence: [sharing.volume, federation.participation]\n"
    model = load_model(write(tmp_path, TINY.replace("weight: 2.5\n", tagged), "tiny.yaml"))
    assert model.indicator("t.d1.f1.i2").evidence == ("sharing.volume", "federation.participation")
    assert model.indicator("t.d1.f1.i1").evidence == ()
    none = "weight: 2.5\n            evidence: []\n"
    empty = load_model(write(tmp_path, TINY.replace("weight: 2.5\n", none), "empty.yaml"))
    assert empty.indicator("t.d1.f1.i2").evidence == ()


def test_unknown_evidence_metric_names_file_line_and_field(tmp_path: Path) -> None:
    listed = "            evidence:\n              - sharing.volume\n              - sharing.speed\n"
    error = rejected(tmp_path, TINY.replace("            weight: 2.5\n", "            weight: 2.5\n" + listed))
    assert error.message == (
        f"{tmp_path / 'bad.yaml'}:26: dimensions[0].factors[0].indicators[1].evidence[1]: 'sharing.speed' is not a "
        "platform metric (use federation.participation, sharing.sighting_feedback, sharing.timeliness, sharing.volume)"
    )


def test_evidence_must_be_a_list_of_distinct_metrics(tmp_path: Path) -> None:
    error = rejected(tmp_path, TINY.replace("weight: 2.5\n", "weight: 2.5\n            evidence: sharing.volume\n"))
    assert (error.line, error.field) == (24, "dimensions[0].factors[0].indicators[1].evidence")
    assert "must be a list" in error.message
    twice = "weight: 2.5\n            evidence: [sharing.volume, sharing.volume]\n"
    error = rejected(tmp_path, TINY.replace("weight: 2.5\n", twice))
    assert (error.line, error.field) == (24, "dimensions[0].factors[0].indicators[1].evidence[1]")
    assert "duplicate metric 'sharing.volume'" in error.message


def test_shipped_models_offer_platform_evidence_for_sharing_and_cooperation(models: dict[str, Model]) -> None:
    from ribat.capacity.evidence import METRIC_IDS

    cmm, gci = models["coalition-cmm"], models["gci-style"]
    cmm_tagged = {i.id: i for i in cmm.indicators() if i.evidence}
    assert {"cmm.d1.f2.i3", "cmm.d4.f3.i4"} <= set(cmm_tagged)
    # Incident response, and international cooperation: nothing else on the hub speaks for a factor.
    assert {i.factor for i in cmm_tagged.values()} == {"cmm.d1.f2", "cmm.d4.f3"}
    gci_tagged = {i.id: i for i in gci.indicators() if i.evidence}
    assert {"gci.p2.q1", "gci.p5.q2"} <= set(gci_tagged)
    assert {i.dimension for i in gci_tagged.values()} == {"gci.p2", "gci.p5"}
    used = {m for i in [*cmm_tagged.values(), *gci_tagged.values()] for m in i.evidence}
    assert used == METRIC_IDS
