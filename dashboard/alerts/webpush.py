"""Browsers that asked for Web Push: saving a browser's PushSubscription, listing and
removing a user's browsers, and the VAPID keys. Each function acts on one user's own
rows only; the callbacks commit."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from flask import Flask
from py_vapid import Vapid
from sqlalchemy.orm import Session

from dashboard.alerts.errors import AlertsInputError
from dashboard.core.models import PushSubscription, User, utcnow

MAX_BROWSERS_PER_USER = 10
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_vapid_keys() -> tuple[str, str]:
    """(public key, private key), base64url: the uncompressed P-256 point browsers take
    as applicationServerKey, and the raw 32-byte private value py_vapid reads."""
    vapid = Vapid()
    vapid.generate_keys()
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return b64url_encode(public), b64url_encode(private)


def vapid_problem(app: Flask) -> str | None:
    cfg = app.config
    if not (cfg.get("VAPID_PUBLIC_KEY") and cfg.get("VAPID_PRIVATE_KEY")):
        return "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set (flask webpush-keys)"
    try:
        vapid = Vapid.from_string(cfg["VAPID_PRIVATE_KEY"])
        public = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    except Exception:  # py_vapid raises assorted errors for a malformed key
        return "VAPID_PRIVATE_KEY is not a P-256 private key"
    if b64url_encode(public) != cfg["VAPID_PUBLIC_KEY"].strip().rstrip("="):
        return "VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY"
    return None


def vapid_subject(app: Flask) -> str:
    """The contact push services may use (RFC 8292 ``sub``): VAPID_SUBJECT, else the
    address in SMTP_FROM."""
    subject = app.config.get("VAPID_SUBJECT") or ""
    if subject:
        return subject
    sender = app.config.get("SMTP_FROM") or "noreply@signalcraft.local"
    address = sender.split("<")[-1].rstrip(">").strip()
    return f"mailto:{address}"


def browser_label(user_agent: str | None) -> str:
    """A short name for the list of browsers: "Chrome · Android", "Safari · iPhone"."""
    ua = user_agent or ""
    system = next((name for token, name in (
        ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
        ("Mac OS X", "macOS"), ("Linux", "Linux")) if token in ua), "")
    browser = next((name for token, name in (
        ("SamsungBrowser", "Samsung Internet"), ("Whale", "Whale"), ("Edg/", "Edge"),
        ("Firefox", "Firefox"), ("Chrome", "Chrome"), ("Safari", "Safari")) if token in ua),
        "Browser")
    return f"{browser} · {system}" if system else browser


def _check_endpoint(endpoint: object, allow_loopback_http: bool) -> str:
    if not isinstance(endpoint, str) or not 10 <= len(endpoint) <= 1000:
        raise AlertsInputError("This browser sent no push address.")
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return endpoint
    if allow_loopback_http and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return endpoint
    raise AlertsInputError("This browser's push address is not an https URL.")


def _check_key(value: object, length: int) -> str:
    try:
        raw = b64url_decode(value) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise AlertsInputError("This browser sent malformed push keys.")
    return value  # type: ignore[return-value]


def save_subscription(session: Session, user: User, data: Any, user_agent: str | None,
                      allow_loopback_http: bool = False) -> PushSubscription:
    """Store the browser's ``PushSubscription.toJSON()`` for ``user``. The same browser
    again refreshes its keys; a browser another account subscribed before now belongs
    to this one (whoever is logged in on it). Keeps the newest 10 per user."""
    if not isinstance(data, dict):
        raise AlertsInputError("This browser sent no push subscription.")
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    endpoint = _check_endpoint(data.get("endpoint"), allow_loopback_http)
    p256dh = _check_key(keys.get("p256dh"), 65)
    auth = _check_key(keys.get("auth"), 16)
    row = session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(endpoint=endpoint, created_at=utcnow())
        session.add(row)
    row.user_id, row.p256dh, row.auth = user.id, p256dh, auth
    row.label = browser_label(user_agent)[:120]
    row.last_error = None
    session.flush()
    surplus = list(session.scalars(
        sa.select(PushSubscription).where(PushSubscription.user_id == user.id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        .offset(MAX_BROWSERS_PER_USER)))
    for old in surplus:
        session.delete(old)
    return row


@dataclass(frozen=True)
class BrowserView:
    id: int
    label: str
    created_at: dt.datetime
    last_success_at: dt.datetime | None
    last_error: str | None
    endpoint: str


def list_browsers(session: Session, user_id: int) -> list[BrowserView]:
    rows = session.scalars(sa.select(PushSubscription)
                           .where(PushSubscription.user_id == user_id)
                           .order_by(PushSubscription.created_at, PushSubscription.id))
    return [BrowserView(r.id, r.label, r.created_at, r.last_success_at, r.last_error,
                        r.endpoint) for r in rows]


def remove_browser(session: Session, user: User, subscription_id: object = None,
                   endpoint: str | None = None) -> bool:
    """Forget one of ``user``'s browsers, by id or by endpoint; False if not theirs."""
    query = sa.delete(PushSubscription).where(PushSubscription.user_id == user.id)
    if endpoint:
        query = query.where(PushSubscription.endpoint == endpoint)
    else:
        try:
            query = query.where(PushSubscription.id == int(subscription_id))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return session.execute(query.execution_options(synchronize_session=False)).rowcount > 0


def has_browsers(session: Session, user_id: int) -> bool:
    return session.scalar(sa.select(sa.func.count(PushSubscription.id))
                          .where(PushSubscription.user_id == user_id)) > 0
