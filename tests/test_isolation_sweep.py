"""Issue 17: the automatic cross-organisation sweep. As A's admin, every Dash callback
(from the app's callback map) and every Flask route (``url_map``) is called with each
id-carrying input set to each id of B's objects (every table that belongs to B, found
from its org_id or compressor_id column). The answer must hold none of B's names or
texts, must not be a 5xx, and nothing in the database may change. Every infinite-model
AG Grid found on the pages gets getRowsRequest filter and sort models naming B's ids and
B's names on every column.

A callback or route that cannot be swept is listed in UNSWEPT with its reason; a
listed one that no longer exists fails the test, so the list stays true."""

from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa

from dashboard.core.database import Base, session_scope
from dashboard.core.models import Compressor, Organization, Site, User
from tests.factories import add_diagnosis, add_note, add_recording

SECRET = "Bsecret"  # in every name and text of B's objects
UNSWEPT_ROUTES = {
    "/logout": "ends the session the sweep runs in (own test: test_security.py)",
    "/api/live/events": "an endless event stream (own test: test_live.py)",
    "/static/<path:filename>": "files, no data",
    "/assets/<path:filename>": "files, no data",
    "/vendor/<package>/<path:filename>": "files, no data",
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": "JS bundles",
    "/_dash-update-component": "swept callback by callback below",
    "/api/esp32/data": "device token names the compressor (test_isolation.py, fuzz)",
    "/api/esp32/audio": "device token names the compressor (test_isolation.py, fuzz)",
    "/api/esp32/firmware/status": "device token names the compressor",
}
# exclusive: changing them is the point (last login, audit trail, rate limits)
IGNORED_COLUMNS = {("user_account", "last_login_at")}
IGNORED_TABLES = {"audit_log"}


def _build_b(server, world) -> list[int]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with session_scope(server) as s:
        org = s.get(Organization, world.org_ids["B"])
        org.name = f"Org {SECRET}"
        for site in s.scalars(sa.select(Site).where(Site.org_id == org.id)):
            site.name = f"Site {SECRET}"
        for comp in s.scalars(sa.select(Compressor).where(Compressor.org_id == org.id)):
            comp.name = f"Comp {SECRET} {comp.id}"
            rec = add_recording(server, s, comp.id, now - dt.timedelta(hours=1), seq=1)
            add_diagnosis(s, comp.id, now - dt.timedelta(hours=1), label="bearing",
                          recording_id=rec.id)
            add_note(s, comp.id, now, f"note {SECRET}")
        for user in s.scalars(sa.select(User).where(User.org_id == org.id)):
            user.name = f"User {SECRET}"
        for comp in s.scalars(sa.select(Compressor).where(Compressor.org_id == world.org_ids["A"])):
            add_recording(server, s, comp.id, now - dt.timedelta(hours=1), seq=1)
    ids: set[int] = set()
    with session_scope(server) as s:
        b_comps = [c for c in s.scalars(sa.select(Compressor.id).where(
            Compressor.org_id == world.org_ids["B"]))]
        for table in Base.metadata.sorted_tables:
            if "id" not in table.c:
                continue
            if "org_id" in table.c:
                where = table.c.org_id == world.org_ids["B"]
            elif "compressor_id" in table.c:
                where = table.c.compressor_id.in_(b_comps)
            else:
                continue
            ids.update(s.scalars(sa.select(table.c.id).where(where)))
        ids.add(world.org_ids["B"])
    return sorted(ids)


def _dump(server, world) -> dict:
    """Every row of B (by org_id, compressor_id, or B's own organisation row). A's own
    rows may change (a preference callback given a number saves it): B's may not."""
    out = {}
    b_org = world.org_ids["B"]
    with session_scope(server) as s:
        b_comps = list(s.scalars(sa.select(Compressor.id).where(Compressor.org_id == b_org)))
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            if "org_id" in table.c:
                where = table.c.org_id == b_org
            elif "compressor_id" in table.c:
                where = table.c.compressor_id.in_(b_comps)
            elif table.name == "organization":
                where = table.c.id == b_org
            else:
                where = sa.true()  # shared tables (model versions, ...): all rows
            cols = [c for c in table.c if (table.name, c.name) not in IGNORED_COLUMNS]
            out[table.name] = sorted(map(repr, s.execute(sa.select(*cols).where(where)).all()))
    return out


def _leaks(resp) -> bool:
    return SECRET.encode() in resp.get_data()


def test_no_callback_answers_with_b_s_data_for_b_s_ids(client, app, world, dash_app):
    b_ids = _build_b(app, world)
    world.login(client, "A-admin")
    before = _dump(app, world)
    calls, failures = 0, []
    for key, spec in dash_app.callback_map.items():
        if spec.get("callback") is None:
            continue  # clientside: runs in the browser, no server answer
        slots = [(part, n) for part in ("inputs", "state")
                 for n, item in enumerate(spec[part]) if not item["id"].startswith("{")]
        for part, n in slots:
            for bid in b_ids:
                for value in (bid, str(bid)):
                    body = _body(key, spec, part, n, value)
                    resp = client.post("/_dash-update-component", data=json.dumps(body),
                                       content_type="application/json")
                    calls += 1
                    if resp.status_code >= 500 or _leaks(resp):
                        failures.append((key[:60], part, n, value, resp.status_code))
    assert calls > 500
    assert not failures, failures[:10]
    _assert_unchanged(before, _dump(app, world))


