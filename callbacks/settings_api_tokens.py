"""Settings → API tokens: everyone's own personal tokens for the read API. Create (the
token is shown once in a window), list and revoke; dashboard/accounts/api_tokens.py
scopes every change to the user's own tokens."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, html
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from callbacks.guard import guarded
from dashboard.accounts.api_tokens import (
    ApiTokenView,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import User
from dashboard.core.timezones import local_text
from dashboard.ui.actions import bump, clicked, run_action
from dashboard.ui.context import me, user_zone_name
from dashboard.ui.settings_tables import confirm_button


def api_tokens_table(tokens: list[ApiTokenView], tz: str) -> Any:
    if not tokens:
        return html.P(_("No API tokens yet."), className="text-secondary small",
                      id="settings-api-list-empty")
    rows = [html.Tr([
        html.Td(t.name, className="fw-semibold"),
        html.Td(html.Code(f"scapi_{t.prefix}_…"), className="small"),
        html.Td(local_text(t.created_at, tz), className="small text-secondary"),
        html.Td(local_text(t.last_used_at, tz) if t.last_used_at else _("never"),
                className="small text-secondary"),
        html.Td(confirm_button({"type": "settings-api-revoke", "token": t.id}, _("Revoke"),
                               _("Revoke %(name)s? Scripts using it stop working.",
                                 name=t.name), icon="fa-solid fa-ban")),
    ], id=f"settings-api-row-{t.id}") for t in tokens]
    return dbc.Table([html.Thead(html.Tr([html.Th(_("Name")), html.Th(_("Token")),
                                          html.Th(_("Created")), html.Th(_("Last used")),
                                          html.Th("")])), html.Tbody(rows)],
                     hover=True, responsive=True, size="sm", className="align-middle",
                     id="settings-api-table")


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("settings-api-list", "children"),
        Input("settings-tabs", "active_tab"),
        Input("settings-api-version", "data"),
    )
    @guarded("viewer")
    def render_tokens(tab: str | None, _version: int | None) -> Any:
        if tab != "api":
            raise PreventUpdate
        return api_tokens_table(list_api_tokens(db_session(), me()), user_zone_name())

    @app.callback(
        Output("settings-api-feedback", "children"),
        Output("settings-api-version", "data"),
        Output("settings-api-token-modal", "is_open"),
        Output("settings-api-token-value", "children"),
        Output("settings-api-name", "value"),
        Input("settings-api-create", "n_clicks"),
        State("settings-api-name", "value"),
        State("settings-api-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def create(n: int | None, name: str | None, version: int | None) -> tuple:
        if not n:
            raise PreventUpdate
        made: list[str] = []

        def apply(db: Session, user: User) -> str:
            made.append(create_api_token(db, user, name or ""))
            return _("Token created: copy it from the window now.")

        message, ok = run_action(apply)
        if ok:
            return message, bump(version), True, made[0], ""
        return message, dash.no_update, dash.no_update, dash.no_update, dash.no_update

    @app.callback(
        Output("settings-api-feedback", "children", allow_duplicate=True),
        Output("settings-api-version", "data", allow_duplicate=True),
        Input({"type": "settings-api-revoke", "token": ALL}, "submit_n_clicks"),
        State("settings-api-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def revoke(_clicks: list, version: int | None) -> tuple:
        target = clicked()

        def apply(db: Session, user: User) -> str:
            return _("Revoked: %(name)s.", name=revoke_api_token(db, user, target.get("token")))

        message, ok = run_action(apply)
        return message, bump(version) if ok else dash.no_update

    @app.callback(
        Output("settings-api-token-modal", "is_open", allow_duplicate=True),
        Output("settings-api-token-value", "children", allow_duplicate=True),
        Input("settings-api-token-close", "n_clicks"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def close(_n: int | None) -> tuple:
        return False, ""  # gone from the page: shown once, never again
