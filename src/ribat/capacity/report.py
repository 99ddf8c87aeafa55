"""The assessment report of a ``stages`` model, in HTML and PDF, in English, Arabic or French.

:func:`render_html` fills the ``templates/report.html`` Jinja2 template (autoescaped) with the
country, the model, a radar chart of the dimensions drawn here as inline SVG, the stage each factor
reached, strengths and gap lines; :func:`render_pdf` prints that HTML with WeasyPrint. Both are
pure: the inputs are plain values (the gap lines are :class:`GapLine` records the caller builds),
nothing is read but the template. Arabic reports are laid out right to left (``dir="rtl"``).
See ``docs/capacity-report.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jinja2
from markupsafe import Markup, escape

from ribat.capacity.scoring import ModelResult
from ribat.capacity.types import LANGUAGES, Model, localized
from ribat.errors import ValidationError

__all__ = ["GapLine", "ReportLanguage", "radar_svg", "render_html", "render_pdf"]

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
) -> Markup:
    """A radar chart as inline SVG: one axis per label, rings at each whole level, ``values`` (0–``maximum``)
    joined into a polygon; ``high`` (optional) is drawn as a dashed polygon over it.

    Axis *i* points up for *i* = 0 and goes clockwise. Every text is escaped here.
    """
    count = len(labels)
    if count == 0:
        raise ValidationError("labels", "a radar chart needs at least one axis")
    if len(values) != count or (high is not None and len(high) != count):
        raise ValidationError("values", f"expected {count} values, one per axis")
    if maximum < 1:
        raise ValidationError("maximum", f"must be at least 1, got {maximum}")
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
    for level in range(1, maximum + 1):
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
    for level in range(1, maximum + 1):
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
