"""The notification channels and where each reaches a user.

| kind | how | module |
| --- | --- | --- |
| ``email`` | SMTP | here |
| ``sms`` | SOLAPI SMS/LMS, or the generic SMS webhook | channels_solapi.py, here |
| ``alimtalk`` | Kakao AlimTalk through SOLAPI, SMS fallback by SOLAPI | channels_solapi.py |
| ``kakao`` | Kakao Talk "send to me" with the user's own token | channels_kakao.py |
| ``webpush`` | Web Push to the user's subscribed browsers | channels_webpush.py |

Each sender takes one rendered message for one recipient (channel_base.OutgoingMessage)
and returns a SendResult or raises DeliveryError. ``CHANNELS`` registers them with
what the server needs (``problem``) and where a user is reached (``address``).

The SMS webhook is our own small contract for an in-house relay (docs/alerts.md)::

    POST {SMS_WEBHOOK_URL}/v1/messages
    Authorization: Bearer {SMS_WEBHOOK_KEY}
    Idempotency-Key: {dedupe key of the delivery}
    {"to": "+821012345678", "from": SMS_WEBHOOK_SENDER, "text": "..."}
    -> 202 {"id": "...", "status": "queued"}   (200 with the same body for a replay)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests
from flask import Flask

from dashboard.alerts.channel_base import (
    HTTP_TIMEOUT_S,
    DeliveryError,
    OutgoingMessage,
    SendResult,
    transient_status,
)
from dashboard.alerts.channels_kakao import kakao_template, send_kakao_message
from dashboard.alerts.channels_solapi import send_alimtalk, send_solapi_sms, solapi_problem
from dashboard.alerts.channels_webpush import send_webpush
from dashboard.alerts.webpush import vapid_problem
from dashboard.core.mailer import MailError, send_email
from dashboard.core.models import User

SMS_TEXT_LIMIT = 300

__all__ = ["CHANNELS", "SENDERS", "DeliveryError", "OutgoingMessage", "SendResult",
           "channel_problem", "kakao_template", "sms_provider"]


def send_email_message(app: Flask, msg: OutgoingMessage) -> SendResult:
    try:
        send_email(app, msg.to, msg.subject, f"{msg.text}\n\n{msg.link}\n")
    except MailError as exc:
        # A refused recipient will be refused again; a connection problem may pass.
        permanent = "Recipient" in type(exc.__cause__).__name__
        raise DeliveryError(str(exc), permanent=permanent) from exc
    return SendResult("smtp", "accepted by the SMTP server")


def sms_provider(app: Flask) -> str:
    """"solapi" or "webhook" (SMS_PROVIDER; unset: SOLAPI when its key is set, else the
    webhook when its URL is set), or "" when no SMS provider is configured."""
    chosen = (app.config.get("SMS_PROVIDER") or "").strip().lower()
    if chosen in ("solapi", "webhook"):
        return chosen
    if app.config.get("SOLAPI_API_KEY"):
        return "solapi"
    return "webhook" if app.config.get("SMS_WEBHOOK_URL") else ""


def _sms_problem(app: Flask) -> str | None:
    cfg = app.config
    provider = sms_provider(app)
    if provider == "solapi":
        return solapi_problem(app)
    if provider == "webhook":
        if not (cfg.get("SMS_WEBHOOK_URL") and cfg.get("SMS_WEBHOOK_KEY")
                and cfg.get("SMS_WEBHOOK_SENDER")):
            return "SMS_WEBHOOK_URL, SMS_WEBHOOK_KEY and SMS_WEBHOOK_SENDER must all be set"
        return None
    return "no SMS provider: set SOLAPI_API_KEY (SOLAPI) or SMS_WEBHOOK_URL (webhook)"


def send_sms_webhook(app: Flask, msg: OutgoingMessage) -> SendResult:
    cfg = app.config
    url = cfg["SMS_WEBHOOK_URL"].rstrip("/") + "/v1/messages"
    try:
        resp = requests.post(
            url,
            json={"to": msg.to, "from": cfg["SMS_WEBHOOK_SENDER"],
                  "text": msg.text[:SMS_TEXT_LIMIT]},
            headers={"Authorization": f"Bearer {cfg['SMS_WEBHOOK_KEY']}",
                     "Idempotency-Key": msg.dedupe_key},
            timeout=HTTP_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"SMS webhook unreachable: {exc.__class__.__name__}") from exc
    if resp.status_code in (200, 201, 202):
        try:
            body = resp.json()
        except ValueError:
            body = {}
        return SendResult(str(body.get("id", "")), str(body.get("status", resp.status_code)))
    raise DeliveryError(f"SMS webhook answered {resp.status_code}: {resp.text[:200]}",
                        permanent=not transient_status(resp.status_code))


def send_sms_message(app: Flask, msg: OutgoingMessage) -> SendResult:
    if sms_provider(app) == "solapi":
        return send_solapi_sms(app, msg)
    return send_sms_webhook(app, msg)


def _kakao_problem(app: Flask) -> str | None:
    return None if app.config.get("KAKAO_API_URL") else "KAKAO_API_URL is not set"


def _email_problem(app: Flask) -> str | None:
    return None if app.config.get("SMTP_HOST") else "SMTP_HOST is not set"


@dataclass(frozen=True)
class Channel:
    kind: str
    send: Callable[[Flask, OutgoingMessage], SendResult]
    problem: Callable[[Flask], str | None]  # why the server cannot use it, or None
    # Where the user is reached ("" when the channel looks it up itself), None when
    # the user did not ask for this channel or cannot be reached on it.
    address: Callable[[User], str | None]


def _phone(wanted: Callable[[User], bool]) -> Callable[[User], str | None]:
    return lambda user: user.phone if wanted(user) and user.phone else None


CHANNELS: dict[str, Channel] = {c.kind: c for c in (
    Channel("email", send_email_message, _email_problem,
            lambda u: u.email if u.notify_email and u.email else None),
    Channel("alimtalk", send_alimtalk, lambda app: solapi_problem(app, alimtalk=True),
            _phone(lambda u: bool(u.notify_alimtalk))),
    Channel("sms", send_sms_message, _sms_problem, _phone(lambda u: bool(u.notify_sms))),
    Channel("kakao", send_kakao_message, _kakao_problem,
            lambda u: "" if (u.notify_kakao and u.kakao_access_token
                             and u.kakao_disconnected_at is None) else None),
    Channel("webpush", send_webpush, vapid_problem, lambda u: "" if u.notify_push else None),
)}

SENDERS: dict[str, Callable[[Flask, OutgoingMessage], SendResult]] = {
    kind: channel.send for kind, channel in CHANNELS.items()}


def channel_problem(app: Flask, kind: str) -> str | None:
    """Why the server cannot use this channel at all (global settings), or None."""
    channel = CHANNELS.get(kind)
    return channel.problem(app) if channel else f"unknown channel {kind!r}"
