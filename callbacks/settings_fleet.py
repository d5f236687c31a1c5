"""Settings callbacks for the admin's fleet: sites, compressors and device tokens.
A new token travels only in this callback's response, into the one-time modal."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from callbacks.guard import guarded
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import Compressor, User
from dashboard.fleet.admin import (
    add_device,
    add_site,
    device_token,
    list_devices,
    list_sites,
    remove_device,
    remove_site,
    rename_device,
    rename_site,
)
from dashboard.ui.actions import bump, clicked, run_action
from dashboard.ui.context import me
from dashboard.ui.settings_tables import devices_table, sites_table


def _typed_value(kind: str, key: str, ident: Any) -> Any:
    """The value of the row input {"type": kind, key: ident} sent along as State."""
    for item in ctx.states_list[0]:
        if item["id"].get("type") == kind and item["id"].get(key) == ident:
            return item.get("value")
    return None


# Every fleet action answers with its message and a bump of the tables' version.
out = (Output("settings-devices-feedback", "children", allow_duplicate=True),
       Output("settings-devices-version", "data", allow_duplicate=True))


def register(app: dash.Dash) -> None:
    _register_tables(app)
    _register_sites(app)
    _register_devices(app)
    _register_tokens(app)


def _register_tables(app: dash.Dash) -> None:
    """The sites and devices tables of the Devices tab."""
    @app.callback(
        Output("settings-sites-table", "children"),
        Output("settings-devices-table", "children"),
        Output("settings-device-site", "options"),
        Input("settings-tabs", "active_tab"),
        Input("settings-devices-version", "data"),
    )
    @guarded("admin")
    def render_fleet(tab: str | None, _version: int | None) -> tuple:
        if tab != "devices":
            raise PreventUpdate
        db = db_session()
        sites = list_sites(db, me().org_id)
        return (sites_table(sites), devices_table(list_devices(db, me().org_id)),
                [{"label": s["name"], "value": str(s["id"])} for s in sites])


def _register_sites(app: dash.Dash) -> None:
    """Add, rename and remove sites."""
    @app.callback(
        *out,
        Output("settings-site-new", "value"),
        Input("settings-site-add", "n_clicks"),
        State("settings-site-new", "value"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def site_add(n: int | None, name: str | None, version: int | None) -> tuple:
        if not n:
            raise PreventUpdate
        message, ok = run_action(lambda db, user: _(
            "Site %(name)s added.", name=add_site(db, user, name or "").name))
        return message, bump(version), ("" if ok else dash.no_update)

    @app.callback(
        *out,
        Input({"type": "settings-site-rename", "site": ALL}, "n_clicks"),
        State({"type": "settings-site-name", "site": ALL}, "value"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def site_rename(_clicks: list, _names: list, version: int | None) -> tuple:
        site_id = clicked().get("site")
        name = _typed_value("settings-site-name", "site", site_id)
        message, _ok = run_action(lambda db, user: _(
            "Renamed to %(name)s.", name=rename_site(db, user, site_id, name or "").name))
        return message, bump(version)

    @app.callback(
        *out,
        Input({"type": "settings-site-remove", "site": ALL}, "submit_n_clicks"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def site_remove(_clicks: list, version: int | None) -> tuple:
        site_id = clicked().get("site")
        message, _ok = run_action(lambda db, user: _(
            "Site %(name)s removed.", name=remove_site(db, user, site_id)))
        return message, bump(version)


def _register_devices(app: dash.Dash) -> None:
    """Add, rename and remove compressors."""
    @app.callback(
        *out,
        Output("settings-device-new", "value"),
        Input("settings-device-add", "n_clicks"),
        State("settings-device-site", "value"),
        State("settings-device-new", "value"),
        State("settings-device-kind", "value"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def device_add(n: int | None, site_id: str | None, name: str | None, kind: str | None,
                   version: int | None) -> tuple:
        if not n:
            raise PreventUpdate
        message, ok = run_action(lambda db, user: _(
            "Compressor %(name)s added; issue its device token below.",
            name=add_device(db, user, site_id, name or "", kind or "").name))
        return message, bump(version), ("" if ok else dash.no_update)

    @app.callback(
        *out,
        Input({"type": "settings-device-rename", "compressor": ALL}, "n_clicks"),
        State({"type": "settings-device-name", "compressor": ALL}, "value"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def device_rename(_clicks: list, _names: list, version: int | None) -> tuple:
        cid = clicked().get("compressor")
        name = _typed_value("settings-device-name", "compressor", cid)
        message, _ok = run_action(lambda db, user: _(
            "Renamed to %(name)s.", name=rename_device(db, user, cid, name or "").name))
        return message, bump(version)

    @app.callback(
        *out,
        Input({"type": "settings-device-remove", "compressor": ALL}, "submit_n_clicks"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def device_remove(_clicks: list, version: int | None) -> tuple:
        cid = clicked().get("compressor")
        message, _ok = run_action(lambda db, user: _(
            "Compressor %(name)s removed.", name=remove_device(db, user, cid)))
        return message, bump(version)


def _register_tokens(app: dash.Dash) -> None:
    """Issue, rotate and revoke device tokens (shown once in a modal)."""
    token_out = (*out,
                 Output("settings-token-modal", "is_open", allow_duplicate=True),
                 Output("settings-token-value", "children", allow_duplicate=True),
                 Output("settings-token-device", "children", allow_duplicate=True))

    def token_action(op: str, cid: Any, version: int | None) -> tuple:
        issued: list[tuple[str, str]] = []

        def apply(db: Session, user: User) -> str:
            token = device_token(db, user, cid, op)
            name = db.get(Compressor, int(cid)).name
            if token:
                issued.append((token, name))
                return _("New token for %(name)s: copy it from the window now.", name=name)
            return _("Every token of %(name)s revoked.", name=name)

        message, ok = run_action(apply)
        if ok and issued:
            token, name = issued[0]
            return message, bump(version), True, token, name
        return message, bump(version), dash.no_update, dash.no_update, dash.no_update

    @app.callback(
        *token_out,
        Input({"type": "settings-token-op", "op": ALL, "compressor": ALL}, "n_clicks"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def token_issue(_clicks: list, version: int | None) -> tuple:
        target = clicked()
        return token_action(target.get("op", ""), target.get("compressor"), version)

    @app.callback(
        *token_out,
        Input({"type": "settings-token-confirm", "op": ALL, "compressor": ALL},
              "submit_n_clicks"),
        State("settings-devices-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def token_confirmed(_clicks: list, version: int | None) -> tuple:
        target = clicked()
        return token_action(target.get("op", ""), target.get("compressor"), version)

    @app.callback(
        Output("settings-token-modal", "is_open"),
        Output("settings-token-value", "children"),
        Output("settings-token-device", "children"),
        Input("settings-token-close", "n_clicks"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def token_close(_n: int | None) -> tuple:
        return False, "", ""  # gone from the page: shown once, never again
