"""The emails of the account flows, in Korean and English (the recipient may have no
account yet, so no language preference is known). Every value that came from a person
is escaped in the HTML part."""

from __future__ import annotations

import logging

from flask import Flask
from markupsafe import escape
from sqlalchemy.orm import Session

from dashboard.core.mailer import MailError, public_url, send_email
from dashboard.core.models import Organization, User

log = logging.getLogger("signalcraft.mail")


def _html(paragraphs: list[str], link: str | None = None, label: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    if link:
        body += (f'<p><a href="{escape(link)}" style="display:inline-block;padding:10px 16px;'
                 f'background:#0d6efd;color:#fff;text-decoration:none;border-radius:6px">'
                 f"{escape(label)}</a></p>"
                 f'<p style="color:#6c757d;font-size:12px">{escape(link)}</p>')
    return f'<div style="font-family:sans-serif;line-height:1.5">{body}</div>'


def send_invitation(app: Flask, to: str, org_name: str, inviter: str, role: str,
                    link: str, days: int) -> bool:
    subject = f"[SignalCraft] {org_name} 초대 · Invitation to {org_name}"
    text = (
        f"{inviter}님이 SignalCraft의 {org_name} 조직에 {role} 역할로 초대했습니다.\n"
        f"아래 링크에서 가입하세요 ({days}일 동안 한 번 사용할 수 있습니다):\n{link}\n\n"
        f"{inviter} invited you to {org_name} on SignalCraft as {role}.\n"
        f"Create your account here (valid for {days} days, once):\n{link}\n"
    )
    html = _html([
        f"{escape(inviter)}님이 SignalCraft의 <b>{escape(org_name)}</b> 조직에 "
        f"{escape(role)} 역할로 초대했습니다.",
        f"{escape(inviter)} invited you to <b>{escape(org_name)}</b> on SignalCraft "
        f"as {escape(role)}.",
    ], link, "가입하기 · Accept invitation")
    return send_email(app, to, subject, text, html)


def send_password_reset(app: Flask, to: str, link: str, minutes: int) -> bool:
    subject = "[SignalCraft] 비밀번호 재설정 · Reset your password"
    text = (
        f"비밀번호를 재설정하려면 아래 링크를 여세요 ({minutes}분 동안 한 번 사용 가능):\n{link}\n"
        "요청하지 않았다면 이 메일을 무시하세요.\n\n"
        f"Open this link to choose a new password (valid for {minutes} minutes, once):\n"
        f"{link}\nIf you did not ask for this, ignore this email.\n"
    )
    html = _html(["비밀번호를 재설정하려면 아래 버튼을 누르세요. 요청하지 않았다면 무시하세요.",
                  "Press the button to choose a new password. If you did not ask for this, "
                  "ignore this email."], link, "비밀번호 재설정 · Reset password")
    return send_email(app, to, subject, text, html)


def send_registration_refused(app: Flask, to: str, reason: str, org_name: str = "") -> bool:
    """Why a sign-up went nowhere, told only to the address's owner: the page answers
    the same whether or not the email or organisation exists (issue 17)."""
    subject = "[SignalCraft] 가입 안내 · About your sign-up"
    login = public_url(app, "/login")
    if reason == "email_taken":
        ko = "이 이메일로 이미 계정이 있습니다. 로그인하거나 비밀번호를 재설정하세요."
        en = ("Someone (maybe you) tried to sign up with this address, which already has an "
              "account. Log in, or reset your password. If it was not you, ignore this email.")
    else:
        ko = f"'{org_name}' 이름의 조직이 없습니다. 관리자에게 정확한 이름이나 초대를 요청하세요."
        en = (f"No organisation is named '{org_name}'. Check the exact name with your admin, "
              "or ask them for an invitation.")
    text = f"{ko}\n{login}\n\n{en}\n{login}\n"
    return send_email(app, to, subject, text, _html([escape(ko), escape(en)], login,
                                                    "로그인 · Log in"))


def send_verification(app: Flask, to: str, link: str) -> bool:
    subject = "[SignalCraft] 이메일 인증 · Verify your email"
    text = (f"이메일 주소를 인증하려면 아래 링크를 여세요:\n{link}\n\n"
            f"Open this link to verify your email address:\n{link}\n")
    html = _html(["이메일 주소를 인증하려면 아래 버튼을 누르세요.",
                  "Press the button to verify your email address."],
                 link, "이메일 인증 · Verify email")
    return send_email(app, to, subject, text, html)


def send_join_request(app: Flask, to: str, requester_name: str, requester_email: str,
                      company: str, org_name: str, link: str) -> bool:
    subject = f"[SignalCraft] {org_name} 가입 요청 · Request to join {org_name}"
    text = (f"{requester_name} <{requester_email}> ({company})님이 {org_name} 가입을 "
            f"요청했습니다. 설정 > 사용자에서 승인하거나 거절하세요:\n{link}\n\n"
            f"{requester_name} <{requester_email}> ({company}) asks to join {org_name}. "
            f"Approve or decline under Settings > Users:\n{link}\n")
    html = _html([
        f"{escape(requester_name)} &lt;{escape(requester_email)}&gt; ({escape(company)})님이 "
        f"<b>{escape(org_name)}</b> 가입을 요청했습니다.",
        f"{escape(requester_name)} &lt;{escape(requester_email)}&gt; ({escape(company)}) asks "
        f"to join <b>{escape(org_name)}</b>.",
    ], link, "설정 열기 · Open settings")
    return send_email(app, to, subject, text, html)


def send_approved(app: Flask, to: str, org_name: str, link: str) -> bool:
    subject = f"[SignalCraft] {org_name} 가입 승인 · You can now log in"
    text = (f"{org_name} 관리자가 가입을 승인했습니다. 로그인하세요:\n{link}\n\n"
            f"An admin of {org_name} approved your account. Log in here:\n{link}\n")
    html = _html([f"<b>{escape(org_name)}</b> 관리자가 가입을 승인했습니다.",
                  f"An admin of <b>{escape(org_name)}</b> approved your account."],
                 link, "로그인 · Log in")
    return send_email(app, to, subject, text, html)


# ------------------------------------------------------------------ flows
def mail_verification(app: Flask, session: Session, user: User) -> bool:
    """Issue a verification token and mail its link (the caller commits). True when
    handed to SMTP, False when only logged; MailError when sending failed."""
    from dashboard.accounts.tokens import issue_user_token

    token = issue_user_token(session, user, "verify")
    return send_verification(app, user.email, public_url(app, f"/verify-email/{token}"))


def notify_join_request(app: Flask, session: Session, user: User) -> int:
    """Tell the organisation's admins that ``user`` waits for approval; best effort
    (the request is stored either way and shows in Settings). Returns mails sent."""
    from dashboard.accounts.users import org_admins

    org = session.get(Organization, user.org_id)
    sent = 0
    for admin in org_admins(session, user.org_id):
        try:
            sent += send_join_request(app, admin.email, user.name, user.email,
                                      user.company or "", org.name,
                                      public_url(app, "/settings"))
        except MailError as exc:
            log.warning("join request mail to %s failed: %s", admin.email, exc)
    return sent
