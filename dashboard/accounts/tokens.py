"""Single-use, expiring tokens mailed to people: password reset, email verification
(UserToken) and invitations (Invitation). Only a SHA-256 hash is stored: the tokens
carry 256 random bits, so a fast hash is enough and a database leak reveals no link."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.models import User, UserToken, utcnow

PURPOSES = {"reset": dt.timedelta(hours=1), "verify": dt.timedelta(days=2)}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """(token for the link, hash for the database)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def issue_user_token(session: Session, user: User, purpose: str) -> str:
    """A fresh token for ``purpose``; earlier unused ones of the same purpose stop
    working, so only the newest mailed link is valid."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    now = utcnow()
    session.execute(
        sa.update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == purpose,
               UserToken.used_at.is_(None))
        .values(used_at=now)
    )
    token, digest = new_secret()
    session.add(UserToken(user_id=user.id, purpose=purpose, token_hash=digest,
                          created_at=now, expires_at=now + PURPOSES[purpose]))
    session.flush()
    return token


def peek_user_token(session: Session, token: str, purpose: str) -> UserToken | None:
    """The live token row (not used, not expired) without using it up."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(sa.select(UserToken).where(UserToken.token_hash == hash_token(token),
                                                    UserToken.purpose == purpose))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def consume_user_token(session: Session, token: str, purpose: str) -> User | None:
    """The token's user, marking the token used; None when unknown, used or expired.
    The UPDATE ... WHERE used_at IS NULL makes two simultaneous uses impossible."""
    row = peek_user_token(session, token, purpose)
    if row is None:
        return None
    claimed = session.execute(
        sa.update(UserToken)
        .where(UserToken.id == row.id, UserToken.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        return None
    return session.get(User, row.user_id)
