"""The server-rendered account pages (Flask + Jinja, CSRF token in every form):
registration, invitations, the organisation step after a Kakao sign-up, password
reset and email verification; plus Kakao login (dashboard/accounts/kakao.py)."""

from __future__ import annotations

from flask import Flask


def init_app(server: Flask) -> None:
    from dashboard.accounts import kakao
    from dashboard.accounts.web import passwords, signup

    server.register_blueprint(kakao.bp)
    server.register_blueprint(signup.bp)
    server.register_blueprint(passwords.bp)
    server.add_template_global(kakao.kakao_enabled, "kakao_enabled")
