"""The members of an organisation and each person's own account: listing, approval,
roles, disabling, removal, profile, password. Every admin operation takes the acting
user, checks the admin role and that the target belongs to the actor's organisation
(never an id from the browser on trust), writes an audit row, and flushes; the caller
commits. Errors are AccountError with an English and a Korean message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.auth import hash_password, verify_password
from dashboard.core.i18n import DEFAULT_TIME_ZONE, LANGUAGES, N_, UserMessageError, _
from dashboard.core.models import ROLES, Organization, User, utcnow

MIN_PASSWORD_LENGTH = 10
PROFILE_FIELD_LABELS = {"name": N_("Name"), "phone": N_("Phone"), "position": N_("Position"),
                        "timezone": N_("Time zone")}
MAX_PASSWORD_LENGTH = 256
PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{7,24}$")


class AccountError(UserMessageError):
    """A refusal a person should read (``localized()`` in their language)."""


def password_problem(password: str, email: str = "") -> AccountError | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return AccountError("The password needs at least %(MIN_PASSWORD_LENGTH)s characters.",
                                                           MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return AccountError("The password is too long.")
    if email and password.strip().lower() == email.strip().lower():
        return AccountError("The password must not be your email address.")
    return None


def member_status(user: User) -> str:
    if user.pending:
        return "pending"
    return "active" if user.active else "disabled"


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    email: str
    role: str
    status: str  # active / pending / disabled
    kakao: bool
    email_verified: bool
    last_login_at: Any
    created_at: Any
    # What a person waiting for approval told at sign-up (raw keys; empty otherwise)
    signup: dict[str, Any] = dataclass_field(default_factory=dict)


SIGNUP_FIELDS = ("company", "position", "industry", "company_size", "device_count", "phone",
                 "company_email", "address", "purposes", "budget", "timeline", "purpose",
                 "newsletter_consent_at", "marketing_consent_at")


def list_members(session: Session, org_id: int) -> list[Member]:
    users = session.scalars(
        sa.select(User).where(User.org_id == org_id)
        .order_by(User.pending.desc(), User.name, User.email)
    )
    return [Member(id=u.id, name=u.name or "", email=u.email, role=u.role,
                   status=member_status(u), kakao=bool(u.kakao_id),
                   email_verified=u.email_verified_at is not None,
                   last_login_at=u.last_login_at, created_at=u.created_at,
                   signup={k: getattr(u, k) for k in SIGNUP_FIELDS} if u.pending else {})
            for u in users]


def org_admins(session: Session, org_id: int) -> list[User]:
    """Active, approved admins: the ones who can act and be notified."""
    return list(session.scalars(sa.select(User).where(
        User.org_id == org_id, User.role == "admin", User.active.is_(True),
        User.pending.is_(False))))


def require_admin(actor: User) -> None:
    if actor is None or not actor.org_id or not actor.has_role("admin"):
        raise AccountError("Only an admin may do this.")


def _lock_organisation(session: Session, actor: User) -> None:
    """Serialise the admin operations of one organisation: the last-admin check and the
    change it allows run under the organisation row's lock, so two admins demoting (or
    removing) each other at once cannot both pass the check. The actor is read again
    under the lock: an admin demoted a moment ago acts no more."""
    if actor is None or not actor.org_id:
        return
    session.execute(sa.select(Organization.id).where(Organization.id == actor.org_id)
                    .with_for_update())
    session.refresh(actor)


def _member(session: Session, actor: User, user_id: Any) -> User:
    _lock_organisation(session, actor)
    require_admin(actor)
    try:
        target = session.get(User, int(user_id))
    except (TypeError, ValueError):
        target = None
    if target is None or target.org_id != actor.org_id:
        # The same answer for "no such user" and "another organisation's user".
        raise AccountError("No such user in your organisation.")
    return target


def _keeps_an_admin(session: Session, target: User) -> None:
    """Refuse when ``target`` is the organisation's last active admin."""
    if target.role != "admin" or not target.active or target.pending:
        return
    others = [u for u in org_admins(session, target.org_id) if u.id != target.id]
    if not others:
        raise AccountError("The organisation needs at least one admin: make someone else admin "
                           "first.")


def _end_sessions(user: User) -> None:
    user.session_version = (user.session_version or 1) + 1


def change_role(session: Session, actor: User, user_id: Any, role: str) -> User | None:
    """The target's new role; None when it already had it (nothing changed)."""
    target = _member(session, actor, user_id)
    if role not in ROLES:
        raise AccountError("Unknown role.")
    if target.role == role:  # e.g. the table's selects firing as they render
        return None
    if target.id == actor.id:  # another admin decides (issue 17)
        raise AccountError("You cannot change your own role.")
    if role != "admin":
        _keeps_an_admin(session, target)
    old = target.role
    target.role = role
    _end_sessions(target)  # the new role applies at once: the old session ends
    record_audit(session, actor, "user.role", target.email, {"from": old, "to": role})
    session.flush()
    return target