def _assert_unchanged(before: dict, after: dict) -> None:
    for table in before:
        gone = set(before[table]) - set(after[table])
        new = set(after[table]) - set(before[table])
        assert not gone and not new, (table, sorted(gone)[:2], sorted(new)[:2])


def _body(key, spec, part, n, value):
    def fill(items, which):
        return [{**item, "value": value if (which == part and i == n) else None}
                if not item["id"].startswith("{") else []
                for i, item in enumerate(items)]

    outputs = []
    for piece in key.strip(".").split("..."):
        cid, prop = piece.split("@")[0].rsplit(".", 1)
        outputs.append({"id": cid, "property": prop})
    inputs = fill(spec["inputs"], "inputs")
    trigger = spec[part][n]
    return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": inputs, "state": fill(spec["state"], "state"),
            "changedPropIds": [f"{trigger['id']}.{trigger['property']}"]}


def test_no_route_answers_with_b_s_data_for_b_s_ids(client, app, world):
    b_ids = _build_b(app, world)
    world.login(client, "A-admin")
    rules = {r.rule: r for r in app.url_map.iter_rules()}
    assert not set(UNSWEPT_ROUTES) - set(rules), "UNSWEPT lists routes that are gone"
    before = _dump(app, world)
    failures = []
    for rule_text, rule in rules.items():
        if rule_text in UNSWEPT_ROUTES:
            continue
        for bid in b_ids:
            path = re.sub(r"<(?:(\w+):)?(\w+)>", str(bid), rule_text)
            query = "&".join(f"{name}={bid}" for name in (
                "compressor", "site", "recording", "id", "user", "release_id", "note"))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "POST":
                    resp = client.post(f"{path}?{query}", json={"id": bid})
                else:
                    resp = client.get(f"{path}?{query}")
                if resp.status_code >= 500 or _leaks(resp):
                    failures.append((method, rule_text, bid, resp.status_code))
                if rule_text == "/login" and method == "POST":
                    world.login(client, "A-admin")
    assert not failures, failures[:10]
    _assert_unchanged(before, _dump(app, world))


WILDCARDS = ("MATCH", "ALL", "ALLSMALLER")


def _concrete(pattern: dict, bid: int) -> dict:
    return {k: (bid if isinstance(v, list) and v and v[0] in WILDCARDS else v)
            for k, v in pattern.items()}


def _wildcard(pattern: dict) -> str | None:
    return next((v[0] for v in pattern.values()
                 if isinstance(v, list) and v and v[0] in WILDCARDS), None)


def _pattern_body(key, spec, bid):
    """A call as the browser makes it when a component whose pattern id carries B's id
    (an edit button, a row's select, an acknowledge button) fires."""
    def item(dep, value):
        if not dep["id"].startswith("{"):
            return {**dep, "value": None}
        pattern = json.loads(dep["id"])
        entry = {"id": _concrete(pattern, bid), "property": dep["property"], "value": value}
        return entry if _wildcard(pattern) == "MATCH" else [entry]

    outputs = []
    for piece in key.strip(".").split("..."):
        cid, prop = piece.split("@")[0].rsplit(".", 1)
        if cid.startswith("{"):
            pattern = json.loads(cid)
            out = {"id": _concrete(pattern, bid), "property": prop}
            outputs.append(out if _wildcard(pattern) == "MATCH" else [out])
        else:
            outputs.append({"id": cid, "property": prop})
    trigger = next(d for d in spec["inputs"] if d["id"].startswith("{"))
    trigger_id = json.dumps(_concrete(json.loads(trigger["id"]), bid), sort_keys=True,
                            separators=(",", ":"))
    return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": [item(d, 1) for d in spec["inputs"]],
            "state": [item(d, str(bid)) for d in spec["state"]],
            "changedPropIds": [f"{trigger_id}.{trigger['property']}"]}


def test_pattern_matching_callbacks_answer_nothing_of_b_for_b_s_ids(client, app, world,
                                                                     dash_app):
    b_ids = _build_b(app, world)
    world.login(client, "A-admin")
    before = _dump(app, world)
    calls, answered, failures, codes = 0, 0, [], {}
    for key, spec in dash_app.callback_map.items():
        if spec.get("callback") is None or not any(
                d["id"].startswith("{") for d in spec["inputs"]):
            continue
        for bid in b_ids:
            body = _pattern_body(key, spec, bid)
            resp = client.post("/_dash-update-component", data=json.dumps(body),
                               content_type="application/json")
            calls += 1
            answered += resp.status_code in (200, 204)
            codes[resp.status_code] = codes.get(resp.status_code, 0) + 1
            if resp.status_code >= 500 or _leaks(resp):
                failures.append((key[:60], bid, resp.status_code))
    print(f"pattern-matching sweep: {calls} calls, answers {sorted(codes.items())}")
    assert calls > 50
    # the bodies are well-formed: most reach the callback (a 400 means a malformed body)
    assert answered > calls // 2, (answered, calls)
    assert not failures, failures[:10]
    _assert_unchanged(before, _dump(app, world))


