"""Fleet page graphics. A plotly graph per card would be 500 graphs on one page, so
the sparklines are tiny inline SVG images (a few hundred bytes each, no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from dashboard.ui.figures.base import STATUS_COLORS, score_status


def sparkline_points(values: Sequence[float | None], width: float, height: float,
                     low: float = 0.0, high: float = 100.0,
                     connect_gaps: bool = True) -> list[list[tuple[float, float]]]:
    """Polyline segments scaled into the box; higher values are nearer the top.
    Missing values are bridged (clips come every few minutes, so an empty hour is
    usually just no clip) unless ``connect_gaps`` is False."""
    n = len(values)
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    span = (high - low) or 1.0
    for i, value in enumerate(values):
        if value is None:
            if connect_gaps:
                continue
            if current:
                segments.append(current)
            current = []
            continue
        x = width * (i / (n - 1) if n > 1 else 0.5)
        clamped = min(max(float(value), low), high)
        y = height - 2 - (height - 4) * (clamped - low) / span
        current.append((round(x), round(y, 1)))
    if current:
        segments.append(current)
    return segments


def sparkline_svg(values: Sequence[float | None], width: int = 120, height: int = 32) -> str:
    """An SVG sparkline of health scores (0-100) coloured by the latest score's level;
    a single point is drawn as a dot, no data as an empty box."""
    latest = next((v for v in reversed(values) if v is not None), None)
    color = STATUS_COLORS[score_status(latest)] if latest is not None else "#adb5bd"
    # Single quotes: the URI travels inside JSON, where double quotes double in size.
    guide = f"{height - 2 - (height - 4) * 0.45:.1f}"
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>",
             # The "warning" threshold (45) as a faint guide line.
             f"<path d='M0 {guide}H{width}' stroke='#dee2e6' stroke-dasharray='2 2'/>"]
    for segment in sparkline_points(values, width, height):
        if len(segment) == 1:
            x, y = segment[0]
            parts.append(f"<circle cx='{x}' cy='{y}' r='1.8' fill='{color}'/>")
        else:
            points = " ".join(f"{x},{y}" for x, y in segment)
            parts.append(f"<polyline points='{points}' fill='none' stroke='{color}' "
                         "stroke-width='1.8' stroke-linejoin='round'/>")
    parts.append("</svg>")
    return "".join(parts)


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;charset=utf-8," + quote(svg, safe=" =:/,.'")
