"""History page chart: daily mean health per compressor for the filtered set. With
hundreds of compressors only the lowest few get a line of their own, beside the
mean of all of them, so the chart stays readable."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import plotly.graph_objects as go

from dashboard.core.i18n import _
from dashboard.ui.figures.base import HEALTH_BANDS, STATUS_COLORS, base_layout, empty_figure

LINE_COLORS = ("#e03131", "#f08c00", "#1971c2", "#2f9e44", "#9c36b5", "#0c8599", "#e8590c",
               "#5c940d")


def figure_health_trend(rows: Sequence[tuple[dt.date, int, str, float, int]],
                        max_lines: int = 6, height: int = 320) -> go.Figure:
    """``rows`` as from ``dashboard.fleet.history.daily_health``."""
    if not rows:
        return empty_figure(_("No diagnoses match these filters."), height)
    series: dict[int, list[tuple[dt.date, float, int]]] = defaultdict(list)
    names: dict[int, str] = {}
    totals: dict[dt.date, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for day, cid, name, mean, n in rows:
        series[cid].append((day, mean, n))
        names[cid] = name
        totals[day][0] += mean * n
        totals[day][1] += n

    def overall(points: list[tuple[dt.date, float, int]]) -> float:
        weight = sum(n for _d, _m, n in points)
        return sum(m * n for _d, m, n in points) / max(weight, 1)

    worst = sorted(series, key=lambda cid: overall(series[cid]))[:max_lines]
    fig = go.Figure()
    for status, low, high in HEALTH_BANDS:
        fig.add_hrect(y0=low, y1=high, fillcolor=STATUS_COLORS[status], opacity=0.06,
                      line_width=0, layer="below")
    days = sorted(totals)
    if len(series) > 1:
        fig.add_trace(go.Scatter(
            x=days, y=[totals[d][0] / totals[d][1] for d in days], mode="lines",
            name=_("All %(n_series)s compressors", n_series=len(series)),
            line={"color": "#343a40", "width": 3},
            hovertemplate="%{y:.1f}<extra></extra>",
        ))
    for i, cid in enumerate(worst):
        points = series[cid]
        fig.add_trace(go.Scatter(
            x=[d for d, _m, _n in points], y=[m for _d, m, _n in points],
            mode="lines+markers", name=names[cid],
            line={"color": LINE_COLORS[i % len(LINE_COLORS)], "width": 1.5},
            marker={"size": 5}, customdata=[n for _d, _m, n in points],
            hovertemplate=f"{names[cid]}: %{{y:.1f}} (n=%{{customdata}})<extra></extra>",
        ))
    title = (_("Lowest %(n_worst)s of %(n_series)s compressors", n_worst=len(worst),
                                                                             n_series=len(series))
             if len(series) > len(worst) else "")
    fig.update_layout(**base_layout(height, title={"text": title, "font": {"size": 12},
                                                   "x": 0.01}))
    fig.update_layout(margin={"l": 48, "r": 12, "t": 56, "b": 36})
    fig.update_yaxes(range=[0, 102], title=_("Daily mean health"),
                     fixedrange=True)
    fig.update_xaxes(type="date")
    return fig
