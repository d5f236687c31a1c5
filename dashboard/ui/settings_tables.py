"""Components of the settings page built from query results: tables with their row
controls (pattern-matching ids the settings callbacks listen to). Plain functions, so
tests can call them without a browser; every value is rendered as text (escaped)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.accounts.registration import INDUSTRIES
from dashboard.accounts.signup_details import BUDGETS, PURPOSES, TIMELINES, label_of
from dashboard.accounts.users import Member
from dashboard.core.i18n import N_, _
from dashboard.core.models import ROLE_LABELS, ROLES
from dashboard.core.timezones import local_text
from dashboard.ui.context import user_zone_name

STATUS_BADGE = {"active": ("success", N_("Active")),
                "pending": ("warning", N_("Pending")),
                "disabled": ("secondary", N_("Disabled"))}


def when(value: dt.datetime | None) -> str:
    """A time in the user's own zone, named (e.g. "2026-12-03 20:07 KST")."""
    return local_text(value, user_zone_name(), "%Y-%m-%d %H:%M %Z") if value else "—"


def role_options() -> list[dict[str, str]]:
    return [{"label": _(ROLE_LABELS[r]), "value": r} for r in ROLES]


def feedback(message: str, ok: bool = True, **extra: Any) -> dbc.Alert:
    return dbc.Alert(message, color="success" if ok else "danger", dismissable=True,
                     className="py-2 mb-2", **extra)


def confirm_button(id_: dict, label: str, message: str, color: str = "outline-danger",
                   icon: str = "fa-solid fa-trash") -> dcc.ConfirmDialogProvider:
    return dcc.ConfirmDialogProvider(
        dbc.Button([html.I(className=f"{icon} me-1"), label], size="sm", color=color),
        id=id_, message=message)


def _table(header: list[str], rows: list[html.Tr], id_: str, empty: str) -> Any:
    if not rows:
        return html.P(empty, className="text-secondary small", id=f"{id_}-empty")
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                     hover=True, responsive=True, size="sm", className="align-middle",
                     id=id_)


# ------------------------------------------------------------------ users
def signup_summary(signup: dict[str, Any]) -> list[tuple[str, str]]:
    """What a person waiting for approval answered at sign-up, as (label, text) rows."""
    if not signup:
        return []
    purposes = ", ".join(label_of(PURPOSES, k) for k in (signup.get("purposes") or "").split(",")
                         if k)
    yes, no = _("Yes"), _("No")
    rows = [
        (_("Company"), signup.get("company") or ""),
        (_("Position"), signup.get("position") or ""),
        (_("Industry"), label_of(INDUSTRIES, signup.get("industry"))),
        (_("Company size"), signup.get("company_size") or ""),
        (_("Number of devices"), "" if signup.get("device_count") is None
         else str(signup["device_count"])),
        (_("Phone"), signup.get("phone") or ""),
        (_("Company email"), signup.get("company_email") or ""),
        (_("Company address"), signup.get("address") or ""),
        (_("Purposes"), purposes),
        (_("Budget"), label_of(BUDGETS, signup.get("budget"))),
        (_("When to start"), label_of(TIMELINES, signup.get("timeline"))),
        (_("What do you want to monitor?"), signup.get("purpose") or ""),
        (_("Newsletter"), yes if signup.get("newsletter_consent_at") else no),
        (_("Product news"), yes if signup.get("marketing_consent_at") else no),
    ]
    return [(label, text) for label, text in rows if text]


def _signup_details(m: Member) -> Any:
    rows = signup_summary(m.signup)
    if not rows:
        return None
    return html.Details([
        html.Summary(_("Sign-up details"), className="small"),
        html.Dl([part for label, text in rows for part in (
            html.Dt(label, className="col-5 fw-normal text-secondary"),
            html.Dd(text, className="col-7 mb-1"))], className="row small mb-0"),
    ], id=f"settings-user-signup-{m.id}", className="mt-1")


