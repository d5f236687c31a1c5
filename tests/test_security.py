"""Protections around accounts: login and reset throttling (memory and the real
Redis), CSRF on every account form, audit rows for logins, cookie flags, the trusted
proxy setting, session lifetime and response headers."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import AuditLog
from tests.conftest import PASSWORD, World, _make_app, migrated_sqlite


def make_app(tmp_path, **config):
    url = migrated_sqlite(tmp_path / "sec.db")
    return _make_app(tmp_path, url, **config).server


def audit_rows(app, action=None):
    with session_scope(app) as s:
        q = sa.select(AuditLog).order_by(AuditLog.id)
        if action:
            q = q.where(AuditLog.action == action)
        rows = list(s.scalars(q))
        for r in rows:
            s.expunge(r)
        return rows


def test_login_is_throttled_per_ip_and_email(client, world):
    email = world.users["A-viewer"]
    for _ in range(10):
        assert client.post("/login", data={"email": email, "password": "wrong-one"}
                           ).status_code == 401
    blocked = client.post("/login", data={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    assert "Too many login attempts" in blocked.get_data(as_text=True)
    # Another account from the same address is not locked by someone guessing this one.
    assert client.post("/login", data={"email": world.users["A-analyst"],
                                       "password": PASSWORD}).status_code == 302


def test_login_throttle_also_caps_one_address_across_emails(tmp_path):
    app = make_app(tmp_path, LOGIN_IP_RATE_LIMIT="5 per minute")
    client = app.test_client()
    for n in range(5):
        client.post("/login", data={"email": f"u{n}@x.example", "password": "whatever-1"})
    assert client.post("/login", data={"email": "fresh@x.example",
                                       "password": "whatever-1"}).status_code == 429


def test_password_reset_requests_are_throttled(client, world):
    email = world.users["A-viewer"]
    codes = [client.post("/forgot-password", data={"email": email}).status_code
             for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429


def test_throttle_counts_in_real_redis(tmp_path, redis_conn):
    conn = redis_conn
    prefix = f"sc-test-{uuid.uuid4().hex[:10]}"
    app = make_app(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
                   RATELIMIT_KEY_PREFIX=prefix, LOGIN_RATE_LIMIT="3 per minute")
    try:
        client = app.test_client()
        for _ in range(3):
            assert client.post("/login", data={"email": "r@x.example",
                                               "password": "whatever-1"}).status_code == 401
        assert client.post("/login", data={"email": "r@x.example",
                                           "password": "whatever-1"}).status_code == 429
        keys = [k.decode() for k in conn.scan_iter(match=f"*{prefix}*")]
        assert keys, "the counts live in Redis"
        # A second app server sharing the Redis sees the same count.
        (tmp_path / "second").mkdir()
        other = make_app(tmp_path / "second", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
                         RATELIMIT_KEY_PREFIX=prefix, LOGIN_RATE_LIMIT="3 per minute")
        assert other.test_client().post("/login", data={
            "email": "r@x.example", "password": "whatever-1"}).status_code == 429
    finally:
        for key in conn.scan_iter(match=f"*{prefix}*"):
            conn.delete(key)
        conn.close()


def test_unreachable_limit_storage_does_not_lock_everyone_out(tmp_path):
    app = make_app(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    World(app)
    resp = app.test_client().post("/login", data={"email": "viewer@a.example",
                                                  "password": PASSWORD})
    assert resp.status_code == 302


@pytest.mark.parametrize("path", ["/login", "/register", "/forgot-password",
                                  "/reset-password/some-token", "/invite/some-token",
                                  "/register/organisation"])
def test_every_account_form_needs_its_csrf_token(tmp_path, path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    resp = client.post(path, data={"email": "a@b.example", "password": "x" * 12})
    assert resp.status_code == 400
    assert "expired" in resp.get_data(as_text=True)


def test_registration_with_its_csrf_token_passes(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/register").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post("/register", data={"csrf_token": token, "email": "x"})
    assert resp.status_code == 400 and "valid email" in resp.get_data(as_text=True)


def test_logins_are_audited_with_reason_and_address(client, app, world):
    client.post("/login", data={"email": world.users["A-viewer"], "password": "bad-password"})
    client.post("/login", data={"email": "ghost@nowhere.example", "password": "bad-password"})
    world.login(client, "A-viewer")
    failures = audit_rows(app, "login.failure")
    assert [(f.target, f.detail["reason"]) for f in failures] == [
        (world.users["A-viewer"], "bad_password"), ("ghost@nowhere.example", "unknown_email")]
    assert failures[0].org_id == world.org_ids["A"] and failures[1].org_id is None
    (success,) = audit_rows(app, "login.success")
    assert success.detail == {"method": "password"} and success.ip == "127.0.0.1"
    assert "bad-password" not in str([(f.detail, f.target) for f in failures])


def test_secure_cookies_behind_https(tmp_path):
    app = make_app(tmp_path, SESSION_COOKIE_SECURE=True)
    World(app)
    resp = app.test_client().post("/login", data={"email": "viewer@a.example",
                                                  "password": PASSWORD, "remember": "1"})
    cookies = resp.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_trusted_proxy_gives_client_address_and_https(tmp_path):
    trusting = make_app(tmp_path, TRUST_PROXY="1", KAKAO_CLIENT_ID="k")
    World(trusting)
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "app.signalcraft.example"}
    trusting.test_client().post("/login", headers=headers,
                                data={"email": "viewer@a.example", "password": PASSWORD})
    assert audit_rows(trusting, "login.success")[0].ip == "203.0.113.9"
    kakao = trusting.test_client().get("/auth/kakao/login", headers=headers)
    # https from the proxy, but the host is the request's own: nginx passes Host and
    # never sets X-Forwarded-Host, so that header is whatever a client wrote
    assert "redirect_uri=https%3A%2F%2Flocalhost%2Fauth%2Fkakao%2Fcallback" in \
        kakao.headers["Location"]
    assert "app.signalcraft.example" not in kakao.headers["Location"]


def test_forwarded_host_is_trusted_only_when_configured(tmp_path):
    app = make_app(tmp_path, TRUST_PROXY="1", TRUST_PROXY_HOST=True, KAKAO_CLIENT_ID="k")
    kakao = app.test_client().get("/auth/kakao/login", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.signalcraft.example"})
    assert "redirect_uri=https%3A%2F%2Fapp.signalcraft.example%2Fauth%2Fkakao%2Fcallback" in \
        kakao.headers["Location"]


def test_untrusted_forwarded_headers_are_ignored(client, app, world):
    client.post("/login", headers={"X-Forwarded-For": "203.0.113.9"},
                data={"email": world.users["A-viewer"], "password": PASSWORD})
    assert audit_rows(app, "login.success")[0].ip == "127.0.0.1"
    # ...so a client cannot dodge the throttle by inventing addresses.
    for n in range(10):
        client.post("/login", headers={"X-Forwarded-For": f"198.51.100.{n}"},
                    data={"email": world.users["A-analyst"], "password": "wrong-pass"})
    assert client.post("/login", data={"email": world.users["A-analyst"],
                                       "password": PASSWORD}).status_code == 429


def test_session_ends_after_its_lifetime(tmp_path):
    app = make_app(tmp_path, PERMANENT_SESSION_LIFETIME=1)
    world = World(app)
    client = app.test_client()
    world.login(client, "A-viewer")
    assert client.get("/").status_code == 200
    time.sleep(2.2)
    assert client.get("/").status_code == 302


def test_responses_carry_protective_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert resp.headers["Referrer-Policy"] == "same-origin"


# ---------------------------------------------------------------- issue 17: secret key
@pytest.mark.parametrize("key", ["change-me-in-production", "Change-Me", "too-short-key"])
def test_known_or_short_secret_key_is_refused_outside_the_demo(tmp_path, key):
    from dashboard.app import create_app
    from dashboard.core.config import ConfigError

    url = migrated_sqlite(tmp_path / "k.db")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i"),
                    "SECRET_KEY": key})
    # The demo may run with it (a laptop, simulated devices).
    create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i"),
                "SECRET_KEY": key, "DEMO_MODE": True})


def test_missing_secret_key_is_refused_with_a_shared_database():
    from dashboard.core.config import ConfigError, check_secret_key

    with pytest.raises(ConfigError, match="not set"):
        check_secret_key("", demo=False, testing=False, shared_database=True)
    # one host on SQLite: a random key is generated into the instance folder
    check_secret_key("", demo=False, testing=False, shared_database=False)
    check_secret_key("x" * 32, demo=False, testing=False, shared_database=True)


def test_forged_session_with_the_old_compose_key_is_impossible():
    """The compose file cannot start without a key of the operator's own."""
    from pathlib import Path

    compose = (Path(__file__).resolve().parents[1] / "compose.yaml").read_text()
    assert "change-me-in-production" not in compose
    assert "${SECRET_KEY:?" in compose


