"""One compressor: sensor time series over a chosen range, the health timeline and
maintenance notes. The id from the URL is only carried to the callbacks, which
check that it belongs to the user's organisation."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app

from dashboard.accounts.auth import page_guard, user_has_role
from dashboard.core.i18n import N_, _
from dashboard.ui.figures.base import graph

dash.register_page(
    __name__, path_template="/compressor/<cid>", name="Compressor",
    title="Compressor · SignalCraft", min_role="viewer",
)

RANGE_CHOICES = (("1h", N_("1 h")), ("24h", N_("24 h")), ("7d", N_("7 d")),
                 ("30d", N_("30 d")), ("custom", N_("Custom")))


def _range_bar() -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(dbc.RadioItems(
                id="compressor-range", value="24h",
                options=[{"label": _(label), "value": v} for v, label in RANGE_CHOICES],
                className="sc-range", inputClassName="btn-check",
                labelClassName="btn btn-outline-primary btn-sm",
                labelCheckedClassName="active",
            ), xs=12, lg="auto"),
            dbc.Col(html.Div(dcc.DatePickerRange(
                id="compressor-custom", display_format="YYYY-MM-DD", minimum_nights=0,
                start_date_placeholder_text=_("Start"),
                end_date_placeholder_text=_("End"),
            ), id="compressor-custom-wrap", style={"display": "none"}), xs=12, lg="auto"),
            dbc.Col(dbc.Switch(id="compressor-live", value=True,
                               label=_("Auto-refresh")),
                    xs="auto", className="ms-lg-auto pt-1"),
        ],
        className="g-2 align-items-center mb-2",
    )


def _notes_panel() -> html.Div:
    children: list = [html.Div(_("Maintenance notes"), className="sc-panel-title")]
    if user_has_role("manager"):
        children.append(html.Div(
            [
                dbc.Row([
                    dbc.Col(dbc.Input(id="compressor-note-ts", type="datetime-local", size="sm"),
                            xs=12, md=4),
                    dbc.Col(dbc.Textarea(id="compressor-note-text", rows=2, size="sm",
                                         placeholder=_("What was done (e.g. belt replaced)")),
                            xs=12, md=8),
                ], className="g-2 mb-2"),
                html.Div([
                    dbc.Button(_("Save note"), id="compressor-note-save",
                               size="sm", color="primary"),
                    dbc.Button(_("Delete"), id="compressor-note-delete", size="sm",
                               color="outline-danger", style={"display": "none"}),
                    dbc.Button(_("Cancel"), id="compressor-note-cancel", size="sm",
                               color="link", style={"display": "none"}),
                    html.Span(id="compressor-note-message", className="small ms-2"),
                ], className="d-flex flex-wrap gap-2 align-items-center mb-3"),
                dcc.Store(id="compressor-note-editing"),
            ],
            id="compressor-note-form",
        ))
    children.append(html.Div(id="compressor-notes"))
    return html.Div(children, className="sc-panel mb-3")


@page_guard("viewer")
def layout(cid: str | None = None, **_kwargs: object) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="compressor-id", data=cid),
            dcc.Store(id="compressor-notes-version", data=0),
            dcc.Store(id="compressor-live-header"),
            dcc.Store(id="compressor-live-charts"),
            dcc.Interval(id="compressor-interval", disabled=True,
                         interval=current_app.config.get("HEALTH_REFRESH_MS", 60000)),
            dcc.Loading(html.Div(id="compressor-header", className="mb-3"), type="dot",
                        delay_show=400),
            html.Div(
                [
                    _range_bar(),
                    dbc.Alert(id="compressor-range-error", is_open=False, color="warning",
                              className="py-2"),
                    html.Div(
                        [html.Div(_("Sensors"), className="sc-panel-title"),
                         html.Small(id="compressor-resolution", className="text-secondary"),
                         dcc.Loading(graph("compressor-sensors", height=400), type="circle",
                                     delay_show=400)],
                        className="sc-panel mb-3",
                    ),
                    html.Div(
                        [html.Div(_("Diagnosis timeline"),
                                  className="sc-panel-title"),
                         dcc.Loading(graph("compressor-timeline", height=280), type="circle",
                                     delay_show=400)],
                        className="sc-panel mb-3",
                    ),
                    html.Div(
                        [html.Div(_("Health trend"), className="sc-panel-title"),
                         html.Div(id="compressor-trend-text", className="small mb-1"),
                         dcc.Loading(graph("compressor-trend", height=260), type="circle",
                                     delay_show=400)],
                        className="sc-panel mb-3",
                    ),
                    _notes_panel(),
                ],
                id="compressor-body",
            ),
        ]
    )
