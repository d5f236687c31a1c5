"""Settings callbacks for the admin's fleet: sites, compressors and device tokens.
A new token travels only in this callback's response, into the one-time modal."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from callbacks.guard import guarded
from callbacks.settings import bump, clicked, me, run_action
from dashboard.core.database import db_session
from dashboard.core.i18n import tr
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
from dashboard.ui.settings_tables import devices_table, sites_table


def _typed_value(kind: str, key: str, ident: Any) -> Any:
    """The value of the row input {"type": kind, key: ident} sent along as State."""
    for item in ctx.states_list[0]:
        if item["id"].get("type") == kind and item["id"].get(key) == ident:
            return item.get("value")
    return None


def register(app: dash.Dash) -> None:
    out = (Output("settings-devices-feedback", "children", allow_duplicate=True),
           Output("settings-devices-version", "data", allow_duplicate=True))

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
        message, ok = run_action(lambda db, user: tr(
            f"Site {add_site(db, user, name or '').name} added.", "사이트를 추가했습니다."))
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
        message, _ok = run_action(lambda db, user: tr(
            f"Renamed to {rename_site(db, user, site_id, name or '').name}.",
            "이름을 변경했습니다."))
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
        message, _ok = run_action(lambda db, user: tr(
            f"Site {remove_site(db, user, site_id)} removed.", "사이트를 삭제했습니다."))
        return message, bump(version)

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
        message, ok = run_action(lambda db, user: tr(
            f"Compressor {add_device(db, user, site_id, name or '', kind or '').name} added; "
            "issue its device token below.",
            "압축기를 추가했습니다. 아래에서 장치 토큰을 발급하세요."))
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
        message, _ok = run_action(lambda db, user: tr(
            f"Renamed to {rename_device(db, user, cid, name or '').name}.",
            "이름을 변경했습니다."))
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
        message, _ok = run_action(lambda db, user: tr(
            f"Compressor {remove_device(db, user, cid)} removed.", "압축기를 삭제했습니다."))
        return message, bump(version)

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
                return tr(f"New token for {name}: copy it from the window now.",
                          f"{name}의 새 토큰을 발급했습니다. 창에서 지금 복사하세요.")
            return tr(f"Every token of {name} revoked.", f"{name}의 모든 토큰을 폐기했습니다.")

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
