"""The report of a weighted (GCI-style) model: HTML in three languages, gap ranking and ids, the PDF's text."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from lxml import etree, html

from ribat.capacity.models import SHIPPED_MODELS, load_model, parse_model
from ribat.capacity.report import (
    STRENGTH_SCORE,
    radar_svg,
    render_weighted_html,
    render_weighted_pdf,
    weighted_gap_id,
    weighted_gaps,
)
from ribat.capacity.scoring import Answer, WeightedResult, score_stages, score_weighted
from ribat.capacity.types import Model
from ribat.errors import ValidationError

SVG = "{http://www.w3.org/2000/svg}"

# Two pillars weighted 3:1. Pillar a: questions weighted 2, 3, 1; pillar b: four questions weighted 1 each, listed
# in the file in an order that is not the order of their ids.
SMALL = """
id: small
version: '1'
kind: weighted
title: {en: Small index, ar: مؤشر صغير, fr: Petit indice}
tiers:
- {id: low, lower_bound: 0, name: {en: Low, ar: منخفض, fr: Bas}}
- {id: mid, lower_bound: 50, name: {en: Mid, ar: متوسط, fr: Moyen}}
- {id: high, lower_bound: 80, name: {en: High, ar: مرتفع, fr: Haut}}
dimensions:
- id: a
  weight: 3
  name: {en: Pillar A, ar: الركيزة أ, fr: Pilier A}
  factors:
  - id: a.f
    name: {en: A f, ar: أ ع, fr: A f}
    indicators:
    - {id: a.q1, weight: 2, text: {en: 'Question a1?', ar: 'سؤال أ1؟', fr: 'Question a1 ?'}}
    - {id: a.q2, weight: 3, text: {en: 'Question a2?', ar: 'سؤال أ2؟', fr: 'Question a2 ?'}}
    - {id: a.q3, weight: 1, text: {en: 'Question a3?', ar: 'سؤال أ3؟', fr: 'Question a3 ?'}}
- id: b
  weight: 1
  name: {en: Pillar B, ar: الركيزة ب, fr: Pilier B}
  factors:
  - id: b.f
    name: {en: B f, ar: ب ع, fr: B f}
    indicators:
    - {id: b.z, weight: 1, text: {en: 'Question bz?', ar: 'سؤال ب ز؟', fr: 'Question bz ?'}}
    - {id: b.y, weight: 1, text: {en: 'Question by?', ar: 'سؤال ب ي؟', fr: 'Question by ?'}}
    - {id: b.x, weight: 1, text: {en: 'Question bx?', ar: 'سؤال ب س؟', fr: 'Question bx ?'}}
    - {id: b.w, weight: 1, text: {en: 'Question bw?', ar: 'سؤال ب و؟', fr: 'Question bw ?'}}
