"""Kakao "send to me" alerts keep working past the access token's 6 hours: the token is
renewed with the refresh token (Authlib, Kakao's token endpoint) before it expires and
when Kakao answers -401, once per message; when Kakao refuses the refresh token the
user is marked disconnected, the delivery log says so and the alert goes out on the
user's other channels. Against the local fake Kakao (tokens with expiry, a clock)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.accounts.kakao import store_tokens
from dashboard.alerts import deliver_pending, evaluate_diagnosis
from dashboard.alerts.queries import alert_deliveries
from dashboard.core.database import session_scope
from dashboard.core.models import AuditLog, NotificationDelivery, User, utcnow
from tests.fakes.kakao import FakeKakao
from tests.fakes.sms import FakeSmsGateway
from tests.fakes.smtp import SmtpSink
from tests.test_alerts_support import (
    T0,
    add_rule,
    diagnosis,
    env_fixture,  # noqa: F401  (fixture)
    minutes,
)

KAKAO_ID = 777
PHONE = "+821012345678"


@pytest.fixture
def kakao(env):
    with FakeKakao() as fake:
        fake.add_account(KAKAO_ID, "manager@a.example", "김매니저")
        env.server.config.update(KAKAO_CLIENT_ID=fake.client_id,
                                 KAKAO_CLIENT_SECRET=fake.client_secret,
                                 KAKAO_AUTH_URL=fake.url, KAKAO_API_URL=fake.url)
        yield fake


def link_kakao(env, fake, **prefs):
    """The manager linked Kakao (as the login callback does) and wants Kakao alerts."""
    with session_scope(env.server) as s:
        user = s.scalar(sa.select(User).where(User.email == env.world.users["A-manager"]))
        user.kakao_id = str(KAKAO_ID)
        store_tokens(user, fake.issue_tokens(KAKAO_ID))
        user.notify_kakao, user.notify_email = True, False
        for key, value in prefs.items():
            setattr(user, key, value)
        return user.kakao_access_token, user.kakao_refresh_token


def manager(env):
    with session_scope(env.server) as s:
        user = s.scalar(sa.select(User).where(User.email == env.world.users["A-manager"]))
        s.expunge(user)
        return user


def fire(env, n=0, now=T0):
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {}, name=f"Bearing {n}",
                 compressor_id=env.comp(n=n))
        return evaluate_diagnosis(s, diagnosis(s, env.comp(n=n), now, status="warning"),
                                  now)[0].id


def rows(env, alert_id):
    with session_scope(env.server) as s:
        return list(s.scalars(sa.select(NotificationDelivery)
                              .where(NotificationDelivery.alert_id == alert_id)
                              .order_by(NotificationDelivery.id)))


def refresh_calls(fake):
    return [c for c in fake.calls("/oauth/token") if c["form"].get("grant_type") ==
            "refresh_token"]


def test_a_token_about_to_expire_is_refreshed_before_the_message(env, kakao):
    old_access, refresh = link_kakao(env, kakao)
    with session_scope(env.server) as s:  # 5 minutes left: inside the renewal margin
        s.execute(sa.update(User).where(User.kakao_id == str(KAKAO_ID))
                  .values(kakao_token_expires_at=utcnow() + dt.timedelta(minutes=5)))
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 1
    [call] = refresh_calls(kakao)
    assert call["form"]["refresh_token"] == refresh
    assert call["form"]["client_id"] == kakao.client_id  # client_secret_post
    assert call["form"]["client_secret"] == kakao.client_secret
    user = manager(env)
    assert user.kakao_access_token != old_access
    assert user.kakao_refresh_token == refresh  # Kakao kept it: more than a month left
    assert user.kakao_token_expires_at > utcnow() + dt.timedelta(hours=5)
    [sent] = kakao.messages
    assert sent["account_id"] == KAKAO_ID and "Bearing 0" in sent["template"]["text"]
    [row] = rows(env, alert_id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_a_token_kakao_expired_early_is_refreshed_once_on_401(env, kakao):
    link_kakao(env, kakao)
    kakao.expire_access_tokens()  # our row still says 6 hours left
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 1
    assert len(refresh_calls(kakao)) == 1
    assert len(kakao.calls("/v2/api/talk/memo/default/send")) == 2  # -401, then sent
    assert len(kakao.messages) == 1
    assert rows(env, alert_id)[0].status == "sent"
    # The new token serves the next alert without another refresh.
    fire(env, n=1)
    assert deliver_pending(env.server, T0 + minutes(1)) == 1
    assert len(refresh_calls(kakao)) == 1 and len(kakao.messages) == 2


def test_a_refresh_token_in_its_last_month_is_replaced_and_stored(env, kakao):
    _access, refresh = link_kakao(env, kakao)
    kakao.advance(kakao.refresh_ttl - 10 * 24 * 3600)  # 10 days left; access long expired
    fire(env)
    assert deliver_pending(env.server, T0) == 1
    new_refresh = manager(env).kakao_refresh_token
    assert new_refresh and new_refresh != refresh
    kakao.expire_access_tokens()
    fire(env, n=1)
    assert deliver_pending(env.server, T0 + minutes(1)) == 1  # the new refresh token works
    assert refresh_calls(kakao)[-1]["form"]["refresh_token"] == new_refresh


def test_a_revoked_refresh_token_disconnects_kakao_and_falls_back_to_sms(env, kakao):
    link_kakao(env, kakao, notify_sms=True, phone=PHONE)
    kakao.revoke(KAKAO_ID)  # the user unlinked SignalCraft in KakaoTalk
    with FakeSmsGateway() as gateway:
        gateway.configure(env.server)
        gateway.fail_next(1, status=503)  # the SMS of the round itself waits for a retry
        alert_id = fire(env)
        assert deliver_pending(env.server, T0) == 0
        by_channel = {r.channel: r for r in rows(env, alert_id)}
        assert set(by_channel) == {"sms", "kakao"}
        kakao_row, sms_row = by_channel["kakao"], by_channel["sms"]
        assert kakao_row.status == "disconnected"
        assert "-401" in kakao_row.last_error and "KOE322" not in kakao_row.last_error
        assert "invalid_grant" in kakao_row.last_error and "link Kakao" in kakao_row.last_error
        # SMS was already part of the round: no second SMS row for the fallback.
        assert sms_row.channel == "sms" and sms_row.fallback_for_id is None
        assert deliver_pending(env.server, T0 + minutes(1)) == 1
        assert len(gateway.messages) == 1
    user = manager(env)
    assert user.kakao_disconnected_at is not None and "invalid_grant" in (
        user.kakao_disconnect_reason or "")
    assert user.kakao_access_token is None and user.kakao_refresh_token is None
    with session_scope(env.server) as s:
        assert s.scalar(sa.select(AuditLog.action).where(
            AuditLog.action == "user.kakao_disconnected")) is not None
        log = alert_deliveries(s, env.org(), alert_id)
    assert {(d.channel, d.status) for d in log} == {("kakao", "disconnected"), ("sms", "sent")}


def test_a_user_reached_only_by_kakao_gets_email_when_kakao_disconnects(env, kakao):
    link_kakao(env, kakao)
    kakao.revoke(KAKAO_ID)
    with SmtpSink() as sink:
        sink.configure(env.server)
        alert_id = fire(env)
        deliver_pending(env.server, T0)
        kakao_row, email_row = rows(env, alert_id)
        assert (kakao_row.status, email_row.channel) == ("disconnected", "email")
        assert email_row.fallback_for_id == kakao_row.id and email_row.status == "pending"
        assert deliver_pending(env.server, T0) == 1
        [mail] = sink.messages
        assert mail["To"] == "manager@a.example" and "Bearing 0" in mail["Subject"]
        # Later alerts: the disconnected Kakao row ends at once, without asking Kakao,
        # and the email follows.
        sends = len(kakao.calls("/v2/api/talk/memo/default/send"))
        second = fire(env, n=1)
        deliver_pending(env.server, T0 + minutes(5))
        deliver_pending(env.server, T0 + minutes(5))
        assert len(kakao.calls("/v2/api/talk/memo/default/send")) == sends
        assert [(r.channel, r.status) for r in rows(env, second)] == [
            ("kakao", "disconnected"), ("email", "sent")]
        assert len(sink.messages) == 2
    with session_scope(env.server) as s:
        log = alert_deliveries(s, env.org(), second)
    assert log[1].fallback_for == "kakao"


def test_connecting_kakao_again_ends_the_disconnection(env, kakao):
    link_kakao(env, kakao)
    kakao.revoke(KAKAO_ID)
    fire(env)
    deliver_pending(env.server, T0)
    assert manager(env).kakao_disconnected_at is not None
    link_kakao(env, kakao)  # the login callback stores fresh tokens
    assert manager(env).kakao_disconnected_at is None
    alert_id = fire(env, n=1)
    assert deliver_pending(env.server, T0 + minutes(1)) == 1
    assert [r.status for r in rows(env, alert_id)] == ["sent"]


def test_kakao_unreachable_during_a_refresh_retries_later(env, kakao):
    link_kakao(env, kakao)
    kakao.expire_access_tokens()
    env.server.config["KAKAO_AUTH_URL"] = "http://127.0.0.1:9"  # nothing listens there
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 0
    [row] = rows(env, alert_id)
    assert row.status == "pending" and "unreachable" in row.last_error
    assert manager(env).kakao_disconnected_at is None  # not Kakao's refusal: no disconnect
    env.server.config["KAKAO_AUTH_URL"] = kakao.url
    assert deliver_pending(env.server, T0 + minutes(1)) == 1
