"""Web Push to every browser the user subscribed (RFC 8030 push services, RFC 8291
aes128gcm encryption to the browser's keys, RFC 8292 VAPID), through pywebpush.

The payload is JSON the service worker (dashboard/app/pwa/sw.js) shows as a
notification; a click opens ``url``, the alert's page::

    {"title": "WARNING: Pump noise — Comp A2", "body": "Plant 1 / Comp A2 ...",
     "url": "https://.../alerts?alert=12", "tag": "alert-12", "severity": "warning",
     "lang": "ko"}

A push service answering 404 or 410 says the browser unsubscribed: that browser is
forgotten. The delivery is sent when at least one browser took it."""

from __future__ import annotations

import json

import requests
import sqlalchemy as sa
from flask import Flask
from pywebpush import WebPushException, webpush

from dashboard.alerts.channel_base import (
    HTTP_TIMEOUT_S,
    DeliveryError,
    OutgoingMessage,
    SendResult,
    transient_status,
)
from dashboard.alerts.webpush import vapid_subject
from dashboard.core.database import session_scope
from dashboard.core.models import PushSubscription, utcnow

BODY_LIMIT = 240
TTL_SECONDS = 24 * 3600  # the push service keeps it this long for a phone that is off


def push_payload(msg: OutgoingMessage) -> dict:
    body = msg.body or msg.text
    return {"title": msg.title or msg.subject, "lang": msg.language,
            "body": body if len(body) <= BODY_LIMIT else body[:BODY_LIMIT - 1] + "…",
            "url": msg.link, "tag": msg.dedupe_key.split(":round:")[0].replace(":", "-"),
            "severity": msg.severity}


def send_webpush(app: Flask, msg: OutgoingMessage) -> SendResult:
    with session_scope(app) as session:
        browsers = [(s.id, s.endpoint, s.p256dh, s.auth) for s in session.scalars(
            sa.select(PushSubscription).where(PushSubscription.user_id == msg.user_id)
            .order_by(PushSubscription.id))]
    if not browsers:
        raise DeliveryError("no browser is subscribed to notifications", disconnected=True)
    data = json.dumps(push_payload(msg), ensure_ascii=False)
    urgency = "high" if msg.severity == "critical" else "normal"
    ok: list[int] = []
    gone: list[int] = []
    errors: dict[int, tuple[str, bool]] = {}  # id -> (detail, worth retrying)
    for sub_id, endpoint, p256dh, auth in browsers:
        try:
            webpush({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                    data=data, vapid_private_key=app.config["VAPID_PRIVATE_KEY"],
                    vapid_claims={"sub": vapid_subject(app)}, ttl=TTL_SECONDS,
                    headers={"Urgency": urgency}, timeout=HTTP_TIMEOUT_S)
            ok.append(sub_id)
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (404, 410):
                gone.append(sub_id)
            else:
                errors[sub_id] = (f"push service answered {status or exc.message[:80]}",
                                  status == 0 or transient_status(status))
        except requests.RequestException as exc:
            errors[sub_id] = (f"push service unreachable: {exc.__class__.__name__}", True)
    now = utcnow()
    with session_scope(app) as session:
        if ok:
            session.execute(sa.update(PushSubscription).where(PushSubscription.id.in_(ok))
                            .values(last_success_at=now, last_error=None))
        for sub_id, (detail, _retry) in errors.items():
            session.execute(sa.update(PushSubscription).where(PushSubscription.id == sub_id)
                            .values(last_error=detail[:300]))
        if gone:
            session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    if ok:
        return SendResult(str(len(ok)), f"{len(ok)} of {len(browsers)} browsers")
    if not errors:
        raise DeliveryError("every subscribed browser has unsubscribed", disconnected=True)
    detail = "; ".join(d for d, _r in errors.values())
    raise DeliveryError(detail, permanent=not any(r for _d, r in errors.values()))
