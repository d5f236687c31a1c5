"""Roles and organisations: a user of organisation A gets nothing of organisation B,
through pages, callbacks or the API."""

import json

from dashboard.core.database import session_scope
from dashboard.core.models import Compressor
from tests.test_auth import call_health


def _card_ids(resp) -> set[int]:
    text = json.dumps(resp.get_json())
    return {int(part.split('"')[0]) for part in text.split('"health-card-')[1:]}


def test_health_callback_shows_only_own_organisation(client, world, app):
    with session_scope(app) as s:
        for cid in world.compressors["B"]:
            s.get(Compressor, cid).name = f"Secret B {cid}"
    world.login(client, "A-viewer")
    resp = call_health(client)
    assert resp.status_code == 200
    assert _card_ids(resp) == set(world.compressors["A"])
    assert "Secret B" not in resp.get_data(as_text=True)
    client.post("/logout")
    world.login(client, "B-viewer")
    assert _card_ids(call_health(client)) == set(world.compressors["B"])


def test_layout_and_dependencies_need_login_but_hold_no_org_data(client, world):
    world.login(client, "A-viewer")
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    assert "Comp B" not in layout.get_data(as_text=True)


def test_device_token_of_one_org_cannot_write_as_another_device(client, world):
    token_b = world.tokens[world.compressors["B"][0]]
    resp = client.post("/api/esp32/data", json={"seq": 1, "metrics": {"temperature_c": 3.0}},
                       headers={"Authorization": f"Bearer {token_b}",
                                "X-Device-Id": str(world.compressors["A"][0])})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "forbidden"


def test_isolation_holds_on_postgresql(pg_dash_app, pg_world):
    client = pg_dash_app.server.test_client()
    pg_world.login(client, "B-admin")
    assert _card_ids(call_health(client)) == set(pg_world.compressors["B"])
