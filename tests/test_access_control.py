"""Every Flask route and every Dash callback refuses anonymous requests, and every
callback refuses roles below its own, enumerated from ``app.url_map`` and Dash's
callback map: a new route or callback is covered without anyone remembering.

A route that anyone may open must be listed in PUBLIC with the reason."""

import json
import re

import pytest

from dashboard.accounts.operators import OPERATOR
from dashboard.core.models import ROLE_RANK

# guarded("operator"): platform operators, from configuration only; above every
# organisation role, so even an organisation's admin is refused.
LEVEL_RANK = {**ROLE_RANK, OPERATOR: len(ROLE_RANK)}

# rule -> why it needs no login
PUBLIC = {
    "/login": "the login form",
    "/logout": "ending a session needs none",
    "/healthz": "liveness probe",
    "/readyz": "readiness probe for the load balancer",
    "/metrics": "Prometheus; METRICS_TOKEN protects it in production",
    "/register": "sign-up form",
    "/forgot-password": "password reset request",
    "/reset-password/<token>": "the emailed single-use token is the credential",
    "/verify-email/<token>": "the emailed single-use token is the credential",
    "/invite/<token>": "the emailed single-use token is the credential",
    "/auth/kakao/login": "starts OAuth",
    "/auth/kakao/callback": "OAuth redirect; state and code are the credential",
    "/vendor/<package>/<path:filename>": "Bootstrap and icon files",
    "/assets/<path:filename>": "CSS and images",
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": "JS bundles",
    "/_favicon.ico": "icon",
    "/static/<path:filename>": "Flask's static folder (empty)",
    "/api/esp32/openapi.json": "the device API's public description",
    "/api/v1/openapi.json": "the read API's public description (no data)",
    "/manifest.webmanifest": "the installable app's manifest, linked from the login page",
    "/sw.js": "the service worker: browsers fetch it without credentials",
    "/offline": "the service worker's offline page (no data)",
}
# Device routes: a bearer token instead of a login, refused without one.
DEVICE_PREFIX = "/api/esp32/"


def _fill(rule: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", rule)


def test_every_route_refuses_anonymous_requests(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = _fill(rule.rule)
            resp = client.open(path, method=method)
            if rule.rule.startswith(DEVICE_PREFIX):
                assert resp.status_code == 401, (method, rule.rule, resp.status_code)
            elif resp.status_code == 302:
                assert "/login" in resp.headers["Location"], (method, rule.rule)
            else:
                assert resp.status_code == 401, (method, rule.rule, resp.status_code)
                assert resp.get_json()["error"] == "unauthorized"
            checked += 1
    assert checked >= 15


def _dep(dep: dict, with_value: bool) -> object:
    """A request entry for an input/state/output; wildcard ids get an empty match."""
    raw = dep["id"]
    if isinstance(raw, str) and raw.startswith("{"):
        ident = json.loads(raw)
        wild = [k for k, v in ident.items() if v in (["ALL"], ["ALLSMALLER"])]
        if wild:
            return []
        ident = {k: (1 if v == ["MATCH"] else v) for k, v in ident.items()}
    else:
        ident = raw
    entry = {"id": ident, "property": dep["property"]}
    if with_value:
        entry["value"] = None
    return entry


def _outputs(spec: dict) -> list:
    out = []
    declared = spec["output"] if isinstance(spec["output"], (list, tuple)) else [spec["output"]]
    for o in declared:
        cid = o.component_id
        out.append(_dep({"id": json.dumps(cid, separators=(",", ":"), sort_keys=True)
                         if isinstance(cid, dict) else cid, "property": o.component_property},
                        False))
    return out


# Dash's own server callback: the Pages router, which renders page layouts (each page
# checks its role with page_guard). Clientside callbacks run in the browser only.
DASH_INTERNAL = {".._pages_content.children..._pages_store.data.."}


def callback_bodies(dash_app) -> list[tuple[str, dict, str | None]]:
    dash_app.server.test_client().get("/login")  # Dash completes its callback map lazily
    bodies = []
    for key, spec in dash_app.callback_map.items():
        if key in DASH_INTERNAL or "callback" not in spec:
            continue
        outputs = _outputs(spec)
        body = {
            "output": key,
            "outputs": outputs if len(outputs) > 1 or key.startswith("..") else outputs[0],
            "inputs": [_dep(i, True) for i in spec["inputs"]],
            "state": [_dep(s, True) for s in spec["state"]],
            "changedPropIds": [],
        }
        bodies.append((key, body, _min_role(spec["callback"])))
    return bodies


def _min_role(fn) -> str | None:
    while fn is not None:
        role = getattr(fn, "__signalcraft_min_role__", None)
        if role:
            return role
        fn = getattr(fn, "__wrapped__", None)
    return None


def test_every_callback_is_guarded(dash_app):
    unguarded = [key for key, _body, role in callback_bodies(dash_app) if role is None]
    assert unguarded == [], f"callbacks without @guarded: {unguarded}"
    assert len(dash_app.callback_map) >= 20


def test_every_callback_refuses_anonymous_requests(dash_app):
    client = dash_app.server.test_client()
    for key, body, _role in callback_bodies(dash_app):
        resp = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
        assert resp.status_code == 401, key


@pytest.mark.parametrize("who", ["A-viewer", "A-analyst", "A-manager", "A-admin"])
def test_callbacks_refuse_roles_below_their_own(dash_app, world, who):
    client = dash_app.server.test_client()
    world.login(client, who)
    rank = ROLE_RANK[who.split("-")[1]]
    refused = 0
    for key, body, role in callback_bodies(dash_app):
        if LEVEL_RANK[role] <= rank:
            continue
        resp = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
        assert resp.status_code == 204, (who, key, resp.status_code, resp.data[:200])
        refused += 1
    # every role is refused something: the admin at least the operator's callbacks
    assert refused > 0
