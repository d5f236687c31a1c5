"""Request-level protections: the trusted-proxy setting (ProxyFix), rate limits on
credential endpoints (flask-limiter's storage: memory:// by default, Redis in
production) and a few response headers.

Limits are plain strings in app.config so an installation can tune them:
LOGIN_RATE_LIMIT (per IP and email), LOGIN_IP_RATE_LIMIT (per IP),
RESET_RATE_LIMIT (password reset requests, per IP and email) and
REGISTER_RATE_LIMIT (registrations, per IP). They are counted like every other limit,
by ``dashboard.accounts.rate_limits`` (one sliding-window counter)."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.accounts.rate_limits import CREDENTIAL_LIMITS, retry_after, storage_uri
from dashboard.core.paths import DEVICE_API_PREFIX

log = logging.getLogger("signalcraft.security")

DEFAULT_LIMITS = CREDENTIAL_LIMITS


def trusted_proxy_count(value: Any) -> int:
    """TRUST_PROXY: "true"/"1" -> one proxy in front; "2" -> two; empty/"false" -> none."""
    if value is None or value == "" or value is False:
        return 0
    if value is True:
        return 1
    text = str(value).strip().lower()
    if text in {"true", "yes", "on"}:
        return 1
    try:
        return max(0, int(text))
    except ValueError:
        return 0


class SessionsExceptDevices(SecureCookieSessionInterface):
    """Signed-cookie sessions for people; a device call (a bearer token, never a
    cookie) gets Flask's null session: no serializer built, nothing to save, and any
    attempt to write one fails loudly instead of setting a cookie on a device."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if request.path.startswith(DEVICE_API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(server: Flask) -> None:
    server.session_interface = SessionsExceptDevices()
    proxies = trusted_proxy_count(server.config.get("TRUST_PROXY",
                                                    os.environ.get("TRUST_PROXY")))
    if proxies:
        # Only behind a proxy we run: otherwise X-Forwarded-For is whatever a client says.
        # X-Forwarded-Host/-Prefix only when the proxy is said to set them (the shipped
        # nginx passes Host itself and sets neither): otherwise a client picks the host
        # of the redirect URIs we build, e.g. Kakao's callback.
        hosts = proxies if server.config.get("TRUST_PROXY_HOST") else 0
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=proxies, x_proto=proxies,  # type: ignore[method-assign]
                                   x_host=hosts, x_prefix=hosts)
    for key, value in DEFAULT_LIMITS.items():
        server.config.setdefault(key, value)
    server.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    server.config.setdefault("RATELIMIT_KEY_PREFIX", "signalcraft")
    # One limiter per app (tests build many apps); limits are checked explicitly in
    # the views that take credentials, so ordinary page and callback requests pay nothing.
    limiter = Limiter(key_func=get_remote_address, default_limits=[],
                      storage_uri=storage_uri(server.config["RATELIMIT_STORAGE_URI"]))
    limiter.init_app(server)
    server.extensions["sc_limiter"] = limiter
    # flask-limiter's automatic per-request check costs ~0.3 ms; device calls (bearer
    # tokens, no decorated limits) skip it, everything else keeps it.
    check = limiter._check_request_limit
    if check in server.before_request_funcs.get(None, []):
        server.before_request_funcs[None].remove(check)

        @server.before_request
        def _rate_limits_except_devices() -> Any:
            if not request.path.startswith(DEVICE_API_PREFIX):
                return check()
            return None

    @server.errorhandler(500)
    def _server_error(exc: Any) -> Any:
        # never a traceback or an exception text to the client; the log has them
        from flask import jsonify, render_template

        from dashboard.core.i18n import _

        if request.path.startswith(("/_dash-", "/api/")):
            return jsonify(error="server_error", detail="internal error"), 500
        return render_template("message.html", title=_("Something went wrong"),
                               paragraphs=[_("The error was logged. Please try again.")],
                               links=[(_("Back"), "/")]), 500

    @server.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith(DEVICE_API_PREFIX):
            return response  # JSON for devices: nothing to frame, no script to allow
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Content-Security-Policy", content_security_policy(
            _script_hashes(server)))
        # Reset and invitation links carry tokens in the path: never leak them as Referer.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _script_hashes(server: Flask) -> list[str]:
    """Hashes of Dash's inline scripts. Dash adds inline clientside callbacks to its
    list as it renders the index (after start-up), so the hashes are taken again
    whenever that list has grown."""
    from dash import _callback

    app = server.config.get("DASH_APP")
    if app is None:
        return []
    key = (len(app._inline_scripts), len(_callback.GLOBAL_INLINE_SCRIPTS))
    cached = server.extensions.get("sc_csp_hashes")
    if cached is None or cached[0] != key:
        hashes = list(dict.fromkeys(app.csp_hashes()))  # takes in the global scripts
        cached = ((len(app._inline_scripts), len(_callback.GLOBAL_INLINE_SCRIPTS)), hashes)
        server.extensions["sc_csp_hashes"] = cached
    return cached[1]


def content_security_policy(script_hashes: Any) -> str:
    """No inline script but Dash's own (its renderer bootstrap and inline clientside
    callbacks, allowed by hash: ``Dash.csp_hashes``); styles may be inline because
    Plotly injects <style> elements; nothing may frame the app."""
    scripts = " ".join(["'self'", *script_hashes])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob: https://*.kakaocdn.net; "
            "font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
            "manifest-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'")


def allow(limit_name: str, *identity: str) -> bool:
    """Count one attempt against the configured limit ``limit_name`` for ``identity``
    (e.g. an IP and an email, compared case-insensitively); False once the limit is
    exceeded. Fails open when the storage is unreachable (``retry_after``): a Redis
    outage must not lock everyone out."""
    return retry_after(limit_name, *(part.lower() for part in identity)) is None
