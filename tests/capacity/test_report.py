"""The assessment report: HTML in three languages, the radar chart, escaping, and the PDF's text."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from lxml import etree, html

from ribat.capacity.models import SHIPPED_MODELS, load_model
from ribat.capacity.report import GapLine, radar_svg, render_html, render_pdf
from ribat.capacity.scoring import Answer, ModelResult, score_stages
from ribat.capacity.types import Model, localized
from ribat.errors import ValidationError

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(SHIPPED_MODELS / "coalition-cmm.yaml")


@pytest.fixture(scope="module")
def result(model: Model) -> ModelResult:
    # Each factor: first indicator met, the rest not met, except its second, which is unknown (so unknowns could
    # raise the stage) everywhere but in the first dimension, where it is met (so the stage is certain).
    answers: dict[str, Answer] = {}
    for dimension, factor in model.factors():
        second = Answer.MET if dimension.id == model.dimensions[0].id else Answer.UNKNOWN
        for position, indicator in enumerate(factor.indicators):
            answers[indicator.id] = (Answer.MET, second)[position] if position < 2 else Answer.NOT_MET
    return score_stages(model, answers)


GAPS = (
    GapLine(id="gap.cmm.d1.f1.3", factor="National cybersecurity strategy", current_stage=1, target_stage=3, todo=4),
)


def report(model: Model, result: ModelResult, language: str, country_name: str = "Jordan", **extra: object) -> str:
    return render_html(
        model,
        result,
        country="JO",
        country_name=country_name,
        language=language,  # type: ignore[arg-type]
        assessed="2026-11-20",
        **extra,  # type: ignore[arg-type]
    )


def radar_of(page: str) -> etree._Element:
    match = re.search(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert match is not None
    return etree.fromstring(match.group(0))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() for page in reader.pages)


# --------------------------------------------------------------------------------------------- HTML


def test_english_report_names_country_model_and_every_factor_stage(model: Model, result: ModelResult) -> None:
    page = report(model, result, "en", gaps=GAPS, strengths=["A national CERT answers around the clock"])
    tree = html.fromstring(page)
    assert tree.get("lang") == "en" and tree.get("dir") == "ltr"
    assert "Jordan" in tree.findtext(".//h1") and "(JO)" in page
    assert f"{localized(model.title, 'en')} {model.version}" in page
    rows = tree.findall(".//table[@class='stages']/tbody/tr")
    assert len(rows) == sum(1 for _ in model.factors())
    first = model.factor(result.dimensions[0].factors[0].factor_id)
    cells = [c.text_content() for c in rows[0].findall("td")]
    assert cells[0] == first.name["en"]
    assert cells[1] == model.stages[result.dimensions[0].factors[0].stage - 1].name["en"]
    assert "A national CERT answers around the clock" in page
    gap_cells = [c.text_content() for c in tree.findall(".//table[@class='gaps']/tbody/tr/td")]
    assert gap_cells == ["gap.cmm.d1.f1.3", "National cybersecurity strategy", "Start-up", "Established", "4"]
    assert model.key in tree.findtext(".//footer/span")


def test_stage_range_is_shown_only_where_unknowns_could_change_it(model: Model, result: ModelResult) -> None:
    tree = html.fromstring(report(model, result, "en"))
    rows = tree.findall(".//table[@class='stages']/tbody/tr")
    factors = [f for d in result.dimensions for f in d.factors]
    assert any(f.stage_high != f.stage for f in factors) and any(f.stage_high == f.stage for f in factors)
    for row, factor in zip(rows, factors, strict=True):
        shown = row.findall("td")[2].text_content().strip()
        if factor.stage_high == factor.stage:
            assert shown == ""
        else:
            names = {s.level: s.name["en"] for s in model.stages}
            assert shown == f"{names.get(factor.stage, 'None')} – {names[factor.stage_high]}"


def test_french_report_uses_french_stage_and_dimension_names(model: Model, result: ModelResult) -> None:
    gap = GapLine(id="g1", factor="Stratégie nationale", current_stage=0, target_stage=2, todo=3)
    page = report(model, result, "fr", country_name="Jordanie", gaps=[gap])
    tree = html.fromstring(page)
    assert tree.get("lang") == "fr" and tree.get("dir") == "ltr"
    stages_shown = {row.findall("td")[1].text_content() for row in tree.findall(".//table[@class='stages']/tbody/tr")}
    french = {s.name["fr"] for s in model.stages} | {"Aucun"}
    assert stages_shown and stages_shown <= french
    assert "Démarrage" in stages_shown
    assert "Start-up" not in page
    for dimension in model.dimensions:
        assert dimension.name["fr"] in page
    assert [c.text_content() for c in tree.findall(".//table[@class='gaps']/tbody/tr/td")][2:4] == ["Aucun", "Formatif"]
    assert "Évaluation des capacités de cybersécurité" in page


def test_arabic_report_is_right_to_left_with_arabic_names(model: Model, result: ModelResult) -> None:
    page = report(model, result, "ar", country_name="الأردن")
    tree = html.fromstring(page)
    assert tree.get("lang") == "ar" and tree.get("dir") == "rtl"
    assert "DejaVu Sans" in page  # a font WeasyPrint has here that shapes Arabic
    for dimension in model.dimensions:
        assert dimension.name["ar"] in page
    assert {s.name["ar"] for s in model.stages} & {
        row.findall("td")[1].text_content() for row in tree.findall(".//table[@class='stages']/tbody/tr")
    }


def test_values_are_escaped(model: Model, result: ModelResult) -> None:
    page = report(
        model,
        result,
        "en",
        country_name="<script>alert(1)</script>",
        strengths=["<b>bold</b>"],
        gaps=[GapLine(id='x"><script>', factor="<i>f</i>", current_stage=0, target_stage=1, todo=1)],
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "&lt;i&gt;f&lt;/i&gt;" in page
    tree = html.fromstring(page)
    assert tree.findtext(".//h1").endswith("<script>alert(1)</script>")
    assert not tree.findall(".//script")


def test_report_rejects_a_result_of_another_model_and_an_unknown_language(model: Model, result: ModelResult) -> None:
    other = ModelResult(
        model_key="other@1",
        top_stage=result.top_stage,
        dimensions=result.dimensions,
        summary=result.summary,
        summary_high=result.summary_high,
        completion=result.completion,
        completion_high=result.completion_high,
    )
    with pytest.raises(ValidationError, match="other@1"):
        report(model, other, "en")
    with pytest.raises(ValidationError, match="language"):
        report(model, result, "de")


# --------------------------------------------------------------------------------------------- radar


def test_radar_has_one_axis_per_dimension_and_a_point_per_dimension(model: Model, result: ModelResult) -> None:
    svg = radar_of(report(model, result, "en"))
    count = len(model.dimensions)
    assert len(svg.findall(f"{SVG}line[@class='axis']")) == count
    polygons = svg.findall(f"{SVG}polygon[@class='level']")
    assert len(polygons) == 1
    assert len(polygons[0].get("points").split()) == count
    labels = [t.text for t in svg.findall(f"{SVG}text[@class='label']")]
    assert " ".join(labels) == " ".join(f"{n}. {d.name['en']}" for n, d in enumerate(model.dimensions, start=1))
    assert len(svg.findall(f"{SVG}polygon[@class='ring']")) == result.top_stage


def test_radar_places_each_value_at_its_share_of_the_axis() -> None:
    svg = etree.fromstring(str(radar_svg(["a", "b", "c", "d"], [5, 0, 2.5, 5], maximum=5, title="t", size=400)))
    axes = svg.findall(f"{SVG}line[@class='axis']")
    ends = [(float(a.get("x2")), float(a.get("y2"))) for a in axes]
    cx, cy = float(axes[0].get("x1")), float(axes[0].get("y1"))
    points = [tuple(map(float, p.split(","))) for p in svg.find(f"{SVG}polygon[@class='level']").get("points").split()]
    assert points[0] == pytest.approx(ends[0])  # full value: at the axis end (pointing up)
    assert ends[0][1] < cy and ends[0][0] == pytest.approx(cx)
    assert points[1] == pytest.approx((cx, cy))  # zero: at the centre
    assert points[2] == pytest.approx(((cx + ends[2][0]) / 2, (cy + ends[2][1]) / 2))  # half way
    assert svg.find(f"{SVG}polygon[@class='level-high']") is None  # drawn only when it differs


def test_radar_draws_the_optimistic_bound_and_escapes_labels() -> None:
    svg = radar_svg(["<x>", "b", "c"], [1, 2, 3], maximum=5, title="<t>", high=[2, 2, 3])
    tree = etree.fromstring(str(svg))
    assert len(tree.find(f"{SVG}polygon[@class='level-high']").get("points").split()) == 3
    assert [t.text for t in tree.findall(f"{SVG}text[@class='label']")] == ["<x>", "b", "c"]
    assert "<x>" not in str(svg) and "<t>" not in str(svg)
    with pytest.raises(ValidationError, match="values"):
        radar_svg(["a", "b"], [1], maximum=5, title="t")


def test_arabic_radar_numbers_its_axes_and_the_table_under_it_names_them(model: Model, result: ModelResult) -> None:
    # SVG text is drawn letter by letter by WeasyPrint, which would break Arabic shaping: numbers stand in.
    page = report(model, result, "ar")
    svg = radar_of(page)
    numbers = [str(n) for n in range(1, len(model.dimensions) + 1)]
    assert [t.text for t in svg.findall(f"{SVG}text[@class='label']")] == numbers
    assert len(svg.findall(f"{SVG}line[@class='axis']")) == len(model.dimensions)
    legend = [
        [c.text_content() for c in row.findall("td")]
        for row in html.fromstring(page).findall(".//table[@class='legend']/tbody/tr")
    ]
    assert [row[:2] for row in legend] == [[n, d.name["ar"]] for n, d in zip(numbers, model.dimensions, strict=True)]
    means = {d.dimension_id: d.summary.mean for d in result.dimensions}
    assert [float(row[2]) for row in legend] == pytest.approx([means[d.id] for d in model.dimensions], abs=0.05)


# --------------------------------------------------------------------------------------------- PDF


def test_english_pdf_contains_country_and_every_dimension(model: Model, result: ModelResult) -> None:
    pdf = render_pdf(model, result, country="JO", country_name="Jordan", language="en", assessed="2026-11-20")
    text = squeeze(pdf_text(pdf))
    assert "Jordan" in text
    for dimension in model.dimensions:
        assert squeeze(dimension.name["en"]) in text


def test_arabic_pdf_contains_country_and_every_dimension_in_arabic(model: Model, result: ModelResult) -> None:
    # pypdf extracts the Arabic of this PDF in logical order; spaces and line breaks are dropped before comparing.
    pdf = render_pdf(
        model, result, country="JO", country_name="المملكة الأردنية", language="ar", assessed="2026-11-20", gaps=GAPS
    )
    text = squeeze(pdf_text(pdf))
    assert "المملكةالأردنية" in text
    for dimension in model.dimensions:
        assert squeeze(dimension.name["ar"]) in text
    assert "تقييمقدراتالأمنالسيبراني" in text
