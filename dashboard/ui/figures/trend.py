"""The compressor page's health trend: hourly medians of the last days, the robust line
through them and, when the decline is real, its projection to the warning and critical
levels with the band of the slope's confidence interval (``ml.trend``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.core.i18n import _
from dashboard.ui.figures.base import (
    HEALTH_BANDS,
    STATUS_COLORS,
    base_layout,
    empty_figure,
    local_ms,
)
from ml.trend import CRITICAL_BELOW, WARNING_BELOW, HealthTrend

TREND_COLOR = "#495057"
PROJECTION_COLOR = "#d9480f"


def figure_health_trend(hours: Sequence[tuple[dt.datetime, float]], trend: HealthTrend,
                        tz: str | None = "UTC") -> go.Figure:
    if not hours:
        return empty_figure(_("Not enough history for a trend yet."), height=260)
    fig = go.Figure()
    for status, low, high in HEALTH_BANDS:
        fig.add_hrect(y0=low, y1=high, fillcolor=STATUS_COLORS[status], opacity=0.07,
                      line_width=0, layer="below")
    fig.add_trace(go.Scatter(
        x=local_ms([ts for ts, _v in hours], tz), y=[v for _ts, v in hours], mode="markers",
        name=_("Hourly median"), marker={"color": "#868e96", "size": 4},
        hovertemplate="%{y:.0f}<extra></extra>"))
    if trend.fit_line is not None:
        (t0, v0), (t1, v1) = trend.fit_line
        fig.add_trace(go.Scatter(x=local_ms([t0, t1], tz), y=[v0, v1], mode="lines",
                                 name=_("Trend"), line={"color": TREND_COLOR, "width": 2}))
    projection = trend.next_projection
    if trend.declining and projection is not None and trend.last_ts is not None:
        last, now_value = trend.last_ts, trend.smoothed or 0.0
        target = trend.to_critical or projection
        span = min(max(target.latest or target.days * 1.5, projection.days), 60.0)
        days = np.linspace(0.0, span, 40)
        times = [last + dt.timedelta(days=float(d)) for d in days]
        x = local_ms(times, tz)
        upper = np.clip(now_value + trend.slope_high * days, 0, 100)
        lower = np.clip(now_value + trend.slope_low * days, 0, 100)
        fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=lower, mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(217,72,15,0.15)",
                                 name=_("Projection band"), hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=x, y=np.clip(now_value + trend.slope_per_day * days, 0, 100), mode="lines",
            name=_("Projection"), line={"color": PROJECTION_COLOR, "dash": "dash"},
            hovertemplate="%{y:.0f}<extra></extra>"))
        for level in (trend.to_warning, trend.to_critical):
            if level is None:
                continue
            at = last + dt.timedelta(days=level.days)
            fig.add_trace(go.Scatter(
                x=local_ms([at], tz),
                y=[WARNING_BELOW if level.level == "warning" else CRITICAL_BELOW],
                mode="markers", marker={"color": STATUS_COLORS[level.level], "size": 10,
                                        "symbol": "x"},
                name=_("Warning") if level.level == "warning" else _("Critical"),
                hovertemplate="%{x}<extra></extra>"))
    fig.update_layout(**base_layout(height=260, showlegend=True))
    fig.update_yaxes(range=[0, 102], title=_("Health"), fixedrange=True)
    fig.update_xaxes(type="date")
    return fig