# ------------------------------------------------------------------ AG Grid requests
def _infinite_grids(app, world) -> dict[str, list[str]]:
    """Every infinite-model AG Grid of every page (as A's admin sees it): its id and the
    columns it can be asked to filter or sort on."""
    import dash

    from tests.dash_client import page_layout

    grids: dict[str, list[str]] = {}

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            props = node.get("props", {})
            if node.get("type") == "AgGrid" and props.get("rowModelType") == "infinite":
                columns = {c.get(k) for c in props.get("columnDefs") or []
                           for k in ("field", "colId") if c.get(k)}
                grids[props["id"]] = sorted(columns)
            for value in props.values():
                walk(value)

    for page in dash.page_registry.values():
        if "<" not in page["path"]:
            walk(page_layout(app, page["path"], world.users["A-admin"]))
    return grids


def _filter_models(columns: list[str], values: list) -> list[dict]:
    """Filter models in each of AG Grid's shapes (number, text, range, set, combined)
    naming ``values`` on every column, and on columns the grid does not have."""
    models = []
    for column in [*columns, "org_id", "site_name", "compressor_name", "id", "name"]:
        for v in values:
            models += [
                {column: {"filterType": "number", "type": "equals", "filter": v}},
                {column: {"filterType": "text", "type": "contains", "filter": str(v)}},
                {column: {"filterType": "text", "type": "equals", "filter": str(v)}},
                {column: {"filterType": "number", "type": "inRange", "filter": v,
                          "filterTo": v}},
                {column: {"filterType": "set", "values": [v, str(v)]}},
                {column: {"filterType": "number", "operator": "OR", "conditions": [
                    {"type": "equals", "filter": v}, {"type": "notEqual", "filter": v}]}},
            ]
    return models


def test_infinite_grids_answer_nothing_of_b_for_filter_and_sort_models_naming_b(
        client, app, world, dash_app):
    """AG Grid's getRowsRequest as a hand-edited browser sends it: filter models on
    every column (and unknown ones) equal to, containing, ranging over or listing B's
    ids and B's names and texts; sort models on every column. No row of B, no byte of
    B's names, no 5xx, nothing of B changed; A's own rows still come back."""
    b_ids = _build_b(app, world)
    with session_scope(app) as s:
        for comp in world.compressors["A"]:
            add_diagnosis(s, comp, dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
                          label="bearing")
        b_texts = sorted({*s.scalars(sa.select(Site.name).where(Site.org_id == world.org_ids["B"])),
                          *s.scalars(sa.select(Compressor.name).where(
                              Compressor.org_id == world.org_ids["B"])),
                          f"Org {SECRET}", f"User {SECRET}", f"note {SECRET}", SECRET})
    grids = _infinite_grids(app, world)
    assert grids, "no infinite-model grid found: the page walk is broken"
    world.login(client, "A-admin")
    before = _dump(app, world)
    b_comps = set(world.compressors["B"])
    calls, a_rows, failures = 0, 0, []
    for grid, columns in grids.items():
        key = next(k for k, spec in dash_app.callback_map.items()
                   if {"id": grid, "property": "getRowsRequest"} in spec["inputs"])
        requests = [{"startRow": 0, "endRow": 100, "filterModel": model, "sortModel": []}
                    for model in _filter_models(columns, [*b_ids, *b_texts])]
        requests += [{"startRow": 0, "endRow": 100, "filterModel": {},
                      "sortModel": [{"colId": col, "sort": order}]}
                     for col in [*columns, *b_texts, "org_id"] for order in ("asc", "desc")]
        requests.append({"startRow": 0, "endRow": 100, "filterModel": {
            "compressor_id": {"filterType": "number", "type": "equals",
                              "filter": world.compressors["A"][0]}}, "sortModel": []})
        for request in requests:
            body = {"output": key, "outputs": {"id": grid, "property": "getRowsResponse"},
                    "inputs": [{"id": grid, "property": "getRowsRequest", "value": request}],
                    "state": [], "changedPropIds": [f"{grid}.getRowsRequest"]}
            resp = client.post("/_dash-update-component", data=json.dumps(body),
                               content_type="application/json")
            calls += 1
            rows = []
            if resp.status_code == 200:
                rows = resp.get_json()["response"][grid]["getRowsResponse"]["rowData"]
            if (resp.status_code >= 500 or _leaks(resp)
                    or any(row.get("compressor_id") in b_comps for row in rows)):
                failures.append((grid, json.dumps(request)[:200], resp.status_code))
            a_rows += len(rows)
    print(f"AG Grid sweep: {calls} requests over {sorted(grids)}, {a_rows} rows of A")
    assert calls > 1000
    assert a_rows > 0, "no request reached A's rows: the requests are malformed"
    assert not failures, failures[:10]
    _assert_unchanged(before, _dump(app, world))
