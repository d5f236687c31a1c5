"""The settings page's server side, through the real callback endpoint
(/_dash-update-component with the body the browser would send): users and roles,
invitations and approvals, sites, compressors and device tokens, firmware, profile and
password, the audit log; and that an admin of organisation B changes nothing of A."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import dash
import pytest
import sqlalchemy as sa
from flask_login import login_user

from dashboard.core.database import db_session, session_scope
from dashboard.core.models import (
    AuditLog,
    Compressor,
    DeviceCredential,
    FirmwareRelease,
    Invitation,
    Site,
    User,
)
from dashboard.fleet.device_tokens import verify_token
from tests.conftest import PASSWORD
from tests.fakes.smtp import SmtpSink


# ------------------------------------------------------------------ calling callbacks
def _sid(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":")) \
        if isinstance(value, dict) else value


def _parse_outputs(key: str) -> list[dict[str, Any]] | dict[str, Any]:
    """The renderer's "outputs": a list for several outputs, one dict for one."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident,
                    "property": prop})
    return out if key.startswith("..") else out[0]


def find_callback(dash_app: dash.Dash, input_id: str, output: str = "") -> tuple[str, dict]:
    """The callback with an input whose id is (or, for a pattern, whose type is)
    ``input_id`` and, when given, an output id containing ``output``."""
    for key, cb in dash_app.callback_map.items():
        if output not in key:
            continue
        for item in cb["inputs"]:
            ident = item["id"]
            if ident == input_id or (ident.startswith("{") and
                                     json.loads(ident).get("type") == input_id):
                return key, cb
    raise KeyError(input_id)


def invoke(client, dash_app, input_id: str, trigger: Any, prop: str, value: Any,
           state: dict[str, Any] | None = None, pattern_state: list | None = None,
           output: str = ""):
    """POST one callback call as Dash's renderer does. ``trigger`` is the id that fired
    (a dict for pattern-matching ids); ``state`` gives plain State values by id;
    ``pattern_state`` the items of a wildcard State."""
    key, cb = find_callback(dash_app, input_id, output)
    state = state or {}
    inputs = []
    for item in cb["inputs"]:
        ident = item["id"]
        if ident.startswith("{"):
            fired = json.loads(ident).get("type") == input_id
            inputs.append([{"id": trigger, "property": prop, "value": value}] if fired else [])
        elif ident == input_id:
            inputs.append({"id": ident, "property": prop, "value": value})
        else:
            inputs.append({"id": ident, "property": item["property"],
                           "value": state.get(ident)})
    states = []
    for item in cb["state"]:
        ident = item["id"]
        if ident.startswith("{"):
            states.append(pattern_state or [])
        else:
            states.append({"id": ident, "property": item["property"],
                           "value": state.get(ident)})
    body = {"output": key, "outputs": _parse_outputs(key), "inputs": inputs, "state": states,
            "changedPropIds": [f"{_sid(trigger)}.{prop}"]}
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def response_text(resp) -> str:
    """The callback's answer as text (Dash escapes "/" in JSON; decode it first)."""
    if resp.is_json:
        return json.dumps(resp.get_json(), ensure_ascii=False)
    return resp.get_data(as_text=True)


def open_tab(client, dash_app, tab: str, output: str):
    return invoke(client, dash_app, "settings-tabs", "settings-tabs", "active_tab", tab,
                  output=output)


def session_alive(client) -> bool:
    status = client.get("/_dash-layout").status_code
    assert status in (200, 401)
    return status == 200


def get_user(app, email: str) -> User | None:
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            s.expunge(user)
        return user


def user_id(app, email: str) -> int:
    return get_user(app, email).id


def set_role(client, dash_app, target_id: int, role: str):
    return invoke(client, dash_app, "settings-user-role",
                  {"type": "settings-user-role", "user": target_id}, "value", role)


def user_op(client, dash_app, op: str, target_id: int):
    return invoke(client, dash_app, "settings-user-op",
                  {"op": op, "type": "settings-user-op", "user": target_id}, "n_clicks", 1)


def remove(client, dash_app, target_id: int):
    return invoke(client, dash_app, "settings-user-remove",
                  {"type": "settings-user-remove", "user": target_id}, "submit_n_clicks", 1)


@pytest.fixture
def admin(client, world):
    return world.login(client, "A-admin")


