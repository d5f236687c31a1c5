"""Alerts: the list with filters (acknowledge and resolve with a comment, a timeline per
alert), and the Rules tab where managers edit rules and admins the channels."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import current_app

from dashboard.accounts.auth import page_guard, user_has_role
from dashboard.alerts.notify import CHANNEL_KINDS, CHANNEL_LABELS
from dashboard.alerts.rules import KIND_LABELS, SENSOR_METRICS, SEVERITIES
from dashboard.core.i18n import tr

dash.register_page(
    __name__, path="/alerts", name="Alerts", title="Alerts · SignalCraft",
    nav_order=40, nav_label=("Alerts", "알림"), nav_icon="fa-solid fa-bell", min_role="viewer",
)

STATE_LABELS = {"open": ("Open", "미확인"), "acknowledged": ("Acknowledged", "확인됨"),
                "resolved": ("Resolved", "해결됨")}
SEVERITY_LABELS = {"info": ("Info", "정보"), "warning": ("Warning", "주의"),
                   "critical": ("Critical", "위험")}


def _filters() -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(dbc.Checklist(
                id="alerts-filter-state", inline=True, value=["open", "acknowledged"],
                options=[{"label": tr(*STATE_LABELS[s]), "value": s} for s in STATE_LABELS]),
                xs=12, md="auto"),
            dbc.Col(dbc.Checklist(
                id="alerts-filter-severity", inline=True, value=list(SEVERITIES),
                options=[{"label": tr(*SEVERITY_LABELS[s]), "value": s} for s in SEVERITIES]),
                xs=12, md="auto"),
            dbc.Col(dcc.Dropdown(id="alerts-filter-compressor", options=[],
                                 placeholder=tr("All compressors", "모든 압축기")),
                    xs=12, md=4),
        ],
        className="g-2 mb-3 align-items-center",
    )


def _action_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="alerts-action-title")),
            dbc.ModalBody([
                html.Div(id="alerts-action-summary", className="mb-2"),
                dbc.Label(tr("Comment (required)", "코멘트 (필수)"),
                          html_for="alerts-action-comment"),
                dbc.Textarea(id="alerts-action-comment", rows=3, maxLength=2000,
                             placeholder=tr("What is being done, by whom?",
                                            "누가 어떤 조치를 하고 있나요?")),
                html.Div(id="alerts-action-error", className="text-danger small mt-2"),
            ]),
            dbc.ModalFooter([
                dbc.Button(tr("Cancel", "취소"), id="alerts-action-cancel", color="secondary",
                           outline=True),
                dbc.Button(tr("Confirm", "확인"), id="alerts-action-confirm", color="primary"),
            ]),
        ],
        id="alerts-action-modal", is_open=False,
    )


def _timeline_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(tr("Alert timeline", "알림 이력"))),
            dbc.ModalBody(id="alerts-timeline-body"),
            dbc.ModalFooter(dbc.Button(tr("Close", "닫기"), id="alerts-timeline-close",
                                       color="secondary", outline=True)),
        ],
        id="alerts-timeline-modal", is_open=False, size="lg", scrollable=True,
    )


def _field(label: str, control: object, width: int = 6, group: str | None = None) -> dbc.Col:
    extra = {"id": f"alerts-rule-group-{group}"} if group else {}
    return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=width,
                   className="mb-2", **extra)


def _number(id_: str, step: float | str = "any", minimum: float | None = None) -> dbc.Input:
    return dbc.Input(id=id_, type="number", step=step, min=minimum, size="sm")


def _rule_modal() -> dbc.Modal:
    kinds = [{"label": tr(*KIND_LABELS[k]), "value": k} for k in KIND_LABELS]
    metrics = [{"label": f"{tr(en, ko)} ({unit})", "value": m}
               for m, (en, ko, unit) in SENSOR_METRICS.items()]
    body = dbc.Row([
        _field(tr("Name", "이름"), dbc.Input(id="alerts-rule-name", maxLength=120, size="sm"), 12),
        _field(tr("Kind", "종류"), dcc.Dropdown(id="alerts-rule-kind", options=kinds,
                                                clearable=False)),
        _field(tr("Severity", "심각도"), dcc.Dropdown(
            id="alerts-rule-severity", clearable=False,
            options=[{"label": tr(*SEVERITY_LABELS[s]), "value": s} for s in SEVERITIES])),
        _field(tr("Site (optional)", "사이트 (선택)"), dcc.Dropdown(id="alerts-rule-site")),
        _field(tr("Compressor (optional)", "압축기 (선택)"),
               dcc.Dropdown(id="alerts-rule-compressor")),
        _field(tr("Status at or worse than", "다음 상태 이상"), dcc.Dropdown(
            id="alerts-rule-level", clearable=False,
            options=[{"label": s, "value": s} for s in ("watch", "warning", "critical")]),
            group="level"),
        _field(tr("Fault class", "고장 유형"), dcc.Dropdown(id="alerts-rule-fault",
                                                          clearable=False), group="fault"),
        _field(tr("Probability above (0-1)", "확률 초과 (0~1)"),
               _number("alerts-rule-threshold", 0.01, 0), group="threshold"),
        _field(tr("Score above (empty: baseline threshold)", "점수 초과 (비우면 기준선)"),
               _number("alerts-rule-score", "any", 0), group="score"),
        _field(tr("Sensor", "센서"), dcc.Dropdown(id="alerts-rule-metric", options=metrics,
                                                 clearable=False), group="metric"),
        _field(tr("Direction", "방향"), dcc.Dropdown(
            id="alerts-rule-op", clearable=False,
            options=[{"label": tr("above", "초과"), "value": "above"},
                     {"label": tr("below", "미만"), "value": "below"}]), group="op"),
        _field(tr("Limit", "한계값"), _number("alerts-rule-limit"), group="limit"),
        _field(tr("For how many minutes", "지속 시간 (분)"), _number("alerts-rule-minutes", 1, 1),
               group="minutes"),
        _field(tr("Clear evaluations before auto-resolve", "자동 해결 전 연속 정상 횟수"),
               _number("alerts-rule-clear-after", 1, 1)),
        _field(tr("Escalate after minutes (0: never)", "에스컬레이션 (분, 0: 안 함)"),
               _number("alerts-rule-escalate", 1, 0)),
        dbc.Col(dbc.Switch(id="alerts-rule-notify", label=tr("Send notifications", "알림 발송")),
                md=6),
        dbc.Col(dbc.Switch(id="alerts-rule-enabled", label=tr("Enabled", "사용")), md=6),
        dbc.Col(html.Div(id="alerts-rule-error", className="text-danger small mt-2"), md=12),
    ])
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="alerts-rule-title")),
            dbc.ModalBody(body),
            dbc.ModalFooter([
                dbc.Button(tr("Cancel", "취소"), id="alerts-rule-cancel", color="secondary",
                           outline=True),
                dbc.Button(tr("Save", "저장"), id="alerts-rule-save", color="primary"),
            ]),
        ],
        id="alerts-rule-modal", is_open=False, size="lg",
    )


def _channels_card(is_admin: bool) -> dbc.Card:
    rows = [
        dbc.Row([
            dbc.Col(html.Strong(tr(*CHANNEL_LABELS[kind])), xs=12, md=2),
            dbc.Col(dbc.Switch(id=f"alerts-channel-{kind}-enabled", label=tr("On", "사용"),
                               disabled=not is_admin), xs=4, md=2),
            dbc.Col(dbc.InputGroup([
                dbc.Input(id=f"alerts-channel-{kind}-rate", type="number", min=1, step=1,
                          disabled=not is_admin, size="sm"),
                dbc.InputGroupText(tr("per hour", "건/시간")),
            ], size="sm"), xs=8, md=3),
            dbc.Col(html.Small(id=f"alerts-channel-{kind}-status", className="text-secondary"),
                    xs=12, md=5),
        ], className="mb-2 align-items-center")
        for kind in CHANNEL_KINDS
    ]
    # The button exists for everyone (its callback needs it) but only admins see it.
    footer = [dbc.Button(tr("Save channels", "채널 저장"), id="alerts-channels-save",
                         size="sm", color="primary",
                         style=None if is_admin else {"display": "none"})]
    if not is_admin:
        footer.append(html.Small(tr("Only admins change channels.",
                                    "채널 설정은 관리자만 바꿀 수 있습니다."),
                                 className="text-secondary"))
    return dbc.Card([
        dbc.CardHeader(tr("Notification channels", "알림 채널")),
        dbc.CardBody(rows + [html.Div(id="alerts-channels-feedback", className="small mb-2")]
                     + footer),
    ], className="mt-4")


@page_guard("viewer")
def layout(alert: str | None = None, **_kwargs: object) -> html.Div:
    is_manager = user_has_role("manager")
    new_rule = dbc.Button([html.I(className="fa-solid fa-plus me-1"), tr("New rule", "새 규칙")],
                          id="alerts-rule-new", size="sm", color="primary", className="mb-2",
                          style=None if is_manager else {"display": "none"})
    return html.Div([
        html.H1(tr("Alerts", "알림"), className="h4 mb-3"),
        dbc.Tabs([
            dbc.Tab(html.Div([
                _filters(),
                html.Div(id="alerts-feedback"),
                dcc.Loading(html.Div(id="alerts-list"), type="dot", delay_show=500),
            ], className="pt-3"), label=tr("Alerts", "알림"), tab_id="alerts-tab-list"),
            dbc.Tab(html.Div([
                new_rule,
                html.Div(id="alerts-rules-feedback"),
                html.Div(id="alerts-rules-table"),
                _channels_card(user_has_role("admin")),
            ], className="pt-3"), label=tr("Rules", "규칙"), tab_id="alerts-tab-rules"),
        ], id="alerts-tabs", active_tab="alerts-tab-list"),
        _action_modal(),
        _timeline_modal(),
        _rule_modal(),
        dcc.Store(id="alerts-action-target"),
        dcc.Store(id="alerts-refresh", data=0),
        dcc.Store(id="alerts-rule-target"),
        dcc.Store(id="alerts-rules-refresh", data=0),
        dcc.Store(id="alerts-focus", data=alert),
        dcc.Store(id="alerts-live"),
        dcc.Interval(id="alerts-interval", disabled=True,
                     interval=current_app.config.get("ALERTS_REFRESH_MS", 60000)),
    ])
