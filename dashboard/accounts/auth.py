"""Login, logout, password hashing, and the one gate in front of every request.

Flask's ``login_required`` does not cover Dash's own endpoints, so the gate lives in
``before_request``: anonymous page requests go to /login, anonymous callback and API
requests get 401 JSON; a signed-in user without an organisation yet (a new Kakao
account) is held at the registration step. Roles are checked per page (layout) and per
callback. Every login, good or bad, is audited; POST /login is rate limited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from dashboard.accounts.audit import client_ip, record_audit
from dashboard.accounts.operators import (
    OPERATOR,
    SUSPENDED_MESSAGE,
    current_is_operator,
    is_operator,
    org_suspended,
)
from dashboard.accounts.security import allow
from dashboard.core.database import db_session
from dashboard.core.i18n import _
from dashboard.core.models import ROLE_LABELS, ROLE_RANK, User, utcnow

login_manager = LoginManager()
csrf = CSRFProtect()
# argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet: 19 MiB, two
# passes, one lane): 26 ms of CPU per log-in here, against 178 ms for argon2-cffi's
# default (64 MiB, three passes, four lanes), which made a shift's log-ins a CPU storm on
# a 2-core host (200 log-ins = 36 CPU-seconds; bench/load.py). Hashes made with other
# parameters still verify (they carry their own) and are re-made at the next log-in.
HASH_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
_hasher = PasswordHasher(**HASH_PARAMETERS)
bp = Blueprint("auth", __name__)

# Paths anyone may fetch: static bundles carry no data; devices authenticate by token.
PUBLIC_PREFIXES = (
    "/login",
    "/healthz",
    "/readyz",
    "/metrics",
    "/vendor/",
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon.ico",
    "/favicon.ico",
    "/api/esp32/",
    # the read API: a personal API token on every call, checked by its blueprint
    "/api/v1/",
    "/auth/",
    "/register",
    "/forgot-password",
    "/reset-password/",
    "/verify-email/",
    "/invite/",
    # the installable app: manifest, service worker and its offline page
    "/manifest.webmanifest",
    "/sw.js",
    "/offline",
)
# Where a signed-in user without an organisation may still go.
ONBOARDING_PATH = "/register/organisation"
ONBOARDING_ALLOWED = ("/logout",)
# Dash's data endpoints and the JSON API answer 401 instead of redirecting.
JSON_PREFIXES = ("/_dash-", "/_reload-hash", "/api/")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> User | None:
    user = db_session().scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        _hasher.hash(password)  # same work as a real check: no timing oracle for emails
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)  # committed with the log-in
    return user


@login_manager.user_loader
def _load_user(user_key: str) -> User | None:
    try:
        user_id, version = (int(part) for part in user_key.split(":", 1))
    except ValueError:
        return None
    user = db_session().get(User, user_id)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


def _is_public(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in PUBLIC_PREFIXES)


def _gate() -> Any:
    path = request.path
    if _is_public(path):
        return None
    if not current_user.is_authenticated:
        if path.startswith(JSON_PREFIXES):
            return jsonify(error="unauthorized", detail="login required"), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.org_id is None and not path.startswith(ONBOARDING_ALLOWED):
        if path.startswith(JSON_PREFIXES):
            return jsonify(error="onboarding", detail="finish registration first"), 403
        return redirect(ONBOARDING_PATH)
    if (not path.startswith(ONBOARDING_ALLOWED) and org_suspended(db_session(), current_user.org_id)
            and not is_operator(current_user)):
        # checked on every request: a suspension stops sessions already open
        if path.startswith(JSON_PREFIXES):
            return jsonify(error="suspended", detail=_(SUSPENDED_MESSAGE)), 403
        return render_template("message.html", title=_("Access suspended"),
                               paragraphs=[_(SUSPENDED_MESSAGE)],
                               links=[(_("Log out"), "/logout")]), 403
    if request.method == "POST" and path.startswith("/_dash-update-component"):
        # Browsers cannot send a cross-site JSON POST without a CORS preflight,
        # so insisting on JSON is this endpoint's CSRF protection.
        if not request.is_json:
            return jsonify(error="bad_request", detail="JSON body required"), 400
    return None


def require_role(min_role: str) -> Callable:
    """For Flask views: 401 when anonymous, 403 when the role is too low."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return jsonify(error="unauthorized", detail="login required"), 401
            if not user_has_role(min_role):
                return jsonify(error="forbidden", detail=f"{min_role} role required"), 403
            return view(*args, **kwargs)

        return wrapped

    return decorator


def user_has_role(min_role: str) -> bool:
    if min_role == OPERATOR:
        return current_is_operator()
    return bool(
        current_user.is_authenticated
        and ROLE_RANK.get(current_user.role, -1) >= ROLE_RANK[min_role]
    )


def safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    # browsers read "/\\host" as "//host"; control characters are stripped before parsing
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"
    return target


