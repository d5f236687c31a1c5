"""The platform operator (SIGNALCRAFT_OPERATOR_EMAILS): sees every organisation with
its usage, suspends one (its users refused at login and mid-session, its devices and
API tokens refused at once, on SQLite and PostgreSQL, nothing deleted), reactivates
it; every action audited. No organisation role reaches the page or its callbacks,
and no role change makes anyone an operator."""

from __future__ import annotations

import html
import json

import pytest
import sqlalchemy as sa

from dashboard.accounts.api_tokens import create_api_token
from dashboard.accounts.operators import (
    OperatorError,
    is_operator,
    reactivate_organization,
    suspend_organization,
)
from dashboard.accounts.provisioning import get_or_create_org, upsert_user
from dashboard.accounts.users import AccountError, change_role
from dashboard.core.database import session_scope
from dashboard.core.models import AuditLog, Compressor, Organization, Reading, User
from dashboard.operations.organizations import organization_usage
from tests.conftest import PASSWORD
from tests.dash_client import call_callback, output_of, page_layout, text_of

OPERATOR_EMAIL = "ops@platform.example"
SUSPENDED_TEXT = "Your organisation's access is suspended"


def _operator(server) -> str:
    """A platform organisation with one viewer, listed as operator: the role does not
    matter, the configuration does."""
    server.config["OPERATOR_EMAILS"] = f" other@x.example , {OPERATOR_EMAIL.upper()} "
    with session_scope(server) as s:
        org = get_or_create_org(s, "Platform")
        upsert_user(s, org, OPERATOR_EMAIL, PASSWORD, role="viewer").language = "en"
    return OPERATOR_EMAIL


def _suspended_text(app, language: str) -> str:
    from dashboard.accounts.operators import SUSPENDED_MESSAGE
    from dashboard.core.i18n import gettext, in_language

    with app.test_request_context("/"), in_language(language):
        return gettext(SUSPENDED_MESSAGE)


def _page_text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _login(client, email: str):
    return client.post("/login", data={"email": email, "password": PASSWORD})


def _post_reading(client, world, org: str, seq: int):
    cid = world.compressors[org][0]
    return client.post("/api/esp32/data", json={"seq": seq, "metrics": {"current_a": 3.5}},
                       headers={"Authorization": f"Bearer {world.tokens[cid]}"})


def _pattern_call(client, dash_app, output: str, kind: str, org_id: int, version: int = 0,
                  reasons: dict[int, str] | None = None):
    """Click one row's button: the pattern-matching call the browser sends."""
    dash_app.server.test_client().get("/login")  # Dash completes its callback map lazily
    key, spec = next((k, sp) for k, sp in dash_app.callback_map.items()
                     if output in k and any(kind in str(i["id"]) for i in sp["inputs"]))
    button = {"type": kind, "org": org_id}
    states = []
    for st in spec["state"]:
        if st["id"] == "operator-version":
            states.append({**st, "value": version})
        else:  # the reason inputs, value and id, one per suspendable row
            rows = [{"id": {"type": "operator-reason", "org": oid}, "property": st["property"],
                     "value": text if st["property"] == "value"
                     else {"type": "operator-reason", "org": oid}}
                    for oid, text in (reasons or {}).items()]
            states.append(rows)
    body = {
        "output": key,
        "outputs": [{"id": o.component_id, "property": o.component_property.split("@")[0]}
                    for o in spec["output"]],
        "inputs": [[{"id": button, "property": "submit_n_clicks", "value": 1}]],
        "state": states,
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True)
                           + ".submit_n_clicks"],
    }
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def _feedback(resp) -> str:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return text_of(resp.get_json()["response"]["operator-feedback"]["children"])


# ------------------------------------------------------------------ who is an operator
def test_only_listed_signed_in_active_users_are_operators(app, world):
    email = _operator(app)
    with app.test_request_context("/"):
        with session_scope(app) as s:
            op = s.scalar(sa.select(User).where(User.email == email))
            admin = s.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
            assert is_operator(op) and not is_operator(admin)
            op.active = False
            assert not is_operator(op)  # a disabled account is no operator


