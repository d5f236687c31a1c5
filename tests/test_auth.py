"""Login, logout, wrong password, disabled and pending users, sessions that end when
the account changes, and the gate in front of pages, callbacks and the API."""

import json

import sqlalchemy as sa

from dashboard.accounts.auth import hash_password, verify_password
from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.conftest import PASSWORD, migrated_sqlite


def _set(server, email, **values):
    with session_scope(server) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        for k, v in values.items():
            setattr(user, k, v)


def _health_callback_body():
    return {
        "output": "..health-grid.children...health-counts.children...health-updated.children..",
        "outputs": [{"id": "health-grid", "property": "children"},
                    {"id": "health-counts", "property": "children"},
                    {"id": "health-updated", "property": "children"}],
        "inputs": [{"id": "health-interval", "property": "n_intervals", "value": 1},
                   {"id": "health-site", "property": "value", "value": None},
                   {"id": "health-status", "property": "value", "value": []},
                   {"id": "health-view", "property": "value", "value": "cards"},
                   {"id": "health-live", "property": "data", "value": None}],
        "changedPropIds": ["health-interval.n_intervals"],
        "state": [],
    }


def call_health(client):
    return client.post("/_dash-update-component", data=json.dumps(_health_callback_body()),
                       content_type="application/json")


def test_passwords_are_hashed_with_argon2():
    h = hash_password("s3cret-password")
    assert h.startswith("$argon2") and "s3cret" not in h
    assert verify_password(h, "s3cret-password")
    assert not verify_password(h, "wrong")
    assert not verify_password(None, "x")


def test_the_production_hash_costs_owasp_minimum_and_old_hashes_are_remade_at_login(
        app, client, world):
    from argon2 import PasswordHasher

    from dashboard.accounts import auth
    from dashboard.core.database import session_scope
    from dashboard.core.models import User
    from tests.conftest import PASSWORD

    assert "$m=19456,t=2,p=1$" in PasswordHasher(**auth.HASH_PARAMETERS).hash("x")
    assert auth._hasher.check_needs_rehash(PasswordHasher().hash("x"))  # the old default
    with session_scope(app) as s:  # a hash made with argon2-cffi's default parameters
        user = s.scalar(sa.select(User).where(User.email == world.users["A-viewer"]))
        old = user.password_hash = PasswordHasher().hash(PASSWORD)
    world.login(client, "A-viewer")
    with session_scope(app) as s:
        new = s.scalar(sa.select(User.password_hash).where(User.email == world.users["A-viewer"]))
    assert new != old and not auth._hasher.check_needs_rehash(new)
    assert verify_password(new, PASSWORD)


def test_login_then_logout(client, world):
    assert client.get("/").status_code == 302
    world.login(client, "A-viewer")
    page = client.get("/")
    assert page.status_code == 200
    client.post("/logout")
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_wrong_password_is_refused(client, world):
    resp = client.post("/login", data={"email": world.users["A-viewer"], "password": "nope-nope"})
    assert resp.status_code == 401
    assert b"Wrong email or password" in resp.data
    assert client.get("/").status_code == 302
    unknown = client.post("/login", data={"email": "ghost@x.example", "password": PASSWORD})
    assert unknown.status_code == 401


def test_disabled_user_cannot_log_in_or_keep_a_session(client, world, app):
    world.login(client, "A-viewer")
    assert call_health(client).status_code == 200
    _set(app, world.users["A-viewer"], active=False)
    assert call_health(client).status_code == 401  # the live session ends at once
    resp = client.post("/login", data={"email": world.users["A-viewer"], "password": PASSWORD})
    assert resp.status_code == 403 and b"disabled" in resp.data


def test_pending_user_waits_for_approval(client, world, app):
    _set(app, world.users["A-analyst"], pending=True)
    resp = client.post("/login", data={"email": world.users["A-analyst"], "password": PASSWORD})
    assert resp.status_code == 403 and b"approval" in resp.data


def test_password_change_ends_other_sessions(client, world, app):
    world.login(client, "A-viewer")
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == world.users["A-viewer"]))
        user.session_version += 1
    assert client.get("/").status_code == 302


def test_anonymous_pages_redirect_and_data_endpoints_answer_401(client, world):
    page = client.get("/compressor/1")
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]
    for path in ("/_dash-layout", "/_dash-dependencies"):
        resp = client.get(path)
        assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    resp = call_health(client)
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"


def test_login_redirects_only_to_local_paths(client, world):
    resp = client.post("/login?next=https://evil.example/x",
                       data={"email": world.users["A-viewer"], "password": PASSWORD})
    assert resp.headers["Location"] == "/"
    client.post("/logout")
    resp = client.post("/login?next=/compressor/3",
                       data={"email": world.users["A-viewer"], "password": PASSWORD})
    assert resp.headers["Location"] == "/compressor/3"


def test_callback_post_must_be_json(client, world):
    world.login(client)
    resp = client.post("/_dash-update-component", data="x=1",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400


def test_login_form_requires_csrf_token(tmp_path):
    from dashboard.app import create_app

    url = migrated_sqlite(tmp_path / "c.db")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "k" * 32}).server
    client = app.test_client()
    resp = client.post("/login", data={"email": "a@b.example", "password": "x" * 12})
    assert resp.status_code == 400
    page = client.get("/login")
    token = page.data.split(b'name="csrf_token" value="')[1].split(b'"')[0].decode()
    resp = client.post("/login", data={"email": "a@b.example", "password": "x" * 12,
                                       "csrf_token": token})
    assert resp.status_code == 401  # the token passed; the credentials did not


def test_session_cookie_is_httponly_and_samesite(client, world):
    resp = client.post("/login", data={"email": world.users["A-viewer"], "password": PASSWORD})
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
