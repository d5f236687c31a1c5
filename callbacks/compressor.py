"""Callbacks of the compressor page: header, sensor chart and health timeline.
Every callback looks the compressor up through ``owned_compressor`` with the user's
organisation, so an id of another organisation reads as "not found"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app
from flask_login import current_user

from callbacks.guard import guarded
from callbacks.health import humanize_age
from dashboard.accounts.auth import user_has_role
from dashboard.analysis.trends import history_points
from dashboard.core.database import db_session
from dashboard.core.i18n import N_, _
from dashboard.core.models import Site, utcnow
from dashboard.core.status import effective_status
from dashboard.fleet.notes import list_notes
from dashboard.fleet.timeseries import (
    RangeError,
    TimeRange,
    diagnosis_series,
    owned_compressor,
    resolve_range,
    sensor_series,
)
from dashboard.ui.context import user_zone_name
from dashboard.ui.figures.base import (
    STATUS_BADGE,
    empty_figure,
    graph_style,
    local_text,
    status_label,
    zone,
)
from dashboard.ui.figures.compressor import figure_health_timeline, figure_sensors
from dashboard.ui.figures.trend import figure_health_trend
from dashboard.ui.trends import card_projection, trend_summary
from ml.trend import health_trend, hourly_medians

WIDTH_TEXT = {1: N_("1 s"), 2: N_("2 s"), 5: N_("5 s"), 10: N_("10 s"),
              15: N_("15 s"), 30: N_("30 s"), 60: N_("1 min"),
              120: N_("2 min"), 300: N_("5 min"), 600: N_("10 min"),
              900: N_("15 min"), 1800: N_("30 min"), 3600: N_("1 h"),
              7200: N_("2 h"), 10800: N_("3 h"), 21600: N_("6 h"),
              43200: N_("12 h"), 86400: N_("1 d")}


def not_found() -> dbc.Alert:
    return dbc.Alert(
        [html.H1(_("Compressor not found"), className="h5"),
         html.P(_("It does not exist or belongs to another organisation."), className="mb-2"),
         dcc.Link(_("Back to the fleet"), href="/")],
        color="warning", id="compressor-not-found",
    )


def custom_range(start_date: str | None, end_date: str | None, tz: str
                 ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Dates picked in the user's time zone -> UTC [start midnight, day after end)."""
    def parse(value: str | None) -> dt.datetime | None:
        if not value:
            return None
        try:
            day = dt.date.fromisoformat(str(value)[:10])
            return dt.datetime.combine(day, dt.time(), zone(tz)).astimezone(dt.UTC)
        except (ValueError, OverflowError) as exc:  # year 1 in UTC+9 is year 0
            raise RangeError(_("choose a start and an end date")) from exc

    start, end = parse(start_date), parse(end_date)
    try:
        return start, (end + dt.timedelta(days=1) if end is not None else None)
    except OverflowError as exc:  # the day after 9999-12-31
        raise RangeError(_("choose a start and an end date")) from exc


