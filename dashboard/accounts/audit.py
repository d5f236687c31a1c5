"""The audit log: who did what to whom, from where. Logins (success and failure) and
every admin action write one row; admins read their organisation's rows in Settings."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import Session

from dashboard.core.models import AuditLog, User


def client_ip() -> str | None:
    """The caller's address (ProxyFix has already applied X-Forwarded-For when the
    proxy is trusted; an untrusted header is never read)."""
    return request.remote_addr if has_request_context() else None


def record_audit(session: Session, user: User | None, action: str, target: str | None = None,
                 detail: dict[str, Any] | None = None, ip: str | None = None) -> AuditLog:
    """Add one audit row to ``session`` (the caller commits with its own change, so the
    action and its record land together). ``user`` is the actor; None when unknown."""
    entry = AuditLog(
        org_id=getattr(user, "org_id", None),
        user_id=getattr(user, "id", None),
        action=action[:60],
        target=(target or "")[:200] or None,
        detail=dict(detail or {}),
        ip=(ip if ip is not None else client_ip()),
    )
    session.add(entry)
    return entry


def recent_audit(session: Session, org_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The organisation's newest audit rows with the actor's email, newest first."""
    rows = session.execute(
        sa.select(AuditLog, User.email)
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.org_id == org_id)
        .order_by(AuditLog.ts.desc(), AuditLog.id.desc())
        .limit(limit)
    ).all()
    return [
        {"ts": entry.ts, "actor": email or "—", "action": entry.action,
         "target": entry.target or "", "detail": entry.detail or {}, "ip": entry.ip or ""}
        for entry, email in rows
    ]
