"""The in-app channel: the navbar's open-alert count and a toast on whatever page is
open when a new alert appears. The browser keeps the newest alert id it has seen
(session storage), so a reload does not toast old alerts again."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, html
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.alerts.messages import shown
from dashboard.alerts.queries import (
    AlertRow,
    alerts_opened_after,
    newest_alert_id,
    open_alert_count,
)
from dashboard.alerts.rules import SEVERITY_LABELS
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.snapshots import snapshots

SEVERITY_COLORS = {"critical": "danger", "warning": "warning", "info": "info"}
TOAST_MS = 12000


def badge_text(count: int) -> tuple[str, str]:
    """(text, className) of the navbar badge: hidden when nothing is open."""
    if count <= 0:
        return "", "ms-1 d-none"
    return ("99+" if count > 99 else str(count)), "ms-1"


def alert_toast(row: AlertRow) -> dbc.Toast:
    return dbc.Toast(
        [html.Div(shown(row.detail), className="small mb-1"),
         html.A(_("View alert"), href=f"/alerts?alert={row.id}",
                className="small")],
        header=f"{_(SEVERITY_LABELS.get(row.severity, row.severity))}: {shown(row.title)}",
        icon=SEVERITY_COLORS.get(row.severity, "secondary"),
        dismissable=True, duration=TOAST_MS, is_open=True,
        id={"type": "alerts-toast", "index": row.id}, className="mb-2",
    )


def register(app: dash.Dash) -> None:
    # Pushed (assets/live.js): an incident event refreshes the badge; the interval is
    # the fallback poll while the event stream is down.
    app.clientside_callback(ClientsideFunction("live", "badge"),
                            Output("alerts-badge-live", "data"), Input("live-event", "data"),
                            prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("live", "pollDisabled"),
                            Output("alerts-badge-interval", "disabled"),
                            Input("live-status", "data"))

    @app.callback(
        Output("alerts-badge-count", "children"),
        Output("alerts-badge-count", "className"),
        Output("alerts-toasts", "children"),
        Output("alerts-badge-seen", "data"),
        Input("alerts-badge-interval", "n_intervals"),
        Input("alerts-badge-live", "data"),
        State("alerts-badge-seen", "data"),
    )
    @guarded("viewer")
    def refresh_alert_badge(_n: int | None, _pushed: int | None = None,
                            seen: int | None = None) -> tuple:
        session = db_session()
        org_id = current_user.org_id
        # Shared by every open tab of the organisation; recomputed on incident events.
        count, newest = snapshots().get("alerts", org_id, lambda: (
            open_alert_count(session, org_id), newest_alert_id(session, org_id)))
        text, class_name = badge_text(count)
        if isinstance(seen, bool) or not isinstance(seen, int) or seen > newest:
            # First look in this tab (or another org's id left in storage): no toasts.
            return text, class_name, dash.no_update, newest
        fresh = alerts_opened_after(session, org_id, seen)
        toasts = [alert_toast(row) for row in fresh] if fresh else dash.no_update
        return text, class_name, toasts, newest
