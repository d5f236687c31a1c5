"""The operator page's callbacks: the organisations table, suspend (with a reason) and
reactivate. Every callback is ``guarded("operator")``: the operators listed in the
configuration only; dashboard/accounts/operators.py checks it again on each action and
writes the audit rows."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, html
from sqlalchemy.orm import Session

from callbacks.guard import guarded
from dashboard.accounts.operators import (
    OPERATOR,
    reactivate_organization,
    suspend_organization,
)
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import User
from dashboard.core.timezones import local_text
from dashboard.operations.organizations import OrganizationUsage, organization_usage
from dashboard.ui.actions import bump, clicked, run_action
from dashboard.ui.context import me, user_zone_name
from dashboard.ui.settings_tables import confirm_button


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _state(org: OrganizationUsage, tz: str) -> Any:
    if org.suspended_at is None:
        return dbc.Badge(_("Active"), color="success")
    return html.Div([
        dbc.Badge(_("Suspended"), color="danger"),
        html.Div(local_text(org.suspended_at, tz), className="small text-secondary"),
        html.Div(org.suspended_reason or "", className="small"),
    ])


def _action(org: OrganizationUsage, own_org_id: int | None) -> Any:
    if org.id == own_org_id and org.suspended_at is None:
        return html.Span(_("Your organisation"), className="small text-secondary")
    if org.suspended_at is not None:
        return confirm_button({"type": "operator-reactivate", "org": org.id}, _("Reactivate"),
                              _("Reactivate %(name)s? Its users and devices are let in "
                                "again.", name=org.name),
                              color="outline-success", icon="fa-solid fa-rotate-left")
    return html.Div([
        dbc.Input(id={"type": "operator-reason", "org": org.id}, size="sm", maxLength=500,
                  placeholder=_("Reason"), className="mb-1"),
        confirm_button({"type": "operator-suspend", "org": org.id}, _("Suspend"),
                       _("Suspend %(name)s? Its users and devices are refused until it is "
                         "reactivated.", name=org.name), icon="fa-solid fa-ban"),
    ], style={"minWidth": "12rem"})


def organizations_table(orgs: list[OrganizationUsage], tz: str,
                        own_org_id: int | None = None) -> Any:
    if not orgs:
        return html.P(_("No organisations yet."), className="text-secondary small",
                      id="operator-orgs-empty")
    never = _("never")
    rows = [html.Tr([
        html.Td(org.name, className="fw-semibold"),
        html.Td(str(org.users)),
        html.Td(str(org.devices)),
        html.Td(f"{org.readings:,}"),
        html.Td(f"{org.recordings:,} · {_size(org.recording_bytes)}"),
        html.Td(local_text(org.last_activity, tz) if org.last_activity else never,
                className="small text-secondary"),
        html.Td(local_text(org.last_login_at, tz) if org.last_login_at else never,
                className="small text-secondary"),
        html.Td(_state(org, tz)),
        html.Td(_action(org, own_org_id)),
    ], id=f"operator-org-{org.id}") for org in orgs]
    header = [_("Organisation"), _("Users"), _("Devices"), _("Readings"),
              _("Recordings"), _("Last activity"), _("Last login"), _("State"), ""]
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                     hover=True, responsive=True, size="sm", className="align-middle",
                     id="operator-orgs-table")


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("operator-orgs", "children"),
        Input("operator-version", "data"),
    )
    @guarded(OPERATOR)
    def render_orgs(_version: int | None) -> Any:
        return organizations_table(organization_usage(db_session()), user_zone_name(),
                                   me().org_id)

    @app.callback(
        Output("operator-feedback", "children"),
        Output("operator-version", "data"),
        Input({"type": "operator-suspend", "org": ALL}, "submit_n_clicks"),
        State({"type": "operator-reason", "org": ALL}, "value"),
        State({"type": "operator-reason", "org": ALL}, "id"),
        State("operator-version", "data"),
        prevent_initial_call=True,
    )
    @guarded(OPERATOR)
    def suspend(_clicks: list, reasons: list, reason_ids: list, version: int | None) -> tuple:
        target = clicked()
        by_org = {rid.get("org"): value
                  for rid, value in zip(reason_ids or [], reasons or [], strict=False)
                  if isinstance(rid, dict)}

        def apply(db: Session, user: User) -> str:
            org = suspend_organization(db, user, _org_id(target), by_org.get(target.get("org"))
                                       or "")
            return _("%(name)s is suspended.", name=org.name)

        message, ok = run_action(apply)
        return message, bump(version) if ok else dash.no_update

    @app.callback(
        Output("operator-feedback", "children", allow_duplicate=True),
        Output("operator-version", "data", allow_duplicate=True),
        Input({"type": "operator-reactivate", "org": ALL}, "submit_n_clicks"),
        State("operator-version", "data"),
        prevent_initial_call=True,
    )
    @guarded(OPERATOR)
    def reactivate(_clicks: list, version: int | None) -> tuple:
        target = clicked()

        def apply(db: Session, user: User) -> str:
            org = reactivate_organization(db, user, _org_id(target))
            return _("%(name)s is active again.", name=org.name)

        message, ok = run_action(apply)
        return message, bump(version) if ok else dash.no_update


def _org_id(target: dict) -> int:
    try:
        return int(target.get("org"))
    except (TypeError, ValueError):
        return 0