def test_no_role_change_makes_an_admin_an_operator(app, world):
    _operator(app)
    with app.test_request_context("/"), session_scope(app) as s:
        admin = s.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
        viewer = s.scalar(sa.select(User).where(User.email == world.users["A-viewer"]))
        with pytest.raises(AccountError):
            change_role(s, admin, viewer.id, "operator")
        assert viewer.role == "viewer" and not is_operator(viewer)
        # an organisation admin calling the operator's actions directly is refused too
        with pytest.raises(OperatorError):
            suspend_organization(s, admin, world.org_ids["B"], "no")


# ------------------------------------------------------------------ the page
def test_the_operator_sees_every_organisation_with_its_usage(dash_app, app, world):
    email = _operator(app)
    device = app.test_client()
    for seq in range(3):
        assert _post_reading(device, world, "A", seq).status_code == 201
    usage = {o.name: o for o in organization_usage_of(app)}
    assert set(usage) == {"Org A", "Org B", "Platform"}
    assert (usage["Org A"].users, usage["Org A"].devices, usage["Org A"].readings) == (4, 2, 3)
    assert usage["Org B"].readings == 0 and usage["Org A"].last_activity is not None
    assert usage["Platform"].devices == 0

    layout = page_layout(app, "/operator", email)
    assert "operator-orgs" in json.dumps(layout) and "page-forbidden" not in json.dumps(layout)
    client = app.test_client()
    assert _login(client, email).status_code == 302
    table = output_of(call_callback(client, dash_app, "operator-orgs.children",
                                    {"operator-version.data": 0}), "operator-orgs", "children")
    text = text_of(table)
    assert "Org A" in text and "Org B" in text and "Platform" in text
    # no suspend button on the operator's own organisation
    suspendable = {ident["org"] for ident in _ids(table)
                   if isinstance(ident, dict) and ident.get("type") == "operator-suspend"}
    assert suspendable == {usage["Org A"].id, usage["Org B"].id}
    assert "Your organisation" in text
    # the navbar offers the page to the operator only
    assert "nav-operator" in client.get("/_dash-layout").get_data(as_text=True)


def _ids(component) -> list:
    if isinstance(component, list):
        return [i for c in component for i in _ids(c)]
    if isinstance(component, dict):
        props = component.get("props", {})
        own = [props["id"]] if "id" in props else []
        return own + [i for v in props.values() for i in _ids(v)]
    return []


def organization_usage_of(app):
    with session_scope(app) as s:
        return organization_usage(s)


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager", "admin"])
def test_no_organisation_role_reaches_the_page_or_its_callbacks(dash_app, app, world, role):
    _operator(app)
    who = f"A-{role}"
    layout = json.dumps(page_layout(app, "/operator", world.users[who]))
    assert "page-forbidden" in layout and "operator-orgs" not in layout
    client = world.login(app.test_client(), who)
    assert "nav-operator" not in client.get("/_dash-layout").get_data(as_text=True)
    resp = call_callback(client, dash_app, "operator-orgs.children", {"operator-version.data": 0})
    assert resp.status_code == 204
    resp = _pattern_call(client, dash_app, "operator-feedback.children", "operator-suspend",
                         world.org_ids["B"], reasons={world.org_ids["B"]: "takeover"})
    assert resp.status_code == 204
    with session_scope(app) as s:
        assert s.get(Organization, world.org_ids["B"]).suspended_at is None
        assert not s.scalars(sa.select(AuditLog).where(AuditLog.action.like("org.%"))).all()