# ---------------------------------------------------------------- issue 17: logout
def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def test_logout_ends_a_copied_session_and_the_remember_cookie(tmp_path):
    app = make_app(tmp_path)
    world = World(app)
    client = app.test_client()
    resp = client.post("/login", data={"email": world.users["A-viewer"], "password": PASSWORD,
                                       "remember": "1"})
    assert resp.status_code == 302
    stolen_session, stolen_remember = _cookie(client, "session"), _cookie(client, "remember_token")
    assert stolen_session and stolen_remember
    # GET only asks: a link or a prefetch does not log anyone out
    assert client.get("/logout").status_code == 200
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    for cookies in ({"session": stolen_session}, {"remember_token": stolen_remember},
                    {"session": stolen_session, "remember_token": stolen_remember}):
        thief = app.test_client()
        for name, value in cookies.items():
            thief.set_cookie(name, value)
        assert thief.get("/").status_code == 302, cookies
        assert thief.post("/_dash-update-component", json={}).status_code == 401


def test_logout_needs_its_csrf_token(tmp_path):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    world = World(app)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"email": world.users["A-viewer"], "password": PASSWORD,
                                "csrf_token": token})
    assert client.post("/logout").status_code == 400  # a cross-site form cannot log out
    assert client.get("/").status_code == 200
    form = client.get("/logout").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


