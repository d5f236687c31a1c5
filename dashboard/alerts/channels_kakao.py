"""Kakao Talk "send to me" messages (developers.kakao.com, Kakao Talk Message REST API),
with the user's own OAuth token, renewed when it is about to expire or Kakao says it
has (-401), once per message::

    POST {KAKAO_API_URL}/v2/api/talk/memo/default/send
    Authorization: Bearer {user's OAuth access token}
    form field template_object = {"object_type": "text", "text": ..., "link": {...},
                                  "button_title": ...}
    -> 200 {"result_code": 0}; errors 4xx/5xx {"msg": ..., "code": -401, ...}

When Kakao refuses the refresh token (expired, revoked, app unlinked) the user is
marked disconnected: the delivery ends "disconnected" and falls back to the user's
other channels, and settings ask the user to connect Kakao again. Tokens live in real
time, so their expiry is judged by the wall clock, not the delivery's ``now``."""

from __future__ import annotations

import datetime as dt
import json

import requests
import sqlalchemy as sa
from flask import Flask

from dashboard.accounts.kakao import KakaoTokenError, mark_kakao_disconnected, refresh_kakao_tokens
from dashboard.alerts.channel_base import (
    HTTP_TIMEOUT_S,
    DeliveryError,
    OutgoingMessage,
    SendResult,
    transient_status,
)
from dashboard.core.database import session_scope
from dashboard.core.models import User, utcnow

KAKAO_TEXT_LIMIT = 200  # Kakao's text template shows at most 200 characters
# Kakao error codes worth another try: internal error, maintenance, quota exceeded.
KAKAO_TRANSIENT_CODES = {-1, -7, -10}
# Renew a token this long before Kakao says it expires.
REFRESH_MARGIN = dt.timedelta(minutes=10)
RELINK = "the user must link Kakao again"


def kakao_template(msg: OutgoingMessage) -> dict:
    text = msg.text if len(msg.text) <= KAKAO_TEXT_LIMIT else msg.text[:KAKAO_TEXT_LIMIT - 1] + "…"
    return {"object_type": "text", "text": text,
            "link": {"web_url": msg.link, "mobile_web_url": msg.link},
            "button_title": msg.button_title}


def _access_token(app: Flask, user_id: int | None, force_refresh: bool) -> str:
    """The user's access token, renewed first when it expires soon (or ``force_refresh``).
    The user row is locked while renewing, so two senders do not both renew it."""
    with session_scope(app) as session:
        user = session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
        if user is None:
            raise DeliveryError("recipient no longer exists", permanent=True)
        if user.kakao_disconnected_at is not None:
            raise DeliveryError(f"Kakao is disconnected ({user.kakao_disconnect_reason}) — "
                                f"{RELINK}", disconnected=True)
        expires = user.kakao_token_expires_at
        due = expires is not None and expires - REFRESH_MARGIN <= utcnow()
        if user.kakao_access_token and not (force_refresh or due):
            return user.kakao_access_token
        try:
            refresh_kakao_tokens(app, user)
        except KakaoTokenError as exc:
            if not exc.revoked:
                if user.kakao_access_token and not force_refresh:
                    return user.kakao_access_token  # not expired yet: try it anyway
                raise DeliveryError(exc.detail) from exc
            mark_kakao_disconnected(session, user, exc.detail, utcnow())
            session.commit()
            raise DeliveryError(f"Kakao is disconnected ({exc.detail}) — {RELINK}",
                                disconnected=True) from exc
        return user.kakao_access_token or ""


def _post(app: Flask, msg: OutgoingMessage, token: str) -> tuple[int, dict, str]:
    url = app.config["KAKAO_API_URL"].rstrip("/") + "/v2/api/talk/memo/default/send"
    try:
        resp = requests.post(
            url,
            data={"template_object": json.dumps(kakao_template(msg), ensure_ascii=False)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"Kakao API unreachable: {exc.__class__.__name__}") from exc
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return resp.status_code, body if isinstance(body, dict) else {}, resp.text[:200]


def send_kakao_message(app: Flask, msg: OutgoingMessage) -> SendResult:
    status, body, text = _post(app, msg, _access_token(app, msg.user_id, False))
    if status == 401 or body.get("code") == -401:
        # Expired or revoked early: renew once and try again.
        first = f"Kakao answered {status} (code {body.get('code')}): {body.get('msg', text)}"
        try:
            token = _access_token(app, msg.user_id, True)
        except DeliveryError as exc:
            raise DeliveryError(f"{first}; {exc.detail}", permanent=exc.permanent,
                                disconnected=exc.disconnected) from exc
        status, body, text = _post(app, msg, token)
    if status == 200 and body.get("result_code") == 0:
        return SendResult("kakao", "result_code 0")
    code = body.get("code")
    detail = f"Kakao answered {status} (code {code}): {body.get('msg', text)}"
    if status == 401 or code == -401:
        # A brand-new token refused: Kakao no longer lets us message this user.
        with session_scope(app) as session:
            user = session.get(User, msg.user_id)
            if user is not None:
                mark_kakao_disconnected(session, user, detail, utcnow())
        raise DeliveryError(f"{detail} — {RELINK}", disconnected=True)
    transient = transient_status(status) or code in KAKAO_TRANSIENT_CODES
    raise DeliveryError(detail, permanent=not transient)