# ------------------------------------------------------------------ suspension
def test_suspension_refuses_users_devices_and_tokens_until_reactivated(dash_app, app, world):
    email = _operator(app)
    a_org, b_org = world.org_ids["A"], world.org_ids["B"]
    with session_scope(app) as s:
        viewer = s.scalar(sa.select(User).where(User.email == world.users["A-viewer"]))
        api_token = create_api_token(s, viewer, "script")
    device = app.test_client()
    assert _post_reading(device, world, "A", 1).status_code == 201
    in_session = world.login(app.test_client(), "A-viewer")  # signed in before
    assert in_session.get("/").status_code == 200

    op = app.test_client()
    assert _login(op, email).status_code == 302
    refused = _pattern_call(op, dash_app, "operator-feedback.children", "operator-suspend",
                            a_org, reasons={a_org: "  "})
    assert "reason" in _feedback(refused).lower()
    resp = _pattern_call(op, dash_app, "operator-feedback.children", "operator-suspend",
                         a_org, reasons={a_org: "invoice unpaid", b_org: ""})
    assert "Org A is suspended" in _feedback(resp)

    # mid-session: pages and callbacks refused with the message
    page = in_session.get("/")
    # in the user's language (Korean by default)
    assert page.status_code == 403 and _suspended_text(app, "ko") in _page_text(page)
    cb = call_callback(in_session, dash_app, "operator-orgs.children", {})
    assert cb.status_code == 403 and cb.get_json()["error"] == "suspended"
    # at login
    fresh = app.test_client()
    login = _login(fresh, world.users["A-admin"])
    assert login.status_code == 403 and _suspended_text(app, "en") in _page_text(login)
    assert SUSPENDED_TEXT in _page_text(login)
    # the device and the read API, at once
    resp = _post_reading(device, world, "A", 2)
    assert resp.status_code == 403 and resp.get_json()["error"] == "suspended"
    assert set(resp.get_json()) == {"error", "detail"}
    audio = device.post("/api/esp32/audio?seq=9", data=b"x", content_type="audio/wav",
                        headers={"Authorization":
                                 f"Bearer {world.tokens[world.compressors['A'][0]]}"})
    assert audio.status_code == 403
    api = app.test_client().get("/api/v1/compressors",
                                headers={"Authorization": f"Bearer {api_token}"})
    assert api.status_code == 403 and api.get_json()["error"] == "suspended"
    # the other organisation is untouched
    assert _post_reading(device, world, "B", 1).status_code == 201
    assert _login(app.test_client(), world.users["B-viewer"]).status_code == 302
    # nothing deleted
    with session_scope(app) as s:
        org = s.get(Organization, a_org)
        assert org.suspended_reason == "invoice unpaid"
        assert s.scalar(sa.select(sa.func.count(User.id)).where(User.org_id == a_org)) == 4
        assert s.scalar(sa.select(sa.func.count(Compressor.id))
                        .where(Compressor.org_id == a_org)) == 2
        assert s.scalar(sa.select(sa.func.count()).select_from(Reading)
                        .where(Reading.compressor_id == world.compressors["A"][0])) == 1

    resp = _pattern_call(op, dash_app, "operator-feedback.children", "operator-reactivate", a_org)
    assert "Org A is active again" in _feedback(resp)
    assert in_session.get("/").status_code == 200
    assert _login(app.test_client(), world.users["A-admin"]).status_code == 302
    assert _post_reading(device, world, "A", 2).status_code == 201
    assert app.test_client().get("/api/v1/compressors", headers={
        "Authorization": f"Bearer {api_token}"}).status_code == 200

    with session_scope(app) as s:
        rows = s.scalars(sa.select(AuditLog).where(AuditLog.action.like("org.%"))
                         .order_by(AuditLog.id)).all()
        actions = [(r.action, r.org_id) for r in rows]
        platform = s.scalar(sa.select(Organization.id).where(Organization.name == "Platform"))
        assert actions == [("org.suspend", platform), ("org.suspend", a_org),
                           ("org.reactivate", platform), ("org.reactivate", a_org)]
        assert rows[0].detail["reason"] == "invoice unpaid"
        assert rows[0].detail["operator"] == email
        failed = s.scalar(sa.select(AuditLog).where(AuditLog.action == "login.failure",
                                                    AuditLog.detail["reason"].as_string()
                                                    == "suspended"))
        assert failed is not None


