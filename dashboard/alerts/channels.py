"""The outside channels: email (SMTP), SMS (an HTTP gateway) and Kakao Talk "send to
me" messages. Each sender takes a ready message and either returns a provider id or
raises DeliveryError, saying whether trying again could help.

SMS gateway contract (docs/alerts.md has the whole of it)::

    POST {SMS_API_URL}/v1/messages
    Authorization: Bearer {SMS_API_KEY}
    Idempotency-Key: {dedupe key of the delivery}
    {"to": "+821012345678", "from": SMS_SENDER, "text": "..."}
    -> 202 {"id": "...", "status": "queued"}   (200 with the same body for a replay)

Kakao (developers.kakao.com, Kakao Talk Message REST API, "send to me")::

    POST {KAKAO_API_URL}/v2/api/talk/memo/default/send
    Authorization: Bearer {user's OAuth access token}
    form field template_object = {"object_type": "text", "text": ..., "link": {...},
                                  "button_title": ...}
    -> 200 {"result_code": 0}; errors 4xx/5xx {"msg": ..., "code": -401, ...}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import requests
from flask import Flask

from dashboard.core.mailer import MailError, send_email

HTTP_TIMEOUT_S = 10
KAKAO_TEXT_LIMIT = 200  # Kakao's text template shows at most 200 characters
SMS_TEXT_LIMIT = 300
# Kakao error codes worth another try: internal error, maintenance, quota exceeded.
KAKAO_TRANSIENT_CODES = {-1, -7, -10}


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    dedupe_key: str
    channel: str
    to: str  # email address, phone number, or Kakao access token
    subject: str
    text: str
    link: str
    button_title: str


class DeliveryError(Exception):
    def __init__(self, detail: str, permanent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent


def channel_problem(app: Flask, kind: str) -> str | None:
    """Why the server cannot use this channel at all (global settings), or None."""
    cfg = app.config
    if kind == "email" and not cfg.get("SMTP_HOST"):
        return "SMTP_HOST is not set"
    if kind == "sms" and not (cfg.get("SMS_API_URL") and cfg.get("SMS_API_KEY")
                              and cfg.get("SMS_SENDER")):
        return "SMS_API_URL, SMS_API_KEY and SMS_SENDER must all be set"
    if kind == "kakao" and not cfg.get("KAKAO_API_URL"):
        return "KAKAO_API_URL is not set"
    return None


def send_email_message(app: Flask, msg: OutgoingMessage) -> str:
    try:
        send_email(app, msg.to, msg.subject, f"{msg.text}\n\n{msg.link}\n")
    except MailError as exc:
        # A refused recipient will be refused again; a connection problem may pass.
        permanent = "Recipient" in type(exc.__cause__).__name__
        raise DeliveryError(str(exc), permanent=permanent) from exc
    return "smtp"


def _transient_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def send_sms_message(app: Flask, msg: OutgoingMessage) -> str:
    cfg = app.config
    url = cfg["SMS_API_URL"].rstrip("/") + "/v1/messages"
    try:
        resp = requests.post(
            url,
            json={"to": msg.to, "from": cfg["SMS_SENDER"], "text": msg.text[:SMS_TEXT_LIMIT]},
            headers={"Authorization": f"Bearer {cfg['SMS_API_KEY']}",
                     "Idempotency-Key": msg.dedupe_key},
            timeout=HTTP_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"SMS gateway unreachable: {exc.__class__.__name__}") from exc
    if resp.status_code in (200, 201, 202):
        try:
            return str(resp.json().get("id", ""))
        except ValueError:
            return ""
    raise DeliveryError(f"SMS gateway answered {resp.status_code}: {resp.text[:200]}",
                        permanent=not _transient_status(resp.status_code))


def kakao_template(msg: OutgoingMessage) -> dict:
    text = msg.text if len(msg.text) <= KAKAO_TEXT_LIMIT else msg.text[:KAKAO_TEXT_LIMIT - 1] + "…"
    return {"object_type": "text", "text": text,
            "link": {"web_url": msg.link, "mobile_web_url": msg.link},
            "button_title": msg.button_title}


def send_kakao_message(app: Flask, msg: OutgoingMessage) -> str:
    url = app.config["KAKAO_API_URL"].rstrip("/") + "/v2/api/talk/memo/default/send"
    try:
        resp = requests.post(
            url,
            data={"template_object": json.dumps(kakao_template(msg), ensure_ascii=False)},
            headers={"Authorization": f"Bearer {msg.to}"},
            timeout=HTTP_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"Kakao API unreachable: {exc.__class__.__name__}") from exc
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code == 200 and body.get("result_code") == 0:
        return "kakao"
    code = body.get("code")
    detail = f"Kakao answered {resp.status_code} (code {code}): {body.get('msg', resp.text[:200])}"
    if resp.status_code == 401 or code == -401:
        detail += " — the user must link Kakao again"
    transient = _transient_status(resp.status_code) or code in KAKAO_TRANSIENT_CODES
    raise DeliveryError(detail, permanent=not transient)


SENDERS: dict[str, Callable[[Flask, OutgoingMessage], str]] = {
    "email": send_email_message,
    "sms": send_sms_message,
    "kakao": send_kakao_message,
}