def approve_user(session: Session, actor: User, user_id: Any) -> User:
    target = _member(session, actor, user_id)
    if not target.pending:
        raise AccountError("This user is not waiting for approval.")
    target.pending = False
    target.active = True
    record_audit(session, actor, "user.approve", target.email, {"role": target.role})
    session.flush()
    return target


def set_active(session: Session, actor: User, user_id: Any, active: bool) -> User:
    target = _member(session, actor, user_id)
    if target.id == actor.id and not active:
        raise AccountError("You cannot disable your own account.")
    if bool(target.active) == bool(active):
        return target
    if not active:
        _keeps_an_admin(session, target)
    target.active = bool(active)
    _end_sessions(target)
    record_audit(session, actor, "user.enable" if active else "user.disable", target.email)
    session.flush()
    return target


def remove_user(session: Session, actor: User, user_id: Any) -> str:
    """Delete the account (a pending request is declined the same way); returns its
    email for the message. Records and alerts keep working: their user links go NULL."""
    target = _member(session, actor, user_id)
    if target.id == actor.id:
        raise AccountError("You cannot remove your own account.")
    _keeps_an_admin(session, target)
    email = target.email
    action = "user.decline" if target.pending else "user.remove"
    record_audit(session, actor, action, email, {"role": target.role})
    session.delete(target)
    session.flush()
    return email


# ------------------------------------------------------------------ one's own account
PROFILE_LIMITS = {"name": 120, "phone": 40, "position": 120, "timezone": 64}


def update_profile(session: Session, user: User, *, name: str, phone: str | None,
                   position: str | None, language: str, notify_email: bool,
                   notify_sms: bool, notify_kakao: bool, quiet_hours_start: Any,
                   quiet_hours_end: Any, timezone: str, notify_alimtalk: bool | None = None,
                   notify_push: bool | None = None) -> User:
    """Save one's own profile. ``notify_alimtalk`` / ``notify_push`` None: unchanged."""
    name = (name or "").strip()
    phone = (phone or "").strip() or None
    position = (position or "").strip() or None
    timezone = (timezone or "").strip() or DEFAULT_TIME_ZONE
    if not name:
        raise AccountError("Please enter your name.")
    for field, value in (("name", name), ("phone", phone), ("position", position),
                         ("timezone", timezone)):
        if value and len(value) > PROFILE_LIMITS[field]:
            raise AccountError("%(field)s: too long.", field=_(PROFILE_FIELD_LABELS[field]))
    if phone and not PHONE_RE.match(phone):
        raise AccountError("The phone number looks wrong.")
    if notify_sms and not phone:
        raise AccountError("SMS notifications need a phone number.")
    if notify_alimtalk and not phone:
        raise AccountError("AlimTalk notifications need a phone number.")
    if language not in LANGUAGES:
        raise AccountError("Unknown language.")
    if not valid_timezone(timezone):
        raise AccountError("Unknown time zone.")
    start, end = quiet_hour(quiet_hours_start), quiet_hour(quiet_hours_end)
    if (start is None) != (end is None):
        raise AccountError("Give both the start and the end of quiet hours, or neither.")
    user.name, user.phone, user.position = name, phone, position
    user.language, user.timezone = language, timezone
    user.notify_email, user.notify_sms = bool(notify_email), bool(notify_sms)
    user.notify_kakao = bool(notify_kakao)
    if notify_alimtalk is not None:
        user.notify_alimtalk = bool(notify_alimtalk)
    if notify_push is not None:
        user.notify_push = bool(notify_push)
    user.quiet_hours_start, user.quiet_hours_end = start, end
    session.flush()
    return user


def quiet_hour(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        hour = int(value)
    except (TypeError, ValueError):
        hour = -1
    if not 0 <= hour <= 23:
        raise AccountError("Quiet hours are whole hours from 0 to 23.")
    return hour


def valid_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def change_password(session: Session, user: User, current: str, new: str,
                    confirm: str) -> User:
    """A user with a password must give it; a Kakao-only user sets a first one. Other
    sessions end (session_version); the caller logs the current one in again."""
    if user.password_hash and not verify_password(user.password_hash, current or ""):
        raise AccountError("The current password is wrong.")
    problem = password_problem(new or "", user.email)
    if problem:
        raise problem
    if new != confirm:
        raise AccountError("The new passwords do not match.")
    set_password(user, new)
    record_audit(session, user, "user.password_change", user.email)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    _end_sessions(user)


def mark_email_verified(user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()


EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def normalize_email(email: str | None) -> str:
    """The address lower-cased and trimmed; AccountError when it is not one."""
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise AccountError("Please enter a valid email address.")
    return email


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))
