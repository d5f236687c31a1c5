"""Log in with Kakao (OAuth 2.0 authorization code, through Authlib).

/auth/kakao/login sends the browser to Kakao's consent page with a random ``state``
kept in the Flask session; /auth/kakao/callback checks that state, exchanges the code
for tokens (client secret in the POST body: Kakao's client_secret_post), reads
/v2/user/me and finds the account: by Kakao id, else an existing account with the
same email when both Kakao and we have verified it, else a new account that then
completes registration (organisation create or join). A logged-in user who starts the
flow connects Kakao to their own account. The Kakao tokens are stored on the user for
sending Kakao messages; ``refresh_kakao_tokens`` renews them (Kakao's access tokens
live about 6 hours, refresh tokens about 2 months) and ``mark_kakao_disconnected``
records that Kakao no longer accepts them."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.auth import ONBOARDING_PATH, safe_next
from dashboard.accounts.operators import SUSPENDED_MESSAGE, is_operator, org_suspended
from dashboard.accounts.users import AccountError, user_by_email
from dashboard.core.database import db_session
from dashboard.core.i18n import _, current_language
from dashboard.core.models import User, utcnow

log = logging.getLogger("signalcraft.kakao")
bp = Blueprint("kakao", __name__, url_prefix="/auth/kakao")


@dataclass(frozen=True)
class KakaoProfile:
    kakao_id: str
    email: str | None
    email_verified: bool  # Kakao's is_email_verified and is_email_valid
    nickname: str

    @classmethod
    def from_user_me(cls, data: dict[str, Any]) -> KakaoProfile:
        """Read Kakao's /v2/user/me answer; ValueError when it has no user id."""
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise ValueError("Kakao's answer has no user id")
        account = data.get("kakao_account") or {}
        profile = account.get("profile") or {}
        email = (account.get("email") or "").strip().lower() or None
        return cls(
            kakao_id=str(data["id"]),
            email=email,
            email_verified=bool(email and account.get("is_email_verified")
                                and account.get("is_email_valid", True)),
            nickname=str(profile.get("nickname") or (data.get("properties") or {})
                         .get("nickname") or "")[:120],
        )


def store_tokens(user: User, token: dict[str, Any]) -> None:
    user.kakao_access_token = token.get("access_token")
    user.kakao_disconnected_at = None  # fresh tokens: Kakao messages work again
    user.kakao_disconnect_reason = None
    if token.get("refresh_token"):  # Kakao sends a new refresh token only sometimes
        user.kakao_refresh_token = token["refresh_token"]
    try:
        seconds = int(token.get("expires_in") or 0)
    except (TypeError, ValueError):
        seconds = 0
    user.kakao_token_expires_at = utcnow() + dt.timedelta(seconds=seconds) if seconds else None


