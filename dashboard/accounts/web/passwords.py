"""Password reset by an emailed single-use link, and email verification."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from dashboard.accounts.audit import client_ip, record_audit
from dashboard.accounts.auth import ONBOARDING_PATH
from dashboard.accounts.mail import send_password_reset
from dashboard.accounts.registration import confirm_sign_up
from dashboard.accounts.security import allow
from dashboard.accounts.tokens import (
    PURPOSES,
    consume_user_token,
    issue_user_token,
    peek_user_token,
)
from dashboard.accounts.users import (
    AccountError,
    mark_email_verified,
    normalize_email,
    password_problem,
    set_password,
    user_by_email,
)
from dashboard.accounts.web.pages import message_page
from dashboard.accounts.web.signup import start_session
from dashboard.core.database import db_session
from dashboard.core.i18n import N_, _
from dashboard.core.mailer import MailError, public_url
from dashboard.core.models import User

log = logging.getLogger("signalcraft.accounts")
bp = Blueprint("passwords", __name__)
SENT = N_("If an account exists for this email, we sent a link to choose a new password. It "
          "works once, for %(minutes)s minutes.")


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Any:
    if request.method == "GET":
        return render_template("forgot_password.html", email="")
    raw = (request.form.get("email") or "").strip().lower()[:254]
    if not allow_reset(raw):
        flash(_("Too many requests. Please try again later."), "danger")
        return render_template("forgot_password.html", email=raw), 429
    minutes = int(PURPOSES["reset"].total_seconds() // 60)
    db = db_session()
    try:
        user = user_by_email(db, normalize_email(raw))
    except AccountError:
        user = None
    if user is not None and user.active:
        token = issue_user_token(db, user, "reset")
        record_audit(db, user, "password.reset_request", user.email)
        db.commit()
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            send_password_reset(app, user.email, public_url(app, f"/reset-password/{token}"),
                                minutes)
        except MailError as exc:
            # Same answer either way: the page must not tell who has an account.
            log.error("password reset mail to %s failed: %s", user.email, exc)
    return message_page(_("Check your email"),
                        [_(SENT, minutes=minutes)])


def allow_reset(email: str) -> bool:
    return allow("RESET_RATE_LIMIT", client_ip() or "-", email or "-")


def _invalid_link() -> Any:
    return message_page(_("Link not valid"),
                        [_("This link is invalid, expired or already used. "
                           "Ask for a new one.")], 404,
                        [(_("Send a new link"), url_for("passwords.forgot_password"))])


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    db = db_session()
    row = peek_user_token(db, token, "reset")
    if row is None:
        return _invalid_link()
    user = db.get(User, row.user_id)
    if request.method == "GET":
        return render_template("reset_password.html", email=user.email, errors={})
    password = request.form.get("password") or ""
    errors: dict[str, str] = {}
    problem = password_problem(password, user.email)
    if problem:
        errors["password"] = problem.localized()
    elif password != (request.form.get("password_confirm") or ""):
        errors["password_confirm"] = _("The passwords do not match.")
    if errors:
        return render_template("reset_password.html", email=user.email, errors=errors), 400
    user = consume_user_token(db, token, "reset")
    if user is None:  # used by a parallel request a moment ago
        return _invalid_link()
    set_password(user, password)  # also ends every session of the account
    mark_email_verified(user)  # the link reached this mailbox
    confirm_sign_up(user)  # a founder whose verification mail went missing
    record_audit(db, user, "password.reset", user.email)
    db.commit()
    flash(_("Your password was changed. Log in with the new one."), "success")
    return redirect(url_for("auth.login"))


@bp.get("/verify-email/<token>")
def verify_email(token: str) -> Any:
    db = db_session()
    user = consume_user_token(db, token, "verify")
    if user is None:
        return message_page(_("Link not valid"),
                            [_("This verification link is invalid, expired or already used. Send "
                               "a new one from Settings.")], 404)
    mark_email_verified(user)
    founder = confirm_sign_up(user)
    record_audit(db, user, "user.email_verified", user.email)
    db.commit()
    if founder:
        start_session(user, "sign_up_link")
        if user.org_id is None:
            # Told only now, to the owner of the mailbox (registration.py says why).
            flash(_("An organisation with the name you chose already exists. Choose another "
                    "name, or ask to join that organisation."), "warning")
            return redirect(ONBOARDING_PATH)
        flash(_("Your email is verified and your organisation is ready. Welcome!"), "success")
        return redirect("/")
    return message_page(_("Email verified"),
                        [_("%(email)s is verified. Thank you!", email=user.email)],
                        links=[(_("Open SignalCraft"), "/")])
