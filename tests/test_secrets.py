"""Issue 17: secrets never leave where they belong. Every token kind (device tokens,
password-reset and verification tokens, invitations) is stored as a hash only; no
password, token or password hash appears in the logs (JSON logs included), the audit
trail, a CSV export or a Sentry event (real sentry-sdk, a local transport)."""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from dashboard.core.database import Base, session_scope
from dashboard.core.models import User
from tests.conftest import PASSWORD
from tests.factories import add_diagnosis


def _all_text(server) -> str:
    rows = []
    with session_scope(server) as s:
        for table in Base.metadata.sorted_tables:
            rows.extend(repr(r) for r in s.execute(sa.select(table)).all())
    return "\n".join(rows)


def test_every_token_kind_is_stored_hashed(app, world):
    from dashboard.accounts.invitations import invite
    from dashboard.accounts.tokens import issue_user_token

    with session_scope(app) as s:
        admin = s.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
        reset = issue_user_token(s, admin, "reset")
        verify = issue_user_token(s, admin, "verify")
        invitation = invite(s, app, admin, "new@a.example", "viewer")
    with app.app_context():
        text = _all_text(app)
    raw = [reset, verify, *world.tokens.values()]
    link_token = getattr(invitation, "token", None) or getattr(invitation, "link", "")
    raw.append(str(link_token).rsplit("/", 1)[-1])
    for token in raw:
        assert token and len(token) >= 20
        assert token not in text, "a raw token is stored"


def test_device_tokens_are_compared_in_constant_time():
    import inspect

    from dashboard.fleet import device_tokens

    source = inspect.getsource(device_tokens.verify_token)
    assert "hmac.compare_digest" in source  # the lookup prefix finds the row, then this
    # user tokens and invitations are looked up by the SHA-256 of a 256-bit secret:
    # the database compares hashes, which tells an attacker nothing about the token


def test_no_secret_in_logs_audit_csv_or_sentry(app, client, world, caplog):
    import sentry_sdk

    from dashboard.core.observability import JsonFormatter, scrub_event

    sent: list = []
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=sent.append,
                    before_send=scrub_event, send_default_pii=False)
    cid = world.compressors["A"][0]
    token = world.tokens[cid]
    caplog.set_level(logging.DEBUG)
    client.post("/login", data={"email": world.users["A-analyst"], "password": PASSWORD})
    client.post("/login", data={"email": world.users["A-viewer"], "password": "wrong-" + PASSWORD})
    client.post("/api/esp32/data", json={"seq": 1, "metrics": {"current_a": 1.0}},
                headers={"Authorization": f"Bearer {token}"})
    client.post("/api/esp32/data", json={"seq": 2}, headers={"Authorization": f"Bearer {token}x"})
    client.post("/forgot-password", data={"email": world.users["A-viewer"]})
    with session_scope(app) as s:
        add_diagnosis(s, cid, dt.datetime.now(dt.UTC), label="bearing")
        hashes = [u.password_hash for u in s.scalars(sa.select(User))]
    csv_text = client.get("/export/diagnoses.csv").get_data(as_text=True)
    try:
        authorization = f"Bearer {token}"  # noqa: F841 - a local Sentry would report
        raise RuntimeError(f"failed with Authorization: Bearer {token}")
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()
    event_text = repr(sent)
    json_logs = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    from dashboard.core.models import AuditLog

    with session_scope(app) as s:
        audit = repr([(a.action, a.target, a.detail) for a in s.scalars(sa.select(AuditLog))])
    assert "/reset-password/" not in caplog.text  # the unsent mail's link is not logged
    for where, text in (("log", caplog.text), ("json log", json_logs), ("audit", audit),
                        ("csv", csv_text), ("sentry", event_text)):
        for secret in (PASSWORD, token, *hashes):
            assert secret not in text, (where, secret[:12])
    assert sent, "the Sentry event was captured"
    sentry_sdk.init(dsn=None)


def test_kakao_tokens_are_sealed_at_rest_and_read_back(app, world, tmp_path):
    from tests.conftest import _make_app

    access, refresh = "kakao-access-" + "a" * 40, "kakao-refresh-" + "r" * 40
    email = world.users["A-admin"]
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        user.kakao_access_token, user.kakao_refresh_token = access, refresh
    engine = app.extensions["sc_engine"]
    with engine.connect() as conn:  # the raw column: sealed, never the token
        stored = conn.execute(sa.text(
            "SELECT kakao_access_token, kakao_refresh_token FROM user_account WHERE email = :e"
        ), {"e": email}).one()
    assert all(v.startswith("fernet:") for v in stored)
    assert access not in str(stored) and refresh not in str(stored)
    with session_scope(app) as s:  # the app reads them back
        user = s.scalar(sa.select(User).where(User.email == email))
        assert (user.kakao_access_token, user.kakao_refresh_token) == (access, refresh)
    # A value stored before sealing reads as it is; the next write seals it.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE user_account SET kakao_access_token = 'legacy-plain' "
                             "WHERE email = :e"), {"e": email})
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        assert user.kakao_access_token == "legacy-plain"
    # Another SECRET_KEY cannot open them: the channel reads as disconnected.
    other = _make_app(tmp_path / "other", app.config["SQLALCHEMY_URL"],
                      SECRET_KEY="another-secret-key-" + "x" * 32).server
    with session_scope(other) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        assert user.kakao_refresh_token is None
