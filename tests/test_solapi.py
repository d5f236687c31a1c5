"""SMS and Kakao AlimTalk through the solapi SDK against a local SOLAPI that checks the
real request signing (HMAC-SHA256 over date + salt with the API secret, clock skew,
replayed signatures) and SOLAPI's per-message refusals; AlimTalk templates per alert
kind and language, SMS replacement for phones without KakaoTalk, and what SOLAPI said
recorded on the delivery row."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid

import pytest
import requests
import sqlalchemy as sa

from dashboard.alerts import deliver_pending, evaluate_diagnosis
from dashboard.alerts.alimtalk_templates import (
    TEMPLATES,
    VARIABLES,
    choose_template,
    parse_template_ids,
    render,
)
from dashboard.alerts.channel_base import DeliveryError
from dashboard.alerts.channels import channel_problem, sms_provider
from dashboard.alerts.channels_solapi import korean_number, refresh_solapi_reports
from dashboard.core.database import session_scope
from dashboard.core.models import NotificationDelivery, User
from tests.fakes.sms import FakeSmsGateway
from tests.fakes.smtp import SmtpSink
from tests.fakes.solapi import SEND_PATH, FakeSolapi
from tests.test_alerts_support import (
    T0,
    add_rule,
    diagnosis,
    env_fixture,  # noqa: F401  (fixture)
    minutes,
    sqlite_env_fixture,  # noqa: F401  (fixture)
)

PHONE = "+82 10-1234-5678"
TEMPLATE_IDS = "health_status:ko=KA01TP_HEALTH_KO,health_status:en=KA01TP_HEALTH_EN," \
               "default:ko=KA01TP_DEFAULT_KO"


def prefs(env, **values):
    with session_scope(env.server) as s:
        s.execute(sa.update(User).where(User.email == env.world.users["A-manager"])
                  .values(**values))


def fire(env, kind="health_status", n=0, now=T0):
    with session_scope(env.server) as s:
        params = {} if kind == "health_status" else {"threshold": 0.05}
        add_rule(s, env.org(), kind, params, name=f"Valve noise {n}",
                 compressor_id=env.comp(n=n))
        d = diagnosis(s, env.comp(n=n), now, status="warning")
        return evaluate_diagnosis(s, d, now)[0].id


def row(env, alert_id, channel):
    with session_scope(env.server) as s:
        return s.scalar(sa.select(NotificationDelivery).where(
            NotificationDelivery.alert_id == alert_id, NotificationDelivery.channel == channel))


@pytest.fixture
def solapi(env):
    with FakeSolapi() as fake:
        fake.configure(env.server, SOLAPI_ALIMTALK_TEMPLATES=TEMPLATE_IDS)
        fake.register_template("KA01TP_HEALTH_KO", TEMPLATES["health_status"]["ko"])
        fake.register_template("KA01TP_HEALTH_EN", TEMPLATES["health_status"]["en"])
        fake.register_template("KA01TP_DEFAULT_KO", TEMPLATES["default"]["ko"])
        yield fake


def test_sms_goes_through_the_sdk_signed_and_the_result_is_recorded(env, solapi):
    prefs(env, notify_email=False, notify_sms=True, phone=PHONE)
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 1
    [sms] = solapi.delivered
    assert (sms["to"], sms["from"], sms["type"]) == ("01012345678", "0215880000", "LMS")
    assert "Valve noise 0" in sms["text"] and f"/alerts?alert={alert_id}" in sms["text"]
    assert sms["custom_fields"] == {"delivery": row(env, alert_id, "sms").dedupe_key}
    [call] = solapi.requests
    assert call["authorization"].startswith("HMAC-SHA256 ")
    sent = row(env, alert_id, "sms")
    assert (sent.status, sent.provider_ref) == ("sent", sms["message_id"])
    assert sent.provider_status.startswith("2000 ") and sms["group_id"] in sent.provider_status


def test_a_wrong_api_secret_is_refused_by_the_signature_check_and_not_retried(env, solapi):
    prefs(env, notify_email=False, notify_sms=True, phone=PHONE)
    env.server.config["SOLAPI_API_SECRET"] = "not-the-secret"
    alert_id = fire(env)
    deliver_pending(env.server, T0)
    deliver_pending(env.server, T0 + dt.timedelta(hours=1))
    failed = row(env, alert_id, "sms")
    assert failed.status == "failed" and "SignatureDoesNotMatch" in failed.last_error
    assert len(solapi.requests) == 1 and solapi.delivered == []


def test_a_server_clock_far_off_is_retried_later(env, solapi):
    prefs(env, notify_email=False, notify_sms=True, phone=PHONE)
    solapi.clock_offset = dt.timedelta(minutes=20)
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 0
    waiting = row(env, alert_id, "sms")
    assert waiting.status == "pending" and "RequestTimeTooSkewed" in waiting.last_error
    solapi.clock_offset = dt.timedelta(0)
    assert deliver_pending(env.server, T0 + minutes(1)) == 1


def test_solapi_trouble_is_retried_with_backoff(env, solapi):
    prefs(env, notify_email=False, notify_sms=True, phone=PHONE)
    solapi.fail_next(1, status=503)
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 0
    assert row(env, alert_id, "sms").next_attempt_at == T0 + minutes(0.5)
    assert deliver_pending(env.server, T0 + minutes(0.5)) == 1
    assert len(solapi.delivered) == 1


def test_an_unregistered_sender_number_fails_for_good_with_solapis_code(env, solapi):
    prefs(env, notify_email=False, notify_sms=True, phone=PHONE)
    env.server.config["SOLAPI_SENDER"] = "0311234567"
    alert_id = fire(env)
    deliver_pending(env.server, T0)
    failed = row(env, alert_id, "sms")
    assert failed.status == "failed" and "1062" in failed.last_error


def test_alimtalk_uses_the_kinds_template_in_the_recipients_language(env, solapi):
    prefs(env, notify_email=False, notify_alimtalk=True, phone=PHONE, language="ko")
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 1
    [talk] = solapi.delivered
    assert (talk["type"], talk["template_id"], talk["replacement"]) == (
        "ATA", "KA01TP_HEALTH_KO", False)
    assert set(talk["variables"]) == {f"#{{{v}}}" for v in VARIABLES}
    # The severity's label from the catalogue: the same word as the status "Warning".
    assert talk["variables"]["#{severity}"] == "주의"
    assert talk["variables"]["#{compressor}"] == "Comp A1"
    assert talk["variables"]["#{time}"] == "2025-03-03 10:00"  # Seoul time
    assert talk["text"].startswith("[SignalCraft] 설비 상태 주의")
    assert talk["text"].endswith(f"/alerts?alert={alert_id}")
    assert row(env, alert_id, "alimtalk").status == "sent"
    # In English, the English template of the same kind.
    prefs(env, language="en")
    fire(env, n=1)
    deliver_pending(env.server, T0 + minutes(1))
    assert solapi.delivered[1]["template_id"] == "KA01TP_HEALTH_EN"
    assert solapi.delivered[1]["text"].startswith("[SignalCraft] Compressor health WARNING")


def test_a_kind_without_its_own_template_uses_the_default_one(env, solapi):
    prefs(env, notify_email=False, notify_alimtalk=True, phone=PHONE, language="en")
    fire(env, kind="fault_probability")
    assert deliver_pending(env.server, T0) == 1
    # No English default: the Korean default beats no AlimTalk at all.
    assert solapi.delivered[0]["template_id"] == "KA01TP_DEFAULT_KO"


def test_a_phone_without_kakaotalk_gets_the_alimtalk_text_by_sms(env, solapi):
    prefs(env, notify_email=False, notify_alimtalk=True, phone=PHONE)
    solapi.no_kakao.add("01012345678")
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 1
    [sms] = solapi.delivered
    assert sms["replacement"] and sms["type"] == "LMS" and sms["from"] == "0215880000"
    assert "Comp A1" in sms["text"] and f"/alerts?alert={alert_id}" in sms["text"]


def test_delivery_reports_are_fetched_and_recorded(env, solapi):
    prefs(env, notify_email=False, notify_alimtalk=True, notify_sms=True, phone=PHONE)
    solapi.no_kakao.add("01012345678")
    alert_id = fire(env)
    assert deliver_pending(env.server, T0) == 2
    talk, sms = (next(d for d in solapi.delivered if d["template_id"]),
                 next(d for d in solapi.delivered if not d["template_id"]))
    # Nothing reported yet: the rows keep SOLAPI's "accepted".
    assert refresh_solapi_reports(env.server, T0 + minutes(2)) == 0
    solapi.report(talk["message_id"], "4000")
    solapi.report(sms["message_id"], "3043")  # the phone was off
    assert refresh_solapi_reports(env.server, T0 + minutes(4)) == 2
    talk_row, sms_row = row(env, alert_id, "alimtalk"), row(env, alert_id, "sms")
    assert talk_row.provider_status == ("4000 received (as LMS: no KakaoTalk, SOLAPI sent "
                                        "the text instead)")
    assert sms_row.provider_status.startswith("3043 not delivered")
    assert (talk_row.status, sms_row.status) == ("sent", "sent")
    # Final reports are not asked for again.
    asked = len(solapi.requests)
    assert refresh_solapi_reports(env.server, T0 + minutes(6)) == 0
    assert len(solapi.requests) == asked


def test_an_unapproved_template_fails_and_falls_back_to_email(env, solapi):
    prefs(env, notify_email=False, notify_alimtalk=True, phone=PHONE)
    solapi.templates.pop("KA01TP_HEALTH_KO")
    with SmtpSink() as sink:
        sink.configure(env.server)
        alert_id = fire(env)
        deliver_pending(env.server, T0)
        failed = row(env, alert_id, "alimtalk")
        assert failed.status == "failed" and "1042" in failed.last_error
        fallback = row(env, alert_id, "email")
        assert fallback.fallback_for_id == failed.id
        assert deliver_pending(env.server, T0) == 1 and len(sink.messages) == 1


def test_alimtalk_needs_its_whole_configuration(app):
    assert "SOLAPI_API_KEY" in channel_problem(app, "alimtalk")
    app.config.update(SOLAPI_API_KEY="k", SOLAPI_API_SECRET="s", SOLAPI_SENDER="0215880000")
    assert channel_problem(app, "sms") is None and sms_provider(app) == "solapi"
    assert "SOLAPI_KAKAO_PFID" in channel_problem(app, "alimtalk")
    app.config["SOLAPI_KAKAO_PFID"] = "KA01PF"
    assert "names no AlimTalk template" in channel_problem(app, "alimtalk")
    app.config["SOLAPI_ALIMTALK_TEMPLATES"] = "offline:kr=KA01"
    assert "kind:lang=templateId" in channel_problem(app, "alimtalk")
    app.config["SOLAPI_ALIMTALK_TEMPLATES"] = "offline:ko=KA01"
    assert channel_problem(app, "alimtalk") is None


def test_sms_provider_can_be_the_webhook_even_with_solapi_configured(env, solapi):
    prefs(env, notify_email=False, notify_sms=True, phone="+821012345678")
    with FakeSmsGateway() as gateway:
        gateway.configure(env.server)  # SMS_PROVIDER=webhook
        fire(env)
        assert deliver_pending(env.server, T0) == 1
    assert len(gateway.messages) == 1 and solapi.delivered == []


@pytest.mark.parametrize("phone, local", [
    ("+821012345678", "01012345678"), ("+82 010-1234-5678", "01012345678"),
    ("010-1234-5678", "01012345678"), ("02-1588-0000", "0215880000")])
def test_korean_numbers_are_written_as_solapi_wants_them(phone, local):
    assert korean_number(phone) == local


@pytest.mark.parametrize("phone", ["+14155550100", "12345", "", "phone"])
def test_other_numbers_are_refused_for_good(phone):
    with pytest.raises(DeliveryError) as err:
        korean_number(phone)
    assert err.value.permanent


def test_every_template_uses_only_the_known_variables_in_both_languages():
    for kind, by_language in TEMPLATES.items():
        assert set(by_language) == {"ko", "en"}, kind
        for text in by_language.values():
            filled = render(text, {v: "x" for v in VARIABLES})
            assert "#{" not in filled, (kind, text)
    ids = parse_template_ids(" offline:ko=A , default:en=B ")
    assert choose_template(ids, "offline", "ko") == ("A", TEMPLATES["offline"]["ko"])
    assert choose_template(ids, "offline", "en") == ("B", TEMPLATES["default"]["en"])
    assert choose_template(ids, "anomaly", "ko") is None


# ------------------------------------------------------------------ the fake itself
def _signed(fake, secret=None, date=None, salt=None):
    date = date or dt.datetime.now(dt.UTC).isoformat()
    salt = salt or uuid.uuid4().hex
    signature = hmac.new((secret or fake.api_secret).encode(), (date + salt).encode(),
                         hashlib.sha256).hexdigest()
    return (f"HMAC-SHA256 apiKey={fake.api_key}, date={date}, salt={salt}, "
            f"signature={signature}")


def _post(fake, authorization):
    body = {"messages": [{"to": "01012345678", "from": "0215880000", "text": "테스트"}]}
    return requests.post(fake.url + SEND_PATH, json=body, timeout=5,
                         headers={"Authorization": authorization})


def test_the_fake_checks_signatures_as_solapi_documents_them():
    with FakeSolapi() as fake:
        good = _signed(fake)
        assert _post(fake, good).status_code == 200
        replay = _post(fake, good)
        assert (replay.status_code, replay.json()["errorCode"]) == (403, "DuplicatedSignature")
        assert _post(fake, _signed(fake, secret="x")).json()["errorCode"] == (
            "SignatureDoesNotMatch")
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)).isoformat()
        assert _post(fake, _signed(fake, date=old)).json()["errorCode"] == "RequestTimeTooSkewed"
        assert _post(fake, _signed(fake, salt="short")).json()["errorCode"] == "InvalidSalt"
        assert _post(fake, "Bearer abc").json()["errorCode"] == "InvalidAuthorizationHeader"
        assert len(fake.delivered) == 1