def members_table(members: list[Member], me: int) -> Any:
    rows = []
    for m in members:
        color, label = STATUS_BADGE[m.status]
        ops: list[Any] = []
        if m.status == "pending":
            ops.append(dbc.Button([html.I(className="fa-solid fa-check me-1"),
                                   _("Approve")], size="sm", color="success",
                                  id={"type": "settings-user-op", "op": "approve",
                                      "user": m.id}))
        elif m.id != me:
            op = "disable" if m.status == "active" else "enable"
            ops.append(dbc.Button(_("Disable") if op == "disable"
                                  else _("Enable"),
                                  size="sm", color="outline-secondary",
                                  id={"type": "settings-user-op", "op": op, "user": m.id}))
        if m.id != me:
            ops.append(confirm_button(
                {"type": "settings-user-remove", "user": m.id},
                _("Decline") if m.status == "pending" else _("Remove"),
                _("Remove %(email)s? This cannot be undone.", email=m.email)))
        rows.append(html.Tr([
            html.Td([html.Div(m.name or "—", className="fw-semibold"),
                     html.Small(m.email, className="text-secondary"), _signup_details(m)]),
            html.Td(dbc.Select(options=role_options(), value=m.role, size="sm",
                               id={"type": "settings-user-role", "user": m.id},
                               style={"minWidth": "8rem"})),
            html.Td([dbc.Badge(_(label), color=color, id=f"settings-user-status-{m.id}"),
                     html.I(className="fa-solid fa-comment ms-2 text-warning",
                            title="Kakao") if m.kakao else None]),
            html.Td(when(m.last_login_at), className="small text-secondary"),
            html.Td(html.Div(ops, className="d-flex gap-1 flex-wrap")),
        ], id=f"settings-user-row-{m.id}"))
    return _table([_("Person"), _("Role"), _("Status"),
                   _("Last login"), ""], rows, "settings-users-list",
                  _("No users."))


def invitations_table(rows: list[dict[str, Any]]) -> Any:
    body = [html.Tr([
        html.Td(r["email"]), html.Td(_(ROLE_LABELS.get(r["role"], r["role"]))),
        html.Td(r["invited_by"], className="small"),
        html.Td(when(r["expires_at"]), className="small text-secondary"),
        html.Td(confirm_button({"type": "settings-invite-revoke", "invitation": r["id"]},
                               _("Revoke"),
                               _("Revoke this invitation?"),
                               icon="fa-solid fa-ban")),
    ]) for r in rows]
    return _table([_("Email"), _("Role"), _("Invited by"),
                   _("Expires"), ""], body, "settings-invites-list",
                  _("No open invitations."))


# ------------------------------------------------------------------ sites and devices
def sites_table(sites: list[dict[str, Any]]) -> Any:
    rows = [html.Tr([
        html.Td(dbc.InputGroup([
            dbc.Input(value=s["name"], size="sm", maxLength=200,
                      id={"type": "settings-site-name", "site": s["id"]}),
            dbc.Button(_("Rename"), size="sm", color="outline-primary",
                       id={"type": "settings-site-rename", "site": s["id"]}),
        ], size="sm")),
        html.Td(str(s["compressors"]), className="text-center"),
        html.Td(confirm_button({"type": "settings-site-remove", "site": s["id"]},
                               _("Remove"),
                               _("Remove the site %(name)s?", name=s['name']))),
    ], id=f"settings-site-row-{s['id']}") for s in sites]
    return _table([_("Site"), _("Compressors"), ""], rows,
                  "settings-sites-list", _("No sites yet."))


def devices_table(devices: list[dict[str, Any]]) -> Any:
    rows = []
    for d in devices:
        cid = d["id"]
        token_text = (_("%(tokens)s active", tokens=d['tokens']) if d["tokens"]
                      else _("none"))
        rows.append(html.Tr([
            html.Td(dbc.InputGroup([
                dbc.Input(value=d["name"], size="sm", maxLength=200,
                          id={"type": "settings-device-name", "compressor": cid}),
                dbc.Button(_("Rename"), size="sm", color="outline-primary",
                           id={"type": "settings-device-rename", "compressor": cid}),
            ], size="sm"), style={"minWidth": "14rem"}),
            html.Td([html.Div(d["site"]), html.Small(d["kind"], className="text-secondary")]),
            html.Td([html.Div(token_text, id=f"settings-device-tokens-{cid}"),
                     html.Small(_("used ") + when(d["token_last_used"]),
                                className="text-secondary")]),
            html.Td(html.Div([
                dbc.Button([html.I(className="fa-solid fa-key me-1"), _("Issue")],
                           size="sm", color="outline-primary",
                           id={"type": "settings-token-op", "op": "issue", "compressor": cid}),
                confirm_button({"type": "settings-token-confirm", "op": "rotate",
                                "compressor": cid}, _("Rotate"),
                               _("Issue a new token and revoke the old ones? The device stops "
                                 "posting until it gets the new token."),
                               color="outline-warning", icon="fa-solid fa-rotate"),
                confirm_button({"type": "settings-token-confirm", "op": "revoke",
                                "compressor": cid}, _("Revoke tokens"),
                               _("Revoke every token of this device?"),
                               icon="fa-solid fa-ban"),
                confirm_button({"type": "settings-device-remove", "compressor": cid},
                               _("Remove"),
                               _("Remove %(name)s with all its readings, recordings and "
                                 "diagnoses? This cannot be undone.", name=d['name'])),
            ], className="d-flex gap-1 flex-wrap")),
        ], id=f"settings-device-row-{cid}"))
    return _table([_("Compressor"), _("Site"),
                   _("Device tokens"), ""], rows, "settings-devices-list",
                  _("No compressors yet."))


