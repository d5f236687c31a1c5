"""Issue 17, roles inside one organisation: every Dash callback (from the app's callback
map) is called as A's viewer and as A's analyst with forged inputs and states: ids of
A's own objects of every table, the caller's and the admin's user ids, B's organisation
id, role words ("admin", ...), and pattern-matching ids naming those objects (the
"remove user 7" button, "role of user 7" select, ...), as a browser that was edited
by hand would send them.

- A callback above the caller's role must refuse (204, no update) and change nothing.
- A callback the caller may run (profile, API tokens, browsers for push) may change
  only the caller's own rows, and never the caller's role, organisation, approval or
  activation; nobody else's row changes.
- Nobody changes their own role or organisation, the admin included, and the last
  admin of an organisation cannot be demoted, disabled or removed: checked through the
  settings callbacks and through every route (forged form and JSON bodies).

A new callback is swept without anyone remembering; one that cannot be swept is listed
in UNSWEPT with its reason, and a listed one that no longer exists fails the test."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import pytest
import sqlalchemy as sa

from dashboard.accounts.api_tokens import create_api_token
from dashboard.core.database import Base, session_scope
from dashboard.core.models import ROLE_RANK, Compressor, Invitation, User, utcnow
from tests.factories import add_diagnosis, add_note, add_recording
from tests.test_access_control import DASH_INTERNAL, LEVEL_RANK, _min_role

# callback key -> why it is not swept (none today: every server callback is)
UNSWEPT: dict[str, str] = {}
# Changing them is the point of a call (audit trail, last login), not a forged effect.
IGNORED_TABLES = {"audit_log"}
IGNORED_COLUMNS = {("user_account", "last_login_at")}
# What may never change on the caller's own row, whatever a callback is sent.
PROTECTED_USER_COLUMNS = ("role", "org_id", "pending", "active", "email", "kakao_id")
ROLE_WORDS = ("admin", "manager", "analyst", "viewer", "operator")
# The "op" part of pattern ids (settings_tables.py): every action a button can name.
OP_WORDS = ("approve", "disable", "enable", "issue", "rotate", "revoke", "remove")
CLICK_PROPS = {"n_clicks", "submit_n_clicks", "n_submit", "n_clicks_timestamp"}
WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")


# ------------------------------------------------------------------ the world
def _build_a(server, world) -> dict:
    """A's objects of every kind the callbacks name, and the ids to forge with."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    a = world.org_ids["A"]
    with session_scope(server) as s:
        users = {u.email: u for u in s.scalars(sa.select(User).where(User.org_id == a))}
        admin = users[world.users["A-admin"]]
        for n, comp in enumerate(s.scalars(sa.select(Compressor).where(Compressor.org_id == a))):
            rec = add_recording(server, s, comp.id, now - dt.timedelta(hours=1), seq=n + 1)
            add_diagnosis(s, comp.id, now - dt.timedelta(hours=1), label="bearing",
                          recording_id=rec.id)
            add_note(s, comp.id, now, "A's note", author_id=admin.id)
        s.add(Invitation(org_id=a, email="invited@a.example", role="viewer",
                         token_hash="x" * 64, invited_by_id=admin.id, created_at=utcnow(),
                         expires_at=utcnow() + dt.timedelta(days=7)))
        for user in users.values():
            create_api_token(s, user, f"token of {user.email}")
    ids: set[int] = set()
    with session_scope(server) as s:
        comps = list(s.scalars(sa.select(Compressor.id).where(Compressor.org_id == a)))
        user_ids = list(s.scalars(sa.select(User.id).where(User.org_id == a)))
        for table in Base.metadata.sorted_tables:
            if "id" not in table.c or table.name in IGNORED_TABLES:
                continue
            if "org_id" in table.c:
                where = table.c.org_id == a
            elif "compressor_id" in table.c:
                where = table.c.compressor_id.in_(comps)
            elif "user_id" in table.c:
                where = table.c.user_id.in_(user_ids)
            else:
                continue
            ids.update(s.scalars(sa.select(table.c.id).where(where).limit(3)))
        return {"ids": sorted(ids | set(user_ids) | {a, world.org_ids["B"]}),
                "users": {email: u_id for email, u_id in s.execute(
                    sa.select(User.email, User.id).where(User.org_id == a)).all()},
                "admin": admin.id, "org_a": a, "org_b": world.org_ids["B"]}


