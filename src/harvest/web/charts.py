"""Charts drawn on the server as SVG: no chart library, no script, nothing loaded from anywhere.

``stacked_columns`` draws counts per category (start year) stacked by series (status); ``paired_bars`` draws,
per label (sponsor), two bars side by side (due, overdue). Every label is escaped; each bar has a <title>, so
hovering shows its number. ``STARTS_SQL`` and ``SPONSORS_SQL`` feed them from the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

STARTS_SQL = """SELECT substr(start_date, 1, 4) AS year, coalesce(overall_status, 'UNKNOWN') AS status, count(*) AS n
FROM studies WHERE start_date GLOB '[12][0-9][0-9][0-9]*' GROUP BY 1, 2 ORDER BY 1"""

SPONSORS_SQL = """SELECT organisation, due, overdue FROM sponsor_compliance WHERE due > 0
ORDER BY overdue DESC, due DESC, organisation LIMIT 20"""

STATUS_COLORS = {
    "RECRUITING": "#2e8540",
    "NOT_YET_RECRUITING": "#c9a100",
    "ENROLLING_BY_INVITATION": "#6fb07f",
    "ACTIVE_NOT_RECRUITING": "#4a90c2",
    "COMPLETED": "#1d4379",
    "TERMINATED": "#b83232",
    "WITHDRAWN": "#e07b7b",
    "SUSPENDED": "#e0a07b",
    "UNKNOWN": "#9a9a9a",
}
OTHER_COLOR = "#c4c4c4"


def _color(series: str) -> str:
    return STATUS_COLORS.get(series, OTHER_COLOR)


def stacked_columns(counts: Sequence[tuple[str, str, int]], title: str, width: int = 900, height: int = 320) -> str:
    """SVG columns: one per category (in the order first seen), stacked by series. ``counts``: (category, series, n)."""
    categories: list[str] = []
    table: dict[tuple[str, str], int] = {}
    series_seen: list[str] = []
    for category, series, n in counts:
        if category not in categories:
            categories.append(category)
        if series not in series_seen:
            series_seen.append(series)
        table[category, series] = table.get((category, series), 0) + int(n)
    order = [s for s in STATUS_COLORS if s in series_seen] + sorted(s for s in series_seen if s not in STATUS_COLORS)
    totals = {c: sum(table.get((c, s), 0) for s in order) for c in categories}
    top = max(totals.values(), default=0) or 1
    left, bottom, legend = 40, 40, 170
    plot_w, plot_h = width - left - legend - 10, height - bottom - 20
    step = plot_w / max(len(categories), 1)
    bar = max(step * 0.8, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="{left}" y="12" class="axis">{f"{top:,} trials" if totals else "no trials"}</text>',
        f'<line x1="{left}" y1="{20 + plot_h}" x2="{left + plot_w}" y2="{20 + plot_h}" stroke="#888"/>',
    ]
    label_every = max(1, round(len(categories) / 15))
    for i, category in enumerate(categories):
        x = left + i * step + (step - bar) / 2
        y = 20 + plot_h
        for series in order:
            n = table.get((category, series), 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{_color(series)}">'
                f"<title>{escape(category)}, {escape(series)}: {n:,}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 35}" text-anchor="middle"'
                f' class="axis">{escape(category)}</text>'
            )
    for j, series in enumerate(order):
        y = 20 + j * 18
        parts.append(
            f'<rect x="{width - legend}" y="{y}" width="12" height="12" fill="{_color(series)}"/>'
            f'<text x="{width - legend + 18}" y="{y + 11}" class="legend">'
            f"{escape(series.replace('_', ' ').lower())}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def paired_bars(rows: Sequence[tuple[str, int, int]], names: tuple[str, str], title: str, width: int = 900) -> str:
    """SVG horizontal bars: per label two bars (e.g. due, overdue). ``rows``: (label, first, second)."""
    colors = ("#4a90c2", "#b83232")
    label_w, row_h = 300, 30
    height = 30 + row_h * max(len(rows), 1)
    top = max((max(a, b) for _, a, b in rows), default=0) or 1
    plot_w = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
    ]
    for k, name in enumerate(names):
        parts.append(
            f'<rect x="{label_w + k * 120}" y="4" width="12" height="12" fill="{colors[k]}"/>'
            f'<text x="{label_w + k * 120 + 18}" y="15" class="legend">{escape(name)}</text>'
        )
    for i, (label, *values) in enumerate(rows):
        y = 30 + i * row_h
        short = label if len(label) <= 42 else label[:41] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="axis">{escape(short)}</text>')
        for k, value in enumerate(values):
            w = plot_w * int(value) / top
            parts.append(
                f'<rect x="{label_w}" y="{y + 3 + k * 12}" width="{w:.1f}" height="11" fill="{colors[k]}">'
                f"<title>{escape(label)}: {int(value):,} {escape(names[k])}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + 13 + k * 12}" class="axis">{int(value):,}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