def header(compressor_id: str | None) -> tuple[Any, dict]:
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        return not_found(), {"display": "none"}
    now = utcnow()
    status = effective_status(compressor.status, compressor.last_seen_at, now,
                              current_app.config["OFFLINE_AFTER_SECONDS"])
    site = session.get(Site, compressor.site_id)
    score = "—" if compressor.health_score is None else f"{compressor.health_score:.0f}"
    links = [dcc.Link([html.I(className="fa-solid fa-table-list me-1"),
                       _("Diagnosis history")],
                      href=f"/history?compressor={compressor.id}",
                      className="btn btn-sm btn-light")]
    if user_has_role("analyst"):
        links.insert(0, dcc.Link([html.I(className="fa-solid fa-wave-square me-1"),
                                  _("Spectrograms")],
                                 href=f"/spectrograms?compressor={compressor.id}",
                                 className="btn btn-sm btn-light"))
    tz = user_zone_name()
    facts = html.Dl([
        html.Dt(_("Health")), html.Dd(score, id="compressor-score"),
        html.Dt(_("Suspected fault")), html.Dd(compressor.suspected_fault or "—"),
        html.Dt(_("Trend")), html.Dd(card_projection(compressor.health_trend) or "—",
                                     id="compressor-projection"),
        html.Dt(_("Last seen")),
        html.Dd(f"{humanize_age(compressor.last_seen_at, now)} · "
                f"{local_text(compressor.last_seen_at, tz)}"),
        html.Dt(_("Firmware")), html.Dd(compressor.firmware_version or "—"),
    ], className="sc-kv mb-0")
    card = html.Div(
        [
            html.Div(
                [html.Div([html.H1(compressor.name, className="h4 mb-0", id="compressor-name"),
                           html.Small(site.name if site else "", className="text-secondary")]),
                 dbc.Badge(status_label(status), color=STATUS_BADGE.get(status),
                           className="fs-6", id="compressor-status")],
                className="d-flex justify-content-between align-items-start gap-2 mb-2",
            ),
            dbc.Row([dbc.Col(facts, xs=12, md=8),
                     dbc.Col(html.Div(links,
                                      className="d-flex flex-wrap gap-2 justify-content-md-end"),
                             xs=12, md=4)], className="g-2"),
        ],
        className=f"sc-panel sc-card sc-status-{status}",
    )
    return card, {}


def chart_range(range_choice: str | None, start_date: str | None, end_date: str | None
                ) -> TimeRange:
    tz = user_zone_name()
    start, end = (custom_range(start_date, end_date, tz) if range_choice == "custom"
                  else (None, None))
    return resolve_range(range_choice or "24h", start, end)


def _notes_in(compressor_id: int, time_range: TimeRange) -> list[tuple[dt.datetime, str]]:
    notes = list_notes(db_session(), current_user.org_id, compressor_id,
                       time_range.start, time_range.end)
    return [(n.ts, n.text) for n in notes]


def sensor_chart(compressor_id: str | None, range_choice: str | None, start_date: str | None,
                 end_date: str | None) -> tuple[go.Figure, str, str, bool]:
    """(figure, resolution text, error text, error shown)."""
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        missing = empty_figure(_("Compressor not found."))
        return missing, "", "", False
    try:
        time_range = chart_range(range_choice, start_date, end_date)
    except (RangeError, ValueError) as exc:
        return (empty_figure(_("Choose a valid time range.")), "",
                _("Time range: %(exc)s", exc=exc), True)
    frame, width = sensor_series(session, current_user.org_id, compressor.id, time_range,
                                 retention_days=current_app.config["READING_RETENTION_DAYS"])
    tz = user_zone_name()
    fig = figure_sensors(frame, width, tz, _notes_in(compressor.id, time_range),
                         x_range=(time_range.start, time_range.end))
    bucket = _(WIDTH_TEXT[width]) if width in WIDTH_TEXT else _("%(n)s s", n=width)
    points = int(frame["n"].sum()) if not frame.empty else 0
    text = _("%(points)s readings · min / mean / max per %(bucket)s",
             points=format(points, ","), bucket=bucket)
    return fig, text, "", False


def timeline_chart(compressor_id: str | None, range_choice: str | None,
                   start_date: str | None, end_date: str | None) -> go.Figure:
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        return empty_figure(_("Compressor not found."))
    try:
        time_range = chart_range(range_choice, start_date, end_date)
    except (RangeError, ValueError):
        return empty_figure(_("Choose a valid time range."))
    frame = diagnosis_series(session, current_user.org_id, compressor.id, time_range)
    return figure_health_timeline(frame, user_zone_name(), _notes_in(compressor.id, time_range),
                                  x_range=(time_range.start, time_range.end))


