"""Notification delivery over real local servers: email through aiosmtpd, SMS through a
fake gateway, Kakao through a fake of its "send to me" API. Retries with backoff,
never the same notification twice, quiet hours, rate limits, and one failing channel
never blocking the others."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from dashboard.alerts import (
    acknowledge_alert,
    deliver_pending,
    evaluate_diagnosis,
    evaluate_periodic,
    register_jobs,
)
from dashboard.alerts.channels import SENDERS
from dashboard.alerts.delivery import MAX_ATTEMPTS, _prepare, claim_delivery, quiet_until
from dashboard.core.database import session_scope
from dashboard.core.models import (
    Alert,
    AlertRule,
    NotificationChannel,
    NotificationDelivery,
    Organization,
    User,
)
from tests.fakes.kakao_message import FakeKakaoMessageApi
from tests.fakes.sms import FakeSmsGateway
from tests.fakes.smtp import SmtpSink
from tests.test_alerts_support import (
    T0,
    add_rule,
    diagnosis,
    env_fixture,  # noqa: F401  (fixture)
    event_kinds,
    minutes,
    sqlite_env_fixture,  # noqa: F401  (fixture)
)

PHONE = "+821012345678"


def _prefs(server, who_email, **values):
    with session_scope(server) as s:
        s.execute(sa.update(User).where(User.email == who_email).values(**values))


def _fire(env, severity="warning", n=0, now=T0, **params):
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", params, severity=severity,
                 name=f"Pump noise {n}", compressor_id=env.comp(n=n))
        return evaluate_diagnosis(s, diagnosis(s, env.comp(n=n), now, status="warning"),
                                  now)[0].id


def _rows(server, alert_id=None):
    with session_scope(server) as s:
        query = sa.select(NotificationDelivery).order_by(NotificationDelivery.id)
        if alert_id is not None:
            query = query.where(NotificationDelivery.alert_id == alert_id)
        return list(s.scalars(query))


def _only(server, alert_id, channel):
    [row] = [r for r in _rows(server, alert_id) if r.channel == channel]
    return row


@pytest.fixture
def sms_only(sqlite_env):
    _prefs(sqlite_env.server, sqlite_env.world.users["A-manager"], notify_email=False,
           notify_sms=True, phone=PHONE)
    with FakeSmsGateway() as gateway:
        gateway.configure(sqlite_env.server)
        yield sqlite_env, gateway


def test_email_reaches_the_manager_once_with_a_link(sqlite_env):
    env = sqlite_env
    env.server.config["PUBLIC_BASE_URL"] = "https://signalcraft.example"
    with SmtpSink() as sink:
        sink.configure(env.server)
        alert_id = _fire(env)
        assert deliver_pending(env.server, T0) == 1
        msg = sink.wait_for()
        assert msg["To"] == "manager@a.example" and "Pump noise 0" in msg["Subject"]
        assert sink.find_link(msg, "/alerts") == (
            f"https://signalcraft.example/alerts?alert={alert_id}")
        assert deliver_pending(env.server, T0 + dt.timedelta(days=1)) == 0
        assert len(sink.messages) == 1
    row = _only(env.server, alert_id, "email")
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, T0)
    with session_scope(env.server) as s:
        assert event_kinds(s, alert_id) == ["fired", "notified"]


def test_sms_retries_with_backoff_until_the_gateway_accepts(sms_only):
    env, gateway = sms_only
    gateway.fail_next(2, status=503)
    alert_id = _fire(env)
    assert deliver_pending(env.server, T0) == 0
    row = _only(env.server, alert_id, "sms")
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + minutes(0.5))
    assert "503" in row.last_error
    assert deliver_pending(env.server, T0 + minutes(0.4)) == 0 and gateway.requests == 1
    assert deliver_pending(env.server, T0 + minutes(0.5)) == 0
    assert _only(env.server, alert_id, "sms").next_attempt_at == T0 + minutes(1.5)
    assert deliver_pending(env.server, T0 + minutes(1.5)) == 1
    [sms] = gateway.messages
    assert (sms["to"], sms["from"]) == (PHONE, "+8215880000")
    assert "Pump noise 0" in sms["text"]
    row = _only(env.server, alert_id, "sms")
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_a_delivery_gives_up_after_the_last_attempt(sms_only):
    env, gateway = sms_only
    gateway.fail_next(20, status=500)
    alert_id = _fire(env)
    now = T0
    for _ in range(MAX_ATTEMPTS):
        deliver_pending(env.server, now)
        now += dt.timedelta(hours=1)
    assert deliver_pending(env.server, now + dt.timedelta(days=1)) == 0
    assert gateway.requests == MAX_ATTEMPTS
    row = _only(env.server, alert_id, "sms")
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    with session_scope(env.server) as s:
        assert event_kinds(s, alert_id)[-1] == "notify_failed"


def test_a_refusal_for_good_is_not_retried(sms_only):
    env, gateway = sms_only
    _prefs(env.server, env.world.users["A-manager"], phone="not-a-phone")
    alert_id = _fire(env)
    deliver_pending(env.server, T0)
    deliver_pending(env.server, T0 + dt.timedelta(hours=2))
    row = _only(env.server, alert_id, "sms")
    assert (row.status, row.attempts, gateway.requests) == ("failed", 1, 1)
    assert "400" in row.last_error


def test_two_senders_claim_a_delivery_only_once(env):
    alert_id = _fire(env)
    row_id = _only(env.server, alert_id, "email").id
    with session_scope(env.server) as first, session_scope(env.server) as second:
        assert claim_delivery(first, row_id, T0) == 1
        first.commit()
        assert claim_delivery(second, row_id, T0) is None


def test_a_crashed_sender_never_resends_a_sent_row_and_retries_a_stuck_one_late(env):
    _prefs(env.server, env.world.users["A-manager"], notify_email=False, notify_sms=True,
           phone=PHONE)
    with FakeSmsGateway() as gateway:
        gateway.configure(env.server)
        alert_id = _fire(env)
        row_id = _only(env.server, alert_id, "sms").id
        # A sender claims, the gateway accepts, and the process dies before "sent".
        with session_scope(env.server) as s:
            attempt = claim_delivery(s, row_id, T0)
            msg = _prepare(env.server, s, row_id, attempt, T0)
        SENDERS["sms"](env.server, msg)
        assert len(gateway.messages) == 1
        # Until the sending timeout, nobody touches the row.
        assert deliver_pending(env.server, T0 + minutes(4)) == 0
        assert gateway.requests == 1 and _only(env.server, alert_id, "sms").status == "sending"
        # After it, the row is retried with the same idempotency key: no second SMS.
        assert deliver_pending(env.server, T0 + minutes(6)) == 1
        assert gateway.requests == 2 and len(gateway.messages) == 1
        row = _only(env.server, alert_id, "sms")
        assert (row.status, row.attempts) == ("sent", 2)
        # A sent row is never sent again, however late the next run.
        assert deliver_pending(env.server, T0 + dt.timedelta(days=3)) == 0
        assert gateway.requests == 2


def test_kakao_message_follows_the_send_to_me_contract(sqlite_env):
    env = sqlite_env
    _prefs(env.server, env.world.users["A-manager"], notify_email=False, notify_kakao=True,
           kakao_access_token="kakao-token-1", language="en")
    with FakeKakaoMessageApi(tokens={"kakao-token-1"}) as kakao:
        env.server.config["KAKAO_API_URL"] = kakao.url
        kakao.fail_next(1, status=500, code=-1)
        alert_id = _fire(env)
        assert deliver_pending(env.server, T0) == 0
        assert deliver_pending(env.server, T0 + minutes(1)) == 1
        [sent] = kakao.messages
    template = sent["template"]
    assert sent["token"] == "kakao-token-1" and template["object_type"] == "text"
    assert template["text"].startswith("WARNING: Pump noise 0") and len(template["text"]) <= 200
    assert template["link"]["web_url"].endswith(f"/alerts?alert={alert_id}")
    assert template["button_title"] == "Open alert"
    assert _only(env.server, alert_id, "kakao").status == "sent"


def test_an_expired_kakao_token_without_refresh_token_disconnects_kakao(sqlite_env):
    env = sqlite_env
    _prefs(env.server, env.world.users["A-manager"], notify_email=False, notify_kakao=True,
           kakao_access_token="expired")
    with FakeKakaoMessageApi(tokens={"other"}) as kakao:
        env.server.config["KAKAO_API_URL"] = kakao.url
        alert_id = _fire(env)
        deliver_pending(env.server, T0)
        deliver_pending(env.server, T0 + dt.timedelta(hours=1))
        assert kakao.requests == 1
    row = _only(env.server, alert_id, "kakao")
    assert row.status == "disconnected" and "-401" in row.last_error
    assert "link Kakao" in row.last_error


def test_one_failing_channel_does_not_block_the_others(sqlite_env):
    env = sqlite_env
    _prefs(env.server, env.world.users["A-manager"], notify_sms=True, phone=PHONE,
           notify_kakao=True, kakao_access_token="tok")
    with SmtpSink() as sink, FakeSmsGateway() as gateway, \
            FakeKakaoMessageApi(tokens={"tok"}) as kakao:
        sink.configure(env.server)
        gateway.configure(env.server)
        env.server.config["KAKAO_API_URL"] = kakao.url
        gateway.fail_next(5, status=502)
        alert_id = _fire(env)
        assert deliver_pending(env.server, T0) == 2
        assert len(sink.messages) == 1 and len(kakao.messages) == 1
    status = {r.channel: r.status for r in _rows(env.server, alert_id)}
    assert status == {"email": "sent", "sms": "pending", "kakao": "sent"}


def test_quiet_hours_hold_non_critical_notifications_until_they_end(sqlite_env):
    env = sqlite_env
    _prefs(env.server, env.world.users["A-manager"], quiet_hours_start=22, quiet_hours_end=7,
           timezone="Asia/Seoul")
    night = dt.datetime(2025, 3, 3, 14, 30, tzinfo=dt.UTC)  # 23:30 in Seoul
    morning = dt.datetime(2025, 3, 3, 22, 0, tzinfo=dt.UTC)  # 07:00 in Seoul
    with SmtpSink() as sink:
        sink.configure(env.server)
        warning = _fire(env, now=night)
        critical = _fire(env, severity="critical", n=1, now=night)
        assert deliver_pending(env.server, night) == 1
        # The manager reads Korean: the severity too is in their language.
        assert [m["Subject"] for m in sink.messages] == ["[SignalCraft 위험] Pump noise 1 "
                                                         "— Comp A2"]
        held = _only(env.server, warning, "email")
        assert (held.status, held.attempts, held.next_attempt_at) == ("pending", 0, morning)
        assert deliver_pending(env.server, morning - minutes(1)) == 0
        assert deliver_pending(env.server, morning) == 1
    assert _only(env.server, critical, "email").status == "sent"


@pytest.mark.parametrize("tz, start, end, local_hour, inside", [
    ("Asia/Seoul", 22, 7, 23, True), ("Asia/Seoul", 22, 7, 6, True),
    ("Asia/Seoul", 22, 7, 7, False), ("Asia/Seoul", 22, 7, 12, False),
    ("Europe/Berlin", 12, 14, 13, True), ("Europe/Berlin", 12, 14, 14, False),
    ("Asia/Seoul", None, 7, 3, False), ("Asia/Seoul", 5, 5, 5, False),
])
def test_quiet_hours_are_read_in_the_users_time_zone(tz, start, end, local_hour, inside):
    from zoneinfo import ZoneInfo

    now = dt.datetime(2025, 3, 3, local_hour, 15, tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    until = quiet_until(tz, start, end, now)
    assert (until is not None) == inside
    if inside:
        assert until.astimezone(ZoneInfo(tz)).hour == end and until > now


def test_the_rate_limit_caps_a_channel_per_organisation_and_hour(sqlite_env):
    env = sqlite_env
    with session_scope(env.server) as s:
        s.add(NotificationChannel(org_id=env.org(), kind="email", enabled=True, config={},
                                  rate_limit_per_hour=1))
    with SmtpSink() as sink:
        sink.configure(env.server)
        first, second = _fire(env, n=0), _fire(env, n=1)
        assert deliver_pending(env.server, T0) == 1
        assert len(sink.messages) == 1
    statuses = {_only(env.server, a, "email").status for a in (first, second)}
    assert statuses == {"sent", "rate_limited"}


def test_a_notification_is_cancelled_when_someone_acknowledged_first(sqlite_env):
    env = sqlite_env
    alert_id = _fire(env)
    with session_scope(env.server) as s:
        manager = s.scalar(sa.select(User).where(User.email == env.world.users["A-manager"]))
        acknowledge_alert(s, manager, alert_id, "seen it on the floor", T0)
    with SmtpSink() as sink:
        sink.configure(env.server)
        assert deliver_pending(env.server, T0) == 0
        assert sink.messages == []
    assert _only(env.server, alert_id, "email").status == "cancelled"


def test_a_channel_the_server_cannot_use_is_skipped_with_the_reason(sms_only):
    env, _gateway = sms_only
    env.server.config["SMS_WEBHOOK_KEY"] = ""
    alert_id = _fire(env)
    deliver_pending(env.server, T0)
    row = _only(env.server, alert_id, "sms")
    assert row.status == "skipped" and "SMS_WEBHOOK_KEY" in row.last_error


def test_preferences_and_disabled_channels_decide_what_is_enqueued(sqlite_env):
    env = sqlite_env
    _prefs(env.server, env.world.users["A-manager"], notify_sms=True, phone=PHONE,
           notify_kakao=True, kakao_access_token=None)
    with session_scope(env.server) as s:
        s.add(NotificationChannel(org_id=env.org(), kind="email", enabled=False, config={},
                                  rate_limit_per_hour=30))
    alert_id = _fire(env)
    # Email is off for the org; Kakao is wanted but not linked: SMS only.
    assert [r.channel for r in _rows(env.server, alert_id)] == ["sms"]
    info = _fire(env, severity="info", n=1)
    assert _rows(env.server, info) == []  # info alerts stay in the app


def test_escalation_reaches_the_admin_by_email(sqlite_env):
    env = sqlite_env
    with SmtpSink() as sink:
        sink.configure(env.server)
        _fire(env, escalate_after_minutes=10)
        deliver_pending(env.server, T0)
        with session_scope(env.server) as s:
            evaluate_periodic(s, env.org(), T0 + minutes(10))
        assert deliver_pending(env.server, T0 + minutes(10)) == 1
        assert [str(m["To"]) for m in sink.messages] == ["manager@a.example", "admin@a.example"]


def test_register_jobs_adds_the_evaluation_and_delivery_jobs(dash_app):
    scheduler = BackgroundScheduler()
    register_jobs(scheduler, dash_app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"alerts-evaluate", "alerts-deliver", "alerts-provider-reports"}
    assert jobs["alerts-deliver"].args == (dash_app.server,)
    # The jobs run against the real app without a scheduler around them; the evaluation
    # gives an organisation created without them its default rules.
    with session_scope(dash_app.server) as s:
        org = Organization(name="Late org")
        s.add(org)
    jobs["alerts-evaluate"].func(*jobs["alerts-evaluate"].args)
    assert jobs["alerts-deliver"].func(*jobs["alerts-deliver"].args) == 0
    assert jobs["alerts-provider-reports"].func(*jobs["alerts-provider-reports"].args) == 0
    with session_scope(dash_app.server) as s:
        assert s.scalar(sa.select(sa.func.count(Alert.id))) == 0
        kinds = s.scalars(sa.select(AlertRule.kind).where(AlertRule.org_id == org.id)).all()
        assert len(kinds) == 6