# ---------------------------------------------------------------- issue 17: finding 4
def test_metrics_need_the_token_outside_the_demo(tmp_path):
    app = make_app(tmp_path, TESTING=False, SECRET_KEY="s" * 40)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    (tmp_path / "demo").mkdir()
    (tmp_path / "t").mkdir()
    demo = make_app(tmp_path / "demo", TESTING=False, SECRET_KEY="s" * 40, DEMO_MODE=True)
    assert demo.test_client().get("/metrics").status_code == 200
    tokened = make_app(tmp_path / "t", TESTING=False, SECRET_KEY="s" * 40,
                       METRICS_TOKEN="m" * 32)
    assert tokened.test_client().get(
        "/metrics", headers={"Authorization": "Bearer " + "m" * 32}).status_code == 200


def test_csv_cells_that_spreadsheets_would_run_are_defused():
    from dashboard.app.media import _csv_line

    line = _csv_line(("=HYPERLINK(\"http://x\")", "+1+1", "-2+cmd|' /C calc'!A0", "@SUM(A1)",
                      "-0.1234", "12.5", "plain", 3))
    cells = line.rstrip("\r\n").split(",")
    assert cells[0].startswith("\"'=") and cells[1] == "'+1+1" and cells[3] == "'@SUM(A1)"
    assert cells[2].startswith("\"'-2") or cells[2].startswith("'-2")
    assert cells[4:] == ["-0.1234", "12.5", "plain", "3"]


def test_nginx_accepts_a_base64_firmware_of_4_mb():
    import re
    from pathlib import Path

    conf = (Path(__file__).resolve().parents[1] / "deploy/nginx/signalcraft.conf").read_text()
    limit = int(re.search(r"client_max_body_size (\d+)m;", conf).group(1))
    assert limit * 1024 * 1024 >= (4 * 1024 * 1024 + 2) // 3 * 4 + 64 * 1024


# ---------------------------------------------------------------- issue 17: hardening
def test_pages_carry_a_csp_without_inline_scripts_but_dash_s_own(client, world):
    world.login(client, "A-viewer")
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'self'" and directives["object-src"] == "'none'"
    # every inline script of the page is allowed by its hash, and only those
    import base64
    import hashlib
    import re

    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>",
                        page.get_data(as_text=True), re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"]
    for path in ("/login", "/_dash-layout", "/healthz"):
        assert "frame-ancestors 'self'" in client.get(path).headers["Content-Security-Policy"]


def test_error_pages_never_show_a_traceback(tmp_path):
    app = make_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals /etc/signalcraft")

    @app.get("/api/boom-for-test")
    def api_boom():
        raise RuntimeError("secret internals /etc/signalcraft")

    World(app)
    client = app.test_client()
    client.post("/login", data={"email": "viewer@a.example", "password": PASSWORD})
    for path in ("/boom-for-test", "/api/boom-for-test"):
        resp = client.get(path)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 500
        assert "Traceback" not in body and "secret internals" not in body


def test_next_redirects_stay_on_this_site(client, world):
    for target in ("https://evil.example/", "//evil.example", "/\\\\evil.example",
                   "javascript:alert(1)", "http:/evil.example"):
        resp = client.post(f"/login?next={target}",
                           data={"email": world.users["A-viewer"], "password": PASSWORD})
        location = resp.headers["Location"]
        assert "evil" not in location and not location.startswith("javascript"), target
        client.post("/logout")
    resp = client.post("/login?next=/history", data={"email": world.users["A-viewer"],
                                                     "password": PASSWORD})
    assert resp.headers["Location"].endswith("/history")


def test_session_is_fresh_at_login(client, world):
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    before = client.get_cookie("session").value
    world.login(client, "A-viewer")
    assert client.get_cookie("session").value != before
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.get("_user_id")


def test_a_role_change_ends_the_user_s_sessions(client, app, world):
    from dashboard.accounts.users import change_role
    from dashboard.core.models import User

    world.login(client, "A-analyst")
    assert client.get("/").status_code == 200
    with session_scope(app) as s:
        admin = s.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
        target = s.scalar(sa.select(User).where(User.email == world.users["A-analyst"]))
        change_role(s, admin, target.id, "viewer")
    assert client.get("/").status_code == 302  # logs in again, with the new role


def test_nobody_changes_their_own_role(app, world):
    from dashboard.accounts.users import AccountError, change_role
    from dashboard.core.models import User

    with session_scope(app) as s:
        admins = [s.scalar(sa.select(User).where(User.email == world.users[who]))
                  for who in ("A-admin",)]
        with pytest.raises(AccountError, match="own role"):
            change_role(s, admins[0], admins[0].id, "viewer")
