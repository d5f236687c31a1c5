"""POST /api/esp32/data: readings stored once per seq, batches all-or-nothing, and
every kind of bad input refused with a 4xx JSON error that writes nothing."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, DeviceCredential, Reading
from dashboard.fleet.device_tokens import revoke_tokens


def post(client, token, body, content_type="application/json", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/api/esp32/data", data=data, content_type=content_type,
                       headers={"Authorization": f"Bearer {token}", **headers})


def count(app, cid=None):
    with session_scope(app) as s:
        q = sa.select(sa.func.count()).select_from(Reading)
        if cid:
            q = q.where(Reading.compressor_id == cid)
        return s.scalar(q)


@pytest.fixture
def device(world):
    cid = world.compressors["A"][0]
    return cid, world.tokens[cid]


def test_single_reading_is_stored_and_updates_last_seen(client, app, device):
    cid, token = device
    resp = post(client, token, {"seq": 1, "metrics": {"temperature_c": 4.2, "current_a": 10.5}})
    assert resp.status_code == 201
    assert resp.get_json() == {"accepted": 1, "duplicates": 0}
    with session_scope(app) as s:
        comp = s.get(Compressor, cid)
        assert comp.last_seen_at is not None
        assert comp.last_metrics == {"temperature_c": 4.2, "current_a": 10.5}
        assert s.scalar(sa.select(DeviceCredential.last_used_at)
                        .where(DeviceCredential.compressor_id == cid)) is not None
        r = s.scalar(sa.select(Reading))
        assert (r.seq, r.temperature_c, r.current_a, r.pressure_bar) == (1, 4.2, 10.5, None)


def test_duplicate_seq_is_not_stored_twice(client, app, device):
    cid, token = device
    body = {"seq": 7, "metrics": {"temperature_c": 4.0}}
    assert post(client, token, body).get_json() == {"accepted": 1, "duplicates": 0}
    assert post(client, token, body).get_json() == {"accepted": 0, "duplicates": 1}
    batch = [{"seq": 7, "metrics": {"temperature_c": 4.0}},
             {"seq": 8, "metrics": {"temperature_c": 4.1}},
             {"seq": 8, "metrics": {"temperature_c": 4.1}}]
    assert post(client, token, batch).get_json() == {"accepted": 1, "duplicates": 2}
    assert count(app, cid) == 2


def test_same_seq_from_another_device_is_its_own_reading(client, app, world):
    a1, a2 = world.compressors["A"]
    for cid in (a1, a2):
        resp = post(client, world.tokens[cid], {"seq": 1, "metrics": {"current_a": 1}})
        assert resp.status_code == 201
    assert count(app) == 2


def test_batch_backfill_keeps_device_timestamps(client, app, device):
    cid, token = device
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    old = now - dt.timedelta(hours=6)
    batch = [
        {"seq": 100 + i, "ts": int((old + dt.timedelta(seconds=i)).timestamp() * 1000),
         "metrics": {"temperature_c": 3.0 + i / 10}}
        for i in range(50)
    ]
    batch.append({"seq": 200, "ts": (now - dt.timedelta(minutes=1)).isoformat(),
                  "metrics": {"temperature_c": 9.9}})
    resp = post(client, token, {"readings": batch})
    assert resp.status_code == 201 and resp.get_json()["accepted"] == 51
    with session_scope(app) as s:
        first = s.scalar(sa.select(Reading).where(Reading.seq == 100))
        assert first.ts == old
        comp = s.get(Compressor, cid)
        assert comp.last_metrics == {"temperature_c": 9.9}  # the newest by time
    # An older backfill later does not overwrite the newest values.
    post(client, token, {"seq": 300, "ts": int(old.timestamp() * 1000) - 5000,
                         "metrics": {"temperature_c": 1.0}})
    with session_scope(app) as s:
        assert s.get(Compressor, cid).last_metrics == {"temperature_c": 9.9}


def test_batch_of_500_is_accepted_and_501_refused(client, app, device):
    _, token = device
    ok = [{"seq": i, "metrics": {"current_a": 1.0}} for i in range(500)]
    assert post(client, token, ok).status_code == 201
    too_many = [{"seq": 1000 + i, "metrics": {"current_a": 1.0}} for i in range(501)]
    resp = post(client, token, too_many)
    assert resp.status_code == 413 and resp.get_json()["error"] == "batch_too_large"
    assert count(app) == 500


BAD_BODIES = {
    "malformed json": (b'{"seq": 1, "metrics": ', 400, "malformed_json"),
    "nan": (b'{"seq": 1, "metrics": {"temperature_c": NaN}}', 400, "malformed_json"),
    "infinity": (b'{"seq": 1, "metrics": {"temperature_c": Infinity}}', 400, "malformed_json"),
    "huge number": (b'{"seq": 1, "metrics": {"temperature_c": 1e400}}', 422, "invalid_reading"),
    "unknown metric": ({"seq": 1, "metrics": {"flux_capacitor": 1.21}}, 422, "invalid_reading"),
    "out of range": ({"seq": 1, "metrics": {"humidity_pct": 140}}, 422, "invalid_reading"),
    "negative current": ({"seq": 1, "metrics": {"current_a": -3}}, 422, "invalid_reading"),
    "string value": ({"seq": 1, "metrics": {"current_a": "3"}}, 422, "invalid_reading"),
    "bool value": ({"seq": 1, "metrics": {"current_a": True}}, 422, "invalid_reading"),
    "no metrics": ({"seq": 1, "metrics": {}}, 422, "invalid_reading"),
    "missing seq": ({"metrics": {"current_a": 1}}, 422, "invalid_reading"),
    "negative seq": ({"seq": -1, "metrics": {"current_a": 1}}, 422, "invalid_reading"),
    "float seq": ({"seq": 1.5, "metrics": {"current_a": 1}}, 422, "invalid_reading"),
    "extra field": ({"seq": 1, "metrics": {"current_a": 1}, "x": 1}, 422, "invalid_reading"),
    "future ts": ({"seq": 1, "ts": "2099-01-01T00:00:00Z", "metrics": {"current_a": 1}},
                  422, "invalid_reading"),
    "naive ts": ({"seq": 1, "ts": "2026-01-01T00:00:00", "metrics": {"current_a": 1}},
                 422, "invalid_reading"),
    "garbage ts": ({"seq": 1, "ts": "yesterday", "metrics": {"current_a": 1}},
                   422, "invalid_reading"),
    "ancient epoch ms": ({"seq": 1, "ts": 1000, "metrics": {"current_a": 1}},
                         422, "invalid_reading"),
    "empty array": ([], 400, "invalid"),
    "scalar": (b"42", 400, "invalid"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_input_is_refused_and_nothing_is_stored(client, app, device, case):
    _, token = device
    body, status, code = BAD_BODIES[case]
    resp = post(client, token, body)
    assert resp.status_code == status, resp.get_json()
    payload = resp.get_json()
    assert payload["error"] == code and payload["detail"]
    assert count(app) == 0


def test_batch_with_one_bad_item_is_refused_whole_and_names_it(client, app, device):
    _, token = device
    batch = [{"seq": i, "metrics": {"temperature_c": 4.0}} for i in range(10)]
    batch[6]["metrics"]["temperature_c"] = 999
    resp = post(client, token, batch)
    assert resp.status_code == 422
    assert resp.get_json()["detail"].startswith("item 6:")
    assert count(app) == 0


def test_wrong_content_type_is_415(client, app, device):
    _, token = device
    resp = post(client, token, '{"seq": 1, "metrics": {"current_a": 1}}', content_type="text/plain")
    assert resp.status_code == 415 and resp.get_json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer nonsense", "Basic abc",
                                    "Bearer sc_000000000000_forged"])
def test_missing_or_invalid_token_is_401(client, app, header):
    headers = {"Authorization": header} if header is not None else {}
    resp = client.post("/api/esp32/data", json={"seq": 1, "metrics": {"current_a": 1}},
                       headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    assert count(app) == 0


def test_revoked_token_is_401(client, app, device):
    cid, token = device
    with session_scope(app) as s:
        revoke_tokens(s, s.get(Compressor, cid))
    resp = post(client, token, {"seq": 1, "metrics": {"current_a": 1}})
    assert resp.status_code == 401
    assert count(app) == 0


def test_tampered_token_with_a_real_prefix_is_401(client, device):
    _, token = device
    resp = post(client, token[:-4] + "abcd", {"seq": 1, "metrics": {"current_a": 1}})
    assert resp.status_code == 401


def test_oversize_body_is_413(client, app, device):
    _, token = device
    resp = post(client, token, b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert resp.status_code == 413 and resp.get_json()["error"] == "payload_too_large"


def test_readings_are_idempotent_on_postgresql(pg_dash_app, pg_world):
    client = pg_dash_app.server.test_client()
    cid = pg_world.compressors["A"][0]
    token = pg_world.tokens[cid]
    batch = [{"seq": i, "metrics": {"current_a": 1.0 + i}} for i in range(20)]
    assert post(client, token, batch).get_json() == {"accepted": 20, "duplicates": 0}
    assert post(client, token, batch[10:] + [{"seq": 99, "metrics": {"current_a": 2}}]
                ).get_json() == {"accepted": 1, "duplicates": 10}
    assert count(pg_dash_app.server, cid) == 21
    bad = post(client, token, [{"seq": 500, "metrics": {"current_a": 1}},
                               {"seq": 501, "metrics": {"current_a": float("nan")}}])
    assert bad.status_code == 400
    assert count(pg_dash_app.server, cid) == 21


def test_batch_items_may_carry_different_metrics(client, app, device):
    _, token = device
    batch = [{"seq": 1, "metrics": {"temperature_c": 4.0}},
             {"seq": 2, "metrics": {"humidity_pct": 55.0, "current_a": 3.0}}]
    assert post(client, token, batch).get_json() == {"accepted": 2, "duplicates": 0}
    with session_scope(app) as s:
        second = s.scalar(sa.select(Reading).where(Reading.seq == 2))
        assert (second.temperature_c, second.humidity_pct) == (None, 55.0)


def test_timestamp_at_the_edge_of_the_calendar_is_refused(client, app, device):
    _, token = device
    resp = post(client, token, {"seq": 1, "ts": "9999-12-31T23:59:59-14:00",
                                "metrics": {"current_a": 1}})
    assert resp.status_code == 422