class KakaoTokenError(Exception):
    """Kakao did not renew the tokens. ``revoked``: it refused the refresh token for
    good (expired, revoked, the user unlinked the app), so only a new login helps."""

    def __init__(self, detail: str, revoked: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.revoked = revoked


# Kakao's token endpoint answers these for a refresh token it will never accept again.
REVOKED_ERRORS = {"invalid_grant"}


def refresh_kakao_tokens(app: Flask, user: User) -> None:
    """Trade the user's refresh token for a new access token (and, in the refresh
    token's last month, a new refresh token) at Kakao's token endpoint, through
    Authlib, and store them on ``user`` (the caller commits). Raises KakaoTokenError."""
    if not user.kakao_refresh_token:
        raise KakaoTokenError("no Kakao refresh token is stored", revoked=True)
    cfg = app.config
    secret = cfg.get("KAKAO_CLIENT_SECRET") or None
    client = OAuth2Session(cfg.get("KAKAO_CLIENT_ID"), secret,
                           token_endpoint_auth_method="client_secret_post" if secret else "none")
    url = f"{cfg['KAKAO_AUTH_URL'].rstrip('/')}/oauth/token"
    try:
        token = client.refresh_token(url, refresh_token=user.kakao_refresh_token, timeout=10)
    except OAuthError as exc:
        raise KakaoTokenError(f"Kakao refused the refresh token ({exc.error}: "
                              f"{exc.description or ''})".strip(),
                              revoked=exc.error in REVOKED_ERRORS) from exc
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        raise KakaoTokenError(f"Kakao token endpoint unreachable: {exc.__class__.__name__}",
                              revoked=False) from exc
    finally:
        client.close()
    if not token.get("access_token"):
        raise KakaoTokenError("Kakao's token answer has no access_token", revoked=False)
    store_tokens(user, dict(token))


def mark_kakao_disconnected(session: Session, user: User, reason: str,
                            now: dt.datetime) -> None:
    """Kakao no longer accepts this user's tokens: forget them, say why, and leave it to
    the user to connect Kakao again (settings show it)."""
    user.kakao_access_token = None
    user.kakao_refresh_token = None
    user.kakao_token_expires_at = None
    user.kakao_disconnected_at = now
    user.kakao_disconnect_reason = reason[:300]
    record_audit(session, user, "user.kakao_disconnected", user.email, {"reason": reason[:200]})


def resolve_account(session: Session, profile: KakaoProfile, token: dict[str, Any],
                    signed_in: User | None = None) -> tuple[User, str]:
    """The account for this Kakao identity and what happened: "linked" (to the signed-in
    user or to the account with the same verified email), "existing" or "created".
    AccountError when no account may be used."""
    by_kakao = session.scalar(sa.select(User).where(User.kakao_id == profile.kakao_id))
    if signed_in is not None:
        if by_kakao is not None and by_kakao.id != signed_in.id:
            raise AccountError("This Kakao account is already connected to another SignalCraft "
                               "account.")
        signed_in.kakao_id = profile.kakao_id
        store_tokens(signed_in, token)
        record_audit(session, signed_in, "user.kakao_link", signed_in.email)
        return signed_in, "linked"
    if by_kakao is not None:
        store_tokens(by_kakao, token)
        return by_kakao, "existing"
    if not profile.email or not profile.email_verified:
        # An unverified address is only a claim: it may neither open nor create an account.
        raise AccountError("Kakao did not confirm an email address for this Kakao account. Verify "
                           "your email in Kakao and allow sharing it, or create an account with "
                           "email and password.")
    existing = user_by_email(session, profile.email)
    if existing is not None:
        if existing.kakao_id:
            raise AccountError("The account with this email is connected to another Kakao account.")
        if existing.email_verified_at is None:
            # Someone else may have registered this address: never hand it to Kakao.
            raise AccountError("An account with this email exists but its email is not verified. "
                               "Log in with your password (or reset it), then connect Kakao under "
                               "Settings.")
        existing.kakao_id = profile.kakao_id
        store_tokens(existing, token)
        record_audit(session, existing, "user.kakao_link", existing.email)
        return existing, "linked"
    user = User(email=profile.email, kakao_id=profile.kakao_id, role="viewer", active=True,
                language=current_language(),
                pending=False, name=profile.nickname or profile.email.split("@")[0],
                email_verified_at=utcnow(), session_version=1)
    store_tokens(user, token)
    session.add(user)
    session.flush()
    record_audit(session, user, "user.kakao_signup", user.email)
    return user, "created"


# ------------------------------------------------------------------ Flask side
def kakao_client() -> Any:
    """The Authlib client for the current app's settings (cached per settings, so tests
    with their own fake Kakao get their own client)."""
    cfg = current_app.config
    key = (cfg.get("KAKAO_CLIENT_ID"), cfg.get("KAKAO_CLIENT_SECRET"),
           cfg.get("KAKAO_AUTH_URL"), cfg.get("KAKAO_API_URL"))
    cache = current_app.extensions.setdefault("sc_kakao_clients", {})
    if key not in cache:
        client_id, secret, auth_url, api_url = key
        oauth = OAuth()
        oauth.init_app(current_app._get_current_object())  # type: ignore[attr-defined]
        cache[key] = oauth.register(
            "kakao",
            client_id=client_id,
            client_secret=secret or None,
            authorize_url=f"{auth_url.rstrip('/')}/oauth/authorize",
            access_token_url=f"{auth_url.rstrip('/')}/oauth/token",
            api_base_url=f"{api_url.rstrip('/')}/",
            client_kwargs={
                "token_endpoint_auth_method": "client_secret_post" if secret else "none",
                "timeout": 10,
            },
        )
    return cache[key]


def kakao_enabled(app: Flask | None = None) -> bool:
    return bool((app or current_app).config.get("KAKAO_CLIENT_ID"))


def callback_url() -> str:
    """Must equal a Redirect URI registered at Kakao exactly: from PUBLIC_BASE_URL when
    set, else from the request (ProxyFix makes it https behind a trusted proxy)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("kakao.callback")
    return url_for("kakao.callback", _external=True)


def _fail(message: AccountError | str, status: int, *, reason: str,
          user: User | None = None, target: str | None = None) -> Any:
    session_db = db_session()
    session_db.rollback()
    record_audit(session_db, user, "login.failure", target,
                 {"method": "kakao", "reason": reason})
    session_db.commit()
    text = message.localized() if isinstance(message, AccountError) else message
    flash(text, "danger" if status >= 400 else "warning")
    if current_user.is_authenticated:
        return redirect("/settings")
    return render_template("login.html", email=""), status


@bp.get("/login")
def login() -> Any:
    if not kakao_enabled():
        flash(_("Kakao login is not set up on this server."),
              "warning")
        return redirect(url_for("auth.login"))
    session["kakao_next"] = safe_next(request.args.get("next"))
    return kakao_client().authorize_redirect(callback_url())


@bp.get("/callback")
def callback() -> Any:
    if not kakao_enabled():
        return redirect(url_for("auth.login"))
    client = kakao_client()
    error = request.args.get("error")
    if error:
        # The user said no on Kakao's consent page (or Kakao refused the request).
        client.framework.clear_state_data(session, request.args.get("state"))
        if error == "access_denied":
            db = db_session()
            record_audit(db, None, "login.failure", None,
                         {"method": "kakao", "reason": "access_denied"})
            db.commit()
            flash(_("Kakao login was cancelled."), "warning")
            if current_user.is_authenticated:
                return redirect("/settings")
            return redirect(url_for("auth.login"))
        return _fail(_("Kakao refused the login (%(error)s).", error=error),
                     400, reason=error[:60])
    try:
        token = client.authorize_access_token()
    except MismatchingStateError:
        return _fail(_("The Kakao login expired or did not start here; please try again."),
                     400, reason="state")
    except OAuthError as exc:
        log.warning("Kakao token exchange failed: %s %s", exc.error, exc.description)
        return _fail(_("Kakao login failed (%(error)s); please try again.", error=exc.error),
                     400, reason="token")
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        log.warning("Kakao token exchange failed: %s", exc)
        return _fail(_("Kakao could not be reached; please try again later."), 502, reason="token")
    try:
        resp = client.get("v2/user/me", token=token)
        resp.raise_for_status()
        profile = KakaoProfile.from_user_me(resp.json())
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        log.warning("Kakao user API failed: %s", exc)
        return _fail(_("Kakao did not tell us who you are; please try again."), 502,
                     reason="user_api")
    db = db_session()
    signed_in = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        user, outcome = resolve_account(db, profile, token, signed_in)
        db.commit()
    except AccountError as exc:
        return _fail(exc, 403, reason="policy", target=profile.email)
    except IntegrityError:
        return _fail(_("This Kakao account could not be connected; please try again."), 409,
                       reason="conflict",
                     target=profile.email)
    if outcome == "linked" and signed_in is not None:
        flash(_("Kakao is now connected to your account."), "success")
        return redirect("/settings")
    return _sign_in(user)


def _sign_in(user: User) -> Any:
    db = db_session()
    if user.pending:
        record_audit(db, user, "login.failure", user.email, {"method": "kakao",
                                                             "reason": "pending"})
        db.commit()
        flash(_("Your account waits for an administrator's approval."),
              "warning")
        return render_template("login.html", email=""), 403
    if not user.active:
        record_audit(db, user, "login.failure", user.email, {"method": "kakao",
                                                             "reason": "disabled"})
        db.commit()
        flash(_("This account is disabled."), "danger")
        return render_template("login.html", email=""), 403
    if org_suspended(db, user.org_id) and not is_operator(user):
        # refused here, as the password login is, not only on the next request
        record_audit(db, user, "login.failure", user.email, {"method": "kakao",
                                                             "reason": "suspended"})
        db.commit()
        flash(_(SUSPENDED_MESSAGE), "danger")
        return render_template("login.html", email=""), 403
    login_user(user)
    user.last_login_at = utcnow()
    record_audit(db, user, "login.success", user.email, {"method": "kakao"})
    db.commit()
    target = session.pop("kakao_next", "/") or "/"
    if user.org_id is None and not target.startswith("/invite/"):
        return redirect(ONBOARDING_PATH)
    return redirect(target)
