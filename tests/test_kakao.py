"""Kakao login end to end against a local fake of Kakao's OAuth and user API (a real
HTTP server): the code flow with state, client_secret_post, account linking rules,
the registration step of a new Kakao account, and every refusal."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import AuditLog, Organization, User
from tests.conftest import PASSWORD, World, _make_app, migrated_sqlite
from tests.fakes.kakao import FakeKakao


@pytest.fixture
def kakao():
    with FakeKakao() as fake:
        yield fake


@pytest.fixture
def kakao_app(tmp_path, kakao):
    url = migrated_sqlite(tmp_path / "kakao.db")
    return _make_app(tmp_path, url, KAKAO_CLIENT_ID=kakao.client_id,
                     KAKAO_CLIENT_SECRET=kakao.client_secret, KAKAO_AUTH_URL=kakao.url,
                     KAKAO_API_URL=kakao.url).server


@pytest.fixture
def client(kakao_app):
    return kakao_app.test_client()


def start(client, kakao, path="/auth/kakao/login"):
    """Our login endpoint -> the fake's consent page -> the redirect back to us."""
    resp = client.get(path)
    assert resp.status_code == 302, resp.data[:300]
    authorize = resp.headers["Location"]
    assert authorize.startswith(kakao.url + "/oauth/authorize?")
    back = requests.get(authorize, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    parts = urlsplit(back.headers["Location"])
    assert parts.path == "/auth/kakao/callback"
    return f"{parts.path}?{parts.query}", parse_qs(parts.query)


def kakao_login(client, kakao):
    callback, _ = start(client, kakao)
    return client.get(callback)


def user(app, **where):
    with session_scope(app) as s:
        row = s.scalar(sa.select(User).filter_by(**where))
        if row is not None:
            s.expunge(row)
        return row


def audit_actions(app):
    with session_scope(app) as s:
        return [(a.action, (a.detail or {}).get("reason")) for a in
                s.scalars(sa.select(AuditLog).order_by(AuditLog.id))]


def test_new_kakao_account_is_created_then_completes_registration(client, kakao, kakao_app):
    kakao.add_account(4242, "Kim@Example.kr", "김철수")
    kakao.login_as(4242)
    resp = kakao_login(client, kakao)
    assert resp.status_code == 302 and resp.headers["Location"] == "/register/organisation"

    # The authorize request carried the documented parameters, state included...
    (authz,) = kakao.calls("/oauth/authorize")
    assert authz["args"]["response_type"] == "code"
    assert authz["args"]["client_id"] == kakao.client_id
    assert authz["args"]["redirect_uri"] == "http://localhost/auth/kakao/callback"
    assert len(authz["args"]["state"]) >= 20
    # ...and the token exchange sent the secret in the POST body (client_secret_post).
    (tok,) = kakao.calls("/oauth/token")
    assert tok["form"]["client_secret"] == kakao.client_secret
    assert tok["form"]["grant_type"] == "authorization_code"
    assert tok["form"]["redirect_uri"] == authz["args"]["redirect_uri"]
    assert tok["authorization"] is None
    (me,) = kakao.calls("/v2/user/me")
    assert me["authorization"].lower().startswith("bearer ")

    created = user(kakao_app, kakao_id="4242")
    assert created.email == "kim@example.kr" and created.name == "김철수"
    assert created.org_id is None and created.email_verified_at is not None
    assert created.kakao_access_token and created.kakao_refresh_token
    assert created.kakao_token_expires_at is not None
    assert ("login.success", None) in audit_actions(kakao_app)

    # Until the organisation step is done, nothing else opens.
    assert client.get("/").headers["Location"] == "/register/organisation"
    assert client.get("/_dash-layout").status_code == 403
    page = client.get("/register/organisation")
    assert page.status_code == 200 and "kim@example.kr" in page.get_data(as_text=True)
    done = client.post("/register/organisation", data={
        "name": "김철수", "company": "한빛냉동", "industry": "cold_chain",
        "company_size": "10-49", "org_mode": "create", "org_name": "한빛냉동",
        "accept_terms": "1", "accept_privacy": "1", "notify_kakao": "1"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    admin = user(kakao_app, kakao_id="4242")
    assert admin.role == "admin" and admin.org_id is not None and admin.notify_kakao
    assert admin.terms_accepted_at and admin.privacy_accepted_at
    assert admin.marketing_consent_at is None


def test_kakao_links_existing_account_by_verified_email(client, kakao, kakao_app):
    world = World(kakao_app)
    email = world.users["A-manager"]
    kakao.add_account(77, email.upper(), "Manager")
    kakao.login_as(77)
    resp = kakao_login(client, kakao)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    linked = user(kakao_app, email=email)
    assert linked.kakao_id == "77" and linked.role == "manager"
    assert client.get("/").status_code == 200
    # Next time the Kakao id alone finds the account, whatever email Kakao reports.
    client.post("/logout")
    kakao.accounts[77].email = "changed@elsewhere.kr"
    assert kakao_login(client, kakao).headers["Location"] == "/"
    assert user(kakao_app, kakao_id="77").email == email


def test_kakao_login_of_a_suspended_organisation_is_refused_at_the_callback(
        client, kakao, kakao_app):
    from dashboard.accounts.operators import SUSPENDED_MESSAGE
    from dashboard.core.i18n import gettext, in_language
    from dashboard.core.models import utcnow

    world = World(kakao_app)
    email = world.users["A-manager"]
    with session_scope(kakao_app) as s:
        s.get(Organization, world.org_ids["A"]).suspended_at = utcnow()
    kakao.add_account(78, email, "Manager")
    kakao.login_as(78)
    resp = kakao_login(client, kakao)
    # the callback itself refuses, with the password login's message, and signs no one in
    assert resp.status_code == 403
    with kakao_app.test_request_context("/"):
        messages = set()
        for language in ("en", "ko"):
            with in_language(language):
                messages.add(gettext(SUSPENDED_MESSAGE))
    page = html.unescape(resp.get_data(as_text=True))
    assert any(m in page for m in messages), page[:2000]
    assert client.get("/").status_code == 302  # not logged in: sent to the login page
    assert ("login.failure", "suspended") in audit_actions(kakao_app)
    assert ("login.success", None) not in audit_actions(kakao_app)


def test_unverified_kakao_email_neither_links_nor_creates(client, kakao, kakao_app):
    world = World(kakao_app)
    victim = world.users["A-admin"]
    kakao.add_account(5, victim, "Mallory", verified=False)
    kakao.login_as(5)
    resp = kakao_login(client, kakao)
    assert resp.status_code == 403
    assert "not verified" in resp.get_data(as_text=True) or "did not confirm" in \
        resp.get_data(as_text=True)
    assert user(kakao_app, email=victim).kakao_id is None
    assert user(kakao_app, kakao_id="5") is None
    assert client.get("/").status_code == 302  # not logged in
    assert ("login.failure", "policy") in audit_actions(kakao_app)
    # No email shared at all: refused the same way.
    kakao.add_account(6, None, "NoEmail")
    kakao.login_as(6)
    assert kakao_login(client, kakao).status_code == 403
    assert user(kakao_app, kakao_id="6") is None


def test_our_unverified_account_is_not_handed_to_kakao(client, kakao, kakao_app):
    # Someone registered this address with a password but never proved it is theirs.
    world = World(kakao_app)
    email = world.users["B-viewer"]
    with session_scope(kakao_app) as s:
        s.scalar(sa.select(User).where(User.email == email)).email_verified_at = None
    kakao.add_account(8, email, "Owner")
    kakao.login_as(8)
    resp = kakao_login(client, kakao)
    assert resp.status_code == 403
    assert user(kakao_app, email=email).kakao_id is None


def test_wrong_or_missing_state_is_refused_before_any_token_request(client, kakao, kakao_app):
    kakao.add_account(9, "s@example.kr", "S")
    kakao.login_as(9)
    callback, query = start(client, kakao)
    code = query["code"][0]
    forged = client.get(f"/auth/kakao/callback?code={code}&state=forged-state")
    assert forged.status_code == 400 and "try again" in forged.get_data(as_text=True)
    missing = client.get(f"/auth/kakao/callback?code={code}")
    assert missing.status_code == 400
    # A callback started in another browser (another cookie jar) has no state here.
    other = kakao_app.test_client()
    assert other.get(callback).status_code == 400
    assert kakao.calls("/oauth/token") == []
    assert user(kakao_app, kakao_id="9") is None
    assert ("login.failure", "state") in audit_actions(kakao_app)


def test_denied_consent_returns_to_login(client, kakao, kakao_app):
    kakao.add_account(10, "d@example.kr", "D")
    kakao.deny = True
    callback, query = start(client, kakao)
    assert query["error"] == ["access_denied"]
    resp = client.get(callback)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    page = client.get("/login")
    assert "cancelled" in page.get_data(as_text=True)
    assert kakao.calls("/oauth/token") == []
    assert user(kakao_app, kakao_id="10") is None
    assert ("login.failure", "access_denied") in audit_actions(kakao_app)


def test_token_error_is_shown_and_nothing_is_created(client, kakao, kakao_app):
    kakao.add_account(11, "t@example.kr", "T")
    kakao.login_as(11)
    callback, query = start(client, kakao)
    state = query["state"][0]
    resp = client.get(f"/auth/kakao/callback?code=expired-code&state={state}")
    assert resp.status_code == 400
    assert "invalid_grant" in resp.get_data(as_text=True)
    assert kakao.calls("/oauth/token")  # the exchange was tried and refused (KOE320)
    assert user(kakao_app, kakao_id="11") is None
    assert ("login.failure", "token") in audit_actions(kakao_app)


def test_a_used_state_cannot_be_replayed(client, kakao, kakao_app):
    kakao.add_account(12, "r@example.kr", "R")
    kakao.login_as(12)
    callback, _ = start(client, kakao)
    assert client.get(callback).status_code == 302
    client.post("/logout")
    assert client.get(callback).status_code == 400


def test_signed_in_user_connects_kakao_from_settings(client, kakao, kakao_app):
    world = World(kakao_app)
    world.login(client, "A-analyst")
    kakao.add_account(13, "different@kakao.kr", "Analyst")
    kakao.login_as(13)
    callback, _ = start(client, kakao)
    resp = client.get(callback)
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings"
    assert user(kakao_app, email=world.users["A-analyst"]).kakao_id == "13"
    # The same Kakao account cannot then be connected to a second user.
    client.post("/logout")
    world.login(client, "A-viewer")
    callback, _ = start(client, kakao)
    client.get(callback)
    assert user(kakao_app, email=world.users["A-viewer"]).kakao_id is None


def test_kakao_join_request_waits_for_approval(client, kakao, kakao_app):
    World(kakao_app)
    kakao.add_account(14, "joiner@example.kr", "<script>alert(1)</script>")
    kakao.login_as(14)
    kakao_login(client, kakao)
    page = client.get("/register/organisation").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    resp = client.post("/register/organisation", data={
        "name": "Joiner", "company": "A Corp", "industry": "food", "company_size": "1-9",
        "org_mode": "join", "org_name": "org a", "accept_terms": "1", "accept_privacy": "1"})
    assert resp.status_code == 202
    joiner = user(kakao_app, kakao_id="14")
    with session_scope(kakao_app) as s:
        org_a = s.scalar(sa.select(Organization.id).where(Organization.name == "Org A"))
    assert joiner.pending and joiner.org_id == org_a
    assert client.get("/").status_code == 302  # logged out while pending
    resp = kakao_login(client, kakao)
    assert resp.status_code == 403 and "approval" in resp.get_data(as_text=True)


def test_login_page_offers_kakao_and_registration(client):
    page = client.get("/login?next=/alerts", headers={"Accept-Language": "ko"}).get_data(
        as_text=True)
    assert 'id="login-kakao"' in page and "/auth/kakao/login?next=/alerts" in page
    assert "카카오 로그인" in page and 'href="/register"' in page


def test_no_kakao_button_without_configuration(tmp_path):
    url = migrated_sqlite(tmp_path / "plain.db")
    app = _make_app(tmp_path, url).server
    c = app.test_client()
    assert 'id="login-kakao"' not in c.get("/login").get_data(as_text=True)
    assert c.get("/auth/kakao/login").headers["Location"].endswith("/login")


def test_password_login_still_works_next_to_kakao(client, kakao_app):
    world = World(kakao_app)
    resp = client.post("/login", data={"email": world.users["A-viewer"], "password": PASSWORD})
    assert resp.status_code == 302


def test_invitation_completes_a_kakao_account_without_organisation(client, kakao, kakao_app):
    world = World(kakao_app)
    kakao.add_account(15, "kakao.only@a.example", "카카오")
    kakao.login_as(15)
    assert kakao_login(client, kakao).headers["Location"] == "/register/organisation"
    admin = kakao_app.test_client()
    world.login(admin, "A-admin")
    from dashboard.accounts.invitations import invite

    with kakao_app.test_request_context():
        from dashboard.core.database import db_session

        db = db_session()
        inviter = db.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
        sent = invite(db, kakao_app, inviter, "kakao.only@a.example", "manager")
        db.commit()
    path = "/invite/" + sent.link.rsplit("/invite/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and 'name="password"' not in page.get_data(as_text=True)
    resp = client.post(path, data={"name": "카카오", "company": "A", "industry": "food",
                                   "company_size": "1-9", "accept_terms": "1",
                                   "accept_privacy": "1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    joined = user(kakao_app, kakao_id="15")
    assert joined.org_id == world.org_ids["A"] and joined.role == "manager"
    assert client.get("/").status_code == 200
    # Logged out, the same link now says it is used up.
    client.post("/logout")
    assert client.get(path).status_code == 404
