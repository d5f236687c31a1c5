"""Device tokens: shown once, stored as a SHA-256 hash with a lookup prefix.

Tokens carry 256 random bits, so a fast hash is safe here (a slow password hash would
only cap ingest throughput); the comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm import Session

from dashboard.core.events import publish
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
    # Every process drops the device from its token cache when this commits.
    publish(session, "token_revoked", compressor.org_id, compressor=compressor.id)
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


# ------------------------------------------------------------------ the hot path's cache
@dataclass(frozen=True)
class DeviceIdentity:
    credential_id: int
    compressor_id: int
    org_id: int
    token_hash: str


_IDENTITY_SQL = sa.text(
    "SELECT c.id, c.compressor_id, comp.org_id, c.token_hash, c.revoked_at "
    "FROM device_credential c JOIN compressor comp ON comp.id = c.compressor_id "
    "WHERE c.token_prefix = :prefix")


class TokenCache:
    """Token -> device, kept in memory so a device call needs no lookup round trip.

    Safe because the readings function checks the credential again in the same
    statement that stores (a revoked token is refused at once, cached or not); a
    revocation also evicts the device's entries in every process through its
    ``token_revoked`` event, and entries expire after ``ttl`` seconds anyway."""

    def __init__(self, hub: Any | None = None, ttl: float = 300.0, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[DeviceIdentity, float]] = {}
        if hub is not None:
            hub.subscribe(self._on_event, weak=True)

    def _on_event(self, event: Any) -> None:
        if event.type == "token_revoked":
            self.evict(int(event.data.get("compressor", 0)))
        elif event.type == "org_suspended":
            self.evict_org(int(event.org_id or 0))
        elif event.type == "resync":
            self._entries = {}

    def evict(self, compressor_id: int) -> None:
        self._entries = {k: v for k, v in self._entries.items()
                         if v[0].compressor_id != compressor_id}

    def evict_org(self, org_id: int) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[0].org_id != org_id}

    def lookup(self, conn: sa.Connection, token: str) -> DeviceIdentity | None:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 200:
            return None
        digest = _hash(token)
        now = time.monotonic()
        hit = self._entries.get(parts[1])
        if hit is not None and hit[1] > now:
            ident = hit[0]
            return ident if hmac.compare_digest(ident.token_hash, digest) else None
        row = conn.execute(_IDENTITY_SQL, {"prefix": parts[1]}).one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.token_hash, digest):
            return None
        ident = DeviceIdentity(row.id, row.compressor_id, row.org_id, row.token_hash)
        if len(self._entries) >= self.size:
            self._entries = {}
        self._entries[parts[1]] = (ident, now + self.ttl)
        return ident
