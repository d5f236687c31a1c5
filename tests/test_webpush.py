"""Web Push end to end: a browser subscription stored for the user, an alert delivered
through pywebpush with the configured VAPID keys to a local push service that checks
the VAPID JWT, and the test decrypting the aes128gcm payload with the subscription's
private key: title, body and the alert's URL. Unsubscribed browsers are forgotten and
the alert falls back to other channels."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashboard.alerts import deliver_pending, evaluate_diagnosis
from dashboard.alerts.channels import channel_problem
from dashboard.alerts.errors import AlertsInputError
from dashboard.alerts.webpush import (
    browser_label,
    generate_vapid_keys,
    list_browsers,
    remove_browser,
    save_subscription,
)
from dashboard.core.database import session_scope
from dashboard.core.models import NotificationDelivery, PushSubscription, User
from tests.fakes.push_service import FakePushService
from tests.fakes.smtp import SmtpSink
from tests.test_alerts_support import (
    T0,
    add_rule,
    diagnosis,
    env_fixture,  # noqa: F401  (fixture)
    minutes,
    sqlite_env_fixture,  # noqa: F401  (fixture)
)

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")


@pytest.fixture
def vapid(env):
    public, private = generate_vapid_keys()
    env.server.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private,
                             VAPID_SUBJECT="mailto:ops@signalcraft.example",
                             PUBLIC_BASE_URL="https://signalcraft.example")
    return public


@pytest.fixture
def push(vapid):
    with FakePushService(vapid_public_key=vapid) as service:
        yield service


def subscribe(env, push, who="A-manager", **prefs):
    data = push.subscribe()
    with session_scope(env.server) as s:
        user = s.scalar(sa.select(User).where(User.email == env.world.users[who]))
        save_subscription(s, user, data, ANDROID_CHROME, allow_loopback_http=True)
        for key, value in prefs.items():
            setattr(user, key, value)
    return data


def fire(env, severity="warning", n=0):
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {}, severity=severity, name=f"Surge {n}",
                 compressor_id=env.comp(n=n))
        return evaluate_diagnosis(s, diagnosis(s, env.comp(n=n), T0, status="warning"),
                                  T0)[0].id


def rows(env, alert_id):
    with session_scope(env.server) as s:
        return {r.channel: r for r in s.scalars(
            sa.select(NotificationDelivery).where(NotificationDelivery.alert_id == alert_id))}


def test_an_alert_reaches_the_browser_encrypted_and_opens_the_alert(env, push):
    subscribe(env, push, notify_email=False, language="en")
    alert_id = fire(env)
    assert set(rows(env, alert_id)) == {"webpush"}
    assert deliver_pending(env.server, T0) == 1
    [message] = push.received
    assert push.refused == []
    assert b"Surge 0" not in message["body"]  # encrypted on the wire
    payload = push.decrypt(message)
    assert payload["title"] == "WARNING: Surge 0 — Comp A1"
    assert "Site A / Comp A1" in payload["body"]
    assert payload["url"] == f"https://signalcraft.example/alerts?alert={alert_id}"
    assert payload["tag"] == f"alert-{alert_id}" and payload["lang"] == "en"
    assert message["ttl"] == 86400 and message["urgency"] == "normal"
    row = rows(env, alert_id)["webpush"]
    assert (row.status, row.provider_status) == ("sent", "1 of 1 browsers")
    with session_scope(env.server) as s:
        [browser] = list_browsers(s, env.user_id("A-manager"))
    assert browser.last_success_at is not None and browser.label == "Chrome · Android"


def test_every_browser_of_the_user_gets_it_and_critical_is_urgent(env, push):
    subscribe(env, push)
    subscribe(env, push)
    fire(env, severity="critical")
    deliver_pending(env.server, T0)
    assert len(push.received) == 2 and {m["urgency"] for m in push.received} == {"high"}
    assert len({m["subscription"] for m in push.received}) == 2


def test_an_unsubscribed_browser_is_forgotten_and_email_takes_over(env, push):
    data = subscribe(env, push, notify_email=False)
    push.unsubscribe(data["endpoint"])
    with SmtpSink() as sink:
        sink.configure(env.server)
        alert_id = fire(env)
        deliver_pending(env.server, T0)
        by_channel = rows(env, alert_id)
        assert by_channel["webpush"].status == "disconnected"
        assert by_channel["email"].fallback_for_id == by_channel["webpush"].id
        assert deliver_pending(env.server, T0) == 1 and len(sink.messages) == 1
    with session_scope(env.server) as s:
        assert s.scalar(sa.select(sa.func.count(PushSubscription.id))) == 0
    assert push.refused == [(410, "unsubscribed")]


def test_a_busy_push_service_is_retried(env, push):
    subscribe(env, push)
    push.fail_next(1, status=503)
    alert_id = fire(env)
    deliver_pending(env.server, T0)
    assert rows(env, alert_id)["webpush"].status == "pending"
    assert deliver_pending(env.server, T0 + minutes(1)) >= 1
    assert rows(env, alert_id)["webpush"].status == "sent" and len(push.received) == 1


def test_keys_that_do_not_match_the_subscription_are_refused_by_the_push_service(env, push):
    subscribe(env, push, notify_email=False)
    public, private = generate_vapid_keys()  # the server's keys were replaced
    env.server.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private)
    alert_id = fire(env)
    deliver_pending(env.server, T0)
    row = rows(env, alert_id)["webpush"]
    assert row.status == "failed" and "403" in row.last_error
    assert push.refused[0] == (403, "k is not the key this subscription was made with")


def test_the_channel_needs_a_matching_vapid_key_pair(app):
    assert "VAPID_PUBLIC_KEY" in channel_problem(app, "webpush")
    public, private = generate_vapid_keys()
    other, _ = generate_vapid_keys()
    app.config.update(VAPID_PUBLIC_KEY=other, VAPID_PRIVATE_KEY=private)
    assert "does not belong" in channel_problem(app, "webpush")
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY="not a key")
    assert "not a P-256" in channel_problem(app, "webpush")
    app.config.update(VAPID_PRIVATE_KEY=private)
    assert channel_problem(app, "webpush") is None


def test_the_cli_makes_a_key_pair_that_the_channel_accepts(app):
    result = CliRunner().invoke(app.cli, ["webpush-keys"], obj=None,
                                catch_exceptions=False)
    lines = dict(line.split("=", 1) for line in result.output.split() if "=" in line)
    app.config.update(VAPID_PUBLIC_KEY=lines["VAPID_PUBLIC_KEY"],
                      VAPID_PRIVATE_KEY=lines["VAPID_PRIVATE_KEY"])
    assert channel_problem(app, "webpush") is None


@pytest.mark.parametrize("data, message", [
    (None, "no push subscription"),
    ({"endpoint": "http://push.example/abc", "keys": {}}, "not an https URL"),
    ({"endpoint": "https://push.example/abc", "keys": {"p256dh": "abc", "auth": "x"}},
     "malformed push keys"),
])
def test_a_malformed_subscription_is_refused_and_nothing_is_written(sqlite_env, data, message):
    env = sqlite_env
    with session_scope(env.server) as s:
        user = s.scalar(sa.select(User).where(User.email == env.world.users["A-viewer"]))
        with pytest.raises(AlertsInputError) as err:
            save_subscription(s, user, data, ANDROID_CHROME)
        assert message in str(err.value)
        assert s.scalar(sa.select(sa.func.count(PushSubscription.id))) == 0


def test_a_browser_belongs_to_whoever_subscribed_it_last_and_only_they_remove_it(
        sqlite_env, vapid):
    env = sqlite_env
    with FakePushService(vapid_public_key=vapid) as push:
        data = push.subscribe()
    with session_scope(env.server) as s:
        viewer = s.scalar(sa.select(User).where(User.email == env.world.users["A-viewer"]))
        other = s.scalar(sa.select(User).where(User.email == env.world.users["B-viewer"]))
        save_subscription(s, viewer, data, ANDROID_CHROME, allow_loopback_http=True)
        first = save_subscription(s, other, data, ANDROID_CHROME, allow_loopback_http=True)
        assert [b.id for b in list_browsers(s, other.id)] == [first.id]
        assert list_browsers(s, viewer.id) == []
        assert remove_browser(s, viewer, first.id) is False  # not theirs
        assert remove_browser(s, other, first.id) is True
        assert list_browsers(s, other.id) == []


@pytest.mark.parametrize("agent, label", [
    (ANDROID_CHROME, "Chrome · Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari · iPhone"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet · Android"),
    (None, "Browser"),
])
def test_browsers_get_a_name_people_recognise(agent, label):
    assert browser_label(agent) == label
