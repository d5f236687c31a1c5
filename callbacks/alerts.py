"""Callbacks of the alerts list: filters, acknowledge/resolve through a comment modal,
and the timeline (events and the delivery log) of one alert."""

from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.alerts_badge import SEVERITY_COLORS
from callbacks.guard import guarded
from dashboard.accounts.auth import user_has_role
from dashboard.alerts import (
    AlertsInputError,
    acknowledge_alert,
    acknowledge_incident,
    resolve_alert,
    resolve_incident,
)
from dashboard.alerts.messages import shown
from dashboard.alerts.notify import CHANNEL_LABELS
from dashboard.alerts.queries import (
    AlertRow,
    DeliveryRow,
    TimelineEntry,
    alert_deliveries,
    alert_timeline,
    get_alert_row,
    list_alerts,
    scope_options,
)
from dashboard.alerts.rules import KIND_LABELS, SEVERITY_LABELS
from dashboard.core.database import db_session
from dashboard.core.i18n import DEFAULT_TIME_ZONE, N_, _
from dashboard.core.models import utcnow
from dashboard.core.timezones import local_text

STATE_STYLE = {"open": ("danger", N_("Open")),
               "acknowledged": ("warning", N_("Acknowledged")),
               "resolved": ("success", N_("Resolved"))}
EVENT_LABELS = {
    "fired": N_("Fired"), "severity": N_("Severity raised"),
    "escalated": N_("Escalated"), "renotified": N_("Reminded"),
    "notified": N_("Notified"), "notify_failed": N_("Notification failed"),
    "acknowledged": N_("Acknowledged"), "resolved": N_("Resolved"),
    "auto_resolved": N_("Resolved automatically"),
}
DELIVERY_COLORS = {"sent": "success", "pending": "secondary", "sending": "info",
                   "failed": "danger", "rate_limited": "warning", "skipped": "light",
                   "cancelled": "light", "disconnected": "dark"}


def format_ts(ts: dt.datetime | None, tz_name: str | None) -> str:
    """A time in the user's own time zone (DEFAULT_TIME_ZONE unless they chose another)."""
    return local_text(ts, tz_name or DEFAULT_TIME_ZONE)


def _shown(text: str | None) -> str:
    """Generated texts are stored as keys (translated here); a comment is shown as is."""
    return shown(text)


def _resolve_note(row: AlertRow) -> str:
    return _shown(row.resolve_comment)


def _state_badge(row: AlertRow) -> dbc.Badge:
    color, label = STATE_STYLE.get(row.state, ("secondary", row.state))
    return dbc.Badge(_(label), color=color, id=f"alerts-state-{row.id}")


def _owner_note(row: AlertRow, tz_name: str | None) -> list:
    notes = []
    if row.acknowledged_at:
        notes.append(html.Div(
            f"{_('Acknowledged')}: {row.acknowledged_by or '—'} · "
            f"{format_ts(row.acknowledged_at, tz_name)} · {row.ack_comment or ''}",
            className="small text-secondary"))
    if row.resolved_at:
        automatic = _("automatic")
        notes.append(html.Div(
            f"{_('Resolved')}: {row.resolved_by or automatic} · "
            f"{format_ts(row.resolved_at, tz_name)} · {_resolve_note(row)}",
            className="small text-secondary"))
    return notes


def _actions(row: AlertRow, can_act: bool) -> html.Div:
    buttons = [dbc.Button(html.I(className="fa-solid fa-clock-rotate-left"), size="sm",
                          color="secondary", outline=True, title=_("Timeline"),
                          id={"type": "alerts-timeline", "index": row.id})]
    if can_act and row.state == "open":
        buttons.append(dbc.Button(_("Acknowledge"), size="sm", color="warning",
                                  id={"type": "alerts-ack", "index": row.id}))
    if can_act and row.state != "resolved":
        buttons.append(dbc.Button(_("Resolve"), size="sm", color="success",
                                  id={"type": "alerts-resolve", "index": row.id}))
    return html.Div(buttons, className="d-flex gap-1 flex-wrap")


def alerts_table(rows: list[AlertRow], can_act: bool, tz_name: str | None) -> html.Div:
    if not rows:
        return dbc.Alert(_("No alerts match the filters."),
                         color="light", id="alerts-empty")
    head = html.Thead(html.Tr([html.Th(t) for t in (
        _("Severity"), _("State"), _("Alert"),
        _("Compressor"), _("Count"), _("Opened"),
        _("Last seen"), "")]))
    body_rows = []
    signals: dict[int, list[AlertRow]] = {}
    for row in rows:
        if row.incident_id is not None:
            signals.setdefault(row.incident_id, []).append(row)
    for row in rows:
        group = signals.get(row.incident_id, []) if row.incident_id is not None else []
        first = not group or group[0].id == row.id
        if group and first and len(group) > 1:
            body_rows.append(_incident_row(row.incident_id, group))
        body_rows.append(_alert_row(row, can_act and first, tz_name, nested=not first))
    body = html.Tbody(body_rows)
    zone_note = html.Small(_("Times in %(zone)s (your profile's time zone).",
                             zone=tz_name or DEFAULT_TIME_ZONE),
                           className="text-secondary", id="alerts-time-zone")
    return html.Div([dbc.Table([head, body], hover=True, responsive=True, size="sm",
                               className="align-middle", id="alerts-table"), zone_note])


