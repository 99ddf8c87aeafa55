"""Charts and the relationship graph drawn on the server as SVG: no script, readable in RTL.

In a right-to-left page, bars grow from the right and time runs from right to left, the
way an Arabic reader scans; every chart also has a data table beside it for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ribat.web.ui.i18n import Translator

__all__ = ["GraphNode", "bar_chart", "graph", "stacked_weeks"]

PALETTE = ("#1f5f8b", "#c2571a", "#2e7d32", "#7b3fa0", "#b8860b", "#00838f", "#ad1457", "#546e7a")
TEXT = "#1b1f23"
GRID = "#d0d7de"


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    # Every text and attribute value in ``body`` was escaped where it was written.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{body}</svg>'
    )


def bar_chart(items: Sequence[tuple[str, int]], t: Translator, title: str) -> Markup:
    """Horizontal bars, one per (label, value), longest first as given."""
    rtl = t.dir == "rtl"
    width, label_w, row_h = 520, 170, 26
    height = max(1, len(items)) * row_h + 8
    top = max((v for _, v in items), default=0) or 1
    parts: list[str] = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        bar = (width - label_w - 60) * value / top
        if rtl:
            x_label, anchor_label = width - 4, "end"
            x_bar = width - label_w - bar
            x_value, anchor_value = x_bar - 4, "end"
        else:
            x_label, anchor_label = 4, "start"
            x_bar = label_w
            x_value, anchor_value = label_w + bar + 4, "start"
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{x_label}" y="{y + 17}" text-anchor="{anchor_label}" fill="{TEXT}" font-size="13">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
            f'<rect x="{x_bar:.1f}" y="{y + 4}" width="{bar:.1f}" height="{row_h - 8}" fill="{PALETTE[0]}"/>'
            f'<text x="{x_value:.1f}" y="{y + 17}" text-anchor="{anchor_value}" fill="{TEXT}" font-size="12">'
            f"{escape(t.number(value))}</text>"
        )
    return _svg(width, height, title, "".join(parts))


def stacked_weeks(
    weeks: Sequence[int],
    week_start_us: Sequence[int],
    series: Sequence[tuple[str, dict[int, int]]],
    t: Translator,
    title: str,
) -> Markup:
    """Stacked columns, one per week, one colour per series (member organisation)."""
    rtl = t.dir == "rtl"
    width, height, left, bottom, top_pad = 560, 240, 44, 34, 10
    plot_w, plot_h = width - 2 * left, height - bottom - top_pad
    totals = [sum(s.get(w, 0) for _, s in series) for w in weeks]
    top = max(totals, default=0) or 1
    step = plot_w / max(1, len(weeks))
    parts: list[str] = []
    for frac in (0.0, 0.5, 1.0):
        y = top_pad + plot_h * (1 - frac)
        axis_x, anchor = (width - left + 6, "start") if rtl else (left - 6, "end")
        parts.append(
            f'<line x1="{left}" x2="{width - left}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{axis_x}" y="{y + 4:.1f}" text-anchor="{anchor}" font-size="11" fill="{TEXT}">'
            f"{escape(t.number(round(top * frac)))}</text>"
        )
    for i, week in enumerate(weeks):
        slot = (len(weeks) - 1 - i) if rtl else i
        x = left + slot * step + step * 0.15
        y = top_pad + plot_h
        for j, (name, counts) in enumerate(series):
            n = counts.get(week, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(name)}: {escape(t.number(n))}</title></rect>'
            )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="{TEXT}">{escape(t.date(week_start_us[i], "d MMM"))}</text>'
        )
    return _svg(width, height, title, "".join(parts))


@dataclass(frozen=True)
class GraphNode:
    label: str
    kind: str
    edge: str
    outgoing: bool
    href: str | None


def graph(center: str, nodes: Sequence[GraphNode], t: Translator, title: str) -> Markup:
    """The object in the middle, its related objects around it, each edge named."""
    size = 560
    cx = cy = size / 2
    radius = size / 2 - 90 if nodes else 0
    parts = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{TEXT}"/></marker></defs>'
    ]
    count = max(1, len(nodes))
    for i, node in enumerate(nodes):
        angle = 2 * math.pi * i / count - math.pi / 2
        if t.dir == "rtl":
            angle = math.pi - angle
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        # Edge from centre to node, stopping short of both circles.
        dx, dy = x - cx, y - cy
        dist = math.hypot(dx, dy) or 1
        x1, y1 = cx + dx / dist * 46, cy + dy / dist * 46
        x2, y2 = x - dx / dist * 34, y - dy / dist * 34
        if not node.outgoing:
            x1, y1, x2, y2 = x2, y2, x1, y1
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{TEXT}" '
            f'stroke-width="1.3" marker-end="url(#arrow)"/>'
            f'<text x="{mx:.1f}" y="{my - 4:.1f}" text-anchor="middle" font-size="11" fill="#57606a" '
            f'paint-order="stroke" stroke="#fff" stroke-width="3">{escape(node.edge)}</text>'
        )
        colour = PALETTE[sum(map(ord, node.kind)) % len(PALETTE)] if node.href else "#8c959f"
        label = node.label if len(node.label) <= 22 else node.label[:21] + "…"
        circle = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="32" fill="{colour}"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="10" fill="#fff">'
            f"{escape(node.kind)}</text>"
            f'<text x="{x:.1f}" y="{y + 48:.1f}" text-anchor="middle" font-size="12" fill="{TEXT}">'
            f"<title>{escape(node.label)}</title>{escape(label)}</text>"
        )
        if node.href:
            circle = f'<a href="{escape(node.href)}">{circle}</a>'
        parts.append(circle)
    center_label = center if len(center) <= 26 else center[:25] + "…"
    parts.append(
        f'<circle cx="{cx}" cy="{cy}" r="44" fill="#0b3954"/>'
        f'<text x="{cx}" y="{cy + 4}" text-anchor="middle" font-size="12" fill="#fff">'
        f"<title>{escape(center)}</title>{escape(center_label)}</text>"
    )
    return _svg(size, size, title, "".join(parts))
