"""Sending the notifications that notify.py promised, with retries that never send the
same notification twice on purpose.

Each delivery row goes: pending -> sending (claimed) -> sent, or back to pending with a
backoff, or to a final state: failed (gave up or the provider refused for good),
cancelled (the alert was acknowledged or resolved first), skipped (channel off, not
configured, or the user can no longer be reached), rate_limited, disconnected (the
channel no longer reaches this user: Kakao refused the tokens, every browser
unsubscribed). A row that ends failed or disconnected falls back to the user's other
channels (notify.enqueue_fallback): new rows pointing at it with fallback_for_id.

Delivery guarantee: **at least once, with duplicates confined to a crash window.**
A sender claims a row with a compare-and-set UPDATE (status pending -> sending,
attempts + 1) and commits *before* it calls the provider, then marks the row sent in
a second transaction guarded by the same attempt number. So two senders never send
one row at the same time, and a row marked sent is never selected again. If the
process dies between the provider accepting and the "sent" commit, the row stays
"sending"; after SENDING_TIMEOUT another sender retries it. We chose that over
at-most-once (never retrying a stuck row) because a lost alert about a failing
compressor costs more than a rare second message. The SMS gateway gets the row's
dedupe key as Idempotency-Key, so even that retry is dropped there; email and Kakao
have no such key and may, only in that window, arrive twice."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.alerts.channels import (
    SENDERS,
    DeliveryError,
    OutgoingMessage,
    SendResult,
    channel_problem,
)
from dashboard.alerts.engine import add_event
from dashboard.alerts.messages import shown
from dashboard.alerts.notify import channel_settings, enqueue_fallback, reach_address
from dashboard.alerts.rules import SEVERITY_LABELS
from dashboard.core.database import session_scope
from dashboard.core.i18n import DEFAULT_TIME_ZONE, _, in_language
from dashboard.core.mailer import public_url
from dashboard.core.models import Alert, AlertRule, Compressor, NotificationDelivery, Site, User
from dashboard.core.timezones import local_text

log = logging.getLogger("signalcraft.alerts.delivery")

SENDING_TIMEOUT = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(minutes=30)
BATCH = 100


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, ... capped at 30 min."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def quiet_until(tz_name: str | None, start: int | None, end: int | None,
                now: dt.datetime) -> dt.datetime | None:
    """When the user's quiet hours end (UTC), if ``now`` is inside them; else None.
    Hours are local to the user's time zone; start 22, end 7 spans midnight."""
    if start is None or end is None or start == end:
        return None
    try:
        tz = ZoneInfo(tz_name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(DEFAULT_TIME_ZONE)
    local = now.astimezone(tz)
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    ends = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if ends <= local:
        ends += dt.timedelta(days=1)
    return ends.astimezone(dt.UTC)


def due_delivery_ids(session: Session, now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Pending rows whose time has come, and rows stuck in "sending" past the timeout
    (their claim time + SENDING_TIMEOUT is stored in next_attempt_at)."""
    return list(session.scalars(
        sa.select(NotificationDelivery.id)
        .where(NotificationDelivery.status.in_(("pending", "sending")),
               NotificationDelivery.next_attempt_at <= now)
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        .limit(limit)))


def claim_delivery(session: Session, delivery_id: int, now: dt.datetime) -> int | None:
    """Compare-and-set claim; returns the attempt number this sender owns, or None when
    another sender got there first (or the row is no longer due)."""
    result = session.execute(
        sa.update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id,
               NotificationDelivery.status.in_(("pending", "sending")),
               NotificationDelivery.next_attempt_at <= now)
        .values(status="sending", attempts=NotificationDelivery.attempts + 1,
                next_attempt_at=now + SENDING_TIMEOUT)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    return session.scalar(sa.select(NotificationDelivery.attempts)
                          .where(NotificationDelivery.id == delivery_id))


def _finish(session: Session, delivery_id: int, attempt: int, **values: object) -> bool:
    """Write an outcome only while this sender still owns the claim."""
    result = session.execute(
        sa.update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == "sending",
               NotificationDelivery.attempts == attempt)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def sent_last_hour(session: Session, org_id: int, channel: str, now: dt.datetime) -> int:
    return session.scalar(
        sa.select(sa.func.count(NotificationDelivery.id))
        .join(Alert, Alert.id == NotificationDelivery.alert_id)
        .where(Alert.org_id == org_id, NotificationDelivery.channel == channel,
               NotificationDelivery.status == "sent",
               NotificationDelivery.sent_at > now - dt.timedelta(hours=1))) or 0


def compose(alert: Alert, compressor: Compressor, site: Site, language: str,
            link: str, time_zone: str | None = None) -> tuple[str, str, str]:
    """(subject, text, button title) in the recipient's language and time zone."""
    with in_language(language):
        sev = _(SEVERITY_LABELS.get(alert.severity, alert.severity)).upper()
        title, detail = shown(alert.title), shown(alert.detail)
        subject = f"[SignalCraft {sev}] {title}"
        opened = _("Opened %(time)s. Acknowledge it in SignalCraft.",
                   time=local_text(alert.opened_at, time_zone, "%Y-%m-%d %H:%M %Z"))
        text = f"{sev}: {title}\n{site.name} / {compressor.name}\n{detail}\n{opened}"
        return subject, text, _("Open alert")


def _prepare(app: Flask, session: Session, delivery_id: int, attempt: int,
             now: dt.datetime) -> OutgoingMessage | None:
    """Decide, under our claim, whether this row is still worth sending; set its final
    (or deferred) state if not. Returns the message to send, or None."""
    row = session.get(NotificationDelivery, delivery_id)
    alert = session.get(Alert, row.alert_id)
    user = session.get(User, row.user_id) if row.user_id is not None else None

    def settle(status: str, reason: str) -> None:
        _finish(session, delivery_id, attempt, status=status, last_error=reason)

    if alert.state != "open":
        settle("cancelled", f"alert {alert.state} before sending")
        return None
    address = (reach_address(user, row.channel, fallback=row.fallback_for_id is not None)
               if user is not None and user.is_active else None)
    if address is None:
        settle("skipped", "recipient no longer reachable on this channel")
        return None
    problem = channel_problem(app, row.channel)
    if problem:
        settle("skipped", problem)
        return None
    setting = channel_settings(session, alert.org_id)[row.channel]
    if not setting.enabled:
        settle("skipped", "channel disabled for the organisation")
        return None
    if alert.severity != "critical":
        until = quiet_until(user.timezone, user.quiet_hours_start, user.quiet_hours_end, now)
        if until is not None:
            # Not an attempt: give the claim back and wake up when quiet hours end.
            _finish(session, delivery_id, attempt, status="pending", attempts=attempt - 1,
                    next_attempt_at=until, last_error=f"quiet hours until {until:%H:%M} UTC")
            return None
    if sent_last_hour(session, alert.org_id, row.channel, now) >= setting.rate_limit_per_hour:
        settle("rate_limited", f"{setting.rate_limit_per_hour} per hour reached")
        return None
    compressor = session.get(Compressor, alert.compressor_id)
    site = session.get(Site, compressor.site_id)
    link = public_url(app, f"/alerts?alert={alert.id}")
    with app.app_context():  # the catalogue, outside any request
        subject, text, button = compose(alert, compressor, site, user.language, link,
                                        user.timezone)
        variables = template_variables(alert, compressor, site, user, link)
    title, _sep, body = text.partition("\n")
    rule = session.get(AlertRule, alert.rule_id) if alert.rule_id is not None else None
    return OutgoingMessage(
        delivery_id=delivery_id, dedupe_key=row.dedupe_key, channel=row.channel, to=address,
        subject=subject, text=text, link=link, button_title=button, user_id=user.id,
        language=user.language, title=title, body=body,
        template=rule.kind if rule is not None else "default", severity=alert.severity,
        variables=variables)


def template_variables(alert: Alert, compressor: Compressor, site: Site, user: User,
                       link: str) -> dict[str, str]:
    """The values of provider templates (AlimTalk), in the recipient's language and
    time zone."""
    with in_language(user.language):
        severity = _(SEVERITY_LABELS.get(alert.severity, alert.severity)).upper()
        title, detail = shown(alert.title), shown(alert.detail)
    return {"severity": severity, "title": title, "compressor": compressor.name,
            "site": site.name, "detail": detail or "-",
            "time": local_text(alert.opened_at, user.timezone), "link": link}


def _record_outcome(app: Flask, msg: OutgoingMessage, attempt: int, now: dt.datetime,
                    error: DeliveryError | None, result: SendResult | None = None) -> bool:
    with session_scope(app) as session:
        row = session.get(NotificationDelivery, msg.delivery_id)
        alert = session.get(Alert, row.alert_id)
        user = session.get(User, row.user_id) if row.user_id else None
        who = user.email if user else "?"
        if error is None:
            result = result or SendResult()
            if _finish(session, msg.delivery_id, attempt, status="sent", sent_at=now,
                       last_error=None, next_attempt_at=None,
                       provider_ref=result.provider_ref[:200] or None,
                       provider_status=result.status[:300] or None):
                add_event(session, alert, "notified", now, f"{msg.channel} → {who}")
                return True
            return False
        if error.permanent or attempt >= MAX_ATTEMPTS:
            status = "disconnected" if error.disconnected else "failed"
            if _finish(session, msg.delivery_id, attempt, status=status,
                       last_error=error.detail[:2000], next_attempt_at=None):
                added = enqueue_fallback(app, session, row, user, now) if user else []
                then = f" → {', '.join(added)}" if added else ""
                add_event(session, alert, "notify_failed", now,
                          f"{msg.channel} → {who}: {error.detail[:300]}{then}")
            return False
        _finish(session, msg.delivery_id, attempt, status="pending",
                last_error=error.detail[:2000], next_attempt_at=now + backoff(attempt))
        return False


def deliver_one(app: Flask, delivery_id: int, now: dt.datetime) -> bool:
    """Claim, check, send and record one delivery; True when it was sent now."""
    with session_scope(app) as session:
        attempt = claim_delivery(session, delivery_id, now)
        if attempt is None:
            return False
        msg = _prepare(app, session, delivery_id, attempt, now)
    # The claim is committed before the provider is called: see the module docstring.
    if msg is None:
        return False
    try:
        result = SENDERS[msg.channel](app, msg)
    except DeliveryError as exc:
        log.warning("delivery %s (%s) failed: %s", delivery_id, msg.channel, exc.detail)
        return _record_outcome(app, msg, attempt, now, exc)
    return _record_outcome(app, msg, attempt, now, None, result)


def deliver_pending(app: Flask, now: dt.datetime) -> int:
    """Send every due notification; returns how many were sent. One failing channel or
    row is logged and left to its retry; it never stops the others."""
    with session_scope(app) as session:
        ids = due_delivery_ids(session, now)
    sent = 0
    for delivery_id in ids:
        try:
            sent += deliver_one(app, delivery_id, now)
        except Exception:
            log.exception("delivery %s crashed; it is retried after the sending timeout",
                          delivery_id)
    return sent
