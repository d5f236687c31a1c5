"""Writes of the Rules tab: managers save alert rules, admins save channel settings.
Everything is validated before anything is written, and each change leaves an audit
row. Functions flush and never commit: the callback commits once at the end."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.alerts.channels import channel_problem
from dashboard.alerts.delivery import sent_last_hour
from dashboard.alerts.errors import AlertsInputError
from dashboard.alerts.notify import CHANNEL_KINDS, channel_settings
from dashboard.alerts.queries import get_rule
from dashboard.alerts.rules import (
    RULE_KINDS,
    normalize_params,
    validate_name,
    validate_severity,
)
from dashboard.core.models import AlertRule, Compressor, NotificationChannel, Site, User

MAX_RATE_LIMIT = 1000
PRESERVED_PARAMS = ("escalation_roles", "max_renotify", "default_key")


def _optional_id(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise AlertsInputError("Unknown site or compressor.") from None


def _check_scope(session: Session, org_id: int, site_id: int | None,
                 compressor_id: int | None) -> None:
    if site_id is not None and session.scalar(
            sa.select(Site.id).where(Site.id == site_id, Site.org_id == org_id)) is None:
        raise AlertsInputError("Unknown site.")
    if compressor_id is not None:
        comp_site = session.scalar(sa.select(Compressor.site_id).where(
            Compressor.id == compressor_id, Compressor.org_id == org_id))
        if comp_site is None:
            raise AlertsInputError("Unknown compressor.")
        if site_id is not None and comp_site != site_id:
            raise AlertsInputError("That compressor is not at that site.")


def save_rule(session: Session, org_id: int, user: User, rule_id: object | None,
              form: dict[str, Any]) -> AlertRule:
    """Create (rule_id None) or update a rule from the form; everything is validated
    before anything is written. Flushes, does not commit."""
    name = validate_name(form.get("name"))
    kind = form.get("kind")
    if kind not in RULE_KINDS:
        raise AlertsInputError("Choose a rule kind.")
    severity = validate_severity(form.get("severity"))
    site_id = _optional_id(form.get("site_id"))
    compressor_id = _optional_id(form.get("compressor_id"))
    _check_scope(session, org_id, site_id, compressor_id)
    rule = None
    if rule_id not in (None, ""):
        rule = get_rule(session, org_id, rule_id)
        if rule is None:
            raise AlertsInputError("Rule not found.")
        if rule.kind != kind:
            raise AlertsInputError("A rule's kind cannot change; create a new rule instead.")
    raw = dict(form.get("params") or {})
    if rule is not None:
        # Settings the form does not show survive an edit.
        for key in PRESERVED_PARAMS:
            if key in (rule.params or {}) and key not in raw:
                raw[key] = rule.params[key]
    params = normalize_params(kind, raw)
    if rule is None:
        rule = AlertRule(org_id=org_id, kind=kind)
        session.add(rule)
    rule.name, rule.severity, rule.params = name, severity, params
    rule.site_id, rule.compressor_id = site_id, compressor_id
    rule.enabled = bool(form.get("enabled", True))
    session.flush()
    record_audit(session, user, "alert_rule.save", f"alert_rule:{rule.id}",
                 {"name": name, "kind": kind, "enabled": rule.enabled, "severity": severity,
                  "params": params})
    return rule


@dataclass(frozen=True)
class ChannelView:
    kind: str
    enabled: bool
    rate_limit_per_hour: int
    problem: str | None  # why the server's global settings do not allow it, if so
    sent_last_hour: int


def channels_overview(app: Flask, session: Session, org_id: int,
                      now: dt.datetime) -> list[ChannelView]:
    rows = channel_settings(session, org_id)
    return [ChannelView(kind, rows[kind].enabled, rows[kind].rate_limit_per_hour,
                        channel_problem(app, kind), sent_last_hour(session, org_id, kind, now))
            for kind in CHANNEL_KINDS]


def save_channels(session: Session, org_id: int, user: User,
                  values: dict[str, tuple[bool, object]]) -> list[NotificationChannel]:
    """``values`` maps a channel kind to (enabled, rate limit per hour)."""
    cleaned: dict[str, tuple[bool, int]] = {}
    for kind, (enabled, limit) in values.items():
        if kind not in CHANNEL_KINDS:
            raise AlertsInputError("Unknown channel %(kind)s.", kind=repr(kind))
        try:
            number = int(limit)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= MAX_RATE_LIMIT:
            raise AlertsInputError("The rate limit of %(kind)s must be a whole number from 1 to "
                                   "%(MAX_RATE_LIMIT)s.", kind=kind, MAX_RATE_LIMIT=MAX_RATE_LIMIT)
        cleaned[kind] = (bool(enabled), number)
    existing = {c.kind: c for c in session.scalars(
        sa.select(NotificationChannel).where(NotificationChannel.org_id == org_id))}
    saved = []
    for kind, (enabled, number) in cleaned.items():
        row = existing.get(kind)
        if row is None:
            row = NotificationChannel(org_id=org_id, kind=kind, config={})
            session.add(row)
        row.enabled, row.rate_limit_per_hour = enabled, number
        saved.append(row)
    record_audit(session, user, "notification_channel.save", f"org:{org_id}",
                 {k: {"enabled": e, "rate_limit_per_hour": n} for k, (e, n) in cleaned.items()})
    session.flush()
    return saved