def test_an_operator_cannot_suspend_their_own_organisation(app, world):
    email = _operator(app)
    with app.test_request_context("/"), session_scope(app) as s:
        op = s.scalar(sa.select(User).where(User.email == email))
        with pytest.raises(OperatorError):
            suspend_organization(s, op, op.org_id, "oops")
        with pytest.raises(OperatorError):
            reactivate_organization(s, op, world.org_ids["A"])  # not suspended


# ------------------------------------------------------------------ PostgreSQL hot path
def test_on_postgresql_a_cached_device_token_is_refused_at_once(pg_dash_app, pg_world):
    server, world = pg_dash_app.server, pg_world
    email = _operator(server)
    device = server.test_client()
    assert _post_reading(device, world, "A", 1).status_code == 201  # token now cached
    with server.test_request_context("/"), session_scope(server) as s:
        op = s.scalar(sa.select(User).where(User.email == email))
        suspend_organization(s, op, world.org_ids["A"], "audit")
    resp = _post_reading(device, world, "A", 2)
    assert resp.status_code == 403 and resp.get_json()["error"] == "suspended"
    assert _post_reading(device, world, "B", 1).status_code == 201

    with server.test_request_context("/"), session_scope(server) as s:
        op = s.scalar(sa.select(User).where(User.email == email))
        reactivate_organization(s, op, world.org_ids["A"])
    assert _post_reading(device, world, "A", 2).status_code == 201
    assert _post_reading(device, world, "A", 3).status_code == 201  # cached again

    # A suspension written by another process (no event reaches this one's cache):
    # the readings function itself refuses it.
    engine = sa.create_engine(server.config["SQLALCHEMY_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE organization SET suspended_at = now() WHERE id = :id"),
                     {"id": world.org_ids["A"]})
    engine.dispose()
    resp = _post_reading(device, world, "A", 4)
    assert resp.status_code == 403 and resp.get_json()["error"] == "suspended"
    with session_scope(server) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Reading)
                        .where(Reading.compressor_id == world.compressors["A"][0])) == 3


def test_a_suspended_organisation_s_silent_devices_raise_no_alerts(app, world):
    import datetime as dt

    from dashboard.alerts.engine import evaluate_periodic
    from tests.test_alerts_support import add_rule

    email = _operator(app)
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    with app.test_request_context("/"), session_scope(app) as s:
        for org in ("A", "B"):
            add_rule(s, world.org_ids[org], "offline", {"minutes": 10})
            for cid in world.compressors[org]:
                s.get(Compressor, cid).last_seen_at = now - dt.timedelta(minutes=30)
        op = s.scalar(sa.select(User).where(User.email == email))
        suspend_organization(s, op, world.org_ids["A"], "contract ended")
        fired = evaluate_periodic(s, None, now)
        assert sorted(a.compressor_id for a in fired) == sorted(world.compressors["B"])
        reactivate_organization(s, op, world.org_ids["A"])
        fired = evaluate_periodic(s, None, now + dt.timedelta(minutes=1))
        assert set(world.compressors["A"]) <= {a.compressor_id for a in fired}


def test_the_token_cache_drops_a_suspended_organisation_s_devices():
    from dashboard.core.events import Event
    from dashboard.fleet.device_tokens import DeviceIdentity, TokenCache

    cache = TokenCache()
    cache._entries = {"a": (DeviceIdentity(1, 10, 1, "h"), 1e18),
                      "b": (DeviceIdentity(2, 20, 2, "h"), 1e18)}
    cache._on_event(Event("org_suspended", 1, {}))
    assert set(cache._entries) == {"b"}