def _incident_row(incident_id: int, group: list[AlertRow]) -> html.Tr:
    """An incident's heading: its signals by kind; its first alert's buttons act on it."""
    kinds = sorted({_(KIND_LABELS.get(r.rule_kind or "", r.rule_kind or "")) for r in group})
    return html.Tr(html.Td([
        html.I(className="fa-solid fa-layer-group me-1"),
        html.Strong(_("Incident: %(n)s signals", n=len(group))), " · ",
        html.Span(", ".join(k for k in kinds if k), className="small"),
    ], colSpan=8, className="table-light"), id=f"alerts-incident-{incident_id}")


def _alert_row(row: AlertRow, can_act: bool, tz_name: str | None,
               nested: bool = False) -> html.Tr:
    return html.Tr([
            html.Td(dbc.Badge(_(SEVERITY_LABELS.get(row.severity, row.severity)),
                              color=SEVERITY_COLORS.get(row.severity, "secondary")),
                    className="ps-4" if nested else None),
            html.Td(_state_badge(row)),
            html.Td([html.Div(_shown(row.title), className="fw-semibold"),
                     html.Div(_shown(row.detail), className="small"),
                     *_owner_note(row, tz_name)]),
            html.Td([html.Div(row.compressor), html.Small(row.site, className="text-secondary")]),
            html.Td(str(row.count), id=f"alerts-count-{row.id}"),
            html.Td(format_ts(row.opened_at, tz_name), className="text-nowrap"),
            html.Td(format_ts(row.last_seen_at, tz_name), className="text-nowrap"),
            html.Td(_actions(row, can_act)),
        ], id=f"alerts-row-{row.id}")


def timeline_view(row: AlertRow, events: list[TimelineEntry], deliveries: list[DeliveryRow],
                  tz_name: str | None) -> html.Div:
    items = [
        html.Li([
            html.Span(format_ts(e.ts, tz_name), className="text-secondary me-2"),
            html.Strong(_(EVENT_LABELS.get(e.kind, e.kind))),
            html.Span(f" · {e.who}" if e.who else ""),
            html.Div(_shown(e.detail) if e.who is None else (e.detail or ""),
                     className="small"),
        ], className="mb-2", id=f"alerts-event-{e.kind}")
        for e in events
    ]
    log_rows = [
        html.Tr([html.Td([_(CHANNEL_LABELS.get(d.channel, d.channel)),
                          html.Div(_("instead of %(channel)s",
                                     channel=_(CHANNEL_LABELS.get(d.fallback_for, d.fallback_for)))
                                   if d.fallback_for else "", className="small text-secondary")]),
                 html.Td(d.recipient or "—"),
                 html.Td(dbc.Badge(d.status, color=DELIVERY_COLORS.get(d.status, "secondary"))),
                 html.Td(str(d.attempts)), html.Td(format_ts(d.sent_at, tz_name)),
                 html.Td(d.last_error or d.provider_status or "", className="small")],
                className=f"sc-delivery-{d.status}")
        for d in deliveries
    ]
    log = (dbc.Table([html.Thead(html.Tr([html.Th(t) for t in (
        _("Channel"), _("Recipient"), _("Status"),
        _("Attempts"), _("Sent"), _("Error"))])),
        html.Tbody(log_rows)], size="sm", responsive=True, id="alerts-delivery-log")
        if log_rows else html.P(_("No notifications for this alert."),
                                className="text-secondary small"))
    return html.Div([
        html.H2(_shown(row.title), className="h6"),
        html.P([_state_badge(row), " ", _shown(row.detail)], className="small"),
        html.Ul(items, className="list-unstyled", id="alerts-timeline-events"),
        html.H3(_("Delivery log"), className="h6 mt-3"),
        log,
    ])


