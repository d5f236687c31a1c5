"""Sending email over SMTP (tests use a local aiosmtpd server). Without SMTP_HOST the
message is logged instead, so a demo install never fails on mail."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import Flask

log = logging.getLogger("signalcraft.mail")


class MailError(RuntimeError):
    pass


def send_email(app: Flask, to: str, subject: str, text: str, html: str | None = None) -> bool:
    """Send one message; True when handed to an SMTP server, False when only logged.
    Raises MailError when the server refuses or cannot be reached."""
    cfg = app.config
    msg = EmailMessage()
    msg["From"] = cfg.get("SMTP_FROM") or "SignalCraft <noreply@signalcraft.local>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    if not cfg.get("SMTP_HOST"):
        # the body may carry a single-use link (reset, invitation): only the demo logs it
        body = text if cfg.get("DEMO_MODE") else "(body withheld: it may hold a link)"
        log.info("SMTP_HOST not set; email to %s not sent: %s\n%s", to, subject, body)
        return False
    try:
        with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT") or 25), timeout=10) as smtp:
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD", ""))
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"sending to {to} failed: {exc}") from exc
    return True


def public_url(app: Flask, path: str) -> str:
    base = app.config.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{app.config.get('PORT', 8050)}"
    return base.rstrip("/") + "/" + path.lstrip("/")