@pytest.fixture(autouse=True)
def english(app, world):
    """The world's users read English here, so messages can be matched; Korean (the
    default) is checked where it matters."""
    with session_scope(app) as s:
        for u in s.scalars(sa.select(User)):
            u.language = "en"


# ------------------------------------------------------------------ page
def _settings_layout(app, email: str) -> str:
    with app.test_request_context("/settings"):
        login_user(db_session().scalar(sa.select(User).where(User.email == email)))
        page = next(p for p in dash.page_registry.values() if p["path"] == "/settings")
        return json.dumps(page["layout"]().to_plotly_json(), default=lambda o: (
            o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o)))


def test_everyone_gets_their_account_tab_and_only_admins_the_rest(app, world):
    viewer = _settings_layout(app, world.users["A-viewer"])
    assert "settings-profile-save" in viewer and "settings-password-save" in viewer
    for admin_only in ("settings-users-table", "settings-devices-table", "settings-fw-upload",
                       "settings-audit-table", "settings-token-modal"):
        assert admin_only not in viewer
    full = _settings_layout(app, world.users["A-admin"])
    for part in ("settings-users-table", "settings-devices-table", "settings-fw-upload",
                 "settings-audit-table", "settings-token-modal", "/alerts"):
        assert part in full
    entry = next(p for p in dash.page_registry.values() if p["path"] == "/settings")
    assert entry["nav_order"] == 90 and entry["nav_icon"] == "fa-solid fa-gear"


# ------------------------------------------------------------------ roles
def test_role_change_takes_effect_at_once(app, dash_app, world):
    admin_c, manager_c = app.test_client(), app.test_client()
    world.login(admin_c, "A-admin")
    world.login(manager_c, "A-manager")
    manager_id = user_id(app, world.users["A-manager"])
    # A manager's call to an admin callback does nothing (204: no update).
    assert set_role(manager_c, dash_app, manager_id, "admin").status_code == 204
    assert get_user(app, world.users["A-manager"]).role == "manager"

    resp = set_role(admin_c, dash_app, manager_id, "admin")
    assert resp.status_code == 200 and "admin" in response_text(resp)
    assert get_user(app, world.users["A-manager"]).role == "admin"
    # The promoted user's old session ended at once; logging in again gives the role.
    assert not session_alive(manager_c)
    world.login(manager_c, "A-manager")
    viewer_id = user_id(app, world.users["A-viewer"])
    assert set_role(manager_c, dash_app, viewer_id, "analyst").status_code == 200
    assert get_user(app, world.users["A-viewer"]).role == "analyst"
    # And a demotion ends the session the same way.
    assert set_role(admin_c, dash_app, manager_id, "viewer").status_code == 200
    assert set_role(manager_c, dash_app, viewer_id, "viewer").status_code == 401
    assert get_user(app, world.users["A-viewer"]).role == "analyst"


def test_disabled_user_loses_session_and_cannot_log_in(client, dash_app, app, world, admin):
    victim = app.test_client()
    world.login(victim, "A-analyst")
    target = user_id(app, world.users["A-analyst"])
    resp = user_op(client, dash_app, "disable", target)
    assert resp.status_code == 200
    assert not session_alive(victim)
    login = victim.post("/login", data={"email": world.users["A-analyst"],
                                        "password": PASSWORD})
    assert login.status_code == 403
    assert user_op(client, dash_app, "enable", target).status_code == 200
    world.login(victim, "A-analyst")


def test_last_admin_can_be_neither_demoted_disabled_nor_removed(client, dash_app, app, world,
                                                                 admin):
    me = user_id(app, world.users["A-admin"])
    resp = set_role(client, dash_app, me, "manager")
    assert "own role" in response_text(resp)  # nobody changes their own role (issue 17)
    assert get_user(app, world.users["A-admin"]).role == "admin"
    # With a second admin, that one may move the first down; the second is then the last.
    other = user_id(app, world.users["A-manager"])
    set_role(client, dash_app, other, "admin")
    other_c = app.test_client()
    world.login(other_c, "A-manager")
    assert "own role" not in response_text(set_role(other_c, dash_app, me, "manager"))
    assert get_user(app, world.users["A-admin"]).role == "manager"
    assert "own role" in response_text(set_role(other_c, dash_app, other, "viewer"))
    assert "own account" in response_text(user_op(other_c, dash_app, "disable", other))
    assert "own account" in response_text(remove(other_c, dash_app, other))
    assert get_user(app, world.users["A-manager"]).role == "admin"


