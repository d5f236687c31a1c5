"""Settings: everyone's own profile, password, language and notifications; for admins
also users and invitations, sites and compressors with their device tokens, firmware
releases, and the audit log. Layout only: the callbacks in callbacks/settings*.py fill
and change it, each checking the role on the server."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app

from dashboard.accounts.auth import page_guard, user_has_role
from dashboard.core.i18n import N_, _
from dashboard.fleet.admin import KINDS

dash.register_page(
    __name__, path="/settings", name="Settings", title="Settings · SignalCraft",
    nav_order=90, nav_label=N_("Settings"), nav_icon="fa-solid fa-gear",
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
    profile = _card(_("Profile"), [
        html.Div(id="settings-profile-feedback"),
        dbc.Row([
            _field(_("Email"), html.Div([
                html.Span(id="settings-profile-email", className="me-2"),
                html.Span(id="settings-profile-verified"),
                dbc.Button(_("Send verification email"), size="sm",
                           color="link", id="settings-profile-verify", className="p-0 ms-2"),
            ]), 12),
            _field(_("Name"), dbc.Input(id="settings-profile-name", maxLength=120)),
            _field(_("Phone"), dbc.Input(id="settings-profile-phone", type="tel",
                                                  maxLength=40)),
            _field(_("Position"), dbc.Input(id="settings-profile-position",
                                                  maxLength=120)),
            _field(_("Language"), dbc.RadioItems(
                id="settings-profile-language", inline=True,
                options=[{"label": "한국어", "value": "ko"}, {"label": "English", "value": "en"}])),
            _field(_("Notifications"), dbc.Checklist(
                id="settings-profile-notify", inline=True, switch=True,
                options=[{"label": _("Email"), "value": "email"},
                         {"label": _("Kakao AlimTalk"), "value": "alimtalk"},
                         {"label": "SMS", "value": "sms"},
                         {"label": _("KakaoTalk"), "value": "kakao"},
                         {"label": _("Browser push"), "value": "push"}]), 12),
            _field(_("Quiet hours from"),
                   dbc.Select(id="settings-profile-quiet-start", options=HOURS), 3),
            _field(_("until"), dbc.Select(id="settings-profile-quiet-end",
                                                  options=HOURS), 3),
            _field(_("Time zone"), dbc.Select(
                id="settings-profile-timezone",
                options=[{"label": z, "value": z} for z in TIMEZONES])),
        ]),
        html.Small(_("During quiet hours only critical alerts are sent."),
                   className="text-secondary d-block mb-2"),
        dbc.Button(_("Save profile"), id="settings-profile-save", color="primary"),
    ])
    kakao = _card(_("Kakao"), [
        html.Div(id="settings-kakao-status", className="mb-2"),
        html.A([html.I(className="fa-solid fa-comment me-2"),
                _("Connect Kakao")],
               href="/auth/kakao/login?next=/settings", className="btn sc-kakao btn-sm",
               id="settings-kakao-connect"),
    ])
    password = _card(_("Password"), [
        html.Div(id="settings-password-feedback"),
        dbc.Row([
            _field(_("Current password"),
                   dbc.Input(id="settings-password-current", type="password",
                             autocomplete="current-password"), 4),
            _field(_("New password"),
                   dbc.Input(id="settings-password-new", type="password",
                             autocomplete="new-password"), 4),
            _field(_("Repeat new password"),
                   dbc.Input(id="settings-password-confirm", type="password",
                             autocomplete="new-password"), 4),
        ]),
        dbc.Button(_("Change password"), id="settings-password-save",
                   color="secondary"),
    ])
    reach = _card(_("Where alerts reach you"), [
        html.Div(id="settings-reach-status"),
        html.Small(_("AlimTalk goes to your phone number through the company's Kakao "
                     "channel; a phone without KakaoTalk gets it by SMS. If a channel stops "
                     "working, alerts go to your other channels, or to your email."),
                   className="text-secondary d-block mt-2"),
    ], id_="settings-reach-card")
    return dbc.Tab(dbc.Row([dbc.Col([profile, reach], lg=7),
                            dbc.Col([push_card(), password, kakao], lg=5)],
                           className="pt-3"),
                   label=_("My account"), tab_id="profile",
                   label_class_name="settings-tab-profile")


def push_card() -> dbc.Card:
    """Web Push on this browser: assets/pwa.js asks the browser (Push API) and hands the
    subscription to callbacks/settings_reach.py through the stores below."""
    key = current_app.config.get("VAPID_PUBLIC_KEY") or ""
    return _card(_("Notifications on this browser"), [
        dcc.Store(id="settings-push-state"),
        dcc.Store(id="settings-push-new"),
        dcc.Store(id="settings-push-removed"),
        dcc.Store(id="settings-push-version", data=0),
        html.P(_("Alerts appear on this phone or computer even when SignalCraft is closed."),
               className="small mb-2"),
        html.Div(id="settings-push-browser", className="small mb-2"),
        html.Div([
            # a plain button: dbc.Button takes no data-* attributes
            html.Button([html.I(className="fa-solid fa-bell me-1"), _("Turn on here")],
                        id="settings-push-enable", className="btn btn-primary btn-sm",
                        disabled=not key, **{"data-vapid-key": key}),
            dbc.Button(_("Turn off here"), id="settings-push-disable", size="sm",
                       color="outline-secondary"),
            dbc.Button(_("Send a test"), id="settings-push-test", size="sm",
                       color="outline-primary"),
        ], className="d-flex flex-wrap gap-2 mb-2"),
        html.Small(_("On an iPhone or iPad, first add SignalCraft to the Home Screen (Share, "
                     "then Add to Home Screen) and turn notifications on from there."),
                   className="text-secondary d-block mb-2"),
        html.Div(id="settings-push-feedback"),
        html.Div(id="settings-push-list"),
    ], id_="settings-push-card")


def users_tab() -> dbc.Tab:
    invite = _card(_("Invite a person"), [
        dbc.Row([
            _field(_("Email"), dbc.Input(id="settings-invite-email", type="email",
                                                maxLength=254), 6),
            _field(_("Role"), dbc.Select(id="settings-invite-role", value="viewer",
                                                options=[]), 3),
            dbc.Col(dbc.Button([html.I(className="fa-solid fa-paper-plane me-1"),
                                _("Invite")], id="settings-invite-submit",
                               color="primary", className="w-100"),
                    md=3, className="mb-2 d-flex align-items-end"),
        ]),
        html.Small(_("The person gets an email with a link valid for 7 days; accepting it "
                     "joins your organisation with this role. People who ask to join "
                     "without an invitation wait below until you approve them."),
                   className="text-secondary"),
        html.H6(_("Open invitations"), className="mt-3"),
        html.Div(id="settings-invites-table"),
    ])
    members = _card(_("Users"), [html.Div(id="settings-users-table")])
    return dbc.Tab(html.Div([html.Div(id="settings-users-feedback", className="mt-3"),
                             members, invite]),
                   label=_("Users"), tab_id="users",
                   label_class_name="settings-tab-users")


def devices_tab() -> dbc.Tab:
    sites = _card(_("Sites"), [
        dbc.InputGroup([
            dbc.Input(id="settings-site-new", placeholder=_("New site name"),
                      maxLength=200),
            dbc.Button(_("Add site"), id="settings-site-add", color="primary"),
        ], className="mb-3"),
        html.Div(id="settings-sites-table"),
    ])
    devices = _card(_("Compressors and device tokens"), [
        dbc.Row([
            _field(_("Site"), dbc.Select(id="settings-device-site", options=[]), 4),
            _field(_("Name"), dbc.Input(id="settings-device-new", maxLength=200), 4),
            _field(_("Kind"), dbc.Select(
                id="settings-device-kind", value="refrigeration",
                options=[{"label": k, "value": k} for k in KINDS]), 2),
            dbc.Col(dbc.Button(_("Add"), id="settings-device-add", color="primary",
                               className="w-100"), md=2, className="mb-2 d-flex align-items-end"),
        ]),
        html.Div(id="settings-devices-table"),
    ])
    return dbc.Tab(html.Div([html.Div(id="settings-devices-feedback", className="mt-3"),
                             devices, sites]),
                   label=_("Sites & devices"), tab_id="devices",
                   label_class_name="settings-tab-devices")


def firmware_tab() -> dbc.Tab:
    upload = _card(_("Upload a release"), [
        dbc.Row([
            _field(_("Binary (.bin)"), dcc.Upload(
                html.Div([html.I(className="fa-solid fa-upload me-2"),
                          html.Span(_("Drop or choose the firmware file"),
                                    id="settings-fw-filename")]),
                id="settings-fw-upload", multiple=False, max_size=4 * 1024 * 1024,
                className="border rounded p-3 text-center text-secondary",
                style={"borderStyle": "dashed", "cursor": "pointer"}), 12),
            _field(_("Version"), dbc.Input(id="settings-fw-version",
                                                 placeholder="1.2.0", maxLength=40), 4),
            _field(_("Hardware model"), dbc.Input(
                id="settings-fw-hw", value="esp32-inmp441", maxLength=60), 4),
            _field(_("Notes"), dbc.Input(id="settings-fw-notes", maxLength=500), 4),
        ]),
        dbc.Row([
            _field(_("Rollout"), dbc.RadioItems(
                id="settings-fw-rollout", value="all", inline=True,
                options=[{"label": _("All devices"), "value": "all"},
                         {"label": _("Chosen sites"), "value": "sites"},
                         {"label": _("Chosen devices"), "value": "devices"}]),
                   5),
            _field(_("Targets"), dcc.Dropdown(id="settings-fw-ids", multi=True,
                                                     options=[]), 7),
        ]),
        dbc.Button(_("Upload release"), id="settings-fw-create", color="primary"),
    ])
    rollout = _card(_("Change a release's rollout"), [
        dbc.Row([
            _field(_("Release"), dbc.Select(id="settings-fw-edit-release",
                                                     options=[]), 4),
            _field(_("Rollout"), dbc.RadioItems(
                id="settings-fw-edit-rollout", value="all", inline=True,
                options=[{"label": _("All"), "value": "all"},
                         {"label": _("Sites"), "value": "sites"},
                         {"label": _("Devices"), "value": "devices"}]), 3),
            _field(_("Targets"), dcc.Dropdown(id="settings-fw-edit-ids", multi=True,
                                                     options=[]), 5),
        ]),
        dbc.Button(_("Save rollout"), id="settings-fw-edit-save",
                   color="secondary"),
    ])
    return dbc.Tab(html.Div([
        html.Div(id="settings-fw-feedback", className="mt-3"),
        upload,
        _card(_("Releases"), [html.Div(id="settings-fw-table")]),
        rollout,
        _card(_("Devices' firmware"), [html.Div(id="settings-fw-states")]),
    ]), label=_("Firmware"), tab_id="firmware",
                   label_class_name="settings-tab-firmware")


def audit_tab() -> dbc.Tab:
    return dbc.Tab(html.Div([
        dbc.Button([html.I(className="fa-solid fa-rotate me-1"), _("Refresh")],
                   id="settings-audit-refresh", size="sm", color="outline-secondary",
                   className="my-3"),
        html.Div(id="settings-audit-table"),
    ]), label=_("Audit log"), tab_id="audit",
                   label_class_name="settings-tab-audit")


def api_tokens_tab() -> dbc.Tab:
    """Everyone's own personal tokens for the read API (docs/api.md)."""
    return dbc.Tab(html.Div([
        html.P([_("Personal tokens let your scripts and other systems read this "
                  "organisation's data as you, through the read API (/api/v1). A token "
                  "is shown once; revoke it when it is no longer needed."), " ",
                html.A(_("API description"), href="/api/v1/openapi.json",
                       id="settings-api-openapi")],
               className="small text-secondary mt-3"),
        html.Div(id="settings-api-feedback"),
        dbc.InputGroup([
            dbc.Input(id="settings-api-name", maxLength=100,
                      placeholder=_("Token name, e.g. weekly report script")),
            dbc.Button([html.I(className="fa-solid fa-key me-1"), _("Create token")],
                       id="settings-api-create", color="primary"),
        ], className="mb-3", style={"maxWidth": "36rem"}),
        html.Div(id="settings-api-list"),
        dcc.Store(id="settings-api-version", data=0),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle(_("New API token"))),
            dbc.ModalBody([
                html.P(_("Copy this token now. It is shown only once and cannot be shown "
                         "again."), className="small"),
                html.Div([html.Code(id="settings-api-token-value", className="sc-token"),
                          dcc.Clipboard(target_id="settings-api-token-value",
                                        id="settings-api-token-copy", title=_("Copy"),
                                        className="ms-2 fs-5")],
                         className="d-flex align-items-start p-2 bg-light rounded"),
            ]),
            dbc.ModalFooter(dbc.Button(_("Done"), id="settings-api-token-close")),
        ], id="settings-api-token-modal", is_open=False, backdrop="static", keyboard=False),
    ]), label=_("API tokens"), tab_id="api", label_class_name="settings-tab-api")


def token_modal() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(_("New device token"))),
        dbc.ModalBody([
            html.P(_("Copy this token into the device's provisioning file now. It is shown "
                     "only once and cannot be shown again."), className="small"),
            html.Div(id="settings-token-device", className="fw-semibold mb-1"),
            html.Div([html.Code(id="settings-token-value", className="sc-token"),
                      dcc.Clipboard(target_id="settings-token-value", id="settings-token-copy",
                                    title=_("Copy"), className="ms-2 fs-5")],
                     className="d-flex align-items-start p-2 bg-light rounded"),
        ]),
        dbc.ModalFooter(dbc.Button(_("Done"), id="settings-token-close")),
    ], id="settings-token-modal", is_open=False, backdrop="static", keyboard=False)


@page_guard("viewer")
def layout(**_kwargs: object) -> html.Div:
    admin = user_has_role("admin")
    tabs = [profile_tab(), api_tokens_tab()]
    if admin:
        tabs += [users_tab(), devices_tab(), firmware_tab(), audit_tab()]
    header = [html.H1(_("Settings"), className="h4 mb-0")]
    if admin:
        header.append(html.A([html.I(className="fa-solid fa-bell me-1"),
                              _("Alert rules and notification channels")],
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
