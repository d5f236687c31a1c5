"""The shared look of every chart and status badge: colours per health level, the
empty-state figure, the base layout, and UTC -> local wall-clock conversion.

Figure functions live beside this module, one per page (``figures_fleet``,
``figures_compressor``, ``figures_audio``, ``figures_history``); they are plain
functions of data, so tests call them without a browser."""

from __future__ import annotations

import copy
import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from dash import dcc

from dashboard.core.i18n import _
from dashboard.core.status import (  # noqa: F401  (re-exported for the figure modules)
    HEALTH_BANDS,
    STATUS_BADGE,
    STATUS_COLORS,
    STATUS_LABELS,
    STATUS_ORDER,
    score_status,
)
from dashboard.core.timezones import local_text, zone  # noqa: F401  (re-exported)

FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans KR', 'Malgun Gothic', sans-serif"
GRAPH_CONFIG: dict[str, Any] = {"displaylogo": False,
                                "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def graph(graph_id: str | None = None, height: int = 300, figure: go.Figure | None = None,
          **props: Any) -> dcc.Graph:
    """A chart as wide as its container (phones, rotated screens, resized windows)
    and ``height`` pixels tall: a responsive dcc.Graph fills its own box, so the
    box gets the height."""
    extra = {"id": graph_id} if graph_id else {}
    if figure is not None:
        extra["figure"] = figure
    return dcc.Graph(config=GRAPH_CONFIG, responsive=True, style=graph_style(height),
                     className="sc-graph", **extra, **props)


def graph_style(height: int | float | go.Figure | None) -> dict[str, str]:
    """The box style for a chart of ``height`` pixels (or of a figure's own height)."""
    if isinstance(height, go.Figure):
        height = height.layout.height
    return {"height": f"{int(height or 300)}px", "width": "100%"}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def local_ms(ts: pd.Series | pd.DatetimeIndex | list[dt.datetime], tz: str | None) -> np.ndarray:
    """Wall-clock time in ``tz`` as milliseconds for a plotly date axis.

    Plotly reads numbers on a date axis as UTC milliseconds and shows them as they
    are, so local wall-clock numbers display as local time; float64 arrays also
    travel as compact base64 instead of one ISO string per point."""
    index = pd.DatetimeIndex(pd.to_datetime(ts, utc=True))
    if len(index) == 0:
        return np.zeros(0, dtype="float64")
    wall = index.tz_convert(zone(tz)).tz_localize(None)
    return wall.as_unit("ms").asi8.astype("float64")


def base_layout(height: int | None = None, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 12},
        "margin": {"l": 48, "r": 12, "t": 28, "b": 36},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "uirevision": "keep",  # zoom and legend choices survive live refreshes
    }
    if height is not None:
        layout["height"] = height
    layout.update(extra)
    return layout


@lru_cache(maxsize=8)
def _template(name: str) -> dict[str, Any]:
    return pio.templates[name].to_plotly_json()


def fast_figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A figure from plain plotly dicts, without plotly's per-property validation,
    for the charts that live updates redraw: a 24 h sensor chart cost 92 ms of CPU
    through ``make_subplots``/``add_trace``/``update_layout`` and costs 7 ms so
    (issue 14). The dicts must be what the validated figure would hold (numpy arrays
    are fine: they travel as base64 like validated ones); a named template is
    resolved here, as plotly's validator would. tests/test_figures.py compares the
    two on the charts built this way."""
    layout = dict(layout)
    if isinstance(layout.get("template"), str):
        layout["template"] = copy.deepcopy(_template(layout["template"]))
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def empty_figure(message: str, height: int = 260) -> go.Figure:
    """A blank chart that says why it is blank (no data, not allowed, bad input)."""
    fig = go.Figure()
    fig.update_layout(**base_layout(height))
    fig.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
                      "x": 0.5, "y": 0.5, "font": {"size": 14, "color": "#6c757d"}}],
    )
    return fig