_safe_next = safe_next  # the old private name


def _login_failed(email: str, reason: str, message: str, category: str, status: int,
                  user: User | None = None) -> Any:
    session = db_session()
    record_audit(session, user, "login.failure", email or None,
                 {"method": "password", "reason": reason})
    session.commit()
    flash(message, category)
    return render_template("login.html", email=email), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()[:254]
        password = request.form.get("password") or ""
        ip = client_ip() or "-"
        if not (allow("LOGIN_RATE_LIMIT", ip, email) and allow("LOGIN_IP_RATE_LIMIT", ip)):
            flash(_("Too many login attempts. Wait a minute and try again."), "danger")
            return render_template("login.html", email=email), 429, {"Retry-After": "60"}
        user = authenticate(email, password)
        if user is None:
            known = db_session().scalar(sa.select(User).where(User.email == email))
            return _login_failed(
                email, "bad_password" if known else "unknown_email",
                _("Wrong email or password."),
                "danger", 401, known)
        if user.awaits_sign_up_confirmation:
            # as for a wrong password: a sign-up's answer must not show whether the
            # address already had an account (dashboard/accounts/registration.py)
            return _login_failed(email, "unconfirmed", _("Wrong email or password."),
                                 "danger", 401, user)
        if user.pending:
            return _login_failed(
                email, "pending",
                _("Your account waits for an administrator's approval."),
                "warning", 403, user)
        if not user.active:
            return _login_failed(email, "disabled",
                                 _("This account is disabled."),
                                 "danger", 403, user)
        if org_suspended(db_session(), user.org_id) and not is_operator(user):
            return _login_failed(email, "suspended", _(SUSPENDED_MESSAGE),
                                 "danger", 403, user)
        # a fresh session: nothing planted before login survives into it (fixation)
        flask_session.clear()
        login_user(user, remember=bool(request.form.get("remember")))
        user.last_login_at = utcnow()
        record_audit(db_session(), user, "login.success", user.email, {"method": "password"})
        db_session().commit()
        if user.org_id is None:
            return redirect(ONBOARDING_PATH)
        return redirect(safe_next(request.args.get("next")))
    if current_user.is_authenticated:
        return redirect("/")
    return render_template("login.html", email="")


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    """POST ends the session on the server: the user's session_version moves on, so this
    cookie, a copy of it and the remember cookie all stop working. GET only asks (a
    link or a prefetch must not log anyone out)."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("logout.html")
    if current_user.is_authenticated:
        user = db_session().get(User, current_user.id)
        record_audit(db_session(), user, "logout", user.email)
        user.session_version = (user.session_version or 1) + 1
        db_session().commit()
    logout_user()
    flask_session.clear()
    return redirect(url_for("auth.login"))


def init_app(server: Flask) -> None:
    from dashboard.accounts import security

    security.init_app(server)  # the login view's rate limits live there
    login_manager.init_app(server)
    login_manager.login_view = "auth.login"
    server.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Dash's JSON endpoints and the device API are exempt from form CSRF tokens;
    # the gate above covers the former, bearer tokens the latter.
    server.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(server)
    server.config.setdefault("PERMANENT_SESSION_LIFETIME", dt.timedelta(hours=12))
    server.config.setdefault("REMEMBER_COOKIE_DURATION", dt.timedelta(days=14))
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=server.config.get("SESSION_COOKIE_SECURE", False),
    )
    server.register_blueprint(bp)

    @server.before_request
    def _csrf_and_gate() -> Any:
        if (request.method == "POST" and server.config.get("WTF_CSRF_ENABLED", True)
                and not request.path.startswith(("/_dash-", "/api/"))):
            csrf.protect()
        return _gate()

    @server.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        if request.path.startswith(JSON_PREFIXES):
            return jsonify(error="csrf", detail=exc.description), 400
        flash(_("The form expired; please try again."),
              "warning")
        if request.path.startswith("/login"):
            return render_template("login.html", email=""), 400
        return render_template("message.html", title=_("Form expired"),
                               back=request.full_path.rstrip("?")), 400


def page_guard(min_role: str) -> Callable:
    """For Dash page layouts: a page a user's role may not open shows a message
    instead of its content (the navbar hides the link too, but the server decides)."""

    def decorator(layout: Callable) -> Callable:
        @wraps(layout)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from dash import html

            if not user_has_role(min_role):
                if min_role == OPERATOR:
                    return html.Div([html.H1("403", className="h4"),
                                     html.P(_("This page is for platform operators."))],
                                    className="alert alert-warning", id="page-forbidden")
                return html.Div(
                    [html.H1("403", className="h4"),
                     html.P(_("This page needs the %(role)s role.",
                              role=_(ROLE_LABELS.get(min_role, min_role))))],
                    className="alert alert-warning", id="page-forbidden",
                )
            return layout(*args, **kwargs)

        return wrapped

    return decorator
