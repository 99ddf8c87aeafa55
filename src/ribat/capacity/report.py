"""The assessment report, in HTML and PDF, in English, Arabic or French.

For a ``stages`` model, :func:`render_html` fills the ``templates/report.html`` Jinja2 template (autoescaped) with
the country, the model, a radar chart of the dimensions drawn here as inline SVG, the stage each factor reached,
strengths and gap lines. For a ``weighted`` (GCI-style) model, :func:`render_weighted_html` fills
``templates/report_weighted.html`` with the overall score and tier, a radar chart of the pillar scores, the pillar
table, strengths (pillars scoring at least :data:`STRENGTH_SCORE`) and the questions not answered yes, ranked by
what they cost the overall score (:func:`weighted_gaps`). :func:`render_pdf` and :func:`render_weighted_pdf` print
that HTML with WeasyPrint. All are pure: the inputs are plain values, nothing is read but the templates. Arabic
reports are laid out right to left (``dir="rtl"``). See ``docs/capacity-report.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Literal

import jinja2
from markupsafe import Markup, escape

from ribat.capacity.scoring import Answer, ModelResult, WeightedResult
from ribat.capacity.types import LANGUAGES, Model, localized
from ribat.errors import ValidationError

__all__ = [
    "STRENGTH_SCORE",
    "GapLine",
    "ReportLanguage",
    "WeightedGap",
    "radar_svg",
    "render_html",
    "render_pdf",
    "render_weighted_html",
    "render_weighted_pdf",
    "weighted_gap_id",
    "weighted_gaps",
]

ReportLanguage = Literal["en", "ar", "fr"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class GapLine:
    """One line of the roadmap: a factor to raise from ``current_stage`` to ``target_stage``.

    Stages are levels of the model (0 = no stage reached, 1 = the first stage); ``factor`` is the
    factor's name as it should be shown and ``todo`` the number of indicators still to meet.
    """

    id: str
    factor: str
    current_stage: int
    target_stage: int
    todo: int


# The report's own words; model texts (dimensions, factors, stages) come from the model in each language.
_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "report": "Cybersecurity capacity assessment",
        "assessed": "Assessed on",
        "radar": "Stage reached by dimension",
        "radar_note": "Mean stage of each dimension's factors, 0 to {top}; the dashed line is the level "
        "reached if every unknown answer were met.",
        "stages": "Stage reached by factor",
        "dimension": "Dimension",
        "factor": "Factor",
        "stage": "Stage reached",
        "range": "With unknown answers met",
        "completion": "Completion",
        "mean": "Mean stage",
        "axis": "Axis",
        "none": "None",
        "strengths": "Strengths",
        "gaps": "Gaps and roadmap",
        "id": "Id",
        "current": "Current stage",
        "target": "Target stage",
        "todo": "Indicators to meet",
        "model": "Model",
        "country": "Country",
        # Weighted (GCI-style) reports
        "overall": "Overall score",
        "tier": "Tier",
        "w_range": "If every unknown answer were yes",
        "w_radar": "Score by pillar",
        "w_radar_note": "Score of each pillar, 0 to 100; the dashed line is the score if every unknown answer "
        "were yes.",
        "pillars": "Pillars",
        "pillar": "Pillar",
        "weight": "Weight",
        "score": "Score",
        "yes": "Yes",
        "no": "No",
        "partly": "Partly",
        "unknown": "Unknown",
        "w_strengths_note": "Pillars scoring {threshold} or more.",
        "w_gaps": "Gaps, by points to gain",
        "w_gaps_note": "Questions not answered yes, the largest gain first: the points the overall score would "
        "gain if the answer became yes.",
        "question": "Question",
        "answer": "Answer",
        "gain": "Points to gain",
    },
    "ar": {
        "report": "تقييم قدرات الأمن السيبراني",
        "assessed": "تاريخ التقييم",
        "radar": "المرحلة المبلوغة في كل بُعد",
        "radar_note": "متوسط مراحل عوامل كل بُعد، من 0 إلى {top}؛ الخط المتقطع هو المستوى الذي يُبلغ "
        "لو تحققت كل الإجابات المجهولة.",
        "stages": "المرحلة المبلوغة في كل عامل",
        "dimension": "البُعد",
        "factor": "العامل",
        "stage": "المرحلة المبلوغة",
        "range": "إن تحققت الإجابات المجهولة",
        "completion": "نسبة الإنجاز",
        "mean": "متوسط المرحلة",
        "axis": "المحور",
        "none": "لا شيء",
        "strengths": "نقاط القوة",
        "gaps": "الفجوات وخارطة الطريق",
        "id": "المعرّف",
        "current": "المرحلة الحالية",
        "target": "المرحلة المستهدفة",
        "todo": "مؤشرات يجب تحقيقها",
        "model": "النموذج",
        "country": "البلد",
        "overall": "الدرجة الإجمالية",
        "tier": "المستوى",
        "w_range": "لو كانت كل الإجابات المجهولة «نعم»",
        "w_radar": "الدرجة في كل ركيزة",
        "w_radar_note": "درجة كل ركيزة من 0 إلى 100؛ الخط المتقطع هو الدرجة لو كانت كل الإجابات المجهولة «نعم».",
        "pillars": "الركائز",
        "pillar": "الركيزة",
        "weight": "الوزن",
        "score": "الدرجة",
        "yes": "نعم",
        "no": "لا",
        "partly": "جزئيًا",
        "unknown": "مجهول",
        "w_strengths_note": "الركائز التي بلغت درجتها {threshold} أو أكثر.",
        "w_gaps": "الفجوات مرتبة حسب النقاط الممكن كسبها",
        "w_gaps_note": "الأسئلة التي لم تكن إجابتها «نعم»، الأكبر أثرًا أولًا: النقاط التي تكسبها الدرجة "
        "الإجمالية لو أصبحت الإجابة «نعم».",
        "question": "السؤال",
        "answer": "الإجابة",
        "gain": "النقاط الممكن كسبها",
    },
    "fr": {
        "report": "Évaluation des capacités de cybersécurité",
        "assessed": "Évalué le",
        "radar": "Stade atteint par dimension",
        "radar_note": "Stade moyen des facteurs de chaque dimension, de 0 à {top} ; la ligne pointillée est "
        "le niveau atteint si toutes les réponses inconnues étaient satisfaites.",
        "stages": "Stade atteint par facteur",
        "dimension": "Dimension",
        "factor": "Facteur",
        "stage": "Stade atteint",
        "range": "Si les réponses inconnues sont satisfaites",
        "completion": "Avancement",
        "mean": "Stade moyen",
        "axis": "Axe",
        "none": "Aucun",
        "strengths": "Points forts",
        "gaps": "Lacunes et feuille de route",
        "id": "Id",
        "current": "Stade actuel",
        "target": "Stade visé",
        "todo": "Indicateurs à satisfaire",
        "model": "Modèle",
        "country": "Pays",
        "overall": "Score global",
        "tier": "Niveau",
        "w_range": "Si toutes les réponses inconnues étaient « oui »",
        "w_radar": "Score par pilier",
        "w_radar_note": "Score de chaque pilier, de 0 à 100 ; la ligne pointillée est le score si toutes les "
        "réponses inconnues étaient « oui ».",
        "pillars": "Piliers",
        "pillar": "Pilier",
        "weight": "Poids",
        "score": "Score",
        "yes": "Oui",
        "no": "Non",
        "partly": "En partie",
        "unknown": "Inconnu",
        "w_strengths_note": "Piliers dont le score atteint {threshold} ou plus.",
        "w_gaps": "Lacunes, par points à gagner",
        "w_gaps_note": "Questions sans réponse « oui », le plus grand gain d'abord : les points que le score "
        "global gagnerait si la réponse devenait « oui ».",
        "question": "Question",
        "answer": "Réponse",
        "gain": "Points à gagner",
    },
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


_LABEL_ROOM = 110
_LINE_HEIGHT = 14
_LINE_CHARS = 24


def _wrap(label: str) -> list[str]:
    """``label`` cut between words into lines of about ``_LINE_CHARS`` characters."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= _LINE_CHARS:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def radar_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    maximum: int,
    title: str,
    high: Sequence[float] | None = None,
    size: int = 440,
    step: int = 1,
) -> Markup:
    """A radar chart as inline SVG: one axis per label, a ring every ``step`` up to ``maximum`` (numbered, but for
    the outer ring when ``step`` is above 1),
    ``values`` (0–``maximum``) joined into a polygon; ``high`` (optional) is drawn as a dashed polygon over it.

    Axis *i* points up for *i* = 0 and goes clockwise. Every text is escaped here.
    """
    count = len(labels)
    if count == 0:
        raise ValidationError("labels", "a radar chart needs at least one axis")
    if len(values) != count or (high is not None and len(high) != count):
        raise ValidationError("values", f"expected {count} values, one per axis")
    if maximum < 1:
        raise ValidationError("maximum", f"must be at least 1, got {maximum}")
    if step < 1 or maximum % step:
        raise ValidationError("step", f"must divide the maximum {maximum}, got {step}")
    rings = range(step, maximum + 1, step)
    width = size + 2 * _LABEL_ROOM
    centre_x, centre = width / 2, size / 2
    radius = size * 0.34

    def point(axis: int, value: float) -> tuple[float, float]:
        angle = 2 * math.pi * axis / count - math.pi / 2
        share = min(max(value, 0.0), float(maximum)) / maximum
        return centre_x + radius * share * math.cos(angle), centre + radius * share * math.sin(angle)

    def points(levels: Sequence[float]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(levels)))

    parts: list[str] = []
    for level in rings:
        parts.append(
            f'<polygon class="ring" points="{points([float(level)] * count)}" fill="none" '
            'stroke="#d0d7de" stroke-width="1"/>'
        )
    for axis, label in enumerate(labels):
        x, y = point(axis, float(maximum))
        parts.append(
            f'<line class="axis" x1="{centre_x:.1f}" y1="{centre:.1f}" x2="{x:.1f}" y2="{y:.1f}" '
            'stroke="#8c959f" stroke-width="1"/>'
        )
        lx, ly = point(axis, maximum * 1.14)
        dx, dy = lx - centre_x, ly - centre
        anchor = "middle" if abs(dx) < size * 0.02 else ("start" if dx > 0 else "end")
        lines = _wrap(label)
        # Labels above the centre grow upwards, those below downwards, those level with it both ways,
        # so that no label crosses the chart.
        lift = (len(lines) - 1) * _LINE_HEIGHT
        if dy < -size * 0.02:
            first = ly + 4 - lift
        elif dy <= size * 0.02:
            first = ly + 4 - lift / 2
        else:
            first = ly + 4
        for number, line in enumerate(lines):
            parts.append(
                f'<text class="label" x="{lx:.1f}" y="{first + number * _LINE_HEIGHT:.1f}" text-anchor="{anchor}" '
                f'font-size="12" fill="#1b1f23">{escape(line)}</text>'
            )
    # With a step, the outer ring (the maximum, which the caller's note names) is left unnumbered: its number would
    # run into the first axis's label.
    for level in rings if step == 1 else rings[:-1]:
        x, y = point(0, float(level))
        parts.append(f'<text class="tick" x="{x + 4:.1f}" y="{y + 3:.1f}" font-size="9" fill="#57606a">{level}</text>')
    if high is not None and list(high) != list(values):
        parts.append(
            f'<polygon class="level-high" points="{points(high)}" fill="none" stroke="#c2571a" '
            'stroke-width="1.5" stroke-dasharray="5,4"/>'
        )
    parts.append(
        f'<polygon class="level" points="{points(values)}" fill="#1f5f8b" fill-opacity="0.3" '
        'stroke="#1f5f8b" stroke-width="2"/>'
    )
    body = "".join(parts)
    # Every text and attribute value in ``body`` was escaped or formatted from numbers where it was written.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {size}" width="{width}" height="{size}" '
        f'direction="ltr" role="img" aria-label="{escape(title)}" class="radar"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def render_html(
    model: Model,
    result: ModelResult,
    *,
    country: str,
    country_name: str,
    language: ReportLanguage,
    assessed: str,
    gaps: Sequence[GapLine] = (),
    strengths: Sequence[str] = (),
) -> str:
    """The report as a complete HTML document in ``language`` (``en``, ``ar`` right to left, or ``fr``).

    ``model`` is the ``stages`` model that ``result`` scores (their keys must agree); ``country`` is the ISO
    code and ``country_name`` the name to show; ``assessed`` the assessment date as it should be printed.
    """
    if language not in LANGUAGES:
        raise ValidationError("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
    if model.kind != "stages":
        raise ValidationError("model", f"{model.key} is a {model.kind} model; the report needs a stages model")
    if result.model_key != model.key:
        raise ValidationError("result", f"scores {result.model_key}, not {model.key}")
    words = _WORDS[language]
    stage_names = {stage.level: localized(stage.name, language) for stage in model.stages}

    def stage_name(level: int) -> str:
        return stage_names.get(level, words["none"])

    rows: list[dict[str, object]] = []
    labels: list[str] = []
    values: list[float] = []
    high: list[float] = []
    for dimension_result in result.dimensions:
        dimension = model.dimension(dimension_result.dimension_id)
        dimension_name = localized(dimension.name, language)
        labels.append(dimension_name)
        values.append(dimension_result.summary.mean)
        high.append(dimension_result.summary_high.mean)
        for position, factor_result in enumerate(dimension_result.factors):
            factor = model.factor(factor_result.factor_id)
            rows.append(
                {
                    "dimension": dimension_name,
                    "dimension_rows": len(dimension_result.factors) if position == 0 else 0,
                    "factor": localized(factor.name, language),
                    "level": factor_result.stage,
                    "stage": stage_name(factor_result.stage),
                    "high": stage_name(factor_result.stage_high)
                    if factor_result.stage_high != factor_result.stage
                    else None,
                    "completion": None if factor_result.completion is None else round(factor_result.completion),
                }
            )
    top = result.top_stage
    # WeasyPrint draws SVG text one character at a time, so Arabic inside the chart would print unjoined and
    # in the wrong order: in an Arabic report the axes carry their number, and the table under the chart
    # (laid out by the HTML engine, which shapes Arabic) names them.
    axis_labels = [
        str(number) if language == "ar" else f"{number}. {label}" for number, label in enumerate(labels, start=1)
    ]
    radar = radar_svg(axis_labels, values, maximum=top, title=words["radar"], high=high)
    template = _environment.get_template("report.html")
    return template.render(
        lang=language,
        dir="rtl" if language == "ar" else "ltr",
        w=words,
        radar_note=words["radar_note"].format(top=top),
        model_title=localized(model.title, language),
        model_key=model.key,
        model_version=model.version,
        country=country,
        country_name=country_name,
        assessed=assessed,
        radar=radar,
        legend=[
            (number, label, _number(value))
            for number, (label, value) in enumerate(zip(labels, values, strict=True), start=1)
        ],
        rows=rows,
        strengths=list(strengths),
        gaps=[
            {
                "id": gap.id,
                "factor": gap.factor,
                "current": stage_name(gap.current_stage),
                "target": stage_name(gap.target_stage),
                "todo": gap.todo,
            }
            for gap in gaps
        ],
    )


def render_pdf(
    model: Model,
    result: ModelResult,
    *,
    country: str,
    country_name: str,
    language: ReportLanguage,
    assessed: str,
    gaps: Sequence[GapLine] = (),
    strengths: Sequence[str] = (),
) -> bytes:
    """The report of :func:`render_html` printed to PDF by WeasyPrint."""
    import weasyprint  # heavy; loaded only when a PDF is asked for

    html = render_html(
        model,
        result,
        country=country,
        country_name=country_name,
        language=language,
        assessed=assessed,
        gaps=gaps,
        strengths=strengths,
    )
    return bytes(weasyprint.HTML(string=html).write_pdf())


# --------------------------------------------------------------------------------------------- weighted models

STRENGTH_SCORE = 80.0
"""A pillar of a weighted model scoring at least this (0–100) is listed among the report's strengths."""


@dataclass(frozen=True)
class WeightedGap:
    """A question of a weighted model not answered yes, and what it costs the overall score.

    ``answer`` is how it was answered (not met, partly met or unknown). ``effect`` is the number of points (on the
    0–100 scale) the overall score would gain if the answer became yes: the pillar's share of the pillar weights
    times the question's share of its pillar's question weights, times 100. ``id`` is
    ``gap:<model id>@<version>:<question id>`` (:func:`weighted_gap_id`): it depends on nothing but the model
    version and the question, so other records can link to it.
    """

    id: str
    indicator_id: str
    dimension_id: str
    answer: Answer
    effect: float


def weighted_gap_id(model_key: str, indicator_id: str) -> str:
    """The stable id of the gap a question of ``model_key`` (``id@version``) leaves when it is not answered yes."""
    return f"gap:{model_key}:{indicator_id}"


def _check_weighted(model: Model, result: WeightedResult) -> None:
    if model.kind != "weighted":
        raise ValidationError("model", f"{model.key} is a {model.kind} model, not a weighted model")
    if result.model_key != model.key:
        raise ValidationError("result", f"scores {result.model_key}, not {model.key}")


def weighted_gaps(model: Model, result: WeightedResult) -> tuple[WeightedGap, ...]:
    """Every question of ``model`` that ``result`` does not count as yes, the largest effect first (ties in the
    model's order). The effects of all the gaps add up to ``100 − result.score``; those of the unknown answers to
    ``result.score_high − result.score``. Arithmetic is exact, as in the scoring engine."""
    _check_weighted(model, result)
    pillar_total = sum((Fraction(str(d.weight)) for d in model.dimensions), Fraction(0))
    found: list[tuple[Fraction, int, WeightedGap]] = []
    position = 0
    for dimension in model.dimensions:
        pillar = result.pillar(dimension.id)
        answered = {i: Answer.NOT_MET for i in pillar.no}
        answered.update({i: Answer.PARTLY_MET for i in pillar.partly_met})
        answered.update({i: Answer.UNKNOWN for i in pillar.unknown})
        indicators = list(dimension.indicators())
        question_total = sum((Fraction(str(i.weight)) for i in indicators), Fraction(0))
        share = Fraction(str(dimension.weight)) / pillar_total
        for indicator in indicators:
            position += 1
            answer = answered.get(indicator.id)
            if answer is None:
                continue
            effect = 100 * share * Fraction(str(indicator.weight)) / question_total
            gap = WeightedGap(
                id=weighted_gap_id(model.key, indicator.id),
                indicator_id=indicator.id,
                dimension_id=dimension.id,
                answer=answer,
                effect=float(effect),
            )
            found.append((effect, position, gap))
    found.sort(key=lambda item: (-item[0], item[1]))
    return tuple(gap for _, _, gap in found)


def _points(value: float) -> str:
    """``value`` to one decimal, halves rounded up (6.25 → "6.3"), without a trailing ".0"."""
    shown = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(shown.to_integral_value()) if shown == shown.to_integral_value() else str(shown)


_ANSWER_WORD = {Answer.MET: "yes", Answer.NOT_MET: "no", Answer.PARTLY_MET: "partly", Answer.UNKNOWN: "unknown"}


def render_weighted_html(
    model: Model,
    result: WeightedResult,
    *,
    country: str,
    country_name: str,
    language: ReportLanguage,
    assessed: str,
    gaps: Sequence[WeightedGap] | None = None,
) -> str:
    """The report of a ``weighted`` model as a complete HTML document in ``language`` (``ar`` right to left).

    ``result`` scores ``model`` (their keys must agree); ``country`` is the ISO code and ``country_name`` the name
    to show; ``assessed`` the assessment date as it should be printed. ``gaps`` are printed in the order given;
    by default they are :func:`weighted_gaps` of the result.
    """
    if language not in LANGUAGES:
        raise ValidationError("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
    _check_weighted(model, result)
    if gaps is None:
        gaps = weighted_gaps(model, result)
    words = _WORDS[language]
    pillar_total = sum(d.weight for d in model.dimensions)
    labels: list[str] = []
    values: list[float] = []
    high: list[float] = []
    rows: list[dict[str, object]] = []
    strengths: list[str] = []
    for dimension in model.dimensions:
        pillar = result.pillar(dimension.id)
        name = localized(dimension.name, language)
        labels.append(name)
        values.append(pillar.score)
        high.append(pillar.score_high)
        rows.append(
            {
                "pillar": name,
                "weight": _points(100 * dimension.weight / pillar_total),
                "score": _points(pillar.score),
                "high": _points(pillar.score_high) if pillar.score_high != pillar.score else None,
                "yes": len(pillar.yes),
                "no": len(pillar.no),
                "partly": len(pillar.partly_met),
                "unknown": len(pillar.unknown),
            }
        )
        if pillar.score >= STRENGTH_SCORE:
            strengths.append(f"{name} — {_points(pillar.score)}")
    # As in the stages report: WeasyPrint would print Arabic inside the SVG unjoined, so in Arabic the axes carry
    # their number and the table under the chart names them.
    axis_labels = [
        str(number) if language == "ar" else f"{number}. {label}" for number, label in enumerate(labels, start=1)
    ]
    radar = radar_svg(axis_labels, values, maximum=100, step=20, title=words["w_radar"], high=high)
    template = _environment.get_template("report_weighted.html")
    return template.render(
        lang=language,
        dir="rtl" if language == "ar" else "ltr",
        w=words,
        model_title=localized(model.title, language),
        model_key=model.key,
        model_version=model.version,
        country=country,
        country_name=country_name,
        assessed=assessed,
        score=_points(result.score),
        tier=localized(result.tier.name, language),
        score_high=_points(result.score_high) if result.score_high != result.score else None,
        tier_high=localized(result.tier_high.name, language) if result.tier_high.id != result.tier.id else None,
        radar=radar,
        legend=[
            (number, label, _points(value))
            for number, (label, value) in enumerate(zip(labels, values, strict=True), start=1)
        ],
        rows=rows,
        strengths=strengths,
        strengths_note=words["w_strengths_note"].format(threshold=_points(STRENGTH_SCORE)),
        gaps=[
            {
                "id": gap.id,
                "pillar": localized(model.dimension(gap.dimension_id).name, language),
                "question": localized(model.indicator(gap.indicator_id).text, language),
                "answer": words[_ANSWER_WORD[gap.answer]],
                "effect": _points(gap.effect),
            }
            for gap in gaps
        ],
    )


def render_weighted_pdf(
    model: Model,
    result: WeightedResult,
    *,
    country: str,
    country_name: str,
    language: ReportLanguage,
    assessed: str,
    gaps: Sequence[WeightedGap] | None = None,
) -> bytes:
    """The report of :func:`render_weighted_html` printed to PDF by WeasyPrint."""
    import weasyprint  # heavy; loaded only when a PDF is asked for

    html = render_weighted_html(
        model,
        result,
        country=country,
        country_name=country_name,
        language=language,
        assessed=assessed,
        gaps=gaps,
    )
    return bytes(weasyprint.HTML(string=html).write_pdf())