def _dump(server) -> dict[str, dict]:
    """Every row of every table, by primary key."""
    out: dict[str, dict] = {}
    with session_scope(server) as s:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            cols = [c for c in table.c if (table.name, c.name) not in IGNORED_COLUMNS]
            pk = [c.name for c in table.primary_key]
            rows = {}
            for row in s.execute(sa.select(*cols)).mappings():
                rows[tuple(row[k] for k in pk)] = dict(row)
            out[table.name] = rows
    return out


def _forbidden_changes(before: dict, after: dict, caller_id: int | None) -> list:
    """Changed rows that are not the caller's own, and any change of the caller's
    role, organisation, approval or activation. ``caller_id`` None: nothing may change."""
    problems = []
    for table, rows in before.items():
        new = after[table]
        for key in set(rows) | set(new):
            old_row, new_row = rows.get(key), new.get(key)
            if old_row == new_row:
                continue
            row = new_row or old_row
            if caller_id is not None and table == "user_account" and key == (caller_id,):
                if old_row and new_row and all(old_row[c] == new_row[c]
                                               for c in PROTECTED_USER_COLUMNS):
                    continue
            elif (caller_id is not None and "user_id" in row
                  and (old_row or {}).get("user_id", caller_id) == caller_id
                  and (new_row or {}).get("user_id", caller_id) == caller_id):
                continue  # the caller's own token, browser, ...
            problems.append((table, key, old_row and {k: v for k, v in old_row.items()
                                                      if new_row and v != new_row.get(k)}))
    return problems


# ------------------------------------------------------------------ forged bodies
def _output_entries(key: str, concrete: dict | None) -> object:
    outputs = []
    for piece in key.strip(".").split("..."):
        cid, prop = piece.split("@")[0].rsplit(".", 1)
        if cid.startswith("{"):
            pattern = json.loads(cid)
            wild = next(v[0] for v in pattern.values() if isinstance(v, list))
            out = {"id": {k: (concrete or {}).get(k, 1) if isinstance(v, list) else v
                          for k, v in pattern.items()}, "property": prop}
            outputs.append(out if wild == "MATCH" else ([out] if concrete else []))
        else:
            outputs.append({"id": cid, "property": prop})
    return outputs if key.startswith("..") else outputs[0]


def _entry(dep: dict, value: object, concrete: dict | None) -> object:
    if not dep["id"].startswith("{"):
        if dep["property"] in CLICK_PROPS:
            value = 1
        return {**dep, "value": value}
    pattern = json.loads(dep["id"])
    if concrete is None:
        return []
    ident = {k: concrete.get(k, 1) if isinstance(v, list) and v and v[0] in WILDCARDS else v
             for k, v in pattern.items()}
    wild = next(v[0] for v in pattern.values() if isinstance(v, list))
    item = {"id": ident, "property": dep["property"],
            "value": 1 if dep["property"] in CLICK_PROPS else value}
    return item if wild == "MATCH" else [item]


def _body(key: str, spec: dict, value: object, concrete: dict | None = None) -> dict | None:
    """Every input and state set to ``value`` (clicks to 1); pattern-matching ones as
    one component whose id is ``concrete``; the first input (pattern one when
    ``concrete``) fired."""
    inputs = [_entry(d, value, concrete) for d in spec["inputs"]]
    trigger = next((d for d in spec["inputs"]
                    if d["id"].startswith("{") == (concrete is not None)), None)
    if trigger is None:
        return None  # only pattern-matching inputs: swept with concrete ids below
    if trigger["id"].startswith("{"):
        pattern = json.loads(trigger["id"])
        ident = {k: concrete.get(k, 1) if isinstance(v, list) else v for k, v in pattern.items()}
        trigger_id = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    else:
        trigger_id = trigger["id"]
    return {"output": key, "outputs": _output_entries(key, concrete), "inputs": inputs,
            "state": [_entry(d, value, concrete) for d in spec["state"]],
            "changedPropIds": [f"{trigger_id}.{trigger['property']}"]}


def _forged_values(a: dict, caller_id: int) -> list:
    targets = {"user": a["admin"], "user_id": caller_id, "role": "admin",
               "org_id": a["org_b"], "id": a["admin"]}
    return [*a["ids"], *(str(i) for i in a["ids"][:8]), *ROLE_WORDS, targets, [targets],
            [a["admin"], caller_id], True, "", None]


def _pattern_keys(spec: dict) -> list[str]:
    keys: list[str] = []
    for dep in spec["inputs"] + spec["state"]:
        if dep["id"].startswith("{"):
            keys += [k for k, v in json.loads(dep["id"]).items()
                     if isinstance(v, list) and k not in keys]
    return keys


