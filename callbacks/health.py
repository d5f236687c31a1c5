"""Callbacks of the live health page."""

from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, html
from flask import current_app
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.database import db_session
from dashboard.fleet import METRIC_LABELS, CompressorCard, fleet_cards, status_counts
from dashboard.models import utcnow

STATUS_STYLE = {
    "healthy": ("success", "Healthy · 정상"),
    "watch": ("info", "Watch · 관찰"),
    "warning": ("warning", "Warning · 주의"),
    "critical": ("danger", "Critical · 위험"),
    "learning": ("secondary", "Learning · 학습 중"),
    "offline": ("dark", "Offline · 오프라인"),
}


def humanize_age(then: dt.datetime | None, now: dt.datetime) -> str:
    if then is None:
        return "never · 없음"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def compressor_card(card: CompressorCard, now: dt.datetime) -> dbc.Col:
    color, label = STATUS_STYLE.get(card.status, ("secondary", card.status))
    metrics = [
        html.Div(
            [
                html.Span(METRIC_LABELS[key][0], className="text-secondary me-1"),
                html.Span(f"{card.last_metrics[key]:.1f} {METRIC_LABELS[key][1]}",
                          className="fw-semibold", id=f"health-metric-{card.id}-{key}"),
            ],
            className="small",
        )
        for key in METRIC_LABELS
        if key in card.last_metrics
    ]
    score = "—" if card.health_score is None else f"{card.health_score:.0f}"
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader(
                    [
                        html.Div(
                            [html.Div(card.name, className="fw-semibold"),
                             html.Small(card.site, className="text-secondary")],
                        ),
                        dbc.Badge(label, color=color, className="align-self-start",
                                  id=f"health-status-{card.id}"),
                    ],
                    className="d-flex justify-content-between gap-2",
                ),
                dbc.CardBody(
                    [
                        html.Div(
                            [html.Span("Health ", className="text-secondary small"),
                             html.Span(score, className="fs-4 fw-semibold")],
                        ),
                        html.Div(card.suspected_fault or "", className="small text-danger"),
                        html.Div(metrics or html.Span("No readings yet · 데이터 없음",
                                                      className="small text-secondary")),
                    ]
                ),
                dbc.CardFooter(
                    html.Small(
                        [html.I(className="fa-regular fa-clock me-1"),
                         "Last seen · 최근 수신: ",
                         html.Span(humanize_age(card.last_seen_at, now),
                                   id=f"health-seen-{card.id}")],
                        className="text-secondary",
                    )
                ),
            ],
            className=f"h-100 sc-card sc-status-{card.status}",
            id=f"health-card-{card.id}",
        ),
        xs=12, sm=6, lg=4, xxl=3, className="mb-3",
    )


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("health-grid", "children"),
        Output("health-counts", "children"),
        Output("health-updated", "children"),
        Input("health-interval", "n_intervals"),
    )
    @guarded("viewer")
    def refresh_fleet(_n: int | None) -> tuple:
        now = utcnow()
        cards = fleet_cards(db_session(), current_user.org_id,
                            current_app.config["OFFLINE_AFTER_SECONDS"], now)
        if not cards:
            empty = dbc.Alert(
                "No compressors yet. An admin registers devices under Settings "
                "or with `flask --app wsgi devices add`. · 등록된 압축기가 없습니다.",
                color="light", id="health-empty",
            )
            return empty, [], ""
        counts = status_counts(cards)
        badges = [
            dbc.Badge(f"{STATUS_STYLE[s][1]}: {counts[s]}", color=STATUS_STYLE[s][0],
                      className="fs-6 fw-normal", id=f"health-count-{s}")
            for s in STATUS_STYLE if s in counts
        ]
        grid = dbc.Row([compressor_card(c, now) for c in cards])
        return grid, badges, f"Updated {now:%H:%M:%S} UTC"
