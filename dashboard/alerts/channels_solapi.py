"""SMS/LMS and Kakao AlimTalk through SOLAPI (solapi.com), with its Python SDK.

Both go to ``POST {SOLAPI_API_URL}/messages/v4/send-many/detail`` signed with
``Authorization: HMAC-SHA256 apiKey=..., date=..., salt=..., signature=...`` where the
signature is HMAC-SHA256(API secret, date + salt) in hex (the SDK signs; the server
refuses a date more than 15 minutes off and a signature used twice).

- **sms**: plain text from ``SOLAPI_SENDER``; SOLAPI picks SMS (90 bytes) or LMS.
- **alimtalk**: type ATA with the Kakao channel ``SOLAPI_KAKAO_PFID``, the template of
  the alert's kind in the recipient's language (alimtalk_templates.py; ids from
  ``SOLAPI_ALIMTALK_TEMPLATES``) and its variables. ``disableSms`` stays false, so a
  phone without KakaoTalk (or one that blocked the channel) gets the same text as
  SMS/LMS from ``SOLAPI_SENDER``: SOLAPI does the fallback.

The SDK fixes its base URL in ``SolapiMessageService.__init__`` as the public attribute
``base_url``; we set that attribute from ``SOLAPI_API_URL`` (tests point it at a local
fake). SOLAPI has no idempotency key, so a sender that dies between SOLAPI accepting and
our "sent" commit may, in that window only, send one message twice."""

from __future__ import annotations

import datetime as dt
import logging
import re

import httpx
import sqlalchemy as sa
from flask import Flask
from pydantic import ValidationError
from solapi import SolapiMessageService
from solapi.error.MessageNotReceiveError import MessageNotReceivedError
from solapi.model import KakaoOption, RequestMessage, SendRequestConfig
from solapi.model.request.messages.get_messages import GetMessagesRequest

from dashboard.alerts.alimtalk_templates import VARIABLE_LIMIT, choose_template, parse_template_ids
from dashboard.alerts.channel_base import DeliveryError, OutgoingMessage, SendResult
from dashboard.core.database import session_scope
from dashboard.core.models import NotificationDelivery

log = logging.getLogger("signalcraft.alerts.solapi")

SMS_TEXT_LIMIT = 900  # LMS carries 2,000 bytes: about 1,000 Hangul characters
# Authentication answers that a later try can pass (a new salt, a corrected clock,
# SOLAPI's own trouble); every other 4xx is a refusal retrying cannot fix.
TRANSIENT_ERROR_CODES = {"RequestTimeTooSkewed", "DuplicatedSignature", "TooManyRequests",
                         "UnknownError", "InternalError"}
# Per-message refusals worth another try: SOLAPI's server error.
TRANSIENT_STATUS_CODES = {"1024", "2024"}


def solapi_problem(app: Flask, alimtalk: bool = False) -> str | None:
    cfg = app.config
    if not (cfg.get("SOLAPI_API_KEY") and cfg.get("SOLAPI_API_SECRET")
            and cfg.get("SOLAPI_SENDER")):
        return "SOLAPI_API_KEY, SOLAPI_API_SECRET and SOLAPI_SENDER must all be set"
    if not alimtalk:
        return None
    if not cfg.get("SOLAPI_KAKAO_PFID"):
        return "SOLAPI_KAKAO_PFID (the Kakao channel's profile id) is not set"
    try:
        ids = parse_template_ids(cfg.get("SOLAPI_ALIMTALK_TEMPLATES", ""))
    except ValueError as exc:
        return str(exc)
    if not ids:
        return "SOLAPI_ALIMTALK_TEMPLATES names no AlimTalk template"
    return None


def korean_number(phone: str) -> str:
    """``+82 10-1234-5678`` / ``010-1234-5678`` -> ``01012345678``; DeliveryError for
    anything else (SOLAPI sends abroad too, but our senders are Korean numbers)."""
    digits = re.sub(r"[^0-9+]", "", phone or "")
    if digits.startswith("+82"):
        digits = "0" + digits[3:].lstrip("0")
    if not re.fullmatch(r"0[0-9]{8,10}", digits):
        raise DeliveryError(f"{phone!r} is not a Korean phone number", permanent=True)
    return digits


def _service(app: Flask) -> SolapiMessageService:
    cfg = app.config
    service = SolapiMessageService(cfg["SOLAPI_API_KEY"], cfg["SOLAPI_API_SECRET"])
    service.base_url = cfg["SOLAPI_API_URL"].rstrip("/")
    return service