def _bodies(key: str, spec: dict, a: dict, caller_id: int):
    values = _forged_values(a, caller_id)
    for value in values:
        body = _body(key, spec, value)
        if body is not None:
            yield body
    keys = _pattern_keys(spec)
    if not keys:
        return
    for target in a["ids"]:
        for op in (OP_WORDS if "op" in keys else (None,)):
            concrete = {k: (op if k == "op" else target) for k in keys}
            for value in ("admin", "viewer", str(target), 1):
                yield _body(key, spec, value, concrete)


def _server_callbacks(dash_app) -> dict[str, dict]:
    dash_app.server.test_client().get("/login")  # Dash completes its callback map lazily
    return {k: s for k, s in dash_app.callback_map.items()
            if s.get("callback") is not None and k not in DASH_INTERNAL}


# ------------------------------------------------------------------ the sweeps
@pytest.mark.parametrize("who", ["A-viewer", "A-analyst"])
def test_forged_state_acts_above_no_role(client, app, world, dash_app, who):
    a = _build_a(app, world)
    callbacks = _server_callbacks(dash_app)
    assert not set(UNSWEPT) - set(callbacks), "UNSWEPT lists callbacks that are gone"
    world.login(client, who)
    caller_id = a["users"][world.users[who]]
    rank = ROLE_RANK[who.split("-")[1]]
    calls, above, failures = 0, 0, []
    for key, spec in callbacks.items():
        if key in UNSWEPT:
            continue
        allowed = LEVEL_RANK[_min_role(spec["callback"])] <= rank
        above += not allowed
        before = _dump(app)
        for body in _bodies(key, spec, a, caller_id):
            resp = client.post("/_dash-update-component", data=json.dumps(body),
                               content_type="application/json")
            calls += 1
            if resp.status_code >= 500 or (not allowed and resp.status_code != 204):
                failures.append((key[:70], resp.status_code, json.dumps(body)[:300]))
                break
        changed = _forbidden_changes(before, _dump(app), caller_id if allowed else None)
        if changed:
            failures.append((key[:70], "changed", changed[:3]))
    print(f"{who}: {calls} forged calls over {len(callbacks)} callbacks, {above} above role")
    assert not failures, failures[:10]
    assert above >= 30 and calls > 1000
    with session_scope(app) as s:
        me = s.get(User, caller_id)
        assert (me.role, me.org_id, me.active, me.pending) == (
            who.split("-")[1], a["org_a"], True, False)


def _admin_row(server, user_id: int) -> tuple:
    with session_scope(server) as s:
        u = s.get(User, user_id)
        return (u.role, u.org_id, u.active, u.pending) if u else None


def test_the_admin_cannot_change_their_own_role_or_organisation_through_any_callback(
        client, app, world, dash_app):
    """The organisation's only admin, with every forged call: still its admin after."""
    a = _build_a(app, world)
    world.login(client, "A-admin")
    failures = []
    for key, spec in _server_callbacks(dash_app).items():
        if key in UNSWEPT:
            continue
        for body in _bodies(key, spec, {**a, "ids": [a["admin"], a["org_a"], a["org_b"]]},
                            a["admin"]):
            resp = client.post("/_dash-update-component", data=json.dumps(body),
                               content_type="application/json")
            if resp.status_code >= 500:
                failures.append((key[:70], resp.status_code))
        if _admin_row(app, a["admin"]) != ("admin", a["org_a"], True, False):
            failures.append((key[:70], "admin changed", _admin_row(app, a["admin"])))
            break
    assert not failures, failures[:10]


def _route_bodies(a: dict, caller_id: int) -> list[dict]:
    return [{"role": role, "user": target, "user_id": target, "id": target,
             "org_id": a["org_b"], "org": a["org_b"], "organization": a["org_b"],
             "active": "0", "pending": "1", "email": "new@b.example"}
            for role in ("admin", "viewer") for target in (caller_id, a["admin"])]