def _clicked_index() -> int:
    """The alert id of the pattern-matched button that was really clicked (a list that
    re-renders brings new buttons with no clicks: those are not clicks)."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    return trig["index"]


def register(app: dash.Dash) -> None:
    # Pushed (assets/live.js): incident events refresh the list; the interval is the
    # fallback poll while the event stream is down.
    app.clientside_callback(ClientsideFunction("live", "alertsList"),
                            Output("alerts-live", "data"), Input("live-event", "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("live", "pollDisabled"),
                            Output("alerts-interval", "disabled"),
                            Input("live-status", "data"))

    @app.callback(
        Output("alerts-list", "children"),
        Output("alerts-filter-compressor", "options"),
        Input("alerts-interval", "n_intervals"),
        Input("alerts-refresh", "data"),
        Input("alerts-filter-state", "value"),
        Input("alerts-filter-severity", "value"),
        Input("alerts-filter-compressor", "value"),
        Input("alerts-live", "data"),
    )
    @guarded("viewer")
    def refresh_alert_list(_n: int | None, _refresh: int | None, states: list | None,
                           severities: list | None, compressor_id: int | None,
                           _pushed: int | None = None) -> tuple:
        session = db_session()
        org_id = current_user.org_id
        _sites, compressors = scope_options(session, org_id)
        # Ids from the browser only filter this organisation's rows.
        cid = compressor_id if isinstance(compressor_id, int) else None
        states = [s for s in states or [] if isinstance(s, str)]
        severities = [s for s in severities or [] if isinstance(s, str)]
        # Nothing ticked in a filter means nothing shown, not everything.
        rows = (list_alerts(session, org_id, states=states, severities=severities,
                            compressor_id=cid) if states and severities else [])
        return alerts_table(rows, user_has_role("manager"), current_user.timezone), compressors

    @app.callback(
        Output("alerts-action-modal", "is_open"),
        Output("alerts-action-target", "data"),
        Output("alerts-action-title", "children"),
        Output("alerts-action-summary", "children"),
        Output("alerts-action-comment", "value"),
        Output("alerts-action-error", "children"),
        Input({"type": "alerts-ack", "index": ALL}, "n_clicks"),
        Input({"type": "alerts-resolve", "index": ALL}, "n_clicks"),
        Input("alerts-action-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    @guarded("manager")
    def open_action_modal(_ack: list, _resolve: list, _cancel: int | None) -> tuple:
        if ctx.triggered_id == "alerts-action-cancel":
            return False, None, dash.no_update, dash.no_update, "", ""
        alert_id = _clicked_index()
        row = get_alert_row(db_session(), current_user.org_id, alert_id)
        if row is None:
            raise PreventUpdate
        action = "acknowledge" if ctx.triggered_id["type"] == "alerts-ack" else "resolve"
        title = (_("Acknowledge alert") if action == "acknowledge"
                 else _("Resolve alert"))
        summary = [html.Strong(_shown(row.title)), html.Div(f"{row.site} / {row.compressor}",
                                                    className="small text-secondary")]
        return True, {"alert_id": row.id, "action": action}, title, summary, "", ""

    @app.callback(
        Output("alerts-action-modal", "is_open", allow_duplicate=True),
        Output("alerts-action-error", "children", allow_duplicate=True),
        Output("alerts-feedback", "children"),
        Output("alerts-refresh", "data"),
        Input("alerts-action-confirm", "n_clicks"),
        State("alerts-action-target", "data"),
        State("alerts-action-comment", "value"),
        State("alerts-refresh", "data"),
        prevent_initial_call=True,
    )
    @guarded("manager")
    def confirm_alert_action(n_clicks: int | None, target: dict | None, comment: str | None,
                             refresh: int | None) -> tuple:
        if not n_clicks or not isinstance(target, dict):
            raise PreventUpdate
        action = target.get("action")
        if action not in ("acknowledge", "resolve"):
            raise PreventUpdate
        session = db_session()
        text = comment if isinstance(comment, str) else None
        try:
            # One acknowledge (and one resolve) for the whole incident the alert is part of.
            alert = get_alert_row(session, current_user.org_id, target.get("alert_id"))
            if alert is not None and alert.incident_id is not None:
                act_on = (acknowledge_incident if action == "acknowledge"
                          else resolve_incident)
                act_on(session, current_user, alert.incident_id, text, utcnow())
            else:
                act = acknowledge_alert if action == "acknowledge" else resolve_alert
                act(session, current_user, target.get("alert_id"), text, utcnow())
                alert = get_alert_row(session, current_user.org_id, target.get("alert_id"))
            session.commit()
        except AlertsInputError as exc:
            session.rollback()
            return True, exc.localized(), dash.no_update, dash.no_update
        done = (_("Alert acknowledged.") if action == "acknowledge"
                else _("Alert resolved."))
        feedback = dbc.Alert(f"{done} {_shown(alert.title)}", color="success", dismissable=True,
                             duration=6000, id="alerts-action-done")
        return False, "", feedback, (refresh or 0) + 1

    @app.callback(
        Output("alerts-timeline-modal", "is_open"),
        Output("alerts-timeline-body", "children"),
        Input({"type": "alerts-timeline", "index": ALL}, "n_clicks"),
        Input("alerts-focus", "data"),
        Input("alerts-timeline-close", "n_clicks"),
    )
    @guarded("viewer")
    def show_alert_timeline(_clicks: list, focus: str | None, _close: int | None) -> tuple:
        if ctx.triggered_id == "alerts-timeline-close":
            return False, dash.no_update
        if ctx.triggered_id == "alerts-focus" or ctx.triggered_id is None:
            alert_id = focus  # a link from a notification: /alerts?alert=ID
            if not focus:
                raise PreventUpdate
        else:
            alert_id = _clicked_index()
        session = db_session()
        org_id = current_user.org_id
        row = get_alert_row(session, org_id, alert_id)
        if row is None:
            raise PreventUpdate
        view = timeline_view(row, alert_timeline(session, org_id, row.id),
                             alert_deliveries(session, org_id, row.id), current_user.timezone)
        return True, view
