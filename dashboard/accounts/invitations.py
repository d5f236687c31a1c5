"""Invitations: an admin invites an email address with a role; the emailed link
carries a single-use token (only its hash is stored) valid for a week. Accepting it
creates the account in the organisation, approved: the admin's invitation is the
approval (docs/accounts.md says why)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.mail import send_invitation
from dashboard.accounts.tokens import hash_token, new_secret
from dashboard.accounts.users import (
    AccountError,
    mark_email_verified,
    normalize_email,
    require_admin,
)
from dashboard.core.mailer import MailError, public_url
from dashboard.core.models import ROLES, Invitation, Organization, User, utcnow

INVITATION_TTL = dt.timedelta(days=7)


@dataclass(frozen=True)
class SentInvitation:
    email: str
    link: str
    emailed: bool  # False when mail is not configured: the admin passes the link on


def invite(session: Session, app: Flask, actor: User, email: str, role: str) -> SentInvitation:
    require_admin(actor)
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError("Unknown role.")
    member = session.scalar(sa.select(User).where(User.email == email,
                                                  User.org_id == actor.org_id))
    if member is not None:
        raise AccountError("This person is already a member of your organisation.")
    # A new invitation replaces any open one for the same address.
    session.execute(sa.delete(Invitation).where(Invitation.org_id == actor.org_id,
                                                Invitation.email == email,
                                                Invitation.accepted_at.is_(None)))
    token, digest = new_secret()
    now = utcnow()
    session.add(Invitation(org_id=actor.org_id, email=email, role=role, token_hash=digest,
                           invited_by_id=actor.id, created_at=now,
                           expires_at=now + INVITATION_TTL))
    record_audit(session, actor, "user.invite", email, {"role": role})
    session.flush()
    org = session.get(Organization, actor.org_id)
    link = public_url(app, f"/invite/{token}")
    try:
        emailed = send_invitation(app, email, org.name, actor.name or actor.email, role, link,
                                  INVITATION_TTL.days)
    except MailError as exc:
        raise AccountError("The invitation email could not be sent (%(exc)s).", exc=exc) from exc
    return SentInvitation(email=email, link=link, emailed=emailed)


def find_invitation(session: Session, token: str) -> Invitation | None:
    """The open invitation the token names: not accepted, not expired."""
    if not token or len(token) > 200:
        return None
    inv = session.scalar(sa.select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if inv is None or inv.accepted_at is not None or inv.expires_at <= utcnow():
        return None
    return inv


def accept_invitation(session: Session, invitation: Invitation, user: User) -> User:
    """Put ``user`` (new, or an account without an organisation) into the invitation's
    organisation with its role. The conditional UPDATE makes the link single-use even
    when two requests race."""
    if user.email != invitation.email:
        raise AccountError("This invitation is for another email address.")
    if user.org_id is not None and user.org_id != invitation.org_id:
        raise AccountError("This account already belongs to another organisation.")
    claimed = session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise AccountError("This invitation was already used.")
    user.org_id = invitation.org_id
    user.role = invitation.role
    user.pending = False
    user.active = True
    mark_email_verified(user)  # the link arrived in this mailbox
    session.flush()
    record_audit(session, user, "invitation.accept", user.email, {"role": invitation.role})
    return user


def open_invitations(session: Session, org_id: int) -> list[dict[str, Any]]:
    now = utcnow()
    rows = session.execute(
        sa.select(Invitation, User.email)
        .outerjoin(User, User.id == Invitation.invited_by_id)
        .where(Invitation.org_id == org_id, Invitation.accepted_at.is_(None),
               Invitation.expires_at > now)
        .order_by(Invitation.created_at.desc())
    ).all()
    return [{"id": inv.id, "email": inv.email, "role": inv.role, "invited_by": by or "—",
             "expires_at": inv.expires_at} for inv, by in rows]


def revoke_invitation(session: Session, actor: User, invitation_id: Any) -> str:
    require_admin(actor)
    try:
        inv = session.get(Invitation, int(invitation_id))
    except (TypeError, ValueError):
        inv = None
    if inv is None or inv.org_id != actor.org_id or inv.accepted_at is not None:
        raise AccountError("No such open invitation.")
    email = inv.email
    session.delete(inv)
    record_audit(session, actor, "user.invite_revoke", email)
    session.flush()
    return email