@pytest.mark.parametrize("who", ["A-viewer", "A-analyst", "A-admin"])
def test_no_route_changes_anyone_s_role_or_organisation(client, app, world, who):
    """Every route, with forged form and JSON bodies naming a role, an organisation
    and a user (the caller, the admin): nobody's role, organisation or activation
    changes, and the organisation keeps its admin."""
    a = _build_a(app, world)
    world.login(client, who)
    caller_id = a["users"][world.users[who]]
    people = lambda: {uid: _admin_row(app, uid) for uid in a["users"].values()}  # noqa: E731
    before = people()
    failures = []
    skip = {"/logout", "/api/live/events", "/_dash-update-component"}
    for rule in app.url_map.iter_rules():
        if rule.rule in skip:
            continue
        path = re.sub(r"<(?:(\w+):)?(\w+)>", str(a["admin"]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS", "GET"}):
            for data in _route_bodies(a, caller_id):
                for resp in (client.open(path, method=method, data=data),
                             client.open(path, method=method, json=data)):
                    if resp.status_code >= 500:
                        failures.append((method, rule.rule, resp.status_code))
            if rule.rule == "/login":
                world.login(client, who)
    assert not failures, failures[:10]
    assert people() == before


# ------------------------------------------------------------------ the last admin
def _call(client, dash_app, pattern_type: str, ident: dict, prop: str, value: object,
          version: int = 0):
    key = next(k for k in dash_app.callback_map if f'"type":"{pattern_type}"' in k
               or f'"type": "{pattern_type}"' in k
               or any(f'"{pattern_type}"' in d["id"]
                      for d in dash_app.callback_map[k]["inputs"]))
    spec = dash_app.callback_map[key]
    full = {"type": pattern_type, **ident}
    trigger = json.dumps(full, sort_keys=True, separators=(",", ":"))
    inputs = []
    for dep in spec["inputs"]:
        if pattern_type in dep["id"]:
            inputs.append([{"id": full, "property": prop, "value": value}])
        else:
            inputs.append({**dep, "value": None})
    body = {"output": key, "outputs": _output_entries(key, None), "inputs": inputs,
            "state": [{**d, "value": version} for d in spec["state"]],
            "changedPropIds": [f"{trigger}.{prop}"]}
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def _add_admin(server, world, email: str, active: bool = True) -> int:
    from dashboard.accounts.provisioning import upsert_user
    from dashboard.core.models import Organization
    from tests.conftest import PASSWORD

    with session_scope(server) as s:
        user = upsert_user(s, s.get(Organization, world.org_ids["A"]), email, PASSWORD,
                           role="admin")
        user.active = active
        s.flush()
        return user.id


def test_the_last_admin_cannot_be_demoted_disabled_or_removed_by_the_settings_callbacks(
        client, app, world, dash_app):
    a = _build_a(app, world)
    other = _add_admin(app, world, "second@a.example", active=False)  # disabled: not counted
    world.login(client, "A-admin")
    me = a["admin"]
    for role in ("viewer", "analyst", "manager"):
        resp = _call(client, dash_app, "settings-user-role", {"user": me}, "value", role)
        assert resp.status_code in (200, 204), resp.data[:300]
    for op in ("disable",):
        _call(client, dash_app, "settings-user-op", {"op": op, "user": me}, "n_clicks", 1)
    _call(client, dash_app, "settings-user-remove", {"user": me}, "submit_n_clicks", 1)
    assert _admin_row(app, me) == ("admin", a["org_a"], True, False)
    # the disabled admin may be demoted (it is not the one keeping the organisation)
    _call(client, dash_app, "settings-user-role", {"user": other}, "value", "viewer")
    assert _admin_row(app, other)[0] == "viewer"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(pg_dash_app, pg_world):
    """The last-admin check and the change run under one lock of the organisation: two
    admins demoting each other in concurrent transactions cannot both succeed."""
    from dashboard.accounts.users import AccountError, change_role
    server = pg_dash_app.server
    second = _add_admin(server, pg_world, "second@a.example")
    with session_scope(server) as s:
        first = s.scalar(sa.select(User.id).where(User.email == pg_world.users["A-admin"]))
    factory = server.extensions["sc_sessionmaker"]
    one, two = factory(), factory()
    outcome: dict[str, object] = {}
    try:
        change_role(one, one.get(User, first), second, "viewer")  # holds the lock, uncommitted

        def other_side() -> None:
            try:
                change_role(two, two.get(User, second), first, "viewer")
                two.commit()
                outcome["two"] = "committed"
            except AccountError:
                two.rollback()
                outcome["two"] = "refused"

        thread = threading.Thread(target=other_side)
        thread.start()
        thread.join(timeout=1.0)
        one.commit()
        thread.join(timeout=10)
    finally:
        one.close()
        two.close()
    with session_scope(server) as s:
        admins = s.scalars(sa.select(User.email).where(
            User.org_id == pg_world.org_ids["A"], User.role == "admin")).all()
    assert outcome.get("two") == "refused", outcome
    assert admins == [pg_world.users["A-admin"]]
