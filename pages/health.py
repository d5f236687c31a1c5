"""Live fleet health: every compressor of the organisation as a card."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app

dash.register_page(
    __name__, path="/", name="Fleet health", title="Fleet health · SignalCraft",
    nav_order=0, nav_label=("Fleet health", "설비 상태"), nav_icon="fa-solid fa-heart-pulse",
    min_role="viewer",
)


def layout(**_kwargs: object) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Fleet health · 설비 상태", className="h4 mb-0"),
                    html.Small(id="health-updated", className="text-secondary"),
                ],
                className="d-flex flex-wrap justify-content-between align-items-baseline mb-3 gap-2",
            ),
            html.Div(id="health-counts", className="mb-3 d-flex flex-wrap gap-2"),
            dcc.Loading(html.Div(id="health-grid"), type="dot", delay_show=500),
            dcc.Interval(
                id="health-interval",
                interval=current_app.config.get("HEALTH_REFRESH_MS", 5000),
            ),
            dbc.Alert(id="health-error", is_open=False, color="danger"),
        ]
    )
