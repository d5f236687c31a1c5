"""Live updates: the event stream (login, organisation scope, heartbeats, Last-Event-ID
replay and resync), events raised by the write paths, shared snapshots, and the
readings hot path on PostgreSQL (one server-side function, cached tokens revoked at
once)."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from dashboard.core.database import events_hub, session_scope
from dashboard.core.events import Event, publish
from dashboard.core.models import Compressor, ReadingHour, ReadingMinute, utcnow
from dashboard.core.snapshots import snapshots
from dashboard.fleet.device_tokens import revoke_tokens
from dashboard.fleet.rollups import rebuild
from tests.conftest import PASSWORD
from tests.dash_client import call_callback
from tests.live_server import serve


class Stream:
    """An EventSource-like reader on a thread: parsed messages land in ``messages``."""

    def __init__(self, base: str, cookies, last_event_id: str | None = None) -> None:
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.resp = requests.get(f"{base}/api/live/events", cookies=cookies, stream=True,
                                 timeout=30, headers=headers)
        self.messages: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for raw in self.resp.iter_lines(decode_unicode=True):
                if raw == "":
                    if "data" in fields:
                        self.messages.put({"event": fields.get("event", "message"),
                                           "id": fields.get("id"),
                                           "data": json.loads(fields["data"])})
                    fields = {}
                elif not raw.startswith(":") and ":" in raw:
                    key, value = raw.split(":", 1)
                    fields[key] = value.lstrip(" ")
        except (requests.RequestException, AttributeError, ValueError):
            pass

    def next(self, kind: str | None = None, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind or 'message'} within {timeout} s")
            msg = self.messages.get(timeout=left)
            if kind is None or msg["event"] == kind:
                return msg

    def close(self) -> None:
        self.resp.close()


def login_cookies(base: str, email: str) -> requests.cookies.RequestsCookieJar:
    http = requests.Session()
    resp = http.post(f"{base}/login", data={"email": email, "password": PASSWORD},
                     allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text[:300]
    return http.cookies


def raise_event(server, type_: str, org_id: int, **data) -> None:
    with session_scope(server) as s:
        publish(s, type_, org_id, **data)


# ---------------------------------------------------------------- the stream
def test_stream_needs_a_login(app):
    with serve(app) as base:
        resp = requests.get(f"{base}/api/live/events", timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"


def test_stream_carries_only_the_own_organisation_and_beats(app, world):
    app.config["LIVE_HEARTBEAT_SECONDS"] = 1
    with serve(app) as base:
        stream = Stream(base, login_cookies(base, world.users["A-viewer"]))
        try:
            assert stream.resp.headers["Content-Type"].startswith("text/event-stream")
            stream.next("ready")
            a, b = world.compressors["A"][0], world.compressors["B"][0]
            raise_event(app, "diagnosis", world.org_ids["B"], compressor=b)
            raise_event(app, "token_revoked", world.org_ids["A"], compressor=a)  # internal
            raise_event(app, "diagnosis", world.org_ids["A"], compressor=a, health_score=80.0)
            msg = stream.next("diagnosis")
            assert msg["data"]["compressor"] == a and msg["data"]["health_score"] == 80.0
            assert msg["id"] and msg["data"]["at"] <= time.time()
            stream.next("heartbeat", timeout=5)
            seen = []
            while not stream.messages.empty():
                seen.append(stream.messages.get())
            assert all(m["data"].get("compressor") != b for m in seen)
            assert not any(m["event"] == "token_revoked" for m in seen)
        finally:
            stream.close()


def test_reconnect_with_last_event_id_replays_what_was_missed(app, world):
    app.config["LIVE_HEARTBEAT_SECONDS"] = 1  # a closed stream's thread ends at the next beat
    org = world.org_ids["A"]
    a1, a2 = world.compressors["A"]
    with serve(app) as base:
        cookies = login_cookies(base, world.users["A-viewer"])
        first = Stream(base, cookies)
        first.next("ready")
        raise_event(app, "diagnosis", org, compressor=a1)
        last = first.next("diagnosis")["id"]
        first.close()
        # Missed while disconnected:
        raise_event(app, "diagnosis", org, compressor=a2)
        raise_event(app, "status", org, compressor=a1, status="offline")
        again = Stream(base, cookies, last_event_id=last)
        try:
            assert again.next("diagnosis")["data"]["compressor"] == a2
            assert again.next("status")["data"]["status"] == "offline"
        finally:
            again.close()
        stale = Stream(base, cookies, last_event_id="no-such-event")
        try:
            assert stale.next()["event"] == "resync"  # the page must refresh everything
        finally:
            stale.close()


def test_a_rolled_back_write_tells_nobody(app, world):
    seen: list[Event] = []
    hub = events_hub(app)
    hub.subscribe(seen.append)
    try:
        with pytest.raises(RuntimeError), session_scope(app) as s:
            publish(s, "diagnosis", world.org_ids["A"], compressor=1)
            raise RuntimeError("write failed")
        raise_event(app, "fleet", world.org_ids["A"], change="added")
    finally:
        hub.unsubscribe(seen.append)
    assert [e.type for e in seen] == ["fleet"]


def test_readings_and_alert_changes_raise_events(client, app, world):
    seen: list[Event] = []
    hub = events_hub(app)
    hub.subscribe(seen.append)
    cid = world.compressors["A"][0]
    try:
        resp = client.post("/api/esp32/data", json={"seq": 1, "metrics": {"current_a": 3.0}},
                           headers={"Authorization": f"Bearer {world.tokens[cid]}"})
        assert resp.status_code == 201
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(e.type == "readings" for e in seen):
            time.sleep(0.05)
    finally:
        hub.unsubscribe(seen.append)
    readings = [e for e in seen if e.type == "readings"]
    assert readings and readings[0].data["compressors"] == [cid]
    assert readings[0].data["online"] == [cid]  # it had never been seen: back online
    assert readings[0].org_id == world.org_ids["A"]


# ---------------------------------------------------------------- shared snapshots
def test_fleet_snapshot_is_computed_once_for_many_viewers_and_renewed_on_change(
        client, app, dash_app, world):
    world.login(client, "A-viewer")
    cache = snapshots(app)
    before = cache.computed["fleet"]
    for _ in range(20):
        resp = call_callback(client, dash_app, "health-grid.children",
                             {"health-interval.n_intervals": 1, "health-view.value": "cards"})
        assert resp.status_code == 200
    assert cache.computed["fleet"] - before == 1
    cid = world.compressors["A"][0]
    with session_scope(app) as s:  # any ORM write to the row tells the caches
        s.get(Compressor, cid).health_score = 42.0
    resp = call_callback(client, dash_app, "health-grid.children",
                         {"health-interval.n_intervals": 2, "health-view.value": "cards"})
    assert cache.computed["fleet"] - before == 2
    assert f"health-score-{cid}" in resp.get_data(as_text=True)
    assert '"42"' in resp.get_data(as_text=True)


def test_alert_badge_counts_are_shared_and_follow_incident_events(client, app, dash_app, world):
    from tests.test_alerts_page import _open_alert

    world.login(client, "A-viewer")
    cache = snapshots(app)

    def badge() -> str:
        resp = call_callback(client, dash_app, "alerts-badge-count.children",
                             {"alerts-badge-interval.n_intervals": 1})
        return resp.get_json()["response"]["alerts-badge-count"]["children"]

    assert badge() == ""
    computed = cache.computed["alerts"]
    assert badge() == "" and cache.computed["alerts"] == computed
    _open_alert(app, world)  # an ORM insert of an alert: an incident event
    assert badge() == "1"


# ---------------------------------------------------------------- PostgreSQL hot path
def _post(client, token, body):
    return client.post("/api/esp32/data", data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {token}"})


@pytest.mark.postgres
def test_pg_rollups_from_the_function_equal_a_rebuild(pg_dash_app, pg_world):
    server = pg_dash_app.server
    client = server.test_client()
    cid = pg_world.compressors["A"][0]
    token = pg_world.tokens[cid]
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    batches = [[{"seq": k * 50 + i,
                 "ts": (start + dt.timedelta(seconds=37 * (k * 50 + i))).isoformat(),
                 "metrics": ({"temperature_c": 4.0 + i % 7, "current_a": 10.0 - i % 3}
                             if i % 4 else {"pressure_bar": 6.5})}
                for i in range(50)] for k in range(4)]
    for batch in batches:
        assert _post(client, token, batch).get_json() == {"accepted": 50, "duplicates": 0}
    assert _post(client, token, batches[1]).get_json() == {"accepted": 0, "duplicates": 50}

    def rollups():
        with session_scope(server) as s:
            cols = [c for c in ReadingMinute.__table__.columns if c.name != "compressor_id"]
            minutes = s.execute(sa.select(*cols).where(ReadingMinute.compressor_id == cid)
                                .order_by(ReadingMinute.minute)).all()
            hcols = [c for c in ReadingHour.__table__.columns if c.name != "compressor_id"]
            hours = s.execute(sa.select(*hcols).where(ReadingHour.compressor_id == cid)
                              .order_by(ReadingHour.hour)).all()
        return minutes, hours

    incremental = rollups()
    with session_scope(server) as s:
        s.execute(sa.delete(ReadingMinute))
        s.execute(sa.delete(ReadingHour))
        rebuild(s)
    rebuilt = rollups()

    def rounded(rows):
        return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]

    assert rounded(incremental[0]) == rounded(rebuilt[0]) and len(incremental[0]) > 60
    assert rounded(incremental[1]) == rounded(rebuilt[1]) and len(incremental[1]) >= 2
    with session_scope(server) as s:
        comp = s.get(Compressor, cid)
        newest = batches[-1][-1]
        assert comp.last_metrics == newest["metrics"]
        assert comp.last_reading_at == dt.datetime.fromisoformat(newest["ts"])


@pytest.mark.postgres
def test_pg_revoking_a_cached_token_refuses_the_next_call(pg_dash_app, pg_world):
    server = pg_dash_app.server
    client = server.test_client()
    cid = pg_world.compressors["A"][0]
    token = pg_world.tokens[cid]
    assert _post(client, token, {"seq": 1, "metrics": {"current_a": 1.0}}).status_code == 201
    assert _post(client, token, {"seq": 2, "metrics": {"current_a": 1.0}}).status_code == 201
    with session_scope(server) as s:  # revoked elsewhere (another process would do the same)
        revoke_tokens(s, s.get(Compressor, cid))
    resp = _post(client, token, {"seq": 3, "metrics": {"current_a": 1.0}})
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    with session_scope(server) as s:
        assert s.scalar(sa.select(sa.func.max(sa.text("seq"))).select_from(
            sa.table("reading")).where(sa.text(f"compressor_id = {cid}"))) == 2


@pytest.mark.postgres
def test_pg_stream_hears_an_event_raised_through_notify(pg_dash_app, pg_world):
    server = pg_dash_app.server
    server.config["LIVE_HEARTBEAT_SECONDS"] = 1
    org = pg_world.org_ids["A"]
    cid = pg_world.compressors["A"][0]
    with serve(server) as base:
        stream = Stream(base, login_cookies(base, pg_world.users["A-viewer"]))
        try:
            stream.next("ready")
            resp = _post(server.test_client(), pg_world.tokens[cid],
                         {"seq": 9, "metrics": {"current_a": 2.0}})
            assert resp.status_code == 201
            msg = stream.next("readings")
            assert cid in msg["data"]["compressors"] and cid in msg["data"]["online"]
            assert time.time() - msg["data"]["at"] < 5
            raise_event(server, "fleet", org, change="added")
            assert stream.next("fleet")["data"]["change"] == "added"
        finally:
            stream.close()


def test_the_demo_server_waitress_streams_events(app, world):
    """``make run`` serves with waitress: its threads must pass events through as they
    come, not buffer them."""
    from waitress.server import create_server

    app.config["LIVE_HEARTBEAT_SECONDS"] = 1
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.effective_port}"
    try:
        stream = Stream(base, login_cookies(base, world.users["A-viewer"]))
        try:
            stream.next("ready", timeout=5)
            raise_event(app, "fleet", world.org_ids["A"], change="renamed")
            assert stream.next("fleet", timeout=3)["data"]["change"] == "renamed"
        finally:
            stream.close()
    finally:
        httpd.close()


def test_a_folded_repeat_is_no_incident_but_acknowledging_is(app, world):
    from dashboard.alerts import evaluate_diagnosis
    from dashboard.alerts.actions import acknowledge_alert
    from dashboard.core.models import User
    from tests.test_alerts_page import _open_alert
    from tests.test_alerts_support import T0, diagnosis

    alert_id, _rule = _open_alert(app, world)
    seen: list[Event] = []
    hub = events_hub(app)
    hub.subscribe(seen.append)
    try:
        with session_scope(app) as s:  # the same condition again: folded into the alert
            evaluate_diagnosis(s, diagnosis(s, world.compressors["A"][0], T0, status="warning"),
                               T0)
        assert not [e for e in seen if e.type == "incident"]
        with session_scope(app) as s:
            manager = s.scalar(sa.select(User).where(User.email == world.users["A-manager"]))
            acknowledge_alert(s, manager, alert_id, "on it", T0)
    finally:
        hub.unsubscribe(seen.append)
    incidents = [e for e in seen if e.type == "incident"]
    assert [(e.data["id"], e.data["state"]) for e in incidents] == [(alert_id, "acknowledged")]


def test_reading_batches_renew_the_fleet_snapshot_at_most_every_five_seconds():
    """Reading batches (a 1,000-device fleet sends them all the time) renew the fleet's
    rows at most every 5 s by the events' own times; a device back online and any other
    event renew them at once; the sparklines never follow readings."""
    from dashboard.core.events import Event, LocalHub
    from dashboard.core.snapshots import SnapshotCache

    hub = LocalHub()
    cache = SnapshotCache(hub)
    cache.hub = type("Live", (), {"live": True})()  # the listener is up
    computed = []

    def fleet() -> int:
        return cache.get("fleet", 1, lambda: computed.append(1) or len(computed))

    def readings(at: float, online: list[int] | None = None) -> None:
        cache._on_event(Event("readings", 1, {"compressors": [7], "online": online or []},
                              at=at))

    readings(1000.0)
    assert fleet() == 1 and fleet() == 1
    readings(1002.0)
    readings(1004.9)
    assert fleet() == 1  # within 5 s of the batch that renewed it: the rows may lag
    readings(1005.0)
    assert fleet() == 2
    readings(1006.0, online=[7])  # back online: at once
    assert fleet() == 3
    cache._on_event(Event("diagnosis", 1, {"compressor": 7}, at=1006.5))
    assert fleet() == 4
    readings(1007.0)
    assert fleet() == 4
    readings(1011.5)
    assert fleet() == 5
