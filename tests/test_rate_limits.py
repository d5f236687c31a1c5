"""Call limits: per device token on the device API (memory, PostgreSQL's hot path and the
real Redis), per user on the ad-hoc analysis and the CSV export."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dashboard.core.config import Settings
from dashboard.core.database import session_scope
from dashboard.core.models import Reading
from tests.conftest import World, _make_app, migrated_sqlite


def make_app(tmp_path, **config):
    url = migrated_sqlite(tmp_path / "limits.db")
    return _make_app(tmp_path, url, **config).server


def post_reading(client, token, seq):
    return client.post("/api/esp32/data", json={"seq": seq, "metrics": {"temperature_c": 4.0}},
                       headers={"Authorization": f"Bearer {token}"})


def reading_count(app):
    with session_scope(app) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Reading))


def test_the_device_limit_defaults_to_60_calls_in_10_seconds_and_reads_its_variable():
    assert Settings.from_env({}).DEVICE_RATE_LIMIT == "60 per 10 seconds"
    assert Settings.from_env({"SIGNALCRAFT_DEVICE_RATE_LIMIT": "5 per second"}
                             ).DEVICE_RATE_LIMIT == "5 per second"


def test_a_token_past_the_default_limit_gets_429_with_retry_after(tmp_path):
    app = make_app(tmp_path, DEVICE_RATE_LIMIT=Settings().DEVICE_RATE_LIMIT)
    world = World(app)
    first, second = world.compressors["A"]
    client = app.test_client()
    codes = [post_reading(client, world.tokens[first], n).status_code for n in range(80)]
    # The first 60 always pass; the sliding window (straddling a window edge weighs the
    # previous window's calls a little less) refuses within the next few.
    assert codes[:60] == [201] * 60 and 429 in codes[60:]
    n = codes.index(429)
    refused = post_reading(client, world.tokens[first], 1000)
    assert refused.status_code == 429
    body = refused.get_json()
    assert set(body) == {"error", "detail"} and body["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    # Refused calls stored nothing; another device's token is not affected.
    assert reading_count(app) == codes.count(201) and n >= 60
    assert post_reading(client, world.tokens[second], 0).status_code == 201


def test_the_limit_also_counts_calls_the_other_device_endpoints_and_bad_tokens(tmp_path):
    app = make_app(tmp_path, DEVICE_RATE_LIMIT="3 per minute")
    world = World(app)
    token = world.tokens[world.compressors["A"][0]]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/esp32/firmware?version=1.0.0&hw=esp32",
                      headers=headers).status_code in (200, 204)
    assert post_reading(client, token, 1).status_code == 201
    assert client.post("/api/esp32/audio?seq=1", data=b"not a wav",
                       headers={**headers, "Content-Type": "audio/wav"}).status_code in (400, 422)
    assert post_reading(client, token, 2).status_code == 429
    # A guessed token is throttled too, before any database look-up.
    guesses = [post_reading(client, "guess-" + "x" * 30, n).status_code for n in range(4)]
    assert guesses == [401, 401, 401, 429]


def test_postgres_hot_path_is_limited_per_token(pg_dash_app, pg_world):
    app = pg_dash_app.server
    app.config["DEVICE_RATE_LIMIT"] = "2 per minute"
    token = pg_world.tokens[pg_world.compressors["A"][0]]
    client = app.test_client()
    codes = [post_reading(client, token, n).status_code for n in range(3)]
    assert codes == [201, 201, 429]
    assert reading_count(app) == 2


def test_analysis_uploads_are_limited_per_user(tmp_path):
    app = make_app(tmp_path, ANALYZE_RATE_LIMIT="2 per minute")
    world = World(app)
    analyst = world.login(app.test_client(), "A-analyst")
    codes = [analyst.post("/api/analyze", data=b"").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    resp = analyst.post("/api/analyze", data=b"")
    assert resp.get_json()["error"] == "rate_limited" and int(resp.headers["Retry-After"]) >= 1
    # Another user (same address) still has their own allowance.
    other = world.login(app.test_client(), "A-manager")
    assert other.post("/api/analyze", data=b"").status_code == 400


def test_csv_exports_are_limited_per_user(tmp_path):
    app = make_app(tmp_path, EXPORT_RATE_LIMIT="2 per minute")
    world = World(app)
    analyst = world.login(app.test_client(), "A-analyst")
    codes = [analyst.get("/export/diagnoses.csv").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other = world.login(app.test_client(), "B-analyst")
    assert other.get("/export/diagnoses.csv").status_code == 200


def test_device_limit_counts_in_real_redis_across_app_servers(tmp_path, redis_conn):
    conn = redis_conn
    prefix = f"sc-test-{uuid.uuid4().hex[:10]}"
    config = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_KEY_PREFIX": prefix,
              "DEVICE_RATE_LIMIT": "3 per minute"}
    app = make_app(tmp_path, **config)
    try:
        world = World(app)
        token = world.tokens[world.compressors["A"][0]]
        for n in range(2):
            assert post_reading(app.test_client(), token, n).status_code == 201
        keys = [k.decode() for k in conn.scan_iter(match=f"*{prefix}*")]
        assert keys, "the counts live in Redis"
        assert not any(token in k for k in keys), "the token itself is never a key"
        # A second app server on the same database and Redis shares the count.
        (tmp_path / "second").mkdir()
        other = _make_app(tmp_path / "second", app.config["SQLALCHEMY_URL"], **config).server
        assert post_reading(other.test_client(), token, 2).status_code == 201
        assert post_reading(other.test_client(), token, 3).status_code == 429
        assert post_reading(app.test_client(), token, 4).status_code == 429
    finally:
        for key in conn.scan_iter(match=f"*{prefix}*"):
            conn.delete(key)
        conn.close()


def test_unreachable_limit_storage_lets_devices_through(tmp_path):
    app = make_app(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1",
                   DEVICE_RATE_LIMIT="1 per minute")
    world = World(app)
    token = world.tokens[world.compressors["A"][0]]
    client = app.test_client()
    assert [post_reading(client, token, n).status_code for n in range(2)] == [201, 201]


def test_a_throttled_simulated_device_keeps_its_readings_and_delivers_them_later(tmp_path):
    import time

    from firmware.simulator import DeviceState, Simulator
    from tests.live_server import serve

    app = make_app(tmp_path, DEVICE_RATE_LIMIT="2 per 2 seconds")
    world = World(app)
    device = DeviceState(token=world.tokens[world.compressors["A"][0]], name="d", seed=3)
    with serve(app) as url:
        sim = Simulator(url, [device], clip_interval=None, firmware_interval=None)
        outcomes = []
        # The windows are aligned to the clock: start just after a boundary, so the four
        # posts fall in one window (across one, the older count is weighted down and a
        # third could pass).
        time.sleep(2.0 - time.time() % 2.0 + 0.02)
        for _ in range(4):
            device.pending.append({"seq": device.next_seq(), "metrics": {"current_a": 1.0}})
            outcomes.append(sim.post_readings(device))
        assert outcomes == [True, True, False, False] and len(device.pending) == 2
        time.sleep(4.1)  # two whole windows: the sliding count is empty again
        assert sim.post_readings(device) and not device.pending
    assert reading_count(app) == 4  # none lost, none doubled


def test_the_demo_devices_pace_stays_well_under_the_default_limit():
    from limits import parse

    from dashboard.accounts.rate_limits import CALL_LIMITS
    from firmware.simulator import Simulator

    limit = parse(CALL_LIMITS["DEVICE_RATE_LIMIT"])
    sim = Simulator("http://127.0.0.1:1", [])  # the demo's and `flask simulate`'s defaults
    per_window = limit.get_expiry() / sim.reading_interval / sim.batch_every
    per_window += limit.get_expiry() / (sim.clip_interval or 1e9) + 1  # clips, a firmware check
    assert per_window * 4 < limit.amount, per_window


def test_memory_limits_start_no_thread_per_call_and_still_expire(tmp_path):
    """memory:// is served by LeanMemoryStorage (issue 14): limits' own storage started
    a timer thread on nearly every device call. Counts still expire on time."""
    import threading
    import time

    from dashboard.accounts.rate_limits import LeanMemoryStorage

    app = make_app(tmp_path, DEVICE_RATE_LIMIT="5 per 1 second")
    assert isinstance(app.extensions["sc_limiter"].storage, LeanMemoryStorage)
    world = World(app)
    token = world.tokens[world.compressors["A"][0]]
    client = app.test_client()
    started = []
    original = threading.Thread.start

    def counting_start(thread):
        if isinstance(thread, threading.Timer):
            started.append(thread)
        return original(thread)

    threading.Thread.start = counting_start
    try:
        codes = []
        for n in range(8):
            codes.append(post_reading(client, token, n).status_code)
            time.sleep(0.02)  # past limits' own 10 ms clean-up timer each time
    finally:
        threading.Thread.start = original
    assert codes[:5] == [201] * 5 and codes[-1] == 429
    assert len(started) <= 1
    time.sleep(2.1)  # the previous window weighs nothing any more
    assert post_reading(client, token, 100).status_code == 201


def test_memory_clean_up_survives_a_count_dropped_by_a_read_meanwhile():
    """limits' clean-up lists the keys, then looks each up; a read in another thread
    drops an expired count in between. The clean-up must neither raise nor stop."""
    import time

    from dashboard.accounts.rate_limits import LeanMemoryStorage

    storage = LeanMemoryStorage("sc-memory://")
    storage.incr("gone", 1)
    storage.incr("stale", 1)
    storage.incr("fresh", 60)
    storage.expirations["gone"] = storage.expirations["stale"] = time.time() - 1

    class DroppedMeanwhile(dict):  # what get() in another thread does mid-loop
        def __getitem__(self, key):
            if key == "gone":
                storage.storage.pop(key, None)
                self.pop(key, None)
            return super().__getitem__(key)

    storage.expirations = DroppedMeanwhile(storage.expirations)
    storage.expire()  # raised KeyError through limits' own clean-up
    storage.expirations = dict(storage.expirations)
    storage.expire()
    assert set(storage.storage) == {"fresh"} and set(storage.expirations) == {"fresh"}


def test_device_calls_carry_no_session_cookie_nor_page_headers(tmp_path):
    app = make_app(tmp_path)
    world = World(app)
    client = app.test_client()
    resp = post_reading(client, world.tokens[world.compressors["A"][0]], 0)
    assert resp.status_code == 201
    assert "Set-Cookie" not in resp.headers
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in resp.headers
    page = client.get("/login")
    assert "Content-Security-Policy" in page.headers and "X-Frame-Options" in page.headers
