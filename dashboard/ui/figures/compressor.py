"""Compressor page charts: downsampled sensor series (a min-max band around the mean,
so spikes stay visible) and the health timeline, both with maintenance notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.core.i18n import _
from dashboard.core.sensors import METRIC_KEYS, METRICS
from dashboard.ui.figures.base import (
    HEALTH_BANDS,
    STATUS_COLORS,
    base_layout,
    empty_figure,
    fast_figure,
    local_ms,
    score_status,
)

METRIC_COLORS = ("#d9480f", "#1c7ed6", "#2b8a3e", "#862e9c", "#0b7285")
NOTE_COLOR = "#6f42c1"


def _with_gaps(frame: pd.DataFrame, width_s: int) -> pd.DataFrame:
    """Insert empty buckets where a device sent nothing, so lines break there
    instead of drawing a straight line across an outage."""
    if len(frame) < 2:
        return frame
    grid = pd.date_range(frame["ts"].iloc[0], frame["ts"].iloc[-1], freq=f"{width_s}s")
    if len(grid) > 3 * len(frame):  # very sparse data: gaps everywhere, keep points
        return frame
    return frame.set_index("ts").reindex(grid).rename_axis("ts").reset_index()


def _note_layout(notes: Sequence[tuple[dt.datetime, str]], tz: str | None,
                 ) -> tuple[list[dict], list[dict]]:
    """A dotted line across every subplot and a hoverable mark at the top per note:
    (shapes, annotations), as plotly dicts."""
    if not notes:
        return [], []
    xs = local_ms([ts for ts, _text in notes], tz)
    shapes = [{"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
               "line": {"color": NOTE_COLOR, "width": 1, "dash": "dot"}, "layer": "below"}
              for x in xs]
    marks = [{"x": x, "xref": "x", "y": 1, "yref": "paper", "text": "▼", "showarrow": False,
              "yanchor": "bottom", "font": {"color": NOTE_COLOR, "size": 11},
              "hovertext": text[:300], "captureevents": True}
             for x, (_ts, text) in zip(xs, notes, strict=True)]
    return shapes, marks


def _note_marks(fig: go.Figure, notes: Sequence[tuple[dt.datetime, str]], tz: str | None) -> None:
    """The notes' marks added to a built figure, in one layout update: plotly
    re-validates the whole list on every add_shape/add_annotation, which made 20
    notes cost 0.4 s."""
    shapes, marks = _note_layout(notes, tz)
    if shapes:
        fig.update_layout(shapes=list(fig.layout.shapes) + shapes,
                          annotations=list(fig.layout.annotations) + marks)


def _stacked_axes(rows: int, spacing: float, titles: Sequence[str]) -> dict:
    """What ``make_subplots(rows, 1, shared_xaxes=True, subplot_titles=...)`` lays out:
    one y axis per row from the top, every x axis matching the bottom one, which alone
    shows tick labels; a title above each row (left-aligned, 12 px)."""
    height = (1.0 - spacing * (rows - 1)) / rows
    layout: dict = {}
    annotations = []
    for row in range(1, rows + 1):
        top = 1.0 - (row - 1) * (height + spacing)
        suffix = "" if row == 1 else str(row)
        xaxis = {"anchor": f"y{suffix}", "domain": [0.0, 1.0]}
        if row < rows:
            xaxis.update(matches=f"x{rows}", showticklabels=False)
        layout[f"xaxis{suffix}"] = xaxis
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [max(0.0, top - height), top]}
        annotations.append({"font": {"size": 12}, "showarrow": False, "text": titles[row - 1],
                            "x": 0, "xanchor": "left", "xref": "paper", "y": top,
                            "yanchor": "bottom", "yref": "paper"})
    layout["annotations"] = annotations
    return layout


def figure_sensors(frame: pd.DataFrame, width_s: int, tz: str | None = "UTC",
                   notes: Sequence[tuple[dt.datetime, str]] = (),
                   x_range: tuple[dt.datetime, dt.datetime] | None = None) -> go.Figure:
    """One subplot per metric that has data: the bucket mean as a line inside a
    shaded band from the bucket's min to its max. Built as plain dicts
    (``fast_figure``): live pages redraw it every 30 s."""
    present = [m for m in METRICS.values()
               if f"{m.key}_mean" in frame and frame[f"{m.key}_mean"].notna().any()]
    if frame.empty or not present:
        return empty_figure(_("No sensor readings in this time range."))
    data = _with_gaps(frame, width_s)
    x = local_ms(data["ts"], tz)
    traces: list[dict] = []
    for row, metric in enumerate(present, start=1):
        col = metric.key
        axes = {"xaxis": "x" if row == 1 else f"x{row}", "yaxis": "y" if row == 1 else f"y{row}"}
        color = METRIC_COLORS[METRIC_KEYS.index(col) % len(METRIC_COLORS)]
        # float32 is plenty for a sensor value on screen and halves the JSON.
        lo = data[f"{col}_min"].to_numpy("float32")
        mean = data[f"{col}_mean"].to_numpy("float32")
        hi = data[f"{col}_max"].to_numpy("float32")
        name = _(metric.label)
        traces.append({"type": "scatter", "x": x, "y": hi, "mode": "lines",
                       "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
                       "connectgaps": False, **axes})
        traces.append({"type": "scatter", "x": x, "y": lo, "mode": "lines",
                       "line": {"width": 0}, "fill": "tonexty",
                       "fillcolor": _rgba(color, 0.18), "showlegend": False,
                       "hoverinfo": "skip", "connectgaps": False, **axes})
        traces.append({
            "type": "scatter", "x": x, "y": mean, "mode": "lines", "name": name,
            "line": {"color": color, "width": 1.5}, "customdata": np.column_stack([lo, hi]),
            "connectgaps": False, "showlegend": False,
            "hovertemplate": (f"{name}: %{{y:.2f}} {metric.unit} "
                              f"(%{{customdata[0]:.2f}}–%{{customdata[1]:.2f}})<extra></extra>"),
            **axes})
    layout = base_layout(height=130 + 150 * len(present), showlegend=False)
    layout["margin"] = {"l": 52, "r": 12, "t": 36, "b": 32}
    layout.update(_stacked_axes(len(present), 0.04,
                                [f"{_(m.label)} ({m.unit})" for m in present]))
    x_extra: dict = {"type": "date", "showspikes": True, "spikemode": "across",
                     "spikethickness": 1}
    if x_range is not None:
        x_extra["range"] = list(local_ms(list(x_range), tz))
    for row in range(1, len(present) + 1):
        layout["xaxis" if row == 1 else f"xaxis{row}"].update(x_extra)
    shapes, marks = _note_layout(notes, tz)
    if shapes:
        layout["shapes"] = shapes
        layout["annotations"] = layout["annotations"] + marks
    return fast_figure(traces, layout)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def figure_health_timeline(frame: pd.DataFrame, tz: str | None = "UTC",
                           notes: Sequence[tuple[dt.datetime, str]] = (),
                           x_range: tuple[dt.datetime, dt.datetime] | None = None) -> go.Figure:
    """Health score (0-100) of each diagnosis, coloured by level, over the level
    bands; bucketed series also show each bucket's worst score."""
    if frame.empty:
        fig = empty_figure(_("No diagnoses in this time range."), height=280)
        _note_marks(fig, notes, tz)
        return fig
    x = local_ms(frame["ts"], tz)
    scores = frame["health_score"].to_numpy("float64")
    fig = go.Figure()
    for status, low, high in HEALTH_BANDS:
        fig.add_hrect(y0=low, y1=high, fillcolor=STATUS_COLORS[status], opacity=0.07,
                      line_width=0, layer="below")
    bucketed = bool((frame["n"] > 1).any())
    if bucketed:
        fig.add_trace(go.Scatter(
            x=x, y=frame["health_min"].to_numpy("float64"), mode="lines",
            name=_("Worst in period"),
            line={"color": STATUS_COLORS["critical"], "width": 1, "dash": "dot"},
            hovertemplate="%{y:.0f}<extra></extra>"))
    colors = [STATUS_COLORS[score_status(s)] for s in scores]
    labels = frame["label"].fillna("").astype(str).to_numpy()
    fig.add_trace(go.Scatter(
        x=x, y=scores, mode="lines+markers", name=_("Health score"),
        line={"color": "#495057", "width": 1.2},
        marker={"color": colors, "size": 6 if len(frame) < 400 else 4},
        customdata=labels,
        hovertemplate=("%{y:.0f} %{customdata}<extra></extra>" if not bucketed
                       else "%{y:.0f}<extra></extra>"),
    ))
    fig.update_layout(**base_layout(height=280, showlegend=bucketed))
    fig.update_yaxes(range=[0, 102], title=_("Health"), fixedrange=True)
    fig.update_xaxes(type="date")
    if x_range is not None:
        fig.update_xaxes(range=list(local_ms(list(x_range), tz)))
    _note_marks(fig, notes, tz)
    return fig
