"""Settings callbacks for firmware releases (dashboard/fleet/firmware.py does the checks and
storage) and the admin's audit log."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
from dash import ALL, Input, Output, State
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from callbacks.guard import guarded
from dashboard.accounts.audit import recent_audit, record_audit
from dashboard.core.blobs import audio_store
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import FirmwareRelease, User
from dashboard.fleet.admin import list_devices, list_sites
from dashboard.fleet.firmware import (
    create_release,
    delete_release,
    device_firmware_states,
    list_releases,
    update_rollout,
)
from dashboard.ui.actions import bump, clicked, run_action
from dashboard.ui.context import me
from dashboard.ui.settings_tables import audit_table, firmware_states_table, releases_table


def decode_upload(contents: str | None) -> bytes:
    """dcc.Upload's "data:...;base64,XXXX" to bytes; ValueError when malformed."""
    if not contents or "," not in contents:
        raise ValueError(_("Choose the firmware file first."))
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(_("The uploaded file could not be read.")) \
            from exc


def _target_options(kind: str | None) -> list[dict[str, Any]]:
    db = db_session()
    if kind == "sites":
        return [{"label": s["name"], "value": s["id"]} for s in list_sites(db, me().org_id)]
    if kind == "devices":
        return [{"label": f"{d['site']} / {d['name']}", "value": d["id"]}
                for d in list_devices(db, me().org_id)]
    return []


# Every firmware action answers with its message and a bump of the releases' version.
out = (Output("settings-fw-feedback", "children", allow_duplicate=True),
       Output("settings-fw-version-store", "data", allow_duplicate=True))


def register(app: dash.Dash) -> None:
    _register_releases(app)
    _register_upload_form(app)
    _register_changes(app)
    _register_audit(app)


def _register_releases(app: dash.Dash) -> None:
    """The releases table and the devices' update states."""
    @app.callback(
        Output("settings-fw-table", "children"),
        Output("settings-fw-states", "children"),
        Output("settings-fw-edit-release", "options"),
        Input("settings-tabs", "active_tab"),
        Input("settings-fw-version-store", "data"),
    )
    @guarded("admin")
    def render_firmware(tab: str | None, _version: int | None) -> tuple:
        if tab != "firmware":
            raise PreventUpdate
        db = db_session()
        org_id = me().org_id
        releases = list_releases(db, org_id)
        sites = {s["id"]: s["name"] for s in list_sites(db, org_id)}
        devices = {d["id"]: d["name"] for d in list_devices(db, org_id)}
        options = [{"label": f"{r.hw_model} {r.version}", "value": str(r.id)} for r in releases]
        return (releases_table(releases, sites, devices),
                firmware_states_table(device_firmware_states(db, org_id)), options)


def _register_upload_form(app: dash.Dash) -> None:
    """The upload form's choices: rollout targets and the chosen file."""
    @app.callback(
        Output("settings-fw-ids", "options"),
        Output("settings-fw-ids", "value"),
        Input("settings-fw-rollout", "value"),
    )
    @guarded("admin")
    def create_targets(kind: str | None) -> tuple:
        return _target_options(kind), []

    @app.callback(
        Output("settings-fw-edit-ids", "options"),
        Input("settings-fw-edit-rollout", "value"),
    )
    @guarded("admin")
    def edit_targets(kind: str | None) -> list:
        return _target_options(kind)

    @app.callback(
        Output("settings-fw-filename", "children"),
        Input("settings-fw-upload", "filename"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def show_filename(filename: str | None) -> str:
        return filename or ""


def _register_changes(app: dash.Dash) -> None:
    """Upload a release, change its rollout, delete it."""
    @app.callback(
        *out,
        Input("settings-fw-create", "n_clicks"),
        State("settings-fw-upload", "contents"),
        State("settings-fw-version", "value"),
        State("settings-fw-hw", "value"),
        State("settings-fw-notes", "value"),
        State("settings-fw-rollout", "value"),
        State("settings-fw-ids", "value"),
        State("settings-fw-version-store", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def fw_create(n: int | None, contents: str | None, version: str | None, hw: str | None,
                  notes: str | None, rollout: str | None, ids: list | None,
                  store_version: int | None) -> tuple:
        if not n:
            raise PreventUpdate

        def apply(db: Session, user: User) -> str:
            release = create_release(db, audio_store(), user.org_id, (version or "").strip(),
                                     (hw or "").strip(), (notes or "").strip() or None,
                                     decode_upload(contents), rollout or "all",
                                     [int(i) for i in ids or []], created_by=user.email)
            record_audit(db, user, "firmware.create", f"{release.hw_model} {release.version}",
                         {"rollout": release.rollout, "ids": release.rollout_ids,
                          "sha256": release.sha256})
            return _("Firmware %(version)s uploaded.", version=release.version)

        message, _ok = run_action(apply)
        return message, bump(store_version)

    @app.callback(
        *out,
        Input("settings-fw-edit-save", "n_clicks"),
        State("settings-fw-edit-release", "value"),
        State("settings-fw-edit-rollout", "value"),
        State("settings-fw-edit-ids", "value"),
        State("settings-fw-version-store", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def fw_rollout(n: int | None, release_id: str | None, rollout: str | None,
                   ids: list | None, store_version: int | None) -> tuple:
        if not n:
            raise PreventUpdate

        def apply(db: Session, user: User) -> str:
            if not release_id:
                raise ValueError(_("Choose a release."))
            release = update_rollout(db, user.org_id, int(release_id), rollout or "all",
                                     [int(i) for i in ids or []])
            record_audit(db, user, "firmware.rollout", f"{release.hw_model} {release.version}",
                         {"rollout": release.rollout, "ids": release.rollout_ids})
            return _("Rollout saved.")

        message, _ok = run_action(apply)
        return message, bump(store_version)

    @app.callback(
        *out,
        Input({"type": "settings-fw-delete", "release": ALL}, "submit_n_clicks"),
        State("settings-fw-version-store", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def fw_delete(_clicks: list, store_version: int | None) -> tuple:
        release_id = clicked().get("release")

        def apply(db: Session, user: User) -> str:
            release = db.get(FirmwareRelease, int(release_id))
            label = (f"{release.hw_model} {release.version}"
                     if release is not None and release.org_id == user.org_id else "")
            delete_release(db, audio_store(), user.org_id, int(release_id))  # checks the org
            record_audit(db, user, "firmware.delete", label)
            return _("Release deleted.")

        message, _ok = run_action(apply)
        return message, bump(store_version)


def _register_audit(app: dash.Dash) -> None:
    """The audit log tab."""
    @app.callback(
        Output("settings-audit-table", "children"),
        Input("settings-tabs", "active_tab"),
        Input("settings-audit-refresh", "n_clicks"),
    )
    @guarded("admin")
    def render_audit(tab: str | None, _n: int | None) -> Any:
        if tab != "audit":
            raise PreventUpdate
        return audit_table(recent_audit(db_session(), me().org_id))
