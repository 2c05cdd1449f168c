"""Three small SVG chart kinds, drawn by hand so the report needs no library or CDN.

Each function returns an ``<svg>`` element as text; every label is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

Formatter = Callable[[float], str]
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf")
_FONT = 'font-family="sans-serif" font-size="11"'


def bar_chart(
    labels: Sequence[str], values: Sequence[float], fmt: Formatter, width: int = 640
) -> str:
    """Horizontal bars, one per label, longest value scaled to the plot width."""
    row, value_width = 22, 80
    label_width = min(340, max(60, 7 * max((len(label) for label in labels), default=0)))
    height = row * len(labels) + 10
    top = max((abs(v) for v in values), default=0.0) or 1.0
    plot = width - label_width - value_width
    parts = [_open(width, height)]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + index * row
        length = max(1.0, plot * abs(value) / top)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end" {_FONT}>'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 14}" {_FONT}>'
            f"{escape(fmt(value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    fmt: Formatter,
    width: int = 640,
    height: int = 260,
) -> str:
    """One polyline per series over shared x labels, with a legend and y-axis bounds."""
    left, right, top_pad, bottom = 60, 130, 10, 40
    values = [v for points in series.values() for v in points if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high == low:
        high = low + 1.0
    low = min(low, 0.0) if low >= 0 and low < high * 0.25 else low
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    count = max(len(x_labels) - 1, 1)

    def x_at(i: int) -> float:
        return left + plot_w * i / count

    def y_at(v: float) -> float:
        return top_pad + plot_h * (1 - (v - low) / (high - low))

    parts = [
        _open(width, height),
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" '
        f'y2="{top_pad + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top_pad + 10}" text-anchor="end" {_FONT}>'
        f"{escape(fmt(high))}</text>",
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" {_FONT}>'
        f"{escape(fmt(low))}</text>",
    ]
    step = max(1, len(x_labels) // 8)
    for i in range(0, len(x_labels), step):
        parts.append(
            f'<text x="{x_at(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f"{_FONT}>{escape(x_labels[i])}</text>"
        )
    for n, (name, points) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        coords = " ".join(
            f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(points) if v is not None
        )
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.8">'
            f"<title>{escape(name)}</title></polyline>"
            f'<rect x="{left + plot_w + 12}" y="{top_pad + n * 16}" width="10" height="10" '
            f'fill="{colour}"/><text x="{left + plot_w + 26}" y="{top_pad + 9 + n * 16}" '
            f"{_FONT}>{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: dict[tuple[int, int], float],
    fmt: Formatter,
    width: int = 640,
) -> str:
    """A grid of cells shaded from white to blue by value, ``cells[(row, column)]``."""
    left, top_pad = 40, 18
    cell_w = (width - left - 10) / max(len(column_labels), 1)
    cell_h = 22
    height = top_pad + cell_h * len(row_labels) + 6
    high = max(cells.values(), default=0.0) or 1.0
    parts = [_open(width, height)]
    for c, label in enumerate(column_labels):
        if c % 3 == 0:
            parts.append(
                f'<text x="{left + c * cell_w + cell_w / 2:.1f}" y="12" text-anchor="middle" '
                f"{_FONT}>{escape(label)}</text>"
            )
    for r, label in enumerate(row_labels):
        y = top_pad + r * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" {_FONT}>{escape(label)}</text>'
        )
        for c in range(len(column_labels)):
            value = cells.get((r, c), 0.0)
            shade = int(255 - 200 * value / high)
            parts.append(
                f'<rect x="{left + c * cell_w:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1}" fill="rgb({shade},{shade + (255 - shade) // 3},255)">'
                f"<title>{escape(label)} {escape(column_labels[c])}: {escape(fmt(value))}"
                "</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    )