def trend_view(compressor_id: str | None) -> tuple[go.Figure, str]:
    """The trend over the last week up to now, computed afresh (one compressor)."""
    session = db_session()
    compressor = owned_compressor(session, current_user.org_id, compressor_id)
    if compressor is None:
        return empty_figure(_("Compressor not found.")), ""
    points = history_points(session, compressor.id, utcnow())
    trend = health_trend(points)
    return (figure_health_trend(hourly_medians(points), trend, user_zone_name()),
            trend_summary(trend))


def _skip_refresh_when_paused(live: bool | None) -> None:
    if ctx.triggered_id in ("compressor-interval", "compressor-live-header",
                            "compressor-live-charts") and not live:
        raise PreventUpdate


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("compressor-header", "children"),
        Output("compressor-body", "style"),
        Input("compressor-id", "data"),
        Input("compressor-interval", "n_intervals"),
        Input("compressor-live-header", "data"),
        State("compressor-live", "value"),
    )
    @guarded("viewer")
    def show_header(compressor_id: str | None, _n: int | None, _pushed: int | None,
                    live: bool | None) -> tuple:
        _skip_refresh_when_paused(live)
        return header(compressor_id)

    # Pushed (assets/live.js): news of this compressor refreshes the header and charts,
    # throttled; the interval polls only while the event stream is down.
    app.clientside_callback(ClientsideFunction("live", "compressor"),
                            Output("compressor-live-header", "data"),
                            Output("compressor-live-charts", "data"),
                            Input("live-event", "data"), State("compressor-id", "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("live", "pollDisabled"),
                            Output("compressor-interval", "disabled"),
                            Input("live-status", "data"))

    @app.callback(
        Output("compressor-custom-wrap", "style"),
        Input("compressor-range", "value"),
    )
    @guarded("viewer")
    def show_custom_dates(range_choice: str | None) -> dict:
        return {} if range_choice == "custom" else {"display": "none"}

    chart_inputs = (
        Input("compressor-id", "data"),
        Input("compressor-range", "value"),
        Input("compressor-custom", "start_date"),
        Input("compressor-custom", "end_date"),
        Input("compressor-interval", "n_intervals"),
        Input("compressor-notes-version", "data"),
        Input("compressor-live-charts", "data"),
        State("compressor-live", "value"),
    )

    @app.callback(
        Output("compressor-sensors", "figure"),
        Output("compressor-sensors", "style"),
        Output("compressor-resolution", "children"),
        Output("compressor-range-error", "children"),
        Output("compressor-range-error", "is_open"),
        *chart_inputs,
    )
    @guarded("viewer")
    def show_sensors(compressor_id: str | None, range_choice: str | None,
                     start_date: str | None, end_date: str | None, _n: int | None,
                     _version: int | None, _pushed: int | None, live: bool | None) -> tuple:
        _skip_refresh_when_paused(live)
        fig, resolution, error, error_open = sensor_chart(compressor_id, range_choice,
                                                          start_date, end_date)
        # One subplot per metric with data: the box grows with them.
        return fig, graph_style(fig), resolution, error, error_open

    @app.callback(Output("compressor-timeline", "figure"), *chart_inputs)
    @guarded("viewer")
    def show_timeline(compressor_id: str | None, range_choice: str | None,
                      start_date: str | None, end_date: str | None, _n: int | None,
                      _version: int | None, _pushed: int | None, live: bool | None
                      ) -> go.Figure:
        _skip_refresh_when_paused(live)
        return timeline_chart(compressor_id, range_choice, start_date, end_date)

    @app.callback(
        Output("compressor-trend", "figure"),
        Output("compressor-trend-text", "children"),
        Input("compressor-id", "data"),
        Input("compressor-interval", "n_intervals"),
        Input("compressor-live-charts", "data"),
        State("compressor-live", "value"),
    )
    @guarded("viewer")
    def show_trend(compressor_id: str | None, _n: int | None, _pushed: int | None,
                   live: bool | None) -> tuple:
        _skip_refresh_when_paused(live)
        return trend_view(compressor_id)