def test_the_last_admin_rule_holds_below_the_own_role_rule(app, world):
    from dashboard.accounts.users import AccountError, _keeps_an_admin
    from dashboard.core.models import User

    with session_scope(app) as s:
        admin = s.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
        with pytest.raises(AccountError, match="at least one admin"):
            _keeps_an_admin(s, admin)


def test_admin_of_another_organisation_changes_nothing(app, dash_app, world):
    b_admin = app.test_client()
    world.login(b_admin, "B-admin")
    a_viewer = user_id(app, world.users["A-viewer"])
    before = get_user(app, world.users["A-viewer"])
    for resp in (set_role(b_admin, dash_app, a_viewer, "admin"),
                 user_op(b_admin, dash_app, "disable", a_viewer),
                 user_op(b_admin, dash_app, "approve", a_viewer),
                 remove(b_admin, dash_app, a_viewer)):
        assert resp.status_code == 200
        assert "No such user in your organisation" in response_text(resp)
    after = get_user(app, world.users["A-viewer"])
    assert (after.role, after.active, after.session_version) == \
        (before.role, before.active, before.session_version)
    # Nor A's compressors, tokens, sites or firmware.
    a_comp = world.compressors["A"][0]
    token = invoke(b_admin, dash_app, "settings-token-op",
                   {"compressor": a_comp, "op": "issue", "type": "settings-token-op"},
                   "n_clicks", 1)
    assert "No such compressor" in response_text(token) and "sc_" not in response_text(token)
    gone = invoke(b_admin, dash_app, "settings-device-remove",
                  {"compressor": a_comp, "type": "settings-device-remove"}, "submit_n_clicks", 1)
    assert "No such compressor" in response_text(gone)
    with session_scope(app) as s:
        assert s.get(Compressor, a_comp) is not None
        a_site = s.scalar(sa.select(Site.id).where(Site.name == "Site A"))
        assert s.scalar(sa.select(sa.func.count()).select_from(DeviceCredential)
                        .where(DeviceCredential.compressor_id == a_comp)) == 1
    renamed = invoke(b_admin, dash_app, "settings-site-rename",
                     {"site": a_site, "type": "settings-site-rename"}, "n_clicks", 1,
                     pattern_state=[{"id": {"site": a_site, "type": "settings-site-name"},
                                     "property": "value", "value": "Hijacked"}])
    assert "No such site" in response_text(renamed)
    # B's user list shows no one of A.
    listing = open_tab(b_admin, dash_app, "users", "settings-users-table")
    assert world.users["A-viewer"] not in response_text(listing)
    assert world.users["B-viewer"] in response_text(listing)


