"""Settings: everyone's own profile, password, language and notifications; for admins
also users and invitations, sites and compressors with their device tokens, firmware
releases, and the audit log. Layout only: the callbacks in callbacks/settings*.py fill
and change it, each checking the role on the server."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.accounts.auth import page_guard, user_has_role
from dashboard.core.i18n import tr
from dashboard.fleet.admin import KINDS

dash.register_page(
    __name__, path="/settings", name="Settings", title="Settings · SignalCraft",
    nav_order=90, nav_label=("Settings", "설정"), nav_icon="fa-solid fa-gear",
    min_role="viewer",
)

TIMEZONES = ("Asia/Seoul", "Asia/Tokyo", "Asia/Shanghai", "Asia/Singapore", "Asia/Ho_Chi_Minh",
             "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC")
HOURS = [{"label": "—", "value": ""}] + [{"label": f"{h:02d}:00", "value": str(h)}
                                         for h in range(24)]


def _card(title: str, body: list, id_: str | None = None) -> dbc.Card:
    kwargs = {"id": id_} if id_ else {}
    return dbc.Card([dbc.CardHeader(title, className="fw-semibold"), dbc.CardBody(body)],
                    className="mb-3", **kwargs)


def _field(label: str, control: object, width: int = 6) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width,
                   className="mb-2")


def profile_tab() -> dbc.Tab:
    profile = _card(tr("Profile", "프로필"), [
        html.Div(id="settings-profile-feedback"),
        dbc.Row([
            _field(tr("Email", "이메일"), html.Div([
                html.Span(id="settings-profile-email", className="me-2"),
                html.Span(id="settings-profile-verified"),
                dbc.Button(tr("Send verification email", "인증 메일 보내기"), size="sm",
                           color="link", id="settings-profile-verify", className="p-0 ms-2"),
            ]), 12),
            _field(tr("Name", "이름"), dbc.Input(id="settings-profile-name", maxLength=120)),
            _field(tr("Phone", "전화번호"), dbc.Input(id="settings-profile-phone", type="tel",
                                                  maxLength=40)),
            _field(tr("Position", "직책"), dbc.Input(id="settings-profile-position",
                                                  maxLength=120)),
            _field(tr("Language", "언어"), dbc.RadioItems(
                id="settings-profile-language", inline=True,
                options=[{"label": "한국어", "value": "ko"}, {"label": "English", "value": "en"}])),
            _field(tr("Notifications", "알림 수신"), dbc.Checklist(
                id="settings-profile-notify", inline=True, switch=True,
                options=[{"label": tr("Email", "이메일"), "value": "email"},
                         {"label": "SMS", "value": "sms"},
                         {"label": tr("KakaoTalk", "카카오톡"), "value": "kakao"}]), 12),
            _field(tr("Quiet hours from", "방해 금지 시작"),
                   dbc.Select(id="settings-profile-quiet-start", options=HOURS), 3),
            _field(tr("until", "종료"), dbc.Select(id="settings-profile-quiet-end",
                                                  options=HOURS), 3),
            _field(tr("Time zone", "시간대"), dbc.Select(
                id="settings-profile-timezone",
                options=[{"label": z, "value": z} for z in TIMEZONES])),
        ]),
        html.Small(tr("During quiet hours only critical alerts are sent.",
                      "방해 금지 시간에는 위험 알림만 보냅니다."),
                   className="text-secondary d-block mb-2"),
        dbc.Button(tr("Save profile", "프로필 저장"), id="settings-profile-save", color="primary"),
    ])
    kakao = _card(tr("Kakao", "카카오"), [
        html.Div(id="settings-kakao-status", className="mb-2"),
        html.A([html.I(className="fa-solid fa-comment me-2"),
                tr("Connect Kakao", "카카오 계정 연결")],
               href="/auth/kakao/login?next=/settings", className="btn sc-kakao btn-sm",
               id="settings-kakao-connect"),
    ])
    password = _card(tr("Password", "비밀번호"), [
        html.Div(id="settings-password-feedback"),
        dbc.Row([
            _field(tr("Current password", "현재 비밀번호"),
                   dbc.Input(id="settings-password-current", type="password",
                             autocomplete="current-password"), 4),
            _field(tr("New password", "새 비밀번호"),
                   dbc.Input(id="settings-password-new", type="password",
                             autocomplete="new-password"), 4),
            _field(tr("Repeat new password", "새 비밀번호 확인"),
                   dbc.Input(id="settings-password-confirm", type="password",
                             autocomplete="new-password"), 4),
        ]),
        dbc.Button(tr("Change password", "비밀번호 변경"), id="settings-password-save",
                   color="secondary"),
    ])
    return dbc.Tab(dbc.Row([dbc.Col(profile, lg=7), dbc.Col([password, kakao], lg=5)],
                           className="pt-3"),
                   label=tr("My account", "내 계정"), tab_id="profile",
                   label_class_name="settings-tab-profile")


def users_tab() -> dbc.Tab:
    invite = _card(tr("Invite a person", "사용자 초대"), [
        dbc.Row([
            _field(tr("Email", "이메일"), dbc.Input(id="settings-invite-email", type="email",
                                                maxLength=254), 6),
            _field(tr("Role", "역할"), dbc.Select(id="settings-invite-role", value="viewer",
                                                options=[]), 3),
            dbc.Col(dbc.Button([html.I(className="fa-solid fa-paper-plane me-1"),
                                tr("Invite", "초대")], id="settings-invite-submit",
                               color="primary", className="w-100"),
                    md=3, className="mb-2 d-flex align-items-end"),
        ]),
        html.Small(tr("The person gets an email with a link valid for 7 days; accepting it "
                      "joins your organisation with this role. People who ask to join "
                      "without an invitation wait below until you approve them.",
                      "초대받은 사람은 7일간 유효한 링크를 이메일로 받고, 수락하면 이 역할로 "
                      "조직에 가입됩니다. 초대 없이 가입을 요청한 사람은 승인할 때까지 아래에서 "
                      "대기합니다."), className="text-secondary"),
        html.H6(tr("Open invitations", "대기 중인 초대"), className="mt-3"),
        html.Div(id="settings-invites-table"),
    ])
    members = _card(tr("Users", "사용자"), [html.Div(id="settings-users-table")])
    return dbc.Tab(html.Div([html.Div(id="settings-users-feedback", className="mt-3"),
                             members, invite]),
                   label=tr("Users", "사용자"), tab_id="users",
                   label_class_name="settings-tab-users")


def devices_tab() -> dbc.Tab:
    sites = _card(tr("Sites", "사이트"), [
        dbc.InputGroup([
            dbc.Input(id="settings-site-new", placeholder=tr("New site name", "새 사이트 이름"),
                      maxLength=200),
            dbc.Button(tr("Add site", "사이트 추가"), id="settings-site-add", color="primary"),
        ], className="mb-3"),
        html.Div(id="settings-sites-table"),
    ])
    devices = _card(tr("Compressors and device tokens", "압축기 및 장치 토큰"), [
        dbc.Row([
            _field(tr("Site", "사이트"), dbc.Select(id="settings-device-site", options=[]), 4),
            _field(tr("Name", "이름"), dbc.Input(id="settings-device-new", maxLength=200), 4),
            _field(tr("Kind", "종류"), dbc.Select(
                id="settings-device-kind", value="refrigeration",
                options=[{"label": k, "value": k} for k in KINDS]), 2),
            dbc.Col(dbc.Button(tr("Add", "추가"), id="settings-device-add", color="primary",
                               className="w-100"), md=2, className="mb-2 d-flex align-items-end"),
        ]),
        html.Div(id="settings-devices-table"),
    ])
    return dbc.Tab(html.Div([html.Div(id="settings-devices-feedback", className="mt-3"),
                             devices, sites]),
                   label=tr("Sites & devices", "사이트 및 장치"), tab_id="devices",
                   label_class_name="settings-tab-devices")


def firmware_tab() -> dbc.Tab:
    upload = _card(tr("Upload a release", "펌웨어 업로드"), [
        dbc.Row([
            _field(tr("Binary (.bin)", "바이너리 (.bin)"), dcc.Upload(
                html.Div([html.I(className="fa-solid fa-upload me-2"),
                          html.Span(tr("Drop or choose the firmware file",
                                       "펌웨어 파일을 끌어 놓거나 선택하세요"),
                                    id="settings-fw-filename")]),
                id="settings-fw-upload", multiple=False, max_size=4 * 1024 * 1024,
                className="border rounded p-3 text-center text-secondary",
                style={"borderStyle": "dashed", "cursor": "pointer"}), 12),
            _field(tr("Version", "버전"), dbc.Input(id="settings-fw-version",
                                                 placeholder="1.2.0", maxLength=40), 4),
            _field(tr("Hardware model", "하드웨어 모델"), dbc.Input(
                id="settings-fw-hw", value="esp32-inmp441", maxLength=60), 4),
            _field(tr("Notes", "메모"), dbc.Input(id="settings-fw-notes", maxLength=500), 4),
        ]),
        dbc.Row([
            _field(tr("Rollout", "배포 범위"), dbc.RadioItems(
                id="settings-fw-rollout", value="all", inline=True,
                options=[{"label": tr("All devices", "모든 장치"), "value": "all"},
                         {"label": tr("Chosen sites", "선택한 사이트"), "value": "sites"},
                         {"label": tr("Chosen devices", "선택한 장치"), "value": "devices"}]),
                   5),
            _field(tr("Targets", "대상"), dcc.Dropdown(id="settings-fw-ids", multi=True,
                                                     options=[]), 7),
        ]),
        dbc.Button(tr("Upload release", "배포 등록"), id="settings-fw-create", color="primary"),
    ])
    rollout = _card(tr("Change a release's rollout", "배포 대상 변경"), [
        dbc.Row([
            _field(tr("Release", "펌웨어"), dbc.Select(id="settings-fw-edit-release",
                                                     options=[]), 4),
            _field(tr("Rollout", "배포 범위"), dbc.RadioItems(
                id="settings-fw-edit-rollout", value="all", inline=True,
                options=[{"label": tr("All", "전체"), "value": "all"},
                         {"label": tr("Sites", "사이트"), "value": "sites"},
                         {"label": tr("Devices", "장치"), "value": "devices"}]), 3),
            _field(tr("Targets", "대상"), dcc.Dropdown(id="settings-fw-edit-ids", multi=True,
                                                     options=[]), 5),
        ]),
        dbc.Button(tr("Save rollout", "배포 대상 저장"), id="settings-fw-edit-save",
                   color="secondary"),
    ])
    return dbc.Tab(html.Div([
        html.Div(id="settings-fw-feedback", className="mt-3"),
        upload,
        _card(tr("Releases", "펌웨어 목록"), [html.Div(id="settings-fw-table")]),
        rollout,
        _card(tr("Devices' firmware", "장치별 펌웨어"), [html.Div(id="settings-fw-states")]),
    ]), label=tr("Firmware", "펌웨어"), tab_id="firmware",
                   label_class_name="settings-tab-firmware")


def audit_tab() -> dbc.Tab:
    return dbc.Tab(html.Div([
        dbc.Button([html.I(className="fa-solid fa-rotate me-1"), tr("Refresh", "새로고침")],
                   id="settings-audit-refresh", size="sm", color="outline-secondary",
                   className="my-3"),
        html.Div(id="settings-audit-table"),
    ]), label=tr("Audit log", "감사 로그"), tab_id="audit",
                   label_class_name="settings-tab-audit")


def token_modal() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(tr("New device token", "새 장치 토큰"))),
        dbc.ModalBody([
            html.P(tr("Copy this token into the device's provisioning file now. It is shown "
                      "only once and cannot be shown again.",
                      "지금 이 토큰을 장치 설정 파일에 복사하세요. 한 번만 표시되며 다시 볼 수 "
                      "없습니다."), className="small"),
            html.Div(id="settings-token-device", className="fw-semibold mb-1"),
            html.Div([html.Code(id="settings-token-value", className="sc-token"),
                      dcc.Clipboard(target_id="settings-token-value", id="settings-token-copy",
                                    title=tr("Copy", "복사"), className="ms-2 fs-5")],
                     className="d-flex align-items-start p-2 bg-light rounded"),
        ]),
        dbc.ModalFooter(dbc.Button(tr("Done", "완료"), id="settings-token-close")),
    ], id="settings-token-modal", is_open=False, backdrop="static", keyboard=False)


@page_guard("viewer")
def layout(**_kwargs: object) -> html.Div:
    admin = user_has_role("admin")
    tabs = [profile_tab()]
    if admin:
        tabs += [users_tab(), devices_tab(), firmware_tab(), audit_tab()]
    header = [html.H1(tr("Settings", "설정"), className="h4 mb-0")]
    if admin:
        header.append(html.A([html.I(className="fa-solid fa-bell me-1"),
                              tr("Alert rules and notification channels",
                                 "알림 규칙 및 알림 채널")],
                             href="/alerts", id="settings-alerts-link", className="small"))
    return html.Div([
        dcc.Store(id="settings-init", data=0),
        dcc.Store(id="settings-users-version", data=0),
        dcc.Store(id="settings-devices-version", data=0),
        dcc.Store(id="settings-fw-version-store", data=0),
        dcc.Location(id="settings-location", refresh=True),
        html.Div(header, className="d-flex flex-wrap justify-content-between "
                                  "align-items-baseline mb-3 gap-2"),
        dbc.Tabs(tabs, id="settings-tabs", active_tab="profile"),
        token_modal() if admin else html.Div(),
    ])
