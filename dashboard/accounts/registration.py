"""Registration: reading and checking the sign-up form, then creating the account and
either a new organisation (the person becomes its admin) or a request to join an
existing one (pending until an admin approves). The same company fields and consents
complete a Kakao-created account. No Flask views here: dashboard/accounts/web has them.

Sign-up must not tell a stranger whether an email has an account or an organisation
name is taken (issue 17), so founding an organisation is confirmed by email, as most
products do it: the form's answer is always "check your email". The account is stored
waiting for that confirmation (``pending``; login answers as for a wrong password), and

- the name is free: the organisation is created at once (first come, first served)
  with the person as its admin-to-be;
- the name is taken: the account has no organisation yet.

The emailed verification link proves the mailbox, ends the wait and logs the person
in: into their organisation or, on a name clash, to the organisation step
(/register/organisation), which tells the now verified owner of that mailbox that the
name is taken. An email that already has an account gets the same page, and its owner
a mail saying someone tried to sign up with it (dashboard/accounts/web/signup.py).
Names stay unique (``organization.name``): join requests and invitations name an
organisation by it, and a second "Hanbit" would make a join request ambiguous."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.signup_details import read_signup_details
from dashboard.accounts.users import (
    PHONE_RE,
    AccountError,
    normalize_email,
    password_problem,
    set_password,
    user_by_email,
)
from dashboard.core.i18n import N_, _, current_language
from dashboard.core.models import Organization, User, utcnow

INDUSTRIES = (
    ("cold_chain", N_("Cold chain & logistics")),
    ("food", N_("Food & beverage")),
    ("retail", N_("Retail")),
    ("manufacturing", N_("Manufacturing")),
    ("pharma", N_("Pharma & healthcare")),
    ("chemical", N_("Chemicals & energy")),
    ("facility", N_("Building & facilities")),
    ("other", N_("Other")),
)
COMPANY_SIZES = (
    ("1-9", "1–9"), ("10-49", "10–49"), ("50-249", "50–249"), ("250-999", "250–999"),
    ("1000+", "1,000+"),
)
MAX_DEVICES = 100_000
TEXT_LIMITS = {"name": 120, "phone": 40, "company": 200, "position": 120, "purpose": 500,
               "org_name": 200}


@dataclass
class RegistrationData:
    email: str = ""
    password: str = ""
    name: str = ""
    phone: str = ""
    company: str = ""
    position: str = ""
    industry: str = ""
    company_size: str = ""
    purpose: str = ""
    device_count: int | None = None
    notify_email: bool = True
    notify_sms: bool = False
    notify_kakao: bool = False
    accept_terms: bool = False
    accept_privacy: bool = False
    accept_marketing: bool = False
    # the older system's questions (dashboard/accounts/signup_details.py)
    company_email: str = ""
    address: str = ""
    purposes: list[str] = field(default_factory=list)
    budget: str = ""
    timeline: str = ""
    accept_newsletter: bool = False
    org_mode: str = "create"  # create / join
    org_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _checked(form: Mapping[str, str], key: str) -> bool:
    return (form.get(key) or "").lower() in {"1", "on", "true", "yes", "y"}


def read_registration(form: Mapping[str, Any], *, fixed_email: str | None = None,
                      with_password: bool = True,
                      with_organisation: bool = True) -> RegistrationData:
    """Every field read and checked; ``errors`` maps a field to a two-language message.
    ``fixed_email``: the address is already known (an invitation, a Kakao account) and
    the form's is ignored; ``with_password``: a password is chosen (not for Kakao);
    ``with_organisation``: the create-or-join choice is asked (not when an invitation
    decides it)."""
    text = {k: (form.get(k) or "").strip() for k in
            ("email", "name", "phone", "company", "position", "industry", "company_size",
             "purpose", "org_mode", "org_name", "device_count")}
    data = RegistrationData(
        name=text["name"], phone=text["phone"], company=text["company"],
        position=text["position"], industry=text["industry"],
        company_size=text["company_size"], purpose=text["purpose"],
        notify_email=_checked(form, "notify_email"), notify_sms=_checked(form, "notify_sms"),
        notify_kakao=_checked(form, "notify_kakao"),
        accept_terms=_checked(form, "accept_terms"),
        accept_privacy=_checked(form, "accept_privacy"),
        accept_marketing=_checked(form, "accept_marketing"),
        org_mode=text["org_mode"] or "create", org_name=text["org_name"],
    )
    err = data.errors
    details, detail_errors = read_signup_details(form)
    data.company_email, data.address = details.company_email, details.address
    data.purposes, data.budget, data.timeline = details.purposes, details.budget, details.timeline
    data.accept_newsletter = details.newsletter
    err.update(detail_errors)
    if fixed_email is not None:
        data.email = fixed_email
    else:
        try:
            data.email = normalize_email(text["email"])
        except AccountError as exc:
            data.email = text["email"][:254]
            err["email"] = exc.localized()
    if with_password:
        data.password = form.get("password") or ""
        problem = password_problem(data.password, data.email)
        if problem:
            err["password"] = problem.localized()
        elif data.password != (form.get("password_confirm") or ""):
            err["password_confirm"] = _("The passwords do not match.")
    for key, limit in TEXT_LIMITS.items():
        if len(getattr(data, key)) > limit:
            err[key] = _("At most %(limit)s characters.", limit=limit)
    if not data.name:
        err.setdefault("name", _("Please enter your name."))
    if not data.company:
        err.setdefault("company", _("Please enter your company."))
    if data.phone and not PHONE_RE.match(data.phone):
        err.setdefault("phone", _("The phone number looks wrong."))
    if data.notify_sms and not data.phone:
        err.setdefault("phone", _("SMS notifications need a phone number."))
    if data.industry not in dict(INDUSTRIES):
        err["industry"] = _("Please choose an industry.")
    if data.company_size not in dict(COMPANY_SIZES):
        err["company_size"] = _("Please choose the company size.")
    if text["device_count"]:
        try:
            data.device_count = int(text["device_count"])
        except ValueError:
            data.device_count = None
        if data.device_count is None or not 0 <= data.device_count <= MAX_DEVICES:
            err["device_count"] = _("A whole number from 0 to %(max)s.", max=MAX_DEVICES)
    if not data.accept_terms:
        err["accept_terms"] = _("Please accept the terms of service.")
    if not data.accept_privacy:
        err["accept_privacy"] = (_("Please accept the privacy policy."))
    if with_organisation:
        if data.org_mode not in ("create", "join"):
            err["org_mode"] = (_("Choose to create or join an organisation."))
        if not data.org_name:
            err.setdefault("org_name", _("Please enter the organisation's name."))
    return data


def apply_profile(user: User, data: RegistrationData) -> None:
    """Copy the company fields, preferences and consents (with their time) to the user."""
    now = utcnow()
    user.name = data.name
    user.phone = data.phone or None
    user.company = data.company
    user.position = data.position or None
    user.industry = data.industry
    user.company_size = data.company_size
    user.purpose = data.purpose or None
    user.device_count = data.device_count
    user.notify_email, user.notify_sms = data.notify_email, data.notify_sms
    user.notify_kakao = data.notify_kakao
    user.terms_accepted_at = user.terms_accepted_at or now
    user.privacy_accepted_at = user.privacy_accepted_at or now
    user.marketing_consent_at = now if data.accept_marketing else None
    user.company_email = data.company_email or None
    user.address = data.address or None
    user.purposes = ",".join(data.purposes) or None
    user.budget = data.budget or None
    user.timeline = data.timeline or None
    user.newsletter_consent_at = (user.newsletter_consent_at or now) \
        if data.accept_newsletter else None


def org_by_name(session: Session, name: str) -> Organization | None:
    return session.scalar(sa.select(Organization).where(
        sa.func.lower(Organization.name) == name.strip().lower()))


def new_account(session: Session, data: RegistrationData) -> User:
    """A user from the form's email and password, with the profile applied; no
    organisation yet. AccountError when the email already has an account."""
    if user_by_email(session, data.email) is not None:
        raise AccountError("An account with this email already exists: log in, or reset your "
                           "password.")
    # the language the person signed up in is the one their pages keep
    user = User(email=data.email, role="viewer", active=True, pending=False,
                language=current_language())
    set_password(user, data.password)
    user.session_version = 1
    apply_profile(user, data)
    session.add(user)
    return user


def place_in_organisation(session: Session, user: User, data: RegistrationData,
                          confirm_by_mail: bool = False) -> str:
    """Create the organisation (the user is its admin) or file a request to join one
    (pending). Returns "created" or "pending"; with ``confirm_by_mail`` (the sign-up
    form, see the module's docstring) "confirm" for every founder, whether the name was
    free or not, so that the caller's answer cannot depend on it."""
    if data.org_mode == "create":
        taken = org_by_name(session, data.org_name) is not None
        if taken and not confirm_by_mail:
            raise AccountError("An organisation with this name exists. Ask its admin for an "
                               "invitation, or choose to join it.")
        if taken:
            user.org_id, user.role, user.pending = None, "viewer", True
            session.flush()
            record_audit(session, user, "org.name_taken", data.org_name)
            return "confirm"
        org = Organization(name=data.org_name)
        session.add(org)
        session.flush()
        user.org_id, user.role, user.pending = org.id, "admin", confirm_by_mail
        session.flush()
        record_audit(session, user, "org.create", org.name)
        return "confirm" if confirm_by_mail else "created"
    org = org_by_name(session, data.org_name)
    if org is None:
        raise AccountError("No organisation has this name. Check the exact name with your admin, "
                           "or ask them for an invitation.")
    user.org_id, user.role, user.pending = org.id, "viewer", True
    session.flush()
    record_audit(session, user, "user.join_request", org.name)
    return "pending"


def confirm_sign_up(user: User) -> bool:
    """An emailed link was opened (verification or password reset): a founder's account
    is usable from now on. True when it was waiting for this."""
    if not user.awaits_sign_up_confirmation:
        return False
    user.pending = False
    return True
