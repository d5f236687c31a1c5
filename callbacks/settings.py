"""Settings callbacks: one's own account, and the admin's users and invitations.
Thin: each reads or changes through dashboard/accounts/users.py and
dashboard/accounts/invitations.py, which check the role and the organisation again;
callbacks/settings_fleet.py and
settings_firmware.py hold the admin's fleet and firmware parts."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate
from flask import current_app
from flask_login import login_user
from sqlalchemy.orm import Session

from callbacks.guard import guarded
from dashboard.accounts.invitations import invite, open_invitations, revoke_invitation
from dashboard.accounts.mail import mail_verification, send_approved
from dashboard.accounts.users import (
    AccountError,
    approve_user,
    change_password,
    change_role,
    list_members,
    remove_user,
    set_active,
    update_profile,
)
from dashboard.core.database import db_session
from dashboard.core.i18n import DEFAULT_TIME_ZONE, _
from dashboard.core.mailer import MailError, public_url
from dashboard.core.models import Organization, User
from dashboard.ui.actions import bump, clicked, run_action
from dashboard.ui.context import me
from dashboard.ui.settings_tables import feedback, invitations_table, members_table, role_options


def register(app: dash.Dash) -> None:
    _register_profile(app)
    _register_users(app)


# ------------------------------------------------------------------ one's own account
def _register_profile(app: dash.Dash) -> None:
    @app.callback(
        Output("settings-profile-email", "children"),
        Output("settings-profile-verified", "children"),
        Output("settings-profile-name", "value"),
        Output("settings-profile-phone", "value"),
        Output("settings-profile-position", "value"),
        Output("settings-profile-language", "value"),
        Output("settings-profile-notify", "value"),
        Output("settings-profile-quiet-start", "value"),
        Output("settings-profile-quiet-end", "value"),
        Output("settings-profile-timezone", "value"),
        Output("settings-kakao-status", "children"),
        Input("settings-init", "data"),
    )
    @guarded("viewer")
    def load_profile(_init: int | None) -> tuple:
        user = me()
        verified = (html.Span([html.I(className="fa-solid fa-circle-check text-success me-1"),
                               _("verified")], className="small")
                    if user.email_verified_at else
                    html.Span(_("not verified"), className="badge text-bg-warning"))
        notify = [k for k, on in (("email", user.notify_email), ("sms", user.notify_sms),
                                  ("kakao", user.notify_kakao)) if on]
        kakao = (_("Your Kakao account is connected.")
                 if user.kakao_id else
                 _("Connect Kakao to log in with it and get KakaoTalk alerts."))

        def hour(value: int | None) -> str:
            return "" if value is None else str(value)

        return (user.email, verified, user.name, user.phone or "", user.position or "",
                user.language, notify, hour(user.quiet_hours_start),
                hour(user.quiet_hours_end), user.timezone or DEFAULT_TIME_ZONE, kakao)

    @app.callback(
        Output("settings-profile-feedback", "children"),
        Output("settings-location", "href"),
        Input("settings-profile-save", "n_clicks"),
        State("settings-profile-name", "value"),
        State("settings-profile-phone", "value"),
        State("settings-profile-position", "value"),
        State("settings-profile-language", "value"),
        State("settings-profile-notify", "value"),
        State("settings-profile-quiet-start", "value"),
        State("settings-profile-quiet-end", "value"),
        State("settings-profile-timezone", "value"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def save_profile(n: int | None, name: str, phone: str, position: str, language: str,
                     notify: list[str] | None, quiet_start: str, quiet_end: str,
                     timezone: str) -> tuple:
        if not n:
            raise PreventUpdate
        before = me().language
        notify = notify or []
        message, ok = run_action(lambda db, user: (update_profile(
            db, user, name=name, phone=phone, position=position, language=language,
            notify_email="email" in notify, notify_sms="sms" in notify,
            notify_kakao="kakao" in notify, quiet_hours_start=quiet_start,
            quiet_hours_end=quiet_end, timezone=timezone), _("Saved."))[1])
        # A new language shows after a reload: every text goes through _() at render.
        return message, ("/settings" if ok and language != before else dash.no_update)

    @app.callback(
        Output("settings-password-feedback", "children"),
        Output("settings-password-current", "value"),
        Output("settings-password-new", "value"),
        Output("settings-password-confirm", "value"),
        Input("settings-password-save", "n_clicks"),
        State("settings-password-current", "value"),
        State("settings-password-new", "value"),
        State("settings-password-confirm", "value"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def save_password(n: int | None, current: str, new: str, confirm: str) -> tuple:
        if not n:
            raise PreventUpdate
        message, ok = run_action(lambda db, user: (
            change_password(db, user, current or "", new or "", confirm or ""),
            _("Password changed. Other sessions were logged out."))[1])
        if ok:
            login_user(me())  # this session continues under the new session_version
            return message, "", "", ""
        return message, dash.no_update, dash.no_update, dash.no_update

    @app.callback(
        Output("settings-profile-feedback", "children", allow_duplicate=True),
        Input("settings-profile-verify", "n_clicks"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def resend_verification(n: int | None) -> Any:
        if not n:
            raise PreventUpdate
        if me().email_verified_at is not None:
            return feedback(_("Your email is already verified."))

        def send(db: Session, user: User) -> str:
            try:
                mail_verification(current_app._get_current_object(), db, user)  # type: ignore[attr-defined]
            except MailError as exc:
                raise AccountError("Sending failed: %(exc)s", exc=exc) from exc
            return _("We sent a verification link to %(email)s.", email=user.email)

        return run_action(send)[0]


# ------------------------------------------------------------------ users (admin)
def _register_users(app: dash.Dash) -> None:
    @app.callback(
        Output("settings-users-table", "children"),
        Output("settings-invites-table", "children"),
        Output("settings-invite-role", "options"),
        Input("settings-tabs", "active_tab"),
        Input("settings-users-version", "data"),
    )
    @guarded("admin")
    def render_users(tab: str | None, _version: int | None) -> tuple:
        if tab != "users":
            raise PreventUpdate
        db = db_session()
        return (members_table(list_members(db, me().org_id), me().id),
                invitations_table(open_invitations(db, me().org_id)), role_options())

    users_out = (Output("settings-users-feedback", "children", allow_duplicate=True),
                 Output("settings-users-version", "data", allow_duplicate=True))

    @app.callback(
        *users_out,
        Input({"type": "settings-user-op", "op": ALL, "user": ALL}, "n_clicks"),
        State("settings-users-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def user_op(_clicks: list, version: int | None) -> tuple:
        target = clicked()
        op, user_id = target.get("op"), target.get("user")
        if op == "approve":
            def approve(db: Session, user: User) -> str:
                email = approve_user(db, user, user_id).email
                return _("Approved: %(email)s can now log in.", email=email)

            message, ok = run_action(approve)
            if ok:
                _mail_approved(user_id)
        elif op in ("disable", "enable"):
            enable = op == "enable"

            def toggle(db: Session, user: User) -> str:
                set_active(db, user, user_id, enable)
                if enable:
                    return _("Enabled.")
                return _("Disabled: their sessions ended.")

            message, _ok = run_action(toggle)
        else:
            raise PreventUpdate
        return message, bump(version)

    @app.callback(
        *users_out,
        Input({"type": "settings-user-remove", "user": ALL}, "submit_n_clicks"),
        State("settings-users-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def user_remove(_clicks: list, version: int | None) -> tuple:
        user_id = clicked().get("user")
        message, _ok = run_action(lambda db, user: _(
            "Removed %(name)s.", name=remove_user(db, user, user_id)))
        return message, bump(version)

    @app.callback(
        *users_out,
        Output("settings-location", "href", allow_duplicate=True),
        Input({"type": "settings-user-role", "user": ALL}, "value"),
        State("settings-users-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def user_role(_values: list, version: int | None) -> tuple:
        target = clicked()
        user_id, role = target.get("user"), ctx.triggered[0]["value"]
        actor_id = me().id
        changed: list[User] = []

        def apply(db: Session, user: User) -> str:
            result = change_role(db, user, user_id, role)
            if result is None:
                raise PreventUpdate  # a re-render, not a change
            changed.append(result)
            return _("%(email)s is now %(role)s; their sessions ended.", email=result.email,
                                         role=role)

        message, ok = run_action(apply)
        if ok and changed and changed[0].id == actor_id:
            login_user(me())  # one's own demotion: stay logged in, with the new role
            return message, bump(version), "/settings"
        return message, bump(version), dash.no_update

    @app.callback(
        *users_out,
        Output("settings-invite-email", "value"),
        Input("settings-invite-submit", "n_clicks"),
        State("settings-invite-email", "value"),
        State("settings-invite-role", "value"),
        State("settings-users-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def send_invite(n: int | None, email: str | None, role: str | None,
                    version: int | None) -> tuple:
        if not n:
            raise PreventUpdate
        sent = []

        def apply(db: Session, user: User) -> str:
            result = invite(db, current_app._get_current_object(), user, email or "",  # type: ignore[attr-defined]
                            role or "viewer")
            sent.append(result)
            return _("Invitation sent to %(email)s.", email=result.email)

        message, ok = run_action(apply)
        if ok and sent and not sent[0].emailed:
            # No mail server configured (the demo): the admin passes the link on.
            message = feedback([_("Email is not configured on this server; send this link to the "
                                  "person yourself: "),
                                html.Code(sent[0].link, id="settings-invite-link")])
        return message, bump(version), ("" if ok else dash.no_update)

    @app.callback(
        *users_out,
        Input({"type": "settings-invite-revoke", "invitation": ALL}, "submit_n_clicks"),
        State("settings-users-version", "data"),
        prevent_initial_call=True,
    )
    @guarded("admin")
    def invite_revoke(_clicks: list, version: int | None) -> tuple:
        inv_id = clicked().get("invitation")
        message, _ok = run_action(lambda db, user: _(
            "Invitation to %(email)s revoked.", email=revoke_invitation(db, user, inv_id)))
        return message, bump(version)


def _mail_approved(user_id: Any) -> None:
    """Best effort: the approval stands even when the mail cannot go out."""
    db = db_session()
    user = db.get(User, int(user_id))
    if user is None:
        return
    org = db.get(Organization, user.org_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        send_approved(app, user.email, org.name if org else "SignalCraft",
                      public_url(app, "/login"))
    except MailError:
        current_app.logger.warning("approval mail to %s failed", user.email)