# ------------------------------------------------------------------ firmware
def releases_table(releases: list[Any], site_names: dict[int, str],
                   device_names: dict[int, str]) -> Any:
    def scope(r: Any) -> str:
        if r.rollout == "all":
            return _("All devices")
        names = site_names if r.rollout == "sites" else device_names
        return ", ".join(names.get(i, f"#{i}") for i in (r.rollout_ids or []))

    rows = [html.Tr([
        html.Td([html.Div(r.version, className="fw-semibold"),
                 html.Small(r.hw_model, className="text-secondary")]),
        html.Td(f"{r.size / 1024:.0f} KiB"),
        html.Td(html.Code(r.sha256[:12], title=r.sha256)),
        html.Td([html.Div(scope(r), id=f"settings-fw-scope-{r.id}"),
                 html.Small(r.notes or "", className="text-secondary")]),
        html.Td([html.Div(r.created_by or "—", className="small"),
                 html.Small(when(r.created_at), className="text-secondary")]),
        html.Td(confirm_button({"type": "settings-fw-delete", "release": r.id},
                               _("Delete"),
                               _("Delete firmware %(version)s?", version=r.version))),
    ], id=f"settings-fw-row-{r.id}") for r in releases]
    return _table([_("Version"), _("Size"), "SHA-256",
                   _("Rollout"), _("Uploaded"), ""], rows,
                  "settings-fw-list", _("No firmware releases yet."))


FW_STATE = {"updated": "success", "ok": "success", "installing": "info", "downloading": "info",
            "pending": "warning", "failed": "danger", "error": "danger"}


def firmware_states_table(states: list[dict[str, Any]]) -> Any:
    rows = []
    for s in states:
        state = s.get("firmware_state") or "—"
        behind = s.get("target_version") and s.get("target_version") != s.get("firmware_version")
        rows.append(html.Tr([
            html.Td([html.Div(s["compressor"]), html.Small(s["site"], className="text-secondary")]),
            html.Td(s["hw_model"]),
            html.Td(s.get("firmware_version") or "—"),
            html.Td(s.get("target_version") or "—",
                    className="fw-semibold text-warning" if behind else ""),
            html.Td([dbc.Badge(state, color=FW_STATE.get(state, "secondary")),
                     html.Small(" " + (s.get("firmware_detail") or ""),
                                className="text-secondary")]),
            html.Td(when(s.get("firmware_updated_at")), className="small text-secondary"),
        ], id=f"settings-fw-device-{s['compressor_id']}"))
    return _table([_("Compressor"), _("Hardware"),
                   _("Running"), _("Target version"), _("State"),
                   _("Reported")], rows, "settings-fw-devices",
                  _("No devices."))


# ------------------------------------------------------------------ audit
def audit_table(rows: list[dict[str, Any]]) -> Any:
    body = [html.Tr([
        html.Td(when(r["ts"]), className="small text-nowrap"),
        html.Td(r["actor"], className="small"),
        html.Td(html.Code(r["action"])),
        html.Td(r["target"], className="small"),
        html.Td(", ".join(f"{k}={v}" for k, v in sorted(r["detail"].items())),
                className="small text-secondary"),
        html.Td(r["ip"], className="small text-secondary"),
    ]) for r in rows]
    return _table([_("When"), _("Who"), _("Action"),
                   _("Target"), _("Detail"), "IP"], body,
                  "settings-audit-list", _("Nothing recorded yet."))