"""

SMALL_ANSWERS = {
    "a.q1": Answer.UNKNOWN,
    "a.q2": Answer.MET,
    "a.q3": Answer.NOT_MET,
    "b.z": Answer.MET,
    "b.y": Answer.PARTLY_MET,
    "b.x": Answer.UNKNOWN,
    "b.w": Answer.MET,
}


@pytest.fixture(scope="module")
def small() -> Model:
    return parse_model(SMALL, "small.yaml")


@pytest.fixture(scope="module")
def small_result(small: Model) -> WeightedResult:
    return score_weighted(small, SMALL_ANSWERS)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(SHIPPED_MODELS / "gci-style.yaml")


@pytest.fixture(scope="module")
def result(model: Model) -> WeightedResult:
    # Every question of the first pillar answered yes (a strength); the others cycle through every answer.
    cycle = [Answer.MET, Answer.MET, Answer.NOT_MET, Answer.PARTLY_MET, Answer.UNKNOWN]
    answers = {indicator.id: cycle[n % len(cycle)] for n, indicator in enumerate(model.indicators())}
    answers.update({indicator.id: Answer.MET for indicator in model.dimensions[0].indicators()})
    return score_weighted(model, answers)


def report(model: Model, result: WeightedResult, language: str, country_name: str = "Jordan") -> str:
    return render_weighted_html(
        model,
        result,
        country="JO",
        country_name=country_name,
        language=language,  # type: ignore[arg-type]
        assessed="2026-11-20",
    )


def rows(page: str, table: str) -> list[list[str]]:
    tree = html.fromstring(page)
    return [
        [cell.text_content().strip() for cell in row.findall("td")]
        for row in tree.findall(f".//table[@class='{table}']/tbody/tr")
    ]


def radar_of(page: str) -> etree._Element:
    match = re.search(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert match is not None
    return etree.fromstring(match.group(0))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


# --------------------------------------------------------------------------------------------- gaps


def test_gaps_are_ranked_by_their_weighted_effect_on_the_overall_score(
    small: Model, small_result: WeightedResult
) -> None:
    # Shares: pillar a 3/4, pillar b 1/4. a.q1: 3/4 × 2/6 × 100 = 25; a.q3: 3/4 × 1/6 × 100 = 12.5;
    # b.y and b.x: 1/4 × 1/4 × 100 = 6.25 each, tied, so in the model's order (b.y is listed before b.x).
    gaps = weighted_gaps(small, small_result)
    assert [(g.indicator_id, g.dimension_id, g.answer, g.effect) for g in gaps] == [
        ("a.q1", "a", Answer.UNKNOWN, 25.0),
        ("a.q3", "a", Answer.NOT_MET, 12.5),
        ("b.y", "b", Answer.PARTLY_MET, 6.25),
        ("b.x", "b", Answer.UNKNOWN, 6.25),
    ]
    # Pillar a scores 3/6 = 50, pillar b 2/4 = 50: 50 overall, and the gaps hold the 50 points it misses.
    assert small_result.score == 50.0
    assert sum(g.effect for g in gaps) == pytest.approx(100 - small_result.score)
    unknown = sum(g.effect for g in gaps if g.answer is Answer.UNKNOWN)
    assert unknown == pytest.approx(small_result.score_high - small_result.score) == pytest.approx(31.25)


def test_gap_effects_add_up_to_the_points_the_shipped_model_misses(model: Model, result: WeightedResult) -> None:
    gaps = weighted_gaps(model, result)
    answered_yes = {i for pillar in result.pillars for i in pillar.yes}
    assert {g.indicator_id for g in gaps} == {i.id for i in model.indicators()} - answered_yes
    assert [g.effect for g in gaps] == sorted((g.effect for g in gaps), reverse=True)
    assert sum(g.effect for g in gaps) == pytest.approx(100 - result.score)
    unknown = sum(g.effect for g in gaps if g.answer is Answer.UNKNOWN)
    assert unknown == pytest.approx(result.score_high - result.score)


def test_gap_ids_are_stable_across_answers_and_languages(model: Model, result: WeightedResult) -> None:
    gaps = weighted_gaps(model, result)
    assert all(g.id == f"gap:gci-style@2026.1:{g.indicator_id}" for g in gaps)
    assert weighted_gap_id(model.key, "gci.p2.q1") == "gap:gci-style@2026.1:gci.p2.q1"
    # Other answers rank the gaps differently but give each question the same id.
    nothing = score_weighted(model, {})
    again = {g.indicator_id: g.id for g in weighted_gaps(model, nothing)}
    assert len(again) == sum(1 for _ in model.indicators())
    assert all(again[g.indicator_id] == g.id for g in gaps)
    shown = {lang: [row[0] for row in rows(report(model, result, lang), "gaps")] for lang in ("en", "ar", "fr")}
    assert shown["en"] == shown["ar"] == shown["fr"] == [g.id for g in gaps]


def test_gaps_refuse_a_stages_model_and_a_result_of_another_model(small: Model, small_result: WeightedResult) -> None:
    stages = load_model(SHIPPED_MODELS / "coalition-cmm.yaml")
    with pytest.raises(ValidationError, match="not a weighted model"):
        weighted_gaps(stages, small_result)
    other = WeightedResult("other@1", small_result.pillars, 50.0, 50.0, small_result.tier, small_result.tier)
    with pytest.raises(ValidationError, match="other@1"):
        weighted_gaps(small, other)
    with pytest.raises(ValidationError, match="weighted"):
        render_weighted_html(
            stages,
            score_stages(stages, {}),  # type: ignore[arg-type]
            country="JO",
            country_name="Jordan",
            language="en",
            assessed="x",
        )


# --------------------------------------------------------------------------------------------- HTML


def test_english_report_shows_score_tier_range_pillars_and_ranked_gaps(
    small: Model, small_result: WeightedResult
) -> None:
    page = report(small, small_result, "en")
    tree = html.fromstring(page)
    assert tree.get("lang") == "en" and tree.get("dir") == "ltr"
    assert tree.findtext(".//h1").endswith("Jordan") and "(JO)" in page
    assert "Small index 1" in page
    assert tree.find(".//td[@class='score']").text_content() == "50 / 100"
    assert tree.find(".//td[@class='tier']").text_content() == "Mid"  # 50 is the lower bound of Mid
    # Unknown answers could lift it to 81.25 (shown rounded half up), into High.
    assert tree.find(".//td[@class='range']").text_content() == "50 – 81.3 (Mid – High)"
    assert rows(page, "pillars") == [
        ["Pillar A", "75%", "50", "50 – 83.3", "1", "1", "0", "1"],
        ["Pillar B", "25%", "50", "50 – 75", "2", "0", "1", "1"],
    ]
    assert rows(page, "gaps") == [
        ["gap:small@1:a.q1", "Pillar A", "Question a1?", "Unknown", "25"],
        ["gap:small@1:a.q3", "Pillar A", "Question a3?", "No", "12.5"],
        ["gap:small@1:b.y", "Pillar B", "Question by?", "Partly", "6.3"],
        ["gap:small@1:b.x", "Pillar B", "Question bx?", "Unknown", "6.3"],
    ]
    assert tree.find(".//ul[@class='strengths']") is None  # no pillar reaches 80
    assert small.key in tree.findtext(".//footer/span")


def test_range_is_left_out_when_no_answer_is_unknown(small: Model) -> None:
    settled = {key: (Answer.NOT_MET if value is Answer.UNKNOWN else value) for key, value in SMALL_ANSWERS.items()}
    page = report(small, score_weighted(small, settled), "en")
    tree = html.fromstring(page)
    assert tree.find(".//td[@class='range']") is None
    assert [row[3] for row in rows(page, "pillars")] == ["", ""]


def test_shipped_model_report_lists_strong_pillars_and_every_pillar_in_english(
    model: Model, result: WeightedResult
) -> None:
    page = report(model, result, "en")
    assert [row[0] for row in rows(page, "pillars")] == [d.name["en"] for d in model.dimensions]
    strong = [d.name["en"] for d in model.dimensions if result.pillar(d.id).score >= STRENGTH_SCORE]
    assert strong == ["Legal measures"]
    items = [li.text_content() for li in html.fromstring(page).findall(".//ul[@class='strengths']/li")]
    assert items == ["Legal measures — 100"]
    assert len(rows(page, "gaps")) == len(weighted_gaps(model, result))


def test_arabic_report_is_right_to_left_with_arabic_pillar_names(model: Model, result: WeightedResult) -> None:
    page = report(model, result, "ar", country_name="الأردن")
    tree = html.fromstring(page)
    assert tree.get("lang") == "ar" and tree.get("dir") == "rtl"
    assert "الأردن" in tree.findtext(".//h1") and "الدرجة الإجمالية" in page
    assert [row[0] for row in rows(page, "pillars")] == [d.name["ar"] for d in model.dimensions]
    assert tree.find(".//td[@class='tier']").text_content() == result.tier.name["ar"]
    answers = {row[3] for row in rows(page, "gaps")}
    assert answers == {"لا", "جزئيًا", "مجهول"}
    # The radar's axes carry numbers in Arabic; the table under it names them.
    svg = radar_of(page)
    numbers = [str(n) for n in range(1, len(model.dimensions) + 1)]
    assert [t.text for t in svg.findall(f"{SVG}text[@class='label']")] == numbers
    assert [row[:2] for row in rows(page, "legend")] == [
        [n, d.name["ar"]] for n, d in zip(numbers, model.dimensions, strict=True)
    ]


def test_french_report_uses_french_names_and_words(model: Model, result: WeightedResult) -> None:
    page = report(model, result, "fr", country_name="Jordanie")
    tree = html.fromstring(page)
    assert tree.get("lang") == "fr" and tree.get("dir") == "ltr"
    assert [row[0] for row in rows(page, "pillars")] == [d.name["fr"] for d in model.dimensions]
    assert "Score global" in page and tree.find(".//td[@class='tier']").text_content() == result.tier.name["fr"]
    assert {row[3] for row in rows(page, "gaps")} == {"Non", "En partie", "Inconnu"}
    first = weighted_gaps(model, result)[0]
    assert rows(page, "gaps")[0][2] == model.indicator(first.indicator_id).text["fr"]
    for dimension in model.dimensions:
        assert dimension.name["en"] not in page


def test_radar_plots_pillar_scores_on_rings_of_twenty(model: Model, result: WeightedResult) -> None:
    svg = radar_of(report(model, result, "en"))
    assert len(svg.findall(f"{SVG}line[@class='axis']")) == len(model.dimensions)
    assert len(svg.findall(f"{SVG}polygon[@class='ring']")) == 5
    assert [t.text for t in svg.findall(f"{SVG}text[@class='tick']")] == ["20", "40", "60", "80"]
    labels = " ".join(t.text for t in svg.findall(f"{SVG}text[@class='label']"))
    assert labels == " ".join(f"{n}. {d.name['en']}" for n, d in enumerate(model.dimensions, start=1))
    # The first pillar (100) reaches the end of its axis; the dashed bound is drawn since unknowns remain.
    axis = svg.find(f"{SVG}line[@class='axis']")
    first = svg.find(f"{SVG}polygon[@class='level']").get("points").split()[0]
    assert tuple(map(float, first.split(","))) == pytest.approx((float(axis.get("x2")), float(axis.get("y2"))))
    assert svg.find(f"{SVG}polygon[@class='level-high']") is not None


def test_radar_step_must_divide_the_maximum() -> None:
    with pytest.raises(ValidationError, match="step"):
        radar_svg(["a", "b", "c"], [1, 2, 3], maximum=100, step=30, title="t")


def test_values_are_escaped(small: Model, small_result: WeightedResult) -> None:
    page = report(small, small_result, "en", country_name="<script>alert(1)</script>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not html.fromstring(page).findall(".//script")


def test_unknown_language_is_refused(small: Model, small_result: WeightedResult) -> None:
    with pytest.raises(ValidationError, match="language"):
        report(small, small_result, "de")


# --------------------------------------------------------------------------------------------- PDF


def test_english_pdf_contains_country_score_and_every_pillar(model: Model, result: WeightedResult) -> None:
    pdf = render_weighted_pdf(model, result, country="JO", country_name="Jordan", language="en", assessed="2026-11-20")
    text = squeeze(pdf_text(pdf))
    assert "Jordan" in text and squeeze(result.tier.name["en"]) in text
    for dimension in model.dimensions:
        assert squeeze(dimension.name["en"]) in text
    assert weighted_gaps(model, result)[0].id in text


def test_arabic_pdf_contains_country_and_every_pillar_in_arabic(model: Model, result: WeightedResult) -> None:
    # pypdf extracts the Arabic of this PDF in logical order; spaces and line breaks are dropped before comparing.
    pdf = render_weighted_pdf(
        model, result, country="JO", country_name="المملكة الأردنية", language="ar", assessed="2026-11-20"
    )
    text = squeeze(pdf_text(pdf))
    assert "المملكةالأردنية" in text
    for dimension in model.dimensions:
        assert squeeze(dimension.name["ar"]) in text
    assert "الدرجةالإجمالية" in text
