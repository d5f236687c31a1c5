"""Sign-up views: /register (email and password), /register/organisation (the step a
new Kakao account completes) and /invite/<token> (an invitation's registration)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from dashboard.accounts.audit import client_ip, record_audit
from dashboard.accounts.auth import hash_password
from dashboard.accounts.invitations import accept_invitation, find_invitation
from dashboard.accounts.mail import (
    mail_verification,
    notify_join_request,
    send_registration_refused,
)
from dashboard.accounts.registration import (
    RegistrationData,
    apply_profile,
    new_account,
    org_by_name,
    place_in_organisation,
    read_registration,
)
from dashboard.accounts.security import allow
from dashboard.accounts.users import AccountError, user_by_email
from dashboard.accounts.web.pages import message_page, registration_page
from dashboard.core.database import db_session
from dashboard.core.i18n import N_, _
from dashboard.core.mailer import MailError
from dashboard.core.models import ROLE_LABELS, Organization, User, utcnow

log = logging.getLogger("signalcraft.accounts")
bp = Blueprint("accounts", __name__)

TAKEN = N_("This email or organisation name was just taken; please check and try again.")
THROTTLED = N_("Too many sign-ups from your network. Please try again later.")
CONFIRM_TEXT = N_("We sent a link to your email address. Open it to confirm the address and "
                  "continue; until then the account cannot be used. No email? Look in the "
                  "spam folder, or sign up again.")
PENDING_TEXT = N_("Your request was sent to the organisation's admins. You can log in once one "
                  "of them approves it; we also sent you an email to verify your address.")


def _commit(data: RegistrationData, work: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``work`` and commit. A refusal, or a name taken by someone faster, becomes the
    form's error and writes nothing. Returns (committed, what ``work`` returned)."""
    db = db_session()
    try:
        result = work()
        db.commit()
    except AccountError as exc:
        db.rollback()
        data.errors["form"] = exc.localized()
        return False, None
    except IntegrityError:
        db.rollback()
        data.errors["form"] = _(TAKEN)
        return False, None
    return True, result


def _after_commit_mail(user: User, *, verify: bool, join_request: bool) -> None:
    """Mail after the account is stored: a mail failure never loses a registration.
    (Not told on the page: a taken address gets the same page whatever its mail did;
    signing up again mails again.)"""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db = db_session()
    if verify and user.email_verified_at is None:
        try:
            mail_verification(app, db, user)
            db.commit()
        except MailError as exc:
            db.rollback()
            log.warning("verification mail to %s failed: %s", user.email, exc)
    if join_request:
        notify_join_request(app, db, user)


def start_session(user: User, method: str) -> None:
    """Log ``user`` in (a fresh session), note the login and commit."""
    flask_session.clear()  # nothing planted before login survives into it (fixation)
    login_user(user)
    user.last_login_at = utcnow()
    record_audit(db_session(), user, "login.success", user.email, {"method": method})
    db_session().commit()


def _signed_up(data: RegistrationData) -> Any:
    """The one answer of a sign-up, by what was asked (create or join), never by what
    exists: a founder is asked to open the emailed link, a join request waits."""
    if data.org_mode == "create":
        return message_page(_("Check your email"), [_(CONFIRM_TEXT)], 202)
    return message_page(_("Request sent"), [_(PENDING_TEXT)], 202)


