"""Personal API tokens for the read API: created and revoked by their owner in Settings,
shown once, stored as a SHA-256 hash with a lookup prefix (256 random bits: a fast hash
is safe), compared in constant time. A token acts as its user: their organisation and
their current role, only while the account is active and still in that organisation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.users import AccountError
from dashboard.core.models import ApiToken, User, utcnow

TOKEN_PREFIX = "scapi"
MAX_TOKENS_PER_USER = 20
NAME_MAX = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ApiTokenView:
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def create_api_token(session: Session, user: User, name: str) -> str:
    """A new token for ``user`` (returned once, never stored in clear)."""
    name = (name or "").strip()
    if not name:
        raise AccountError("Give the token a name, e.g. what will use it.")
    if len(name) > NAME_MAX:
        raise AccountError("At most %(limit)s characters.", limit=NAME_MAX)
    if user.org_id is None:
        raise AccountError("Only an admin may do this.")
    live = session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) or 0
    if live >= MAX_TOKENS_PER_USER:
        raise AccountError("At most %(limit)s API tokens; revoke one first.",
                           limit=MAX_TOKENS_PER_USER)
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(user_id=user.id, org_id=user.org_id, name=name, token_prefix=prefix,
                         token_hash=_hash(token)))
    session.flush()
    record_audit(session, user, "api_token.create", name)
    return token


def list_api_tokens(session: Session, user: User) -> list[ApiTokenView]:
    rows = session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id))
    return [ApiTokenView(id=r.id, name=r.name, prefix=r.token_prefix, created_at=r.created_at,
                         last_used_at=r.last_used_at) for r in rows]


def revoke_api_token(session: Session, user: User, token_id: object) -> str:
    """Revoke one of ``user``'s own tokens; returns its name. Someone else's token is
    "not found", never revoked."""
    try:
        ident = int(str(token_id))
    except ValueError as exc:
        raise AccountError("This token no longer exists.") from exc
    row = session.scalar(sa.select(ApiToken).where(
        ApiToken.id == ident, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    if row is None:
        raise AccountError("This token no longer exists.")
    row.revoked_at = utcnow()
    record_audit(session, user, "api_token.revoke", row.name)
    return row.name


def verify_api_token(session: Session, token: str) -> User | None:
    """The user a live token acts as, or None (unknown, malformed, revoked, or its
    user disabled, pending or moved out of the token's organisation)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 200:
        return None
    row = session.scalar(sa.select(ApiToken).options(so.joinedload(ApiToken.user))
                         .where(ApiToken.token_prefix == parts[1]))
    if row is None:
        _hash(token)  # the same work either way
        return None
    if not hmac.compare_digest(row.token_hash, _hash(token)):
        return None
    user = row.user
    if row.revoked_at is not None or not user.is_active or user.org_id != row.org_id:
        return None
    now = utcnow()
    # Kept to the minute: one UPDATE less on most calls.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= 60:
        row.last_used_at = now
        session.commit()
    return user
