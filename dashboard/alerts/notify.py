"""Who hears about an alert, and the delivery rows that promise them a message.

Rows are written in the same transaction as the alert change that caused them, so an
alert never exists without its notifications (and never the other way round). Each
row's ``dedupe_key`` names the alert, the notification round, the channel and the
user: the same round can be enqueued twice (two schedulers racing) and still gives
one row, hence at most one message per person, channel and round."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.alerts.rules import RuleParams
from dashboard.core.i18n import N_
from dashboard.core.models import Alert, NotificationChannel, NotificationDelivery, User

CHANNEL_KINDS = ("email", "sms", "kakao")
CHANNEL_LABELS = {"email": N_("Email"), "sms": N_("SMS"),
                  "kakao": N_("Kakao message")}
DEFAULT_RATE_LIMIT_PER_HOUR = 30


def dedupe_key(alert_id: int, round_no: int, channel: str, user_id: int) -> str:
    return f"alert:{alert_id}:round:{round_no}:{channel}:user:{user_id}"


def channel_settings(session: Session, org_id: int) -> dict[str, NotificationChannel]:
    """The organisation's channel rows; a channel without a row is on, at the default
    rate limit (an unsaved NotificationChannel stands in for it)."""
    rows = {c.kind: c for c in session.scalars(
        sa.select(NotificationChannel).where(NotificationChannel.org_id == org_id))}
    for kind in CHANNEL_KINDS:
        rows.setdefault(kind, NotificationChannel(
            org_id=org_id, kind=kind, enabled=True, config={},
            rate_limit_per_hour=DEFAULT_RATE_LIMIT_PER_HOUR))
    return rows


def user_channels(user: User) -> list[str]:
    """The channels this user asked for and can be reached on."""
    wanted = []
    if user.notify_email and user.email:
        wanted.append("email")
    if user.notify_sms and user.phone:
        wanted.append("sms")
    if user.notify_kakao and user.kakao_access_token:
        wanted.append("kakao")
    return wanted


def recipients_for_round(session: Session, org_id: int, params: RuleParams,
                         round_no: int) -> list[User]:
    """Round 0 goes to the first level, round 1 to the second, ...; rounds past the last
    level remind the last level. A level with nobody in it passes to the next one, so an
    organisation without managers still reaches its admins."""
    levels = params.escalation_roles
    start = min(round_no, len(levels) - 1)
    for roles in levels[start:]:
        users = list(session.scalars(
            sa.select(User).where(User.org_id == org_id, User.role.in_(roles),
                                  User.active.is_(True), User.pending.is_(False))
            .order_by(User.id)))
        if users:
            return users
    return []


def enqueue_round(session: Session, alert: Alert, params: RuleParams, round_no: int,
                  now: dt.datetime) -> int:
    """Delivery rows for one notification round; returns how many were added. Info
    alerts and rules with ``notify`` off stay in-app (badge and toast) only."""
    alert.last_notified_at = now
    if not params.notify or alert.severity == "info":
        return 0
    channels = channel_settings(session, alert.org_id)
    added = 0
    for user in recipients_for_round(session, alert.org_id, params, round_no):
        for kind in user_channels(user):
            if not channels[kind].enabled:
                continue
            row = NotificationDelivery(
                alert_id=alert.id, user_id=user.id, channel=kind,
                dedupe_key=dedupe_key(alert.id, round_no, kind, user.id),
                status="pending", attempts=0, next_attempt_at=now, created_at=now)
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                continue  # this round was already enqueued by a concurrent evaluation
            added += 1
    return added
