"""Alerts: the list with filters (acknowledge and resolve with a comment, a timeline per
alert), and the Rules tab where managers edit rules and admins the channels."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app

from dashboard.accounts.auth import page_guard, user_has_role
from dashboard.alerts.notify import CHANNEL_KINDS, CHANNEL_LABELS
from dashboard.alerts.rules import KIND_LABELS, SENSOR_METRICS, SEVERITIES, SEVERITY_LABELS
from dashboard.core.i18n import N_, _
from dashboard.core.status import STATUS_LABELS

dash.register_page(
    __name__, path="/alerts", name="Alerts", title="Alerts · SignalCraft",
    nav_order=40, nav_label=N_("Alerts"), nav_icon="fa-solid fa-bell", min_role="viewer",
)

STATE_LABELS = {"open": N_("Open"), "acknowledged": N_("Acknowledged"),
                "resolved": N_("Resolved")}


def _filters() -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(dbc.Checklist(
                id="alerts-filter-state", inline=True, value=["open", "acknowledged"],
                options=[{"label": _(STATE_LABELS[s]), "value": s} for s in STATE_LABELS]),
                xs=12, md="auto"),
            dbc.Col(dbc.Checklist(
                id="alerts-filter-severity", inline=True, value=list(SEVERITIES),
                options=[{"label": _(SEVERITY_LABELS[s]), "value": s} for s in SEVERITIES]),
                xs=12, md="auto"),
            dbc.Col(dcc.Dropdown(id="alerts-filter-compressor", options=[],
                                 placeholder=_("All compressors")),
                    xs=12, md=4),
        ],
        className="g-2 mb-3 align-items-center",
    )


def _action_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="alerts-action-title")),
            dbc.ModalBody([
                html.Div(id="alerts-action-summary", className="mb-2"),
                dbc.Label(_("Comment (required)"),
                          html_for="alerts-action-comment"),
                dbc.Textarea(id="alerts-action-comment", rows=3, maxLength=2000,
                             placeholder=_("What is being done, by whom?")),
                html.Div(id="alerts-action-error", className="text-danger small mt-2"),
            ]),
            dbc.ModalFooter([
                dbc.Button(_("Cancel"), id="alerts-action-cancel", color="secondary",
                           outline=True),
                dbc.Button(_("Confirm"), id="alerts-action-confirm", color="primary"),
            ]),
        ],
        id="alerts-action-modal", is_open=False,
    )


def _timeline_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(_("Alert timeline"))),
            dbc.ModalBody(id="alerts-timeline-body"),
            dbc.ModalFooter(dbc.Button(_("Close"), id="alerts-timeline-close",
                                       color="secondary", outline=True)),
        ],
        id="alerts-timeline-modal", is_open=False, size="lg", scrollable=True,
    )


def _field(label: str, control: object, width: int = 6, group: str | None = None) -> dbc.Col:
    extra = {"id": f"alerts-rule-group-{group}"} if group else {}
    return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width,
                   className="mb-2", **extra)


def _number(id_: str, step: float | str = "any", minimum: float | None = None) -> dbc.Input:
    return dbc.Input(id=id_, type="number", step=step, min=minimum, size="sm")


def _rule_modal() -> dbc.Modal:
    kinds = [{"label": _(KIND_LABELS[k]), "value": k} for k in KIND_LABELS]
    metrics = [{"label": f"{_(metric.label)} ({metric.unit})", "value": key}
               for key, metric in SENSOR_METRICS.items()]
    body = dbc.Row([
        _field(_("Name"), dbc.Input(id="alerts-rule-name", maxLength=120, size="sm"), 12),
        _field(_("Kind"), dcc.Dropdown(id="alerts-rule-kind", options=kinds,
                                                clearable=False)),
        _field(_("Severity"), dcc.Dropdown(
            id="alerts-rule-severity", clearable=False,
            options=[{"label": _(SEVERITY_LABELS[s]), "value": s} for s in SEVERITIES])),
        _field(_("Site (optional)"), dcc.Dropdown(id="alerts-rule-site")),
        _field(_("Compressor (optional)"),
               dcc.Dropdown(id="alerts-rule-compressor")),
        _field(_("Status at or worse than"), dcc.Dropdown(
            id="alerts-rule-level", clearable=False,
            options=[{"label": _(STATUS_LABELS[s]), "value": s}
                     for s in ("watch", "warning", "critical")]),
            group="level"),
        _field(_("Fault class"), dcc.Dropdown(id="alerts-rule-fault",
                                                          clearable=False), group="fault"),
        _field(_("Probability above (0-1)"),
               _number("alerts-rule-threshold", 0.01, 0), group="threshold"),
        _field(_("Score above (empty: baseline threshold)"),
               _number("alerts-rule-score", "any", 0), group="score"),
        _field(_("Projected within (days)"), _number("alerts-rule-horizon", 0.5, 0.5),
               group="horizon"),
        _field(_("Sensor"), dcc.Dropdown(id="alerts-rule-metric", options=metrics,
                                                 clearable=False), group="metric"),
        _field(_("Direction"), dcc.Dropdown(
            id="alerts-rule-op", clearable=False,
            options=[{"label": _("above"), "value": "above"},
                     {"label": _("below"), "value": "below"}]), group="op"),
        _field(_("Limit"), _number("alerts-rule-limit"), group="limit"),
        _field(_("For how many minutes"), _number("alerts-rule-minutes", 1, 1),
               group="minutes"),
        _field(_("Diagnoses in a row before it fires"), _number("alerts-rule-confirm", 1, 1),
               group="confirm"),
        _field(_("Clear evaluations before auto-resolve"),
               _number("alerts-rule-clear-after", 1, 1)),
        _field(_("Escalate after minutes (0: never)"),
               _number("alerts-rule-escalate", 1, 0)),
        dbc.Col(dbc.Switch(id="alerts-rule-notify", label=_("Send notifications")),
                md=6),
        dbc.Col(dbc.Switch(id="alerts-rule-enabled", label=_("Enabled")), md=6),
        dbc.Col(html.Div(id="alerts-rule-error", className="text-danger small mt-2"), md=12),
    ])
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="alerts-rule-title")),
            dbc.ModalBody(body),
            dbc.ModalFooter([
                dbc.Button(_("Cancel"), id="alerts-rule-cancel", color="secondary",
                           outline=True),
                dbc.Button(_("Save"), id="alerts-rule-save", color="primary"),
            ]),
        ],
        id="alerts-rule-modal", is_open=False, size="lg",
    )


def _channels_card(is_admin: bool) -> dbc.Card:
    rows = [
        dbc.Row([
            dbc.Col(html.Strong(_(CHANNEL_LABELS[kind])), xs=12, md=2),
            dbc.Col(dbc.Switch(id=f"alerts-channel-{kind}-enabled", label=_("On"),
                               disabled=not is_admin), xs=4, md=2),
            dbc.Col(dbc.InputGroup([
                dbc.Input(id=f"alerts-channel-{kind}-rate", type="number", min=1, step=1,
                          disabled=not is_admin, size="sm"),
                dbc.InputGroupText(_("per hour")),
            ], size="sm"), xs=8, md=3),
            dbc.Col(html.Small(id=f"alerts-channel-{kind}-status", className="text-secondary"),
                    xs=12, md=5),
        ], className="mb-2 align-items-center")
        for kind in CHANNEL_KINDS
    ]
    # The button exists for everyone (its callback needs it) but only admins see it.
    footer = [dbc.Button(_("Save channels"), id="alerts-channels-save",
                         size="sm", color="primary",
                         style=None if is_admin else {"display": "none"})]
    if not is_admin:
        footer.append(html.Small(_("Only admins change channels."),
                                 className="text-secondary"))
    return dbc.Card([
        dbc.CardHeader(_("Notification channels")),
        dbc.CardBody(rows + [html.Div(id="alerts-channels-feedback", className="small mb-2")]
                     + footer),
    ], className="mt-4")


@page_guard("viewer")
def layout(alert: str | None = None, **_kwargs: object) -> html.Div:
    is_manager = user_has_role("manager")
    new_rule = dbc.Button([html.I(className="fa-solid fa-plus me-1"), _("New rule")],
                          id="alerts-rule-new", size="sm", color="primary", className="mb-2",
                          style=None if is_manager else {"display": "none"})
    return html.Div([
        html.H1(_("Alerts"), className="h4 mb-3"),
        dbc.Tabs([
            dbc.Tab(html.Div([
                _filters(),
                html.Div(id="alerts-feedback"),
                dcc.Loading(html.Div(id="alerts-list"), type="dot", delay_show=500),
            ], className="pt-3"), label=_("Alerts"), tab_id="alerts-tab-list"),
            dbc.Tab(html.Div([
                new_rule,
                html.Div(id="alerts-rules-feedback"),
                html.Div(id="alerts-rules-table"),
                _channels_card(user_has_role("admin")),
            ], className="pt-3"), label=_("Rules"), tab_id="alerts-tab-rules"),
        ], id="alerts-tabs", active_tab="alerts-tab-list"),
        _action_modal(),
        _timeline_modal(),
        _rule_modal(),
        dcc.Store(id="alerts-action-target"),
        dcc.Store(id="alerts-refresh", data=0),
        dcc.Store(id="alerts-rule-target"),
        dcc.Store(id="alerts-rules-refresh", data=0),
        dcc.Store(id="alerts-focus", data=alert),
        dcc.Store(id="alerts-live"),
        dcc.Interval(id="alerts-interval", disabled=True,
                     interval=current_app.config.get("ALERTS_REFRESH_MS", 60000)),
    ])
