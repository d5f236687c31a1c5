"""Settings, "Where alerts reach you" and "Notifications on this browser": the state of
each channel for the logged-in user, and their browsers' Web Push subscriptions
(assets/pwa.js puts a new subscription into ``settings-push-new``). Every change is
the user's own: dashboard/alerts/webpush.py scopes each query to them."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, html
from dash.exceptions import PreventUpdate
from flask import current_app, request

from callbacks.alerts import format_ts
from callbacks.guard import guarded
from callbacks.settings import bump, clicked, me
from dashboard.alerts.channel_base import DeliveryError, OutgoingMessage
from dashboard.alerts.channels_webpush import send_webpush
from dashboard.alerts.errors import AlertsInputError
from dashboard.alerts.notify import CHANNEL_LABELS
from dashboard.alerts.reach import ReachView, reach_overview
from dashboard.alerts.webpush import (
    list_browsers,
    remove_browser,
    save_subscription,
    vapid_problem,
)
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.mailer import public_url
from dashboard.ui.settings_tables import feedback

STATE_BADGES = {"ok": "success", "off": "secondary", "disconnected": "danger",
                "needs_phone": "warning", "not_linked": "warning", "no_browser": "warning",
                "server": "secondary", "org_off": "secondary"}


def _state_text(view: ReachView, tz: str | None) -> str:
    if view.state == "ok":
        if view.kind == "webpush":
            return _("%(n)s browsers", n=view.detail)
        return view.detail or _("connected")
    texts = {
        "off": _("off"),
        "needs_phone": _("add your phone number above"),
        "not_linked": _("connect Kakao below"),
        "no_browser": _("turn notifications on in a browser"),
        "server": _("not set up on this server"),
        "org_off": _("switched off by your administrator"),
    }
    if view.state == "disconnected":
        return _("disconnected since %(when)s — connect Kakao again",
                 when=format_ts(view.since, tz))
    return texts[view.state]


def reach_list(views: list[ReachView], tz: str | None) -> html.Ul:
    return html.Ul([
        html.Li([
            html.Strong(_(CHANNEL_LABELS[v.kind]), className="me-2"),
            dbc.Badge(_("on") if v.wanted else _("off"),
                      color=STATE_BADGES[v.state] if v.wanted or v.state == "disconnected"
                      else "secondary", className="me-2"),
            html.Span(_state_text(v, tz), className="small"),
        ], id=f"settings-reach-{v.kind}", className=f"mb-1 sc-reach-{v.state}")
        for v in views
    ], className="list-unstyled mb-0")


def _push_state_text(state: dict | None, subscribed_here: bool) -> Any:
    if not state:
        return ""
    if not state.get("supported"):
        if state.get("ios") and not state.get("standalone"):
            return _("Add SignalCraft to the Home Screen to get notifications on this device.")
        return _("This browser cannot show push notifications.")
    if state.get("permission") == "denied":
        return _("Notifications are blocked for this site in the browser's settings.")
    if state.get("error"):
        return _("The browser refused: %(error)s", error=str(state["error"])[:200])
    if subscribed_here:
        return html.Span([html.I(className="fa-solid fa-circle-check text-success me-1"),
                          _("This browser gets alert notifications.")])
    return _("This browser does not get notifications yet.")


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("settings-reach-status", "children"),
        Input("settings-init", "data"),
        Input("settings-push-version", "data"),
        Input("settings-profile-feedback", "children"),
    )
    @guarded("viewer")
    def render_reach(_init: Any, _version: Any, _feedback: Any) -> Any:
        user = me()
        db = db_session()
        db.refresh(user)
        return reach_list(reach_overview(current_app, db, user), user.timezone)

    @app.callback(
        Output("settings-push-list", "children"),
        Output("settings-push-browser", "children"),
        Input("settings-init", "data"),
        Input("settings-push-version", "data"),
        Input("settings-push-state", "data"),
    )
    @guarded("viewer")
    def render_browsers(_init: Any, _version: Any, state: dict | None) -> tuple:
        user = me()
        browsers = list_browsers(db_session(), user.id)
        here = (state or {}).get("endpoint")
        rows = [html.Tr([
            html.Td([b.label, html.Small(f" · {_('this browser')}", className="text-success")
                     if b.endpoint == here else ""]),
            html.Td(format_ts(b.created_at, user.timezone), className="small text-nowrap"),
            html.Td(format_ts(b.last_success_at, user.timezone) if b.last_success_at else
                    (b.last_error or "—"), className="small"),
            html.Td(dbc.Button(_("Remove"), size="sm", color="link", className="p-0",
                               id={"type": "settings-push-remove", "index": b.id})),
        ], id=f"settings-push-row-{b.id}") for b in browsers]
        table = (dbc.Table([html.Thead(html.Tr([html.Th(t) for t in (
            _("Browser"), _("Added"), _("Last notification"), "")])), html.Tbody(rows)],
            size="sm", responsive=True, className="mb-0", id="settings-push-table")
            if rows else html.P(_("No browser gets notifications yet."),
                                className="text-secondary small mb-0"))
        return table, _push_state_text(state, any(b.endpoint == here for b in browsers))

    @app.callback(
        Output("settings-push-feedback", "children"),
        Output("settings-push-version", "data"),
        Input("settings-push-new", "data"),
        State("settings-push-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def save_browser(data: dict | None, version: int | None) -> tuple:
        if not data:
            raise PreventUpdate
        db = db_session()
        try:
            save_subscription(db, me(), data.get("subscription"),
                              request.headers.get("User-Agent"),
                              allow_loopback_http=current_app.testing)
            db.commit()
        except AlertsInputError as exc:
            db.rollback()
            return feedback(exc.localized(), False), dash.no_update
        return feedback(_("This browser will get alert notifications."), True), bump(version)

    @app.callback(
        Output("settings-push-feedback", "children", allow_duplicate=True),
        Output("settings-push-version", "data", allow_duplicate=True),
        Input("settings-push-removed", "data"),
        Input({"type": "settings-push-remove", "index": ALL}, "n_clicks"),
        State("settings-push-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def forget_browser(removed: dict | None, _clicks: list, version: int | None) -> tuple:
        db = db_session()
        if dash.ctx.triggered_id == "settings-push-removed":
            if not removed or not removed.get("endpoint"):
                raise PreventUpdate
            done = remove_browser(db, me(), endpoint=str(removed["endpoint"]))
        else:
            done = remove_browser(db, me(), clicked().get("index"))
        db.commit()
        if not done:
            return feedback(_("That browser was already removed."), False), bump(version)
        return feedback(_("Notifications are off for that browser."), True), bump(version)

    @app.callback(
        Output("settings-push-feedback", "children", allow_duplicate=True),
        Output("settings-push-version", "data", allow_duplicate=True),
        Input("settings-push-test", "n_clicks"),
        State("settings-push-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def send_test(n: int | None, version: int | None) -> tuple:
        if not n:
            raise PreventUpdate
        user = me()
        app_ = current_app._get_current_object()  # type: ignore[attr-defined]
        if vapid_problem(app_):
            return feedback(_("Browser notifications are not set up on this server."),
                            False), dash.no_update
        link = public_url(app_, "/alerts")
        title = _("SignalCraft test notification")
        body = _("Alerts will look like this.")
        msg = OutgoingMessage(delivery_id=0, dedupe_key=f"test:user:{user.id}",
                              channel="webpush", to="", subject=title, text=body, link=link,
                              button_title="", user_id=user.id, language=user.language,
                              title=title, body=body, severity="info")
        try:
            result = send_webpush(app_, msg)
        except DeliveryError as exc:
            return feedback(_("Sending failed: %(exc)s", exc=exc.detail), False), bump(version)
        return feedback(_("Sent to %(n)s browsers.", n=result.provider_ref), True), bump(version)