def _send(app: Flask, message: RequestMessage) -> SendResult:
    try:
        response = _service(app).send(message, SendRequestConfig(show_message_list=True))
    except MessageNotReceivedError as exc:
        failed = exc.failed_messages[0] if exc.failed_messages else None
        code = failed.status_code if failed else "?"
        reason = failed.status_message if failed else "refused"
        raise DeliveryError(f"SOLAPI refused the message: {code} {reason}",
                            permanent=code not in TRANSIENT_STATUS_CODES) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"SOLAPI unreachable: {exc.__class__.__name__}") from exc
    except ValidationError as exc:
        raise DeliveryError(f"SOLAPI's answer was not understood: {exc.error_count()} "
                            f"errors") from exc
    except Exception as exc:  # the SDK raises a bare Exception(errorCode, errorMessage)
        code, *rest = [*exc.args, ""] if exc.args else ["UnknownError", ""]
        raise DeliveryError(f"SOLAPI answered {code}: {str(rest[0])[:200]}",
                            permanent=str(code) not in TRANSIENT_ERROR_CODES) from exc
    group = response.group_info
    [item, *_] = response.message_list or [None]
    if item is None:
        return SendResult(group.group_id, f"accepted ({group.status})")
    return SendResult(item.message_id,
                      f"{item.status_code} {item.status_message} (group {group.group_id})")


def send_solapi_sms(app: Flask, msg: OutgoingMessage) -> SendResult:
    cfg = app.config
    message = RequestMessage(
        to=korean_number(msg.to), from_=korean_number(cfg["SOLAPI_SENDER"]),
        text=f"{msg.text[:SMS_TEXT_LIMIT - len(msg.link) - 1]}\n{msg.link}", country="82",
        custom_fields={"delivery": msg.dedupe_key[:100]})
    return _send(app, message)


def send_alimtalk(app: Flask, msg: OutgoingMessage) -> SendResult:
    cfg = app.config
    ids = parse_template_ids(cfg.get("SOLAPI_ALIMTALK_TEMPLATES", ""))
    chosen = choose_template(ids, msg.template, msg.language)
    if chosen is None:
        raise DeliveryError(f"no AlimTalk template for {msg.template!r} in {msg.language!r} "
                            f"(SOLAPI_ALIMTALK_TEMPLATES)", permanent=True)
    template_id, _text = chosen
    variables = {name: (value or "-")[:VARIABLE_LIMIT] for name, value in msg.variables.items()}
    message = RequestMessage(
        to=korean_number(msg.to), from_=korean_number(cfg["SOLAPI_SENDER"]), type="ATA",
        country="82", custom_fields={"delivery": msg.dedupe_key[:100]},
        kakao_options=KakaoOption(pf_id=cfg["SOLAPI_KAKAO_PFID"], template_id=template_id,
                                  variables=variables, disable_sms=False))
    return _send(app, message)


# ---------------------------------------------------------------- delivery reports
# What a message's final status code says (SOLAPI's message-status-codes); 2000/3000
# mean "still on its way".
PENDING_CODES = ("2000", "3000")
REPORT_WINDOW = dt.timedelta(hours=72)


def describe_report(status_code: str, sent_type: str | None, channel: str) -> str:
    if status_code == "4000":
        text = "4000 received"
    elif status_code.startswith("3"):
        text = f"{status_code} not delivered by the carrier or Kakao"
    else:
        text = f"{status_code} pending"
    if channel == "alimtalk" and sent_type and sent_type != "ATA":
        text += f" (as {sent_type}: no KakaoTalk, SOLAPI sent the text instead)"
    return text


def refresh_solapi_reports(app: Flask, now: dt.datetime, limit: int = 50) -> int:
    """Ask SOLAPI how the messages it accepted in the last 72 hours ended (received,
    refused by the carrier, AlimTalk replaced by SMS) and write it into the rows'
    ``provider_status``; returns how many rows changed. A row stays "sent": SOLAPI
    took it, and the report only tells the rest of the story."""
    if solapi_problem(app):
        return 0
    with session_scope(app) as session:
        rows = [(r.id, r.channel, r.provider_ref) for r in session.scalars(
            sa.select(NotificationDelivery).where(
                NotificationDelivery.channel.in_(("sms", "alimtalk")),
                NotificationDelivery.status == "sent",
                NotificationDelivery.provider_ref.is_not(None),
                NotificationDelivery.sent_at > now - REPORT_WINDOW,
                sa.or_(*[NotificationDelivery.provider_status.startswith(code)
                         for code in PENDING_CODES]))
            .order_by(NotificationDelivery.sent_at).limit(limit))]
    if not rows:
        return 0
    service = _service(app)
    changed = 0
    for row_id, channel, message_id in rows:
        try:
            found = service.get_messages(GetMessagesRequest(message_id=message_id))
        except Exception as exc:  # the SDK raises a bare Exception; try again next round
            log.warning("SOLAPI report for %s failed: %s", message_id, exc)
            continue
        message = found.message_list.get(message_id)
        if message is None or not message.status_code or message.status_code in PENDING_CODES:
            continue
        sent_type = getattr(message.type, "value", message.type)
        with session_scope(app) as session:
            session.execute(sa.update(NotificationDelivery)
                            .where(NotificationDelivery.id == row_id)
                            .values(provider_status=describe_report(
                                message.status_code, sent_type, channel)[:300]))
        changed += 1
    return changed
