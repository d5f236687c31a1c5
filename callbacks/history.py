"""Callbacks of the diagnosis history page. The filter controls become an AG Grid
filter model (which makes the grid fetch its rows again), the export link and the
trend chart; the grid's row requests are answered from the database a block at
a time. Reviews are for analysts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.accounts.auth import user_has_role
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.fleet.history import (
    FilterError,
    HistoryFilter,
    daily_health,
    diagnosis_detail,
    filter_from_model,
    filter_model,
    filter_to_args,
    history_page,
    label_options,
    local_day_range,
    review_diagnosis,
)
from dashboard.fleet.overview import org_compressors, org_sites
from dashboard.ui.context import user_zone_name
from dashboard.ui.figures.base import empty_figure, local_text, status_label
from dashboard.ui.figures.history import figure_health_trend


def build_filter(site: Any, compressor: Any, label: Any, start_date: str | None,
                 end_date: str | None, score: list | None) -> HistoryFilter:
    start, end = local_day_range(start_date, end_date, user_zone_name())
    low, high = (score or [0, 100])[:2] if score and len(score) >= 2 else (0, 100)
    return HistoryFilter(
        site_id=int(site) if site not in (None, "") else None,
        compressor_id=int(compressor) if compressor not in (None, "") else None,
        label=label or None, start=start, end=end,
        min_score=float(low) if low not in (None, 0) else None,
        max_score=float(high) if high not in (None, 100) else None,
    ).validated()


def grid_rows(request: dict | None) -> dict:
    """The AG Grid infinite-model answer: one block of rows and the total count."""
    if not request:
        raise PreventUpdate
    try:
        filters = filter_from_model(request.get("filterModel"))
    except FilterError:
        return {"rowData": [], "rowCount": 0}
    rows, total = history_page(db_session(), current_user.org_id, filters,
                               request.get("sortModel"), request.get("startRow", 0),
                               request.get("endRow", 100), user_zone_name())
    for row in rows:
        row["status_text"] = status_label(row["status"])
        valid = row["analyst_valid"]
        row["review_text"] = ("" if valid is None else
                              _("✓ right") if valid else _("✗ wrong"))
    return {"rowData": rows, "rowCount": total}


def detail_view(detail: Any) -> html.Div:
    tz = user_zone_name()
    probabilities = sorted(detail.probabilities.items(), key=lambda kv: -kv[1])[:4]
    features = [f"{k} {v:.1f}" for k, v in list(detail.features.items())[:6]
                if isinstance(v, (int, float))]
    review = _("Not reviewed yet")
    if detail.analyst_valid is not None:
        verdict = _("right") if detail.analyst_valid else _("wrong")
        review = _("Reviewed: %(verdict)s, label %(label)s (%(who)s, %(when)s)",
                   verdict=verdict, label=detail.analyst_label, who=detail.reviewed_by or "?",
                   when=local_text(detail.reviewed_at, tz))
    links = [dash.dcc.Link(_("Compressor"), href=f"/compressor/{detail.compressor_id}")]
    if detail.recording_id and user_has_role("analyst"):
        links.append(dash.dcc.Link(
            _("Spectrogram"),
            href=f"/spectrograms?compressor={detail.compressor_id}&recording={detail.recording_id}"))
    return html.Div([
        html.Div([html.Span(detail.label, className="fw-semibold me-2"),
                  html.Small(f"{detail.compressor} · {detail.site} · "
                             f"{local_text(detail.ts, tz, '%Y-%m-%d %H:%M:%S')}",
                             className="text-secondary")]),
        html.Small(" · ".join(f"{k} {v:.0%}" for k, v in probabilities), className="d-block"),
        html.Small(" · ".join(features), className="d-block text-secondary"),
        html.Small(review, className="d-block", id="history-review-state"),
        html.Div(links, className="d-flex gap-3 small mt-1"),
    ], id="history-detail-body")


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("history-site", "options"),
        Output("history-label", "options"),
        Input("history-site", "id"),
    )
    @guarded("viewer")
    def load_options(_id: str) -> tuple:
        session = db_session()
        sites = [{"label": s.name, "value": s.id} for s in org_sites(session, current_user.org_id)]
        labels = [{"label": x, "value": x} for x in label_options(session, current_user.org_id)]
        return sites, labels

    @app.callback(Output("history-compressor", "options"), Input("history-site", "value"))
    @guarded("viewer")
    def load_compressors(site: Any) -> list[dict]:
        try:
            site_id = int(site) if site not in (None, "") else None
        except (TypeError, ValueError):
            site_id = None
        rows = org_compressors(db_session(), current_user.org_id, site_id)
        return [{"label": f"{name} · {site_name}", "value": cid} for cid, name, site_name in rows]

    @app.callback(
        Output("history-grid", "filterModel"),
        Output("history-export", "href"),
        Output("history-trend", "figure"),
        Output("history-count", "children"),
        Output("history-filter-error", "children"),
        Output("history-filter-error", "is_open"),
        Input("history-site", "value"),
        Input("history-compressor", "value"),
        Input("history-label", "value"),
        Input("history-dates", "start_date"),
        Input("history-dates", "end_date"),
        Input("history-score", "value"),
        Input("history-refresh", "data"),
        State("history-grid", "filterModel"),
    )
    @guarded("viewer")
    def apply_filters(site: Any, compressor: Any, label: Any, start_date: str | None,
                      end_date: str | None, score: list | None, refresh: int | None,
                      current_model: dict | None) -> tuple:
        try:
            filters = build_filter(site, compressor, label, start_date, end_date, score)
        except (FilterError, ValueError) as exc:
            return (no_update, no_update, empty_figure(str(exc)), "", str(exc), True)
        session = db_session()
        model = filter_model(filters, refresh or 0)
        if model == (current_model or {}):
            model = no_update  # the grid already shows these rows
        daily = daily_health(session, current_user.org_id, filters, user_zone_name())
        total = sum(n for *_rest, n in daily)  # the trend already counted every row
        href = "/export/diagnoses.csv"
        args = filter_to_args(filters)
        if args:
            href += "?" + urlencode(args)
        trend = figure_health_trend(daily)
        count = _("%(total)s diagnoses", total=format(total, ","))
        return model, href, trend, count, "", False

    @app.callback(
        Output("history-grid", "getRowsResponse"),
        Input("history-grid", "getRowsRequest"),
    )
    @guarded("viewer")
    def load_rows(request: dict | None) -> dict:
        return grid_rows(request)

    @app.callback(
        Output("history-detail", "children"),
        Input("history-grid", "selectedRows"),
        Input("history-refresh", "data"),
    )
    @guarded("viewer")
    def show_detail(selected: list[dict] | None, _refresh: int | None) -> Any:
        if not selected:
            return html.Small(_("Select a row to see its details."),
                              className="text-secondary")
        detail = diagnosis_detail(db_session(), current_user.org_id, selected[0].get("id"))
        if detail is None:
            return dbc.Alert(_("Diagnosis not found."),
                             color="warning")
        return detail_view(detail)

    @app.callback(
        Output("history-review-form", "style"),
        Output("history-review-verdict", "value"),
        Output("history-review-label", "options"),
        Output("history-review-label", "value"),
        Output("history-review-message", "children", allow_duplicate=True),
        Input("history-grid", "selectedRows"),
        State("history-label", "options"),
        prevent_initial_call=True,
    )
    @guarded("analyst")
    def open_review(selected: list[dict] | None, labels: list[dict] | None) -> tuple:
        hidden = {"display": "none"}
        if not selected:
            return hidden, None, [], None, ""
        detail = diagnosis_detail(db_session(), current_user.org_id, selected[0].get("id"))
        if detail is None:
            return hidden, None, [], None, ""
        verdict = (None if detail.analyst_valid is None
                   else "valid" if detail.analyst_valid else "invalid")
        options = labels or []
        if detail.label not in {o.get("value") for o in options}:
            options = [*options, {"label": detail.label, "value": detail.label}]
        return {}, verdict, options, detail.analyst_label or detail.label, ""

    @app.callback(
        Output("history-review-message", "children"),
        Output("history-refresh", "data"),
        Input("history-review-save", "n_clicks"),
        State("history-grid", "selectedRows"),
        State("history-review-verdict", "value"),
        State("history-review-label", "value"),
        State("history-refresh", "data"),
        prevent_initial_call=True,
    )
    @guarded("analyst")
    def save_review(_clicks: int | None, selected: list[dict] | None, verdict: str | None,
                    label: str | None, refresh: int | None) -> tuple:
        if not selected:
            return html.Span(_("Select a row first."),
                             className="text-danger"), no_update
        if verdict not in ("valid", "invalid"):
            return html.Span(_("Say whether the diagnosis is right."),
                               className="text-danger"), no_update
        session = db_session()
        try:
            review_diagnosis(session, current_user.org_id, int(selected[0]["id"]),
                             current_user.id, verdict == "valid", label)
        except (FilterError, KeyError, TypeError, ValueError) as exc:
            session.rollback()
            message = str(exc) if isinstance(exc, FilterError) else _("Could not save the review.")
            return html.Span(message, className="text-danger"), no_update
        return (html.Span(_("Review saved."), className="text-success",
                          id="history-review-saved"), (refresh or 0) + 1)