# ------------------------------------------------------------------ invitations, approval
def test_invitation_registers_the_person_into_the_organisation(client, dash_app, app, world,
                                                               admin):
    with SmtpSink() as sink:
        sink.configure(app)
        resp = invoke(client, dash_app, "settings-invite-submit", "settings-invite-submit",
                      "n_clicks", 1, state={"settings-invite-email": "New.Person@A.example",
                                            "settings-invite-role": "analyst"})
        assert "Invitation sent" in response_text(resp) or "초대 메일" in response_text(resp)
        msg = sink.wait_for(lambda m: "new.person@a.example" in str(m["To"]))
    link = SmtpSink.find_link(msg, "/invite/")
    path = link.split("127.0.0.1:8050", 1)[-1]
    token = path.rsplit("/", 1)[-1]
    with session_scope(app) as s:
        inv = s.scalar(sa.select(Invitation))
        assert inv.token_hash != token and token not in inv.token_hash  # only a hash stored
    newcomer = app.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and "new.person@a.example" in response_text(form)
    assert "Org A" in response_text(form)
    resp = newcomer.post(path, data={
        "email": "attacker@evil.example",  # ignored: the invitation fixes the address
        "password": "a-long-password-1", "password_confirm": "a-long-password-1",
        "name": "New Person", "company": "A Corp", "industry": "retail",
        "company_size": "50-249", "accept_terms": "1", "accept_privacy": "1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert newcomer.get("/").status_code == 200
    person = get_user(app, "new.person@a.example")
    assert person.role == "analyst" and not person.pending and person.active
    assert person.org_id == world.org_ids["A"] and person.email_verified_at is not None
    assert get_user(app, "attacker@evil.example") is None
    # The link works once.
    assert app.test_client().get(path).status_code == 404


def test_invitation_can_be_revoked_and_expires(client, dash_app, app, world, admin):
    invoke(client, dash_app, "settings-invite-submit", "settings-invite-submit", "n_clicks", 1,
           state={"settings-invite-email": "late@a.example", "settings-invite-role": "viewer"})
    with session_scope(app) as s:
        inv_id = s.scalar(sa.select(Invitation.id))
    b_admin = app.test_client()
    world.login(b_admin, "B-admin")
    refused = invoke(b_admin, dash_app, "settings-invite-revoke",
                     {"invitation": inv_id, "type": "settings-invite-revoke"},
                     "submit_n_clicks", 1)
    assert "No such open invitation" in response_text(refused)
    ok = invoke(client, dash_app, "settings-invite-revoke",
                {"invitation": inv_id, "type": "settings-invite-revoke"}, "submit_n_clicks", 1)
    assert "revoked" in response_text(ok) or "취소" in response_text(ok)
    with session_scope(app) as s:
        assert s.get(Invitation, inv_id) is None


def test_demo_without_mail_shows_the_invitation_link_to_the_admin(client, dash_app, admin):
    resp = invoke(client, dash_app, "settings-invite-submit", "settings-invite-submit",
                  "n_clicks", 1, state={"settings-invite-email": "x@a.example",
                                        "settings-invite-role": "viewer"})
    assert "/invite/" in response_text(resp) and "settings-invite-link" in response_text(resp)


def test_join_request_waits_until_an_admin_approves(client, dash_app, app, world, admin):
    with SmtpSink() as sink:
        sink.configure(app)
        visitor = app.test_client()
        resp = visitor.post("/register", data={
            "email": "joiner@a.example", "password": "joiner-password", "password_confirm":
            "joiner-password", "name": "Joiner", "company": "A Corp", "industry": "food",
            "company_size": "1-9", "org_mode": "join", "org_name": "Org A",
            "accept_terms": "1", "accept_privacy": "1"})
        assert resp.status_code == 202
        # The organisation's admin hears about it.
        sink.wait_for(lambda m: world.users["A-admin"] in str(m["To"]))
        login = visitor.post("/login", data={"email": "joiner@a.example",
                                             "password": "joiner-password"})
        assert login.status_code == 403
        listing = open_tab(client, dash_app, "users", "settings-users-table")
        assert "joiner@a.example" in response_text(listing)
        joiner = user_id(app, "joiner@a.example")
        assert user_op(client, dash_app, "approve", joiner).status_code == 200
        sink.wait_for(lambda m: "joiner@a.example" in str(m["To"]) and
                      "log in" in str(m["Subject"]).lower())
    assert not get_user(app, "joiner@a.example").pending
    assert visitor.post("/login", data={"email": "joiner@a.example",
                                        "password": "joiner-password"}).status_code == 302


def test_a_pending_request_can_be_declined(client, dash_app, app, admin):
    app.test_client().post("/register", data={
        "email": "nope@a.example", "password": "joiner-password",
        "password_confirm": "joiner-password", "name": "N", "company": "C",
        "industry": "food", "company_size": "1-9", "org_mode": "join", "org_name": "Org A",
        "accept_terms": "1", "accept_privacy": "1"})
    assert remove(client, dash_app, user_id(app, "nope@a.example")).status_code == 200
    assert get_user(app, "nope@a.example") is None


# ------------------------------------------------------------------ fleet and tokens
def test_device_token_is_shown_once_and_rotation_revokes(client, dash_app, app, world, admin):
    cid = world.compressors["A"][0]
    old = world.tokens[cid]
    resp = invoke(client, dash_app, "settings-token-op",
                  {"compressor": cid, "op": "issue", "type": "settings-token-op"}, "n_clicks", 1)
    data = resp.get_json()["response"]
    token = data["settings-token-value"]["children"]
    assert data["settings-token-modal"]["is_open"] is True and token.startswith("sc_")
    with session_scope(app) as s:
        assert verify_token(s, token).compressor_id == cid
        assert verify_token(s, old) is not None  # issuing keeps the older token
        assert token not in json.dumps([c.token_hash for c in s.scalars(
            sa.select(DeviceCredential))])
    # The table never shows a token again.
    table = open_tab(client, dash_app, "devices", "settings-devices-table")
    assert token not in response_text(table) and "2 active" in response_text(table)
    closed = invoke(client, dash_app, "settings-token-close", "settings-token-close",
                    "n_clicks", 1)
    assert closed.get_json()["response"]["settings-token-value"]["children"] == ""
    rotated = invoke(client, dash_app, "settings-token-confirm",
                     {"compressor": cid, "op": "rotate", "type": "settings-token-confirm"},
                     "submit_n_clicks", 1)
    new = rotated.get_json()["response"]["settings-token-value"]["children"]
    with session_scope(app) as s:
        assert verify_token(s, token) is None and verify_token(s, old) is None
        assert verify_token(s, new) is not None
    invoke(client, dash_app, "settings-token-confirm",
           {"compressor": cid, "op": "revoke", "type": "settings-token-confirm"},
           "submit_n_clicks", 1)
    with session_scope(app) as s:
        assert verify_token(s, new) is None
        actions = [a.action for a in s.scalars(sa.select(AuditLog))]
    assert {"token.issue", "token.rotate", "token.revoke"} <= set(actions)


def test_sites_and_compressors_are_managed_in_settings(client, dash_app, app, world, admin):
    resp = invoke(client, dash_app, "settings-site-add", "settings-site-add", "n_clicks", 1,
                  state={"settings-site-new": "Busan Depot"})
    assert "Busan Depot" in response_text(resp)
    with session_scope(app) as s:
        site = s.scalar(sa.select(Site).where(Site.name == "Busan Depot"))
        site_id, org = site.id, site.org_id
    assert org == world.org_ids["A"]
    dup = invoke(client, dash_app, "settings-site-add", "settings-site-add", "n_clicks", 1,
                 state={"settings-site-new": "Busan Depot"})
    assert "exists" in response_text(dup)
    invoke(client, dash_app, "settings-device-add", "settings-device-add", "n_clicks", 1,
           state={"settings-device-site": str(site_id), "settings-device-new": "Chiller 9",
                  "settings-device-kind": "refrigeration"})
    with session_scope(app) as s:
        comp_id = s.scalar(sa.select(Compressor.id).where(Compressor.name == "Chiller 9"))
    assert comp_id is not None
    refused = invoke(client, dash_app, "settings-site-remove",
                     {"site": site_id, "type": "settings-site-remove"}, "submit_n_clicks", 1)
    assert "compressors first" in response_text(refused)
    invoke(client, dash_app, "settings-device-rename",
           {"compressor": comp_id, "type": "settings-device-rename"}, "n_clicks", 1,
           pattern_state=[{"id": {"compressor": comp_id, "type": "settings-device-name"},
                           "property": "value", "value": "Chiller 10"}])
    with session_scope(app) as s:
        assert s.get(Compressor, comp_id).name == "Chiller 10"
    invoke(client, dash_app, "settings-device-remove",
           {"compressor": comp_id, "type": "settings-device-remove"}, "submit_n_clicks", 1)
    invoke(client, dash_app, "settings-site-rename",
           {"site": site_id, "type": "settings-site-rename"}, "n_clicks", 1,
           pattern_state=[{"id": {"site": site_id, "type": "settings-site-name"},
                           "property": "value", "value": "Busan Port"}])
    with session_scope(app) as s:
        assert s.get(Compressor, comp_id) is None
        assert s.get(Site, site_id).name == "Busan Port"
    invoke(client, dash_app, "settings-site-remove",
           {"site": site_id, "type": "settings-site-remove"}, "submit_n_clicks", 1)
    with session_scope(app) as s:
        assert s.get(Site, site_id) is None


# ------------------------------------------------------------------ firmware
def _upload(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


def test_firmware_release_upload_rollout_and_delete(client, dash_app, app, world, admin):
    site_a = None
    with session_scope(app) as s:
        site_a = s.scalar(sa.select(Site.id).where(Site.name == "Site A"))
    resp = invoke(client, dash_app, "settings-fw-create", "settings-fw-create", "n_clicks", 1,
                  state={"settings-fw-upload": None, "settings-fw-version": "1.4.0",
                         "settings-fw-hw": "esp32-inmp441"})
    assert "Choose the firmware file" in response_text(resp)
    state = {"settings-fw-upload": _upload(b"\xe9firmware" * 100),
             "settings-fw-version": "1.4.0", "settings-fw-hw": "esp32-inmp441",
             "settings-fw-notes": "fixes <b>wifi</b>", "settings-fw-rollout": "sites",
             "settings-fw-ids": [site_a]}
    resp = invoke(client, dash_app, "settings-fw-create", "settings-fw-create", "n_clicks", 1,
                  state=state)
    assert "1.4.0" in response_text(resp)
    with session_scope(app) as s:
        release = s.scalar(sa.select(FirmwareRelease))
        release_id = release.id
        assert (release.rollout, release.rollout_ids, release.created_by) == \
            ("sites", [site_a], world.users["A-admin"])
    listing = open_tab(client, dash_app, "firmware", "settings-fw-table")
    assert "1.4.0" in response_text(listing) and "Site A" in response_text(listing)
    # A bad version is refused with the module's message, nothing stored.
    bad = invoke(client, dash_app, "settings-fw-create", "settings-fw-create", "n_clicks", 1,
                 state={**state, "settings-fw-version": "latest"})
    assert "not like 1.2.3" in response_text(bad)
    # B's admin can neither see, change nor delete it.
    b_admin = app.test_client()
    world.login(b_admin, "B-admin")
    refused = invoke(b_admin, dash_app, "settings-fw-edit-save", "settings-fw-edit-save",
                     "n_clicks", 1, state={"settings-fw-edit-release": str(release_id),
                                           "settings-fw-edit-rollout": "all"})
    assert "no such firmware release" in response_text(refused)
    theirs = open_tab(b_admin, dash_app, "firmware", "settings-fw-table")
    assert "1.4.0" not in response_text(theirs)
    invoke(client, dash_app, "settings-fw-edit-save", "settings-fw-edit-save", "n_clicks", 1,
           state={"settings-fw-edit-release": str(release_id), "settings-fw-edit-rollout": "all",
                  "settings-fw-edit-ids": []})
    with session_scope(app) as s:
        assert s.get(FirmwareRelease, release_id).rollout == "all"
    invoke(client, dash_app, "settings-fw-delete",
           {"release": release_id, "type": "settings-fw-delete"}, "submit_n_clicks", 1)
    with session_scope(app) as s:
        assert s.get(FirmwareRelease, release_id) is None
        actions = {a.action for a in s.scalars(sa.select(AuditLog))}
    assert {"firmware.create", "firmware.rollout", "firmware.delete"} <= actions


# ------------------------------------------------------------------ own account
def test_profile_language_and_quiet_hours_are_saved(client, dash_app, app, world):
    world.login(client, "A-viewer")
    with session_scope(app) as s:
        s.scalar(sa.select(User).where(User.email == world.users["A-viewer"])).language = "ko"
    state = {"settings-profile-name": "Viewer Kim", "settings-profile-phone": "010-1234-5678",
             "settings-profile-position": "Engineer", "settings-profile-language": "en",
             "settings-profile-notify": ["email", "sms"], "settings-profile-quiet-start": "22",
             "settings-profile-quiet-end": "7", "settings-profile-timezone": "Asia/Seoul"}
    resp = invoke(client, dash_app, "settings-profile-save", "settings-profile-save",
                  "n_clicks", 1, state=state)
    assert resp.get_json()["response"]["settings-location"]["href"] == "/settings"
    user = get_user(app, world.users["A-viewer"])
    assert (user.language, user.quiet_hours_start, user.quiet_hours_end) == ("en", 22, 7)
    assert user.notify_sms and not user.notify_kakao and user.phone == "010-1234-5678"
    bad = invoke(client, dash_app, "settings-profile-save", "settings-profile-save",
                 "n_clicks", 1, state={**state, "settings-profile-quiet-end": "",
                                       "settings-profile-name": "Changed"})
    assert "quiet hours" in response_text(bad)  # now in English: the language took effect
    assert get_user(app, world.users["A-viewer"]).name == "Viewer Kim"
    loaded = invoke(client, dash_app, "settings-init", "settings-init", "data", 0)
    assert loaded.get_json()["response"]["settings-profile-name"]["value"] == "Viewer Kim"


def test_password_change_keeps_this_session_and_ends_others(client, dash_app, app, world):
    other = app.test_client()
    world.login(client, "A-analyst")
    world.login(other, "A-analyst")
    wrong = invoke(client, dash_app, "settings-password-save", "settings-password-save",
                   "n_clicks", 1, state={"settings-password-current": "not-it",
                                         "settings-password-new": "brand-new-password",
                                         "settings-password-confirm": "brand-new-password"})
    assert "현재 비밀번호" in response_text(wrong) or "current password" in response_text(wrong)
    ok = invoke(client, dash_app, "settings-password-save", "settings-password-save",
                "n_clicks", 1, state={"settings-password-current": PASSWORD,
                                      "settings-password-new": "brand-new-password",
                                      "settings-password-confirm": "brand-new-password"})
    assert ok.status_code == 200
    assert session_alive(client)
    assert not session_alive(other)
    assert app.test_client().post("/login", data={
        "email": world.users["A-analyst"], "password": "brand-new-password"}).status_code == 302


def test_admin_actions_are_audited_and_visible_only_to_their_organisation(
        client, dash_app, app, world, admin):
    set_role(client, dash_app, user_id(app, world.users["A-viewer"]), "analyst")
    with session_scope(app) as s:
        row = s.scalar(sa.select(AuditLog).where(AuditLog.action == "user.role"))
        assert row.user_id == user_id(app, world.users["A-admin"])
        assert row.org_id == world.org_ids["A"] and row.target == world.users["A-viewer"]
        assert row.detail == {"from": "viewer", "to": "analyst"} and row.ip == "127.0.0.1"
    audit = open_tab(client, dash_app, "audit", "settings-audit-table")
    assert "user.role" in response_text(audit) and "login.success" in response_text(audit)
    b_admin = app.test_client()
    world.login(b_admin, "B-admin")
    theirs = open_tab(b_admin, dash_app, "audit", "settings-audit-table")
    assert "user.role" not in response_text(theirs)
    assert world.users["A-admin"] not in response_text(theirs)


def test_settings_queries_and_refusals_hold_on_postgresql(pg_dash_app, pg_world):
    app, dash_app = pg_dash_app.server, pg_dash_app
    with session_scope(app) as s:
        for u in s.scalars(sa.select(User)):
            u.language = "en"
    a_admin, b_admin = app.test_client(), app.test_client()
    pg_world.login(a_admin, "A-admin")
    pg_world.login(b_admin, "B-admin")
    a_viewer = user_id(app, pg_world.users["A-viewer"])
    assert "No such user" in response_text(set_role(b_admin, dash_app, a_viewer, "admin"))
    assert "analyst" in response_text(set_role(a_admin, dash_app, a_viewer, "analyst"))
    assert get_user(app, pg_world.users["A-viewer"]).role == "analyst"
    users = open_tab(a_admin, dash_app, "users", "settings-users-table")
    assert pg_world.users["A-viewer"] in response_text(users)
    assert pg_world.users["B-viewer"] not in response_text(users)
    devices = open_tab(a_admin, dash_app, "devices", "settings-devices-table")
    assert "Comp A1" in response_text(devices) and "1 active" in response_text(devices)
    assert "Comp B1" not in response_text(devices)
    audit = open_tab(a_admin, dash_app, "audit", "settings-audit-table")
    assert "user.role" in response_text(audit)
    resp = invoke(a_admin, dash_app, "settings-invite-submit", "settings-invite-submit",
                  "n_clicks", 1, state={"settings-invite-email": "pg@a.example",
                                        "settings-invite-role": "manager"})
    path = re.search(r"/invite/[A-Za-z0-9_-]+", response_text(resp)).group(0)
    newcomer = app.test_client()
    done = newcomer.post(path, data={
        "password": "pg-password-1", "password_confirm": "pg-password-1", "name": "PG",
        "company": "A", "industry": "other", "company_size": "1-9", "accept_terms": "1",
        "accept_privacy": "1"})
    assert done.status_code == 302
    assert get_user(app, "pg@a.example").role == "manager"
    assert app.test_client().get(path).status_code == 404
