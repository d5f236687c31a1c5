"""Live fleet health: every compressor of the organisation, grouped by site."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app

from dashboard.accounts.auth import page_guard
from dashboard.core.i18n import N_, _
from dashboard.ui.figures.base import STATUS_ORDER, status_label

dash.register_page(
    __name__, path="/", name="Fleet health", title="Fleet health · SignalCraft",
    nav_order=0, nav_label=N_("Fleet health"), nav_icon="fa-solid fa-heart-pulse",
    min_role="viewer",
)


@page_guard("viewer")
def layout(**_kwargs: object) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H1(_("Fleet health"), className="h4 mb-0"),
                    html.Small(id="health-updated", className="text-secondary"),
                ],
                className="d-flex flex-wrap justify-content-between align-items-baseline mb-3"
                          " gap-2",
            ),
            html.Div(id="health-counts", className="mb-3 d-flex flex-wrap gap-2"),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id="health-site", clearable=True,
                                         placeholder=_("All sites")), xs=12, md=4),
                    dbc.Col(dcc.Dropdown(
                        id="health-status", multi=True, placeholder=_("All statuses"),
                        options=[{"label": status_label(s), "value": s} for s in STATUS_ORDER],
                    ), xs=12, md=5),
                    dbc.Col(dbc.RadioItems(
                        id="health-view", value="auto", inline=True,
                        options=[{"label": _("Auto"), "value": "auto"},
                                 {"label": _("Cards"), "value": "cards"},
                                 {"label": _("Compact"), "value": "tiles"}],
                        className="small pt-1",
                    ), xs=12, md=3),
                ],
                className="g-2 mb-3 sc-filters",
            ),
            dcc.Loading(html.Div(id="health-grid"), type="dot", delay_show=500),
            # Pushed (assets/live.js bumps health-live); the interval is the slow
            # fallback poll, running only while the event stream is down.
            dcc.Store(id="health-live"),
            dcc.Interval(
                id="health-interval", disabled=True,
                interval=current_app.config.get("HEALTH_REFRESH_MS", 60000),
            ),
            dbc.Alert(id="health-error", is_open=False, color="danger"),
        ]
    )
