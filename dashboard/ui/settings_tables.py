"""Components of the settings page built from query results: tables with their row
controls (pattern-matching ids the settings callbacks listen to). Plain functions, so
tests can call them without a browser; every value is rendered as text (escaped)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.accounts.users import Member
from dashboard.core.i18n import tr
from dashboard.core.models import ROLES

STATUS_BADGE = {"active": ("success", ("Active", "활성")),
                "pending": ("warning", ("Pending", "승인 대기")),
                "disabled": ("secondary", ("Disabled", "비활성"))}
ROLE_LABELS = {"viewer": ("Viewer", "뷰어"), "analyst": ("Analyst", "분석가"),
               "manager": ("Manager", "매니저"), "admin": ("Admin", "관리자")}


def when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def role_options() -> list[dict[str, str]]:
    return [{"label": tr(*ROLE_LABELS[r]), "value": r} for r in ROLES]


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
def members_table(members: list[Member], me: int) -> Any:
    rows = []
    for m in members:
        color, label = STATUS_BADGE[m.status]
        ops: list[Any] = []
        if m.status == "pending":
            ops.append(dbc.Button([html.I(className="fa-solid fa-check me-1"),
                                   tr("Approve", "승인")], size="sm", color="success",
                                  id={"type": "settings-user-op", "op": "approve",
                                      "user": m.id}))
        elif m.id != me:
            op = "disable" if m.status == "active" else "enable"
            ops.append(dbc.Button(tr("Disable", "비활성화") if op == "disable"
                                  else tr("Enable", "활성화"),
                                  size="sm", color="outline-secondary",
                                  id={"type": "settings-user-op", "op": op, "user": m.id}))
        if m.id != me:
            ops.append(confirm_button(
                {"type": "settings-user-remove", "user": m.id},
                tr("Decline", "거절") if m.status == "pending" else tr("Remove", "삭제"),
                tr(f"Remove {m.email}? This cannot be undone.",
                   f"{m.email} 사용자를 삭제할까요? 되돌릴 수 없습니다.")))
        rows.append(html.Tr([
            html.Td([html.Div(m.name or "—", className="fw-semibold"),
                     html.Small(m.email, className="text-secondary")]),
            html.Td(dbc.Select(options=role_options(), value=m.role, size="sm",
                               id={"type": "settings-user-role", "user": m.id},
                               style={"minWidth": "8rem"})),
            html.Td([dbc.Badge(tr(*label), color=color, id=f"settings-user-status-{m.id}"),
                     html.I(className="fa-solid fa-comment ms-2 text-warning",
                            title="Kakao") if m.kakao else None]),
            html.Td(when(m.last_login_at), className="small text-secondary"),
            html.Td(html.Div(ops, className="d-flex gap-1 flex-wrap")),
        ], id=f"settings-user-row-{m.id}"))
    return _table([tr("Person", "사용자"), tr("Role", "역할"), tr("Status", "상태"),
                   tr("Last login", "최근 로그인"), ""], rows, "settings-users-list",
                  tr("No users.", "사용자가 없습니다."))


def invitations_table(rows: list[dict[str, Any]]) -> Any:
    body = [html.Tr([
        html.Td(r["email"]), html.Td(tr(*ROLE_LABELS.get(r["role"], (r["role"], r["role"])))),
        html.Td(r["invited_by"], className="small"),
        html.Td(when(r["expires_at"]), className="small text-secondary"),
        html.Td(confirm_button({"type": "settings-invite-revoke", "invitation": r["id"]},
                               tr("Revoke", "취소"),
                               tr("Revoke this invitation?", "초대를 취소할까요?"),
                               icon="fa-solid fa-ban")),
    ]) for r in rows]
    return _table([tr("Email", "이메일"), tr("Role", "역할"), tr("Invited by", "초대한 사람"),
                   tr("Expires", "만료"), ""], body, "settings-invites-list",
                  tr("No open invitations.", "대기 중인 초대가 없습니다."))


# ------------------------------------------------------------------ sites and devices
def sites_table(sites: list[dict[str, Any]]) -> Any:
    rows = [html.Tr([
        html.Td(dbc.InputGroup([
            dbc.Input(value=s["name"], size="sm", maxLength=200,
                      id={"type": "settings-site-name", "site": s["id"]}),
            dbc.Button(tr("Rename", "이름 변경"), size="sm", color="outline-primary",
                       id={"type": "settings-site-rename", "site": s["id"]}),
        ], size="sm")),
        html.Td(str(s["compressors"]), className="text-center"),
        html.Td(confirm_button({"type": "settings-site-remove", "site": s["id"]},
                               tr("Remove", "삭제"),
                               tr(f"Remove the site {s['name']}?",
                                  f"{s['name']} 사이트를 삭제할까요?"))),
    ], id=f"settings-site-row-{s['id']}") for s in sites]
    return _table([tr("Site", "사이트"), tr("Compressors", "압축기 수"), ""], rows,
                  "settings-sites-list", tr("No sites yet.", "사이트가 없습니다."))


def devices_table(devices: list[dict[str, Any]]) -> Any:
    rows = []
    for d in devices:
        cid = d["id"]
        token_text = (tr(f"{d['tokens']} active", f"활성 {d['tokens']}개") if d["tokens"]
                      else tr("none", "없음"))
        rows.append(html.Tr([
            html.Td(dbc.InputGroup([
                dbc.Input(value=d["name"], size="sm", maxLength=200,
                          id={"type": "settings-device-name", "compressor": cid}),
                dbc.Button(tr("Rename", "이름 변경"), size="sm", color="outline-primary",
                           id={"type": "settings-device-rename", "compressor": cid}),
            ], size="sm"), style={"minWidth": "14rem"}),
            html.Td([html.Div(d["site"]), html.Small(d["kind"], className="text-secondary")]),
            html.Td([html.Div(token_text, id=f"settings-device-tokens-{cid}"),
                     html.Small(tr("used ", "사용 ") + when(d["token_last_used"]),
                                className="text-secondary")]),
            html.Td(html.Div([
                dbc.Button([html.I(className="fa-solid fa-key me-1"), tr("Issue", "발급")],
                           size="sm", color="outline-primary",
                           id={"type": "settings-token-op", "op": "issue", "compressor": cid}),
                confirm_button({"type": "settings-token-confirm", "op": "rotate",
                                "compressor": cid}, tr("Rotate", "교체"),
                               tr("Issue a new token and revoke the old ones? The device "
                                  "stops posting until it gets the new token.",
                                  "새 토큰을 발급하고 기존 토큰을 폐기할까요? 장치에 새 토큰을 "
                                  "넣을 때까지 데이터가 전송되지 않습니다."),
                               color="outline-warning", icon="fa-solid fa-rotate"),
                confirm_button({"type": "settings-token-confirm", "op": "revoke",
                                "compressor": cid}, tr("Revoke", "폐기"),
                               tr("Revoke every token of this device?",
                                  "이 장치의 모든 토큰을 폐기할까요?"),
                               icon="fa-solid fa-ban"),
                confirm_button({"type": "settings-device-remove", "compressor": cid},
                               tr("Remove", "삭제"),
                               tr(f"Remove {d['name']} with all its readings, recordings and "
                                  "diagnoses? This cannot be undone.",
                                  f"{d['name']}와(과) 모든 측정값, 녹음, 진단을 삭제할까요? "
                                  "되돌릴 수 없습니다.")),
            ], className="d-flex gap-1 flex-wrap")),
        ], id=f"settings-device-row-{cid}"))
    return _table([tr("Compressor", "압축기"), tr("Site", "사이트"),
                   tr("Device tokens", "장치 토큰"), ""], rows, "settings-devices-list",
                  tr("No compressors yet.", "압축기가 없습니다."))


# ------------------------------------------------------------------ firmware
def releases_table(releases: list[Any], site_names: dict[int, str],
                   device_names: dict[int, str]) -> Any:
    def scope(r: Any) -> str:
        if r.rollout == "all":
            return tr("All devices", "모든 장치")
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
                               tr("Delete", "삭제"),
                               tr(f"Delete firmware {r.version}?",
                                  f"펌웨어 {r.version}을(를) 삭제할까요?"))),
    ], id=f"settings-fw-row-{r.id}") for r in releases]
    return _table([tr("Version", "버전"), tr("Size", "크기"), "SHA-256",
                   tr("Rollout", "배포 대상"), tr("Uploaded", "업로드"), ""], rows,
                  "settings-fw-list", tr("No firmware releases yet.", "펌웨어가 없습니다."))


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
    return _table([tr("Compressor", "압축기"), tr("Hardware", "하드웨어"),
                   tr("Running", "현재 버전"), tr("Target", "배포 버전"), tr("State", "상태"),
                   tr("Reported", "보고 시각")], rows, "settings-fw-devices",
                  tr("No devices.", "장치가 없습니다."))


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
    return _table([tr("When", "시각"), tr("Who", "사용자"), tr("Action", "작업"),
                   tr("Target", "대상"), tr("Detail", "내용"), "IP"], body,
                  "settings-audit-list", tr("Nothing recorded yet.", "기록이 없습니다."))
