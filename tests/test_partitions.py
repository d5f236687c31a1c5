"""Readings partitioned by month on PostgreSQL: the ingest path stays idempotent across
partitions and concurrent requests, backfills land in their month, retention drops
whole months and keeps the hourly rollup, and the charts read what is left."""

import datetime as dt
import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, Reading, ReadingHour, ReadingMinute, utcnow
from dashboard.fleet.partitions import add_months, maintain, month_start, monthly_partitions
from dashboard.fleet.timeseries import TimeRange, sensor_series
from ingestion.readings import ReadingRow, store_readings


def post(client, token, body):
    return client.post("/api/esp32/data", data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {token}"})


@dataclass
class Device:
    """Organisation A's first compressor, posting through the test client."""
    server: Any
    cid: int
    token: str

    def post(self, body):
        return post(self.server.test_client(), self.token, body)


@pytest.fixture
def device(pg_dash_app, pg_world) -> Device:
    cid = pg_world.compressors["A"][0]
    return Device(pg_dash_app.server, cid, pg_world.tokens[cid])


def iso(ts: dt.datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def readings_of(server, cid):
    with session_scope(server) as s:
        return s.execute(sa.select(Reading.seq, Reading.ts).where(Reading.compressor_id == cid)
                         .order_by(Reading.seq)).all()


def partition_of(server, cid, seq) -> str:
    with session_scope(server) as s:
        return s.execute(sa.text("SELECT tableoid::regclass::text FROM reading "
                                 "WHERE compressor_id = :c AND seq = :s"),
                         {"c": cid, "s": seq}).scalar_one()


def test_migrated_database_has_this_and_the_coming_months(pg_dash_app):
    with pg_dash_app.server.extensions["sc_engine"].begin() as conn:
        kind = conn.execute(sa.text(
            "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'reading'::regclass"
        )).scalar_one()
        assert kind == "r"  # range
        this_month = month_start(utcnow())
        for table in ("reading", "reading_minute"):
            months = monthly_partitions(conn, table)
            assert {this_month, add_months(this_month, 1), add_months(this_month, 2)} <= set(months)


def test_backfill_lands_in_default_then_in_its_month_and_stays_idempotent(device):
    server, cid = device.server, device.cid
    now = utcnow()
    old = month_start(now - dt.timedelta(days=150)) + dt.timedelta(days=3, hours=5)
    with server.extensions["sc_engine"].begin() as conn:  # other tests may have made it
        for table in ("reading", "reading_minute"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}_p{month_start(old):%Y%m}"))
    batch = [{"seq": i, "ts": iso(old + dt.timedelta(seconds=i)), "metrics": {"current_a": 10 + i}}
             for i in range(5)]
    batch.append({"seq": 5, "ts": iso(now - dt.timedelta(seconds=1)), "metrics": {"current_a": 1}})
    assert device.post(batch).get_json() == {"accepted": 6, "duplicates": 0}
    assert partition_of(server, cid, 0) == "reading_default"
    assert partition_of(server, cid, 5) == f"reading_p{month_start(now):%Y%m}"

    with session_scope(server) as s:
        report = maintain(s.connection(), now, retention_days=0)
    assert f"reading_p{month_start(old):%Y%m}" in report.created
    assert f"reading_minute_p{month_start(old):%Y%m}" in report.created
    assert report.moved_rows == 5 + 1  # five readings, and the minute they fall in
    assert partition_of(server, cid, 0) == f"reading_p{month_start(old):%Y%m}"
    assert [seq for seq, _ in readings_of(server, cid)] == list(range(6))

    # The same batch again, and the old seqs again without a timestamp: all duplicates.
    assert device.post(batch).get_json() == {"accepted": 0, "duplicates": 6}
    again = [{"seq": i, "metrics": {"current_a": 3}} for i in range(6)]
    assert device.post(again).get_json() == {"accepted": 0, "duplicates": 6}
    assert len(readings_of(server, cid)) == 6
    with session_scope(server) as s:  # a second run has nothing left to do
        report = maintain(s.connection(), now, retention_days=0)
    assert (report.created, report.moved_rows, report.dropped) == ([], 0, [])


def test_concurrent_retries_without_timestamps_store_each_seq_once(pg_dash_app, pg_world):
    """Two requests carry the same seqs and no timestamps, so the server stamps each
    with its own time: only the per-compressor lock keeps one copy."""
    server = pg_dash_app.server
    cid = pg_world.compressors["A"][0]
    engine = server.extensions["sc_engine"]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send(offset_ms: int) -> None:
        try:
            with Session(engine) as session:
                compressor = session.get(Compressor, cid)
                stamp = utcnow() + dt.timedelta(milliseconds=offset_ms)
                rows = [ReadingRow(seq=i, ts=stamp, metrics={"current_a": 5.0}) for i in range(20)]
                barrier.wait()
                results.append(store_readings(session, compressor, rows, stamp))
                session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in (0, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(results) == [(0, 20), (20, 0)]
    assert len(readings_of(server, cid)) == 20
    with session_scope(server) as s:
        assert s.scalar(sa.select(sa.func.sum(ReadingMinute.n))
                        .where(ReadingMinute.compressor_id == cid)) == 20


def test_retention_drops_old_months_and_keeps_hours_for_the_charts(device, pg_world):
    server, cid = device.server, device.cid
    now = utcnow()
    old = month_start(now - dt.timedelta(days=120)) + dt.timedelta(days=10, hours=3)
    recent = now - dt.timedelta(hours=2)
    batch = [{"seq": i, "ts": iso(old + dt.timedelta(minutes=i)),
              "metrics": {"current_a": 10.0 + i % 3}} for i in range(90)]
    batch += [{"seq": 100 + i, "ts": iso(recent + dt.timedelta(seconds=i)),
               "metrics": {"current_a": 4.0}} for i in range(30)]
    assert device.post(batch).get_json()["accepted"] == 120
    with session_scope(server) as s:
        maintain(s.connection(), now, retention_days=0)  # the old month gets its partition
    with session_scope(server) as s:
        report = maintain(s.connection(), now, retention_days=60)
    assert f"reading_p{month_start(old):%Y%m}" in report.dropped
    assert f"reading_minute_p{month_start(old):%Y%m}" in report.dropped
    assert f"reading_p{month_start(now):%Y%m}" not in report.dropped
    assert [seq for seq, _ in readings_of(server, cid)] == list(range(100, 130))
    with session_scope(server) as s:
        hours = s.execute(sa.select(ReadingHour.hour, ReadingHour.n, ReadingHour.current_a_sum)
                          .where(ReadingHour.compressor_id == cid).order_by(ReadingHour.hour)
                          ).all()
        assert [h.n for h in hours][:2] == [60, 30]  # 03:00-03:59 and 04:00-04:29
        assert sum(h.n for h in hours) == 120
        first_minute = s.scalar(sa.select(sa.func.min(ReadingMinute.minute))
                                .where(ReadingMinute.compressor_id == cid))
        assert first_minute >= recent - dt.timedelta(minutes=1)

        # A week around the dropped day is drawn from the hours: same totals.
        week = TimeRange(old - dt.timedelta(days=3), old + dt.timedelta(days=4))
        frame, width = sensor_series(s, pg_world.org_ids["A"], cid, week, retention_days=60,
                                     now=now)
        assert width % 3600 == 0
        assert frame["n"].sum() == 90
        assert frame["current_a_max"].max() == 12.0
        # A single day back then would have 60 s buckets; past retention it is hourly.
        day = TimeRange(old - dt.timedelta(hours=3), old + dt.timedelta(hours=21))
        frame, width = sensor_series(s, pg_world.org_ids["A"], cid, day, retention_days=60,
                                     now=now)
        assert width == 3600 and frame["n"].sum() == 90


def test_readings_older_than_retention_are_refused(device):
    device.server.config["READING_RETENTION_DAYS"] = 30
    old = iso(utcnow() - dt.timedelta(days=31))
    resp = device.post({"seq": 1, "ts": old, "metrics": {"current_a": 1}})
    assert resp.status_code == 422
    assert "older than this server keeps" in resp.get_json()["detail"]
    assert readings_of(device.server, device.cid) == []


def test_concurrent_maintenance_runs_wait_for_each_other(pg_dash_app):
    engine = pg_dash_app.server.extensions["sc_engine"]
    future = add_months(month_start(utcnow()), 9)  # months nobody has created yet
    reports, errors = [], []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            with engine.begin() as conn:
                barrier.wait()
                reports.append(maintain(conn, future, retention_days=0))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert not errors, errors
        assert sorted(len(r.created) for r in reports) == [0, 6]  # 3 months x 2 tables, once
    finally:
        with engine.begin() as conn:  # leave the shared database as other tests expect it
            for k in range(3):
                for table in ("reading", "reading_minute"):
                    conn.execute(sa.text(
                        f"DROP TABLE IF EXISTS {table}_p{add_months(future, k):%Y%m}"))


def test_sqlite_retention_deletes_old_readings_and_keeps_hours(app, world):
    cid = world.compressors["A"][0]
    device = Device(app, cid, world.tokens[cid])
    now = utcnow()
    old = now - dt.timedelta(days=45)
    batch = [{"seq": 1, "ts": iso(old), "metrics": {"current_a": 2.0}},
             {"seq": 2, "ts": iso(now - dt.timedelta(minutes=1)), "metrics": {"current_a": 3.0}}]
    assert device.post(batch).get_json()["accepted"] == 2
    with session_scope(app) as s:
        report = maintain(s.connection(), now, retention_days=30)
    assert report.deleted_rows == 1
    assert [seq for seq, _ in readings_of(app, cid)] == [2]
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ReadingMinute)) == 1
        assert s.scalar(sa.select(sa.func.sum(ReadingHour.n))) == 2
    # A resent seq 1 is older than retention now: refused, not stored again.
    app.config["READING_RETENTION_DAYS"] = 30
    assert device.post(batch[:1]).status_code == 422


def test_cli_maintain_reports_what_it_did(app):
    result = app.test_cli_runner().invoke(args=["readings-maintain", "--retention-days", "30"])
    assert result.exit_code == 0, result.output
    assert "deleted 0 row(s)" in result.output


@pytest.mark.parametrize("ts, expected", [
    (dt.datetime(2026, 1, 31, 23, 59, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    (dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))),
     dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),  # 2026-01-31 23:00 UTC
])
def test_months_are_utc(ts, expected):
    assert month_start(ts) == expected
    assert add_months(expected, 11) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert add_months(expected, 12) == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