def _refusal_told_by_mail(data: RegistrationData) -> Any:
    """A taken email, or a join request for an organisation that does not exist, gets
    the same page as a real sign-up; the reason goes to the address by mail, so the form
    cannot be used to find out who has an account or which companies are customers. A
    taken organisation name is not refused here: see dashboard/accounts/registration.py."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if user_by_email(db_session(), data.email) is not None:
        reason = "email_taken"
        hash_password(data.password)  # as long as a real sign-up takes
    elif data.org_mode != "create" and org_by_name(db_session(), data.org_name) is None:
        reason = "unknown_org"
    else:
        return None
    try:
        send_registration_refused(app, data.email, reason, data.org_name)
    except MailError as exc:
        log.warning("sign-up notice to %s failed: %s", data.email, exc)
    return _signed_up(data)


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect("/")
    heading, submit = _("Create account"), _("Sign up")
    if request.method == "GET":
        return registration_page(RegistrationData(), mode="register", heading=heading,
                                 submit_label=submit)
    if not allow("REGISTER_RATE_LIMIT", client_ip() or "-"):
        data = read_registration(request.form)
        data.errors["form"] = _(THROTTLED)
        return registration_page(data, mode="register", heading=heading, submit_label=submit,
                                 status=429)
    data = read_registration(request.form)
    if data.ok:
        refused = _refusal_told_by_mail(data)
        if refused is not None:
            return refused

        def work() -> tuple[User, str]:
            user = new_account(db_session(), data)
            return user, place_in_organisation(db_session(), user, data, confirm_by_mail=True)

        committed, result = _commit(data, work)
        if committed:
            user, outcome = result
            _after_commit_mail(user, verify=True, join_request=outcome == "pending")
            return _signed_up(data)
    return registration_page(data, mode="register", heading=heading, submit_label=submit,
                             status=400)


@bp.route("/register/organisation", methods=["GET", "POST"])
def onboarding() -> Any:
    """The organisation step of an account that has none yet (new Kakao accounts)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next="/register/organisation"))
    if current_user.org_id is not None:
        return redirect("/")
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    heading, submit = _("Complete your registration"), _("Continue")
    if request.method == "GET":
        data = RegistrationData(email=user.email, name=user.name or "",
                                notify_kakao=bool(user.kakao_id))
        return registration_page(data, mode="onboarding", heading=heading, submit_label=submit,
                                 email_fixed=True, with_password=False)
    data = read_registration(request.form, fixed_email=user.email, with_password=False)
    if data.ok:
        def work() -> str:
            apply_profile(user, data)
            return place_in_organisation(db_session(), user, data)

        committed, outcome = _commit(data, work)
        if committed:
            if outcome == "pending":
                notify_join_request(current_app._get_current_object(), db_session(), user)  # type: ignore[attr-defined]
                logout_user()
                return message_page(_("Request sent"), [_(PENDING_TEXT)], 202)
            return redirect("/")
    return registration_page(data, mode="onboarding", heading=heading, submit_label=submit,
                             email_fixed=True, with_password=False, status=400)


def _invalid_invitation() -> Any:
    return message_page(_("Invitation not valid"),
                        [_("This invitation link is invalid, expired or already used. Ask your "
                           "admin to invite you again.")], 404)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    db = db_session()
    inv = find_invitation(db, token)
    if inv is None:
        return _invalid_invitation()
    org = db.get(Organization, inv.org_id)
    context = {"org_name": org.name, "role": inv.role,
               "role_label": _(ROLE_LABELS.get(inv.role, inv.role))}
    here = url_for("accounts.invitation", token=token)
    existing = user_by_email(db, inv.email)
    signed_in: User | None = (current_user._get_current_object()  # type: ignore[attr-defined]
                              if current_user.is_authenticated else None)
    if signed_in is not None and signed_in.email != inv.email:
        return message_page(_("Another account is logged in"),
                            [_("This invitation is for %(email)s; you are logged in as "
                               "%(me)s. Log out, then open the link again.",
                               email=inv.email, me=signed_in.email)], 409,
                            [(_("Log out"), url_for("auth.logout"))])
    if existing is not None and existing.org_id is not None:
        return message_page(_("Already registered"),
                            [_("An account with this email already belongs to an "
                               "organisation.")], 409,
                            [(_("Log in"), url_for("auth.login"))])
    if existing is not None and signed_in is None:
        # An account without organisation (e.g. created with Kakao): it must log in first.
        return message_page(_("Log in to accept"),
                            [_("%(email)s already has an account. Log in, then this "
                               "invitation to %(org)s completes.", email=inv.email,
                               org=org.name)], 200,
                            [(_("Log in"), url_for("auth.login", next=here)),
                             (_("Log in with Kakao"),
                              url_for("kakao.login", next=here))])
    heading, submit = _("Accept invitation"), _("Join")
    new_user = existing is None
    page = dict(mode="invite", heading=heading, submit_label=submit, email_fixed=True,
                with_password=new_user, with_organisation=False, invitation=context)
    if request.method == "GET":
        data = RegistrationData(email=inv.email,
                                name=signed_in.name if signed_in else "",
                                company=org.name)
        return registration_page(data, **page)
    if new_user and not allow("REGISTER_RATE_LIMIT", client_ip() or "-"):
        data = read_registration(request.form, fixed_email=inv.email, with_password=new_user,
                                 with_organisation=False)
        data.errors["form"] = _(THROTTLED)
        return registration_page(data, status=429, **page)
    data = read_registration(request.form, fixed_email=inv.email, with_password=new_user,
                             with_organisation=False)
    if data.ok:
        def work() -> User:
            if new_user:
                user = new_account(db, data)
                db.flush()
            else:
                user = signed_in  # type: ignore[assignment]
                apply_profile(user, data)
            accept_invitation(db, inv, user)
            return user

        committed, user = _commit(data, work)
        if committed:
            if new_user:
                start_session(user, "invitation")
            flash(_("Welcome to %(org)s!", org=org.name), "success")
            return redirect("/")
    return registration_page(data, status=400, **page)
