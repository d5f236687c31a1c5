"""The platform operator: someone running SignalCraft for several customer
organisations. The role is configuration only (``SIGNALCRAFT_OPERATOR_EMAILS``): a
signed-in user whose email is listed is an operator; no screen, callback or API can
grant it. Operators suspend and reactivate organisations; a suspended organisation's
users are refused at login and on every request, its devices and API tokens on every
call, and nothing of it is deleted."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import current_user
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.core.events import publish
from dashboard.core.i18n import N_, UserMessageError
from dashboard.core.models import Organization, User, utcnow

# The pseudo-role guarded("operator") and page_guard("operator") ask for: above every
# organisation role, and not in ROLE_RANK, so no role change can reach it.
OPERATOR = "operator"
MAX_REASON = 500
SUSPENDED_MESSAGE = N_("Your organisation's access is suspended. "
                       "Contact your SignalCraft provider to restore it.")


def operator_emails() -> frozenset[str]:
    if not has_app_context():
        return frozenset()
    raw = current_app.config.get("OPERATOR_EMAILS") or ""
    return frozenset(e.strip().lower() for e in str(raw).split(",") if e.strip())


def is_operator(user: Any) -> bool:
    """A signed-in, active user whose email the configuration lists."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    return (getattr(user, "email", "") or "").strip().lower() in operator_emails()


def current_is_operator() -> bool:
    return is_operator(current_user)


def org_suspended(session: Session, org_id: int | None) -> bool:
    if org_id is None:
        return False
    return session.scalar(
        sa.select(Organization.suspended_at).where(Organization.id == org_id)) is not None


class OperatorError(UserMessageError):
    """A refused operator action, shown on the operator page."""


def _org(session: Session, org_id: int) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise OperatorError(N_("That organisation does not exist."))
    return org


def suspend_organization(session: Session, actor: User, org_id: int, reason: str) -> Organization:
    """Suspend ``org_id`` (the caller commits). Refused for a non-operator, for an
    empty reason, and for the operator's own organisation (no locking oneself out)."""
    if not is_operator(actor):
        raise OperatorError(N_("Only a platform operator can do this."))
    reason = (reason or "").strip()
    if not reason:
        raise OperatorError(N_("Give a reason for the suspension."))
    org = _org(session, org_id)
    if org.id == actor.org_id:
        raise OperatorError(N_("You cannot suspend your own organisation."))
    if org.suspended_at is not None:
        raise OperatorError(N_("%(name)s is already suspended."), name=org.name)
    org.suspended_at = utcnow()
    org.suspended_reason = reason[:MAX_REASON]
    _audit(session, actor, "org.suspend", org, {"reason": org.suspended_reason})
    # every process drops the organisation's devices from its token cache
    publish(session, "org_suspended", org.id)
    return org


def reactivate_organization(session: Session, actor: User, org_id: int) -> Organization:
    if not is_operator(actor):
        raise OperatorError(N_("Only a platform operator can do this."))
    org = _org(session, org_id)
    if org.suspended_at is None:
        raise OperatorError(N_("%(name)s is not suspended."), name=org.name)
    _audit(session, actor, "org.reactivate", org,
           {"suspended_at": org.suspended_at.isoformat(), "reason": org.suspended_reason})
    org.suspended_at = None
    org.suspended_reason = None
    return org


def _audit(session: Session, actor: User, action: str, org: Organization,
           detail: dict[str, Any]) -> None:
    # Two rows: the operator's (under the operator's organisation) and one the
    # suspended organisation's admins see in their own audit log.
    record_audit(session, actor, action, f"organization:{org.id} {org.name}",
                 {**detail, "operator": actor.email})
    if org.id != actor.org_id:
        entry = record_audit(session, actor, action, f"organization:{org.id} {org.name}",
                             {**detail, "operator": actor.email})
        entry.org_id = org.id
