"""Device tokens: shown once, stored as a SHA-256 hash with a lookup prefix.

Tokens carry 256 random bits, so a fast hash is safe here (a slow password hash would
only cap ingest throughput); the comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm import Session

from dashboard.core.models import Compressor, DeviceCredential, utcnow

TOKEN_PREFIX = "sc"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """Returns (token, prefix, hash)."""
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, _hash(token)


def issue_token(session: Session, compressor: Compressor) -> str:
    """A new token for the device; older ones stay valid until revoked (rotation
    issues a new one and revokes the rest)."""
    token, prefix, digest = new_token()
    session.add(DeviceCredential(compressor_id=compressor.id, token_prefix=prefix,
                                 token_hash=digest))
    return token


def rotate_token(session: Session, compressor: Compressor) -> str:
    revoke_tokens(session, compressor)
    return issue_token(session, compressor)


def revoke_tokens(session: Session, compressor: Compressor) -> int:
    result = session.execute(
        sa.update(DeviceCredential)
        .where(DeviceCredential.compressor_id == compressor.id,
               DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def verify_token(session: Session, token: str) -> DeviceCredential | None:
    """The live credential the token names, or None (unknown, malformed or revoked)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 200:
        return None
    # The compressor comes in the same round trip: every device call needs it.
    cred = session.scalar(
        sa.select(DeviceCredential).options(so.joinedload(DeviceCredential.compressor))
        .where(DeviceCredential.token_prefix == parts[1])
    )
    if cred is None or cred.revoked_at is not None:
        return None
    if not hmac.compare_digest(cred.token_hash, _hash(token)):
        return None
    return cred
