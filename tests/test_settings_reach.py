"""Settings: where a user's alerts go (each channel's state, a Kakao connection that Kakao
ended), AlimTalk and browser push in the notification choices, and the browsers that
get Web Push, each user acting on their own browsers only."""

from __future__ import annotations

import sqlalchemy as sa

from dashboard.alerts.webpush import generate_vapid_keys
from dashboard.core.database import session_scope
from dashboard.core.models import PushSubscription, User, utcnow
from tests.fakes.push_service import FakePushService
from tests.test_settings import get_user, invoke, response_text

PROFILE = {"settings-profile-name": "Viewer Kim", "settings-profile-phone": "010-1234-5678",
           "settings-profile-position": "", "settings-profile-language": "en",
           "settings-profile-quiet-start": "", "settings-profile-quiet-end": "",
           "settings-profile-timezone": "Asia/Seoul"}


def set_user(app, email, **values):
    with session_scope(app) as s:
        s.execute(sa.update(User).where(User.email == email).values(**values))


def reach(client, dash_app):
    return response_text(invoke(client, dash_app, "settings-init", "settings-init", "data", 0,
                                output="settings-reach-status"))


def test_alimtalk_and_browser_push_are_notification_choices(client, dash_app, app, world):
    world.login(client, "A-viewer")
    resp = invoke(client, dash_app, "settings-profile-save", "settings-profile-save",
                  "n_clicks", 1, state={**PROFILE,
                                        "settings-profile-notify": ["alimtalk", "push"]})
    assert "Saved" in response_text(resp)
    user = get_user(app, world.users["A-viewer"])
    assert (user.notify_alimtalk, user.notify_push, user.notify_email) == (True, True, False)
    no_phone = invoke(client, dash_app, "settings-profile-save", "settings-profile-save",
                      "n_clicks", 1, state={**PROFILE, "settings-profile-phone": "",
                                            "settings-profile-notify": ["alimtalk"]})
    assert "AlimTalk notifications need a phone number" in response_text(no_phone)
    loaded = invoke(client, dash_app, "settings-init", "settings-init", "data", 0,
                    output="settings-profile-notify")
    assert loaded.get_json()["response"]["settings-profile-notify"]["value"] == [
        "alimtalk", "push"]


def test_the_reach_list_says_what_stands_in_the_way(client, dash_app, app, world):
    set_user(app, world.users["A-viewer"], language="en", notify_alimtalk=True, phone=None,
             notify_kakao=True, kakao_disconnected_at=utcnow(),
             kakao_disconnect_reason="Kakao refused the refresh token (invalid_grant)")
    public, private = generate_vapid_keys()
    app.config.update(SMTP_HOST="127.0.0.1", VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private)
    world.login(client, "A-viewer")
    text = reach(client, dash_app)
    assert "viewer@a.example" in text  # email: their own address
    assert "not set up on this server" in text  # AlimTalk without SOLAPI settings
    assert "disconnected since" in text and "connect Kakao again" in text
    assert "turn notifications on in a browser" in text  # push wanted, no browser yet
    kakao_card = response_text(invoke(client, dash_app, "settings-init", "settings-init",
                                      "data", 0, output="settings-kakao-status"))
    assert "settings-kakao-disconnected" in kakao_card and "invalid_grant" in kakao_card


def test_a_browser_subscribes_and_only_its_owner_removes_it(client, dash_app, app, world):
    public, private = generate_vapid_keys()
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private)
    with FakePushService(vapid_public_key=public) as push:
        data = push.subscribe()
    set_user(app, world.users["A-viewer"], language="en")
    world.login(client, "A-viewer")
    resp = invoke(client, dash_app, "settings-push-new", "settings-push-new", "data",
                  {"subscription": data, "at": 1}, state={"settings-push-version": 0})
    assert "will get alert notifications" in response_text(resp)
    with session_scope(app) as s:
        [row] = s.scalars(sa.select(PushSubscription))
        owner = s.get(User, row.user_id).email
        sub_id = row.id
    assert owner == world.users["A-viewer"]
    listed = response_text(invoke(client, dash_app, "settings-push-state", "settings-push-state",
                                  "data", {"supported": True, "permission": "granted",
                                           "endpoint": data["endpoint"]},
                                  output="settings-push-list"))
    assert f"settings-push-row-{sub_id}" in listed and "this browser" in listed
    # Someone else cannot remove it, even with its id.
    other = app.test_client()
    world.login(other, "B-admin")
    invoke(other, dash_app, "settings-push-remove",
           {"type": "settings-push-remove", "index": sub_id}, "n_clicks", 1,
           state={"settings-push-version": 0}, output="settings-push-feedback")
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count(PushSubscription.id))) == 1
    # Turning it off in the browser removes it by its endpoint.
    resp = invoke(client, dash_app, "settings-push-removed", "settings-push-removed", "data",
                  {"endpoint": data["endpoint"], "at": 2}, state={"settings-push-version": 1},
                  output="settings-push-feedback")
    assert "Notifications are off" in response_text(resp)
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count(PushSubscription.id))) == 0


def test_a_malformed_subscription_is_refused_with_a_message(client, dash_app, app, world):
    set_user(app, world.users["A-viewer"], language="en")
    world.login(client, "A-viewer")
    resp = invoke(client, dash_app, "settings-push-new", "settings-push-new", "data",
                  {"subscription": {"endpoint": "ftp://push.example/abc", "keys": {}}, "at": 1},
                  state={"settings-push-version": 0})
    assert resp.status_code == 200 and "not an https URL" in response_text(resp)
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count(PushSubscription.id))) == 0


def test_the_push_callbacks_need_a_login(client, dash_app):
    resp = invoke(client, dash_app, "settings-push-new", "settings-push-new", "data",
                  {"subscription": {}, "at": 1}, state={"settings-push-version": 0})
    assert resp.status_code in (401, 403)
