"""Diagnosis history: every diagnosis of the organisation in a server-side grid
(infinite row model: the browser holds one block of rows at a time), filters, a
daily health trend, CSV export and, for analysts, label review."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.accounts.auth import page_guard, user_has_role
from dashboard.core.i18n import N_, _
from dashboard.fleet.history import REFRESH_COLUMN, FilterError, HistoryFilter, filter_model
from dashboard.ui.figures.base import graph

dash.register_page(
    __name__, path="/history", name="Diagnosis history", title="History · SignalCraft",
    nav_order=30, nav_label=N_("History"), nav_icon="fa-solid fa-table-list",
    min_role="viewer",
)

BLOCK_SIZE = 100


def column_defs() -> list[dict]:
    def col(field: str, header: str, **extra: object) -> dict:
        return {"field": field, "headerName": header, "sortable": True,
                "suppressHeaderMenuButton": True, "suppressHeaderFilterButton": True, **extra}

    number = "agNumberColumnFilter"

    def formatted(d3_format: str) -> dict:
        return {"function": f"params.value == null ? '' : d3.format('{d3_format}')(params.value)"}

    return [
        col("ts", _("Time"), filter="agDateColumnFilter", minWidth=170, sort="desc"),
        col("site", _("Site"), sortable=False, minWidth=120),
        col("compressor", _("Compressor"), sortable=False, minWidth=130),
        col("label", _("Label"), filter="agTextColumnFilter", minWidth=120),
        col("confidence", _("Confidence"), maxWidth=120,
            valueFormatter=formatted(".0%")),
        col("health_score", _("Health"), filter=number, maxWidth=110,
            valueFormatter=formatted(".0f")),
        col("status_text", _("Status"), colId="status", maxWidth=110),
        col("anomaly_score", _("Anomaly"), maxWidth=120,
            valueFormatter=formatted(".3f")),
        col("analyst_label", _("Analyst label"), minWidth=120),
        col("review_text", _("Review"), sortable=False, maxWidth=110),
        {"field": "site_id", "hide": True, "filter": number},
        {"field": "compressor_id", "hide": True, "filter": number},
        {"field": REFRESH_COLUMN, "hide": True, "filter": number},
    ]


def _initial_filter(compressor: str | None) -> dict:
    try:
        return filter_model(HistoryFilter(compressor_id=int(compressor))) if compressor else {}
    except (ValueError, FilterError):
        return {}


def _review_panel() -> html.Div:
    if not user_has_role("analyst"):
        return html.Div(id="history-detail", className="mb-3")
    return html.Div([
        html.Div(id="history-detail"),
        html.Div([
            dbc.RadioItems(id="history-review-verdict", inline=True, className="mb-2",
                           options=[{"label": _("Diagnosis is right"),
                                     "value": "valid"},
                                    {"label": _("Diagnosis is wrong"),
                                     "value": "invalid"}]),
            dbc.Row([
                dbc.Col(dbc.Select(id="history-review-label", size="sm",
                                   placeholder=_("Correct label")), xs=12, md=6),
                dbc.Col(dbc.Button(_("Save review"), id="history-review-save",
                                   color="primary", size="sm"), xs="auto"),
                dbc.Col(html.Span(id="history-review-message", className="small"), xs=12, md=True),
            ], className="g-2 align-items-center"),
        ], id="history-review-form", style={"display": "none"}, className="mt-2"),
    ], className="sc-panel mb-3", id="history-review")


@page_guard("viewer")
def layout(compressor: str | None = None, site: str | None = None,
           **_kwargs: object) -> html.Div:
    analyst = user_has_role("analyst")
    filters = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id="history-site", placeholder=_("All sites"),
                                 value=int(site) if site and site.isdigit() else None),
                    xs=12, md=3),
            dbc.Col(dcc.Dropdown(id="history-compressor",
                                 placeholder=_("All compressors"),
                                 value=int(compressor) if compressor and compressor.isdigit()
                                 else None), xs=12, md=3),
            dbc.Col(dcc.Dropdown(id="history-label", placeholder=_("All labels")),
                    xs=12, md=2),
            dbc.Col(dcc.DatePickerRange(id="history-dates", display_format="YYYY-MM-DD",
                                        minimum_nights=0, clearable=True,
                                        start_date_placeholder_text=_("From"),
                                        end_date_placeholder_text=_("To")), xs=12, md=4),
            dbc.Col([html.Small(_("Health score range"), className="text-secondary"),
                     dcc.RangeSlider(id="history-score", min=0, max=100, step=5, value=[0, 100],
                                     marks={0: "0", 20: "20", 45: "45", 70: "70", 100: "100"},
                                     allowCross=False)], xs=12, md=6),
            dbc.Col(html.Div([
                html.Span(id="history-count", className="me-auto small text-secondary"),
                html.A([html.I(className="fa-solid fa-file-csv me-1"),
                        _("Export CSV")],
                       id="history-export", href="/export/diagnoses.csv",
                       className="btn btn-outline-secondary btn-sm",
                       # Present for everyone (a callback writes its href); the route
                       # itself refuses viewers.
                       style=None if analyst else {"display": "none"}),
            ], className="d-flex align-items-center gap-2 h-100"), xs=12, md=6),
        ],
        className="g-2 mb-2 sc-filters",
    )
    grid = dag.AgGrid(
        id="history-grid",
        columnDefs=column_defs(),
        rowModelType="infinite",
        filterModel=_initial_filter(compressor),
        defaultColDef={"resizable": True, "minWidth": 90, "flex": 1},
        dashGridOptions={
            "cacheBlockSize": BLOCK_SIZE, "maxBlocksInCache": 20, "infiniteInitialRowCount": 1,
            "rowSelection": {"mode": "singleRow", "checkboxes": False,
                             "enableClickSelection": True},
            "localeText": {"noRowsToShow": _("No diagnoses match these filters.")},
        },
        getRowId="params.data.id",
        style={"height": "460px", "width": "100%"},
    )
    return html.Div(
        [
            dcc.Store(id="history-refresh", data=0),
            html.H1(_("Diagnosis history"), className="h4 mb-3"),
            filters,
            dbc.Alert(id="history-filter-error", is_open=False, color="warning", className="py-2"),
            html.Div(grid, className="sc-panel mb-3 sc-grid-wrap"),
            _review_panel(),
            html.Div([html.Div(_("Health trend (daily mean)"),
                               className="sc-panel-title"),
                      dcc.Loading(graph("history-trend", 320), type="circle",
                                  delay_show=400)],
                     className="sc-panel mb-3"),
        ]
    )
