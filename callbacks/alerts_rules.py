"""Callbacks of the Rules tab: the rules table, the rule form (managers) and the
notification channels (everyone sees them, admins change them)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask import current_app
from flask_login import current_user

from callbacks.alerts_badge import SEVERITY_COLORS
from callbacks.guard import guarded
from dashboard.accounts.auth import user_has_role
from dashboard.alerts import AlertsInputError
from dashboard.alerts.notify import CHANNEL_KINDS
from dashboard.alerts.queries import RuleRow, fault_classes, get_rule, list_rules, scope_options
from dashboard.alerts.rules import (
    ANY_FAULT,
    KIND_LABELS,
    PARAMS_MODELS,
    SEVERITY_LABELS,
    describe_params,
    rule_name,
)
from dashboard.alerts.settings import ChannelView, channels_overview, save_channels, save_rule
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import AlertRule, utcnow

# Which form groups each kind shows (the others are hidden and ignored).
KIND_GROUPS = {
    "health_status": {"level", "confirm"},
    "fault_probability": {"fault", "threshold", "confirm"},
    "anomaly": {"score", "confirm"},
    "degrading": {"level", "horizon"},
    "sensor_limit": {"metric", "op", "limit", "minutes"},
    "offline": {"minutes"},
}
GROUPS = ("level", "fault", "threshold", "score", "horizon", "metric", "op", "limit",
          "minutes", "confirm")
# Form field -> parameter name, per group.
GROUP_PARAMS = {"level": "level", "fault": "fault", "threshold": "threshold",
                "score": "score_above", "horizon": "horizon_days", "metric": "metric",
                "op": "op", "limit": "limit", "minutes": "minutes",
                "confirm": "confirm_after"}
FORM_FIELDS = ("name", "kind", "severity", "site", "compressor", *GROUPS, "clear-after",
               "escalate", "notify", "enabled")


def rules_table(rules: list[RuleRow], can_edit: bool) -> html.Div:
    if not rules:
        return dbc.Alert(_("No rules yet."), color="light")
    head = html.Thead(html.Tr([html.Th(t) for t in (
        _("Name"), _("Kind"), _("Condition"), _("Scope"),
        _("Severity"), _("Enabled"), "")]))
    body = []
    for rule in rules:
        edit = (dbc.Button(_("Edit"), size="sm", color="secondary", outline=True,
                           id={"type": "alerts-rule-edit", "index": rule.id})
                if can_edit else "")
        body.append(html.Tr([
            html.Td(rule_name(rule.name, rule.params)),
            html.Td(_(KIND_LABELS.get(rule.kind, rule.kind))),
            html.Td(describe_params(rule.kind, rule.params), className="small"),
            html.Td(rule.scope if rule.scope != "*" else _("All")),
            html.Td(dbc.Badge(_(SEVERITY_LABELS.get(rule.severity, rule.severity)),
                              color=SEVERITY_COLORS.get(rule.severity, "secondary"))),
            html.Td(_("on") if rule.enabled else _("off"),
                    id=f"alerts-rule-enabled-{rule.id}"),
            html.Td(edit),
        ], id=f"alerts-rule-row-{rule.id}"))
    return dbc.Table([head, html.Tbody(body)], size="sm", hover=True, responsive=True,
                     id="alerts-rules")


def channel_status(view: ChannelView) -> str:
    if view.problem:
        return _("Not available on this server: %(problem)s.", problem=view.problem)
    return _("%(sent_last_hour)s sent in the last hour.", sent_last_hour=view.sent_last_hour)


def form_to_rule(values: dict[str, object]) -> dict[str, object]:
    """The rule form's values as save_rule expects them: only the parameters of the
    chosen kind. An empty field of the kind is passed on (and refused by validation),
    except the optional score; empty general fields fall back to their defaults."""
    kind = values.get("kind")
    params: dict[str, object] = {}
    for group in KIND_GROUPS.get(kind, set()):  # type: ignore[arg-type]
        value = values.get(group)
        if group == "score" and value in (None, ""):
            continue
        params[GROUP_PARAMS[group]] = value
    for field, name in (("clear-after", "clear_after"), ("escalate", "escalate_after_minutes")):
        if values.get(field) not in (None, ""):
            params[name] = values[field]
    params["notify"] = bool(values.get("notify"))
    return {"name": values.get("name"), "kind": kind, "severity": values.get("severity"),
            "site_id": values.get("site"), "compressor_id": values.get("compressor"),
            "enabled": bool(values.get("enabled")), "params": params}


def _form_values(rule: AlertRule | None) -> list:
    """Field values (in FORM_FIELDS order) for a new rule or an existing one."""
    kind = rule.kind if rule is not None else "sensor_limit"
    params = {**PARAMS_MODELS[kind]().model_dump(), **((rule.params or {}) if rule else {})}
    defaults = {"level": "warning", "fault": ANY_FAULT, "threshold": 0.8, "score": None,
                "horizon": 14,
                "metric": "vibration_rms_g", "op": "above", "limit": 0.45, "minutes": 10,
                "confirm": 1}
    values: dict[str, object] = {
        "name": rule.name if rule else "", "kind": kind,
        "severity": rule.severity if rule else "warning",
        "site": rule.site_id if rule else None,
        "compressor": rule.compressor_id if rule else None,
        "enabled": rule.enabled if rule else True,
        "clear-after": params.get("clear_after"),
        "escalate": params.get("escalate_after_minutes"),
        "notify": params.get("notify", True),
    }
    for group in GROUPS:
        values[group] = params.get(GROUP_PARAMS[group], defaults[group])
    return [values[f] for f in FORM_FIELDS]


def register(app: dash.Dash) -> None:
    form_outputs = [Output(f"alerts-rule-{f}", "value") for f in FORM_FIELDS]
    form_states = [State(f"alerts-rule-{f}", "value") for f in FORM_FIELDS]

    @app.callback(
        Output("alerts-rules-table", "children"),
        Output("alerts-rule-site", "options"),
        Output("alerts-rule-compressor", "options"),
        Output("alerts-rule-fault", "options"),
        Input("alerts-tabs", "active_tab"),
        Input("alerts-rules-refresh", "data"),
    )
    @guarded("viewer")
    def refresh_rules(active_tab: str | None, _refresh: int | None) -> tuple:
        if active_tab != "alerts-tab-rules":
            raise PreventUpdate
        session = db_session()
        sites, compressors = scope_options(session, current_user.org_id)
        faults = [{"label": _("Any fault"), "value": ANY_FAULT}] + [
            {"label": f, "value": f} for f in fault_classes(session)]
        table = rules_table(list_rules(session, current_user.org_id), user_has_role("manager"))
        return table, sites, compressors, faults

    @app.callback(
        Output("alerts-rule-modal", "is_open"),
        Output("alerts-rule-target", "data"),
        Output("alerts-rule-title", "children"),
        Output("alerts-rule-error", "children"),
        *form_outputs,
        Input("alerts-rule-new", "n_clicks"),
        Input({"type": "alerts-rule-edit", "index": ALL}, "n_clicks"),
        Input("alerts-rule-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    @guarded("manager")
    def open_rule_form(_new: int | None, _edit: list, _cancel: int | None) -> tuple:
        trig = ctx.triggered_id
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate
        keep = [dash.no_update] * len(FORM_FIELDS)
        if trig == "alerts-rule-cancel":
            return (False, None, dash.no_update, "", *keep)
        if trig == "alerts-rule-new":
            return (True, None, _("New rule"), "", *_form_values(None))
        rule = get_rule(db_session(), current_user.org_id, trig["index"])
        if rule is None:
            raise PreventUpdate
        return (True, rule.id, _("Edit rule"), "", *_form_values(rule))

    @app.callback(
        [Output(f"alerts-rule-group-{g}", "style") for g in GROUPS],
        Input("alerts-rule-kind", "value"),
    )
    @guarded("viewer")
    def show_kind_fields(kind: str | None) -> list:
        shown = KIND_GROUPS.get(kind or "", set())
        return [None if g in shown else {"display": "none"} for g in GROUPS]

    @app.callback(
        Output("alerts-rule-modal", "is_open", allow_duplicate=True),
        Output("alerts-rule-error", "children", allow_duplicate=True),
        Output("alerts-rules-refresh", "data"),
        Output("alerts-rules-feedback", "children"),
        Input("alerts-rule-save", "n_clicks"),
        State("alerts-rule-target", "data"),
        *form_states,
        State("alerts-rules-refresh", "data"),
        prevent_initial_call=True,
    )
    @guarded("manager")
    def save_alert_rule(n_clicks: int | None, target: object, *rest: object) -> tuple:
        if not n_clicks:
            raise PreventUpdate
        *fields, refresh = rest
        form = form_to_rule(dict(zip(FORM_FIELDS, fields, strict=True)))
        session = db_session()
        try:
            rule = save_rule(session, current_user.org_id, current_user, target, form)
            session.commit()
        except AlertsInputError as exc:
            session.rollback()
            return True, exc.localized(), dash.no_update, dash.no_update
        done = dbc.Alert(_("Rule saved: %(name)s", name=rule.name),
                         color="success", dismissable=True, duration=5000,
                         id="alerts-rule-saved")
        return False, "", (refresh if isinstance(refresh, int) else 0) + 1, done

    channel_outputs = []
    for kind in CHANNEL_KINDS:
        channel_outputs += [Output(f"alerts-channel-{kind}-enabled", "value"),
                            Output(f"alerts-channel-{kind}-rate", "value"),
                            Output(f"alerts-channel-{kind}-status", "children")]

    @app.callback(*channel_outputs, Input("alerts-tabs", "active_tab"))
    @guarded("viewer")
    def load_channels(active_tab: str | None) -> list:
        if active_tab != "alerts-tab-rules":
            raise PreventUpdate
        views = channels_overview(current_app, db_session(), current_user.org_id, utcnow())
        out: list = []
        for view in views:
            out += [view.enabled, view.rate_limit_per_hour, channel_status(view)]
        return out

    channel_states = []
    for kind in CHANNEL_KINDS:
        channel_states += [State(f"alerts-channel-{kind}-enabled", "value"),
                           State(f"alerts-channel-{kind}-rate", "value")]

    @app.callback(
        Output("alerts-channels-feedback", "children"),
        Input("alerts-channels-save", "n_clicks"),
        *channel_states,
        prevent_initial_call=True,
    )
    @guarded("admin")
    def save_channel_settings(n_clicks: int | None, *values: object) -> dbc.Alert:
        if not n_clicks:
            raise PreventUpdate
        pairs = {kind: (bool(values[2 * i]), values[2 * i + 1])
                 for i, kind in enumerate(CHANNEL_KINDS)}
        session = db_session()
        try:
            save_channels(session, current_user.org_id, current_user, pairs)
            session.commit()
        except AlertsInputError as exc:
            session.rollback()
            return dbc.Alert(exc.localized(), color="danger", id="alerts-channels-error")
        return dbc.Alert(_("Channels saved."), color="success",
                         dismissable=True, duration=5000, id="alerts-channels-saved")
