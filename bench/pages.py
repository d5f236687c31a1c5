"""Server time of the dashboard's page callbacks on PostgreSQL at realistic volume.

    .venv/bin/python bench/pages.py [--url postgresql://postgres@127.0.0.1:5432/bench_pages]
                                    [--keep] [--runs 7]

Creates (drops and re-creates) the database's ``public`` schema, migrates it, fills
it in SQL (generate_series: no rows travel through Python) and then calls each
callback the way the browser does: an HTTP POST to ``/_dash-update-component``
through the Flask test client, logged in, so the login gate, the role guard, the
queries, the figures and the JSON encoding are all inside the measured time.

Volumes: one organisation with 25 sites x 20 compressors = 500; 30 days of 1 Hz
readings (5 metrics, 2,592,000 rows) for one compressor; ~174k diagnoses
(300 per compressor over 30 days, plus one every 30 min in the last day). ``--keep``
re-uses a filled database. Prints a table of medians and worst runs against the
targets; it is a measurement, not a test, so nothing fails."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.database import fresh_database  # noqa: E402
from bench.results import record  # noqa: E402
from dashboard.accounts.provisioning import get_or_create_org, upsert_user  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.core.database import session_scope  # noqa: E402
from dashboard.core.models import utcnow  # noqa: E402
from dashboard.fleet.partitions import maintain  # noqa: E402
from dashboard.fleet.rollups import HOUR, MINUTE, rebuild_sql  # noqa: E402
from tests.dash_client import call_callback  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_pages"
PASSWORD = "bench-password-123"
SITES, PER_SITE = 25, 20
READING_DAYS = 30
DIAGNOSES_PER_COMPRESSOR = 300


def fill(url: str) -> None:
    fresh_database(url)
    engine = sa.create_engine(url)
    steps = [
        ("organisations", """
            INSERT INTO organization (name, created_at) VALUES ('Bench Org', now()),
                                                               ('Other Org', now())"""),
        ("sites", f"""
            INSERT INTO site (org_id, name, timezone, created_at)
            SELECT 1, 'Plant ' || lpad(s::text, 2, '0'), 'Asia/Seoul', now()
            FROM generate_series(1, {SITES}) s
            UNION ALL SELECT 2, 'Other plant', 'Asia/Seoul', now()"""),
        ("compressors", f"""
            INSERT INTO compressor (org_id, site_id, name, kind, hw_model, status, health_score,
                                    suspected_fault, last_seen_at, last_reading_at,
                                    last_metrics, created_at)
            SELECT 1, (c - 1) / {PER_SITE} + 1, 'Compressor ' || lpad(c::text, 3, '0'),
                   'refrigeration', 'esp32-inmp441',
                   (ARRAY['healthy','healthy','healthy','watch','warning','critical',
                          'learning'])[1 + c % 7],
                   100 - (c * 37) % 100,
                   CASE WHEN c % 7 IN (4, 5) THEN 'bearing' END,
                   now() - ((c % 23) * interval '10 seconds')
                         - CASE WHEN c % 50 = 0 THEN interval '1 hour' ELSE interval '0' END,
                   now(),
                   jsonb_build_object('temperature_c', 4 + c % 5, 'current_a', 10 + c % 3,
                                      'pressure_bar', 8.1, 'vibration_rms_g', 0.12,
                                      'humidity_pct', 55),
                   now()
            FROM generate_series(1, {SITES * PER_SITE}) c
            UNION ALL SELECT 2, {SITES + 1}, 'Other 1', 'air', 'esp32', 'healthy', 90, NULL,
                             now(), now(), '{{}}'::jsonb, now()"""),
        ("readings (30 days at 1 Hz for compressor 1)", f"""
            INSERT INTO reading (compressor_id, seq, ts, received_at, temperature_c, current_a,
                                 pressure_bar, vibration_rms_g, humidity_pct)
            SELECT 1, g, now() - interval '{READING_DAYS} days' + g * interval '1 second', now(),
                   4 + sin(g / 3600.0) + random() * 0.1,
                   11 + 0.5 * sin(g / 600.0) + random() * 0.2
                      + CASE WHEN g % 86400 = 43200 THEN 30 ELSE 0 END,
                   8 + 0.2 * sin(g / 7200.0), 0.1 + random() * 0.02, 50 + 5 * sin(g / 43200.0)
            FROM generate_series(0, {READING_DAYS * 86400 - 1}) g"""),
        ("per-minute rollup of those readings", rebuild_sql("postgresql", MINUTE)),
        ("hourly rollup of those minutes", rebuild_sql("postgresql", HOUR)),
        ("diagnoses", f"""
            INSERT INTO diagnosis (org_id, compressor_id, ts, label, probabilities, confidence,
                                   anomaly_score, is_anomaly, health_score, status,
                                   features_summary, created_at)
            SELECT 1, c, ts, label, jsonb_build_object(label, 0.8), 0.8, 0.2, false, score,
                   CASE WHEN score >= 70 THEN 'healthy' WHEN score >= 45 THEN 'watch'
                        WHEN score >= 20 THEN 'warning' ELSE 'critical' END,
                   '{{"dominant_hz": 50.0}}'::jsonb, ts
            FROM (
              SELECT c, now() - (i * interval '30 days' / {DIAGNOSES_PER_COMPRESSOR})
                            - c * interval '7 seconds' AS ts,
                     (ARRAY['normal','normal','normal','normal','bearing','valve_leak',
                            'belt_slip'])[1 + (c + i) % 7] AS label,
                     (40 + (c * 13 + i * 7) % 60)::float AS score
              FROM generate_series(1, {SITES * PER_SITE}) c,
                   generate_series(0, {DIAGNOSES_PER_COMPRESSOR - 1}) i
              UNION ALL
              SELECT c, now() - i * interval '30 minutes' - c * interval '3 seconds',
                     'normal', (60 + (c + i) % 40)::float
              FROM generate_series(1, {SITES * PER_SITE}) c, generate_series(0, 47) i
            ) d"""),
        ("maintenance notes", """
            INSERT INTO maintenance_note (org_id, compressor_id, ts, text, created_at, updated_at)
            SELECT 1, 1, now() - n * interval '36 hours', 'Inspection ' || n, now(), now()
            FROM generate_series(1, 20) n"""),
    ]
    for name, statement in steps:
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
        print(f"  filled {name:<46} {time.perf_counter() - started:6.1f} s", flush=True)
    started = time.perf_counter()
    with engine.begin() as conn:  # last month's readings into their own partition
        report = maintain(conn, utcnow(), retention_days=0)
    print(f"  partitions: {report}  {time.perf_counter() - started:6.1f} s", flush=True)
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"  {'vacuum analyze':<53} {time.perf_counter() - started:6.1f} s")
    engine.dispose()


def measure(label: str, call, runs: int) -> tuple[float, float, int]:
    """(median ms, worst ms, response bytes) over ``runs`` calls after one warm-up
    call (which loads code paths)."""
    resp = call()
    assert resp.status_code == 200, (label, resp.status_code, resp.get_data(as_text=True)[:300])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        resp = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), len(resp.get_data())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="reuse an already filled database")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    if not args.keep:
        print(f"filling {args.url}")
        started = time.perf_counter()
        fill(args.url)
        print(f"  total {time.perf_counter() - started:.1f} s")
    # Devices "posted" seconds ago (1 in 50 an hour ago: offline), whenever filled.
    engine = sa.create_engine(args.url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE compressor SET last_seen_at = now() - (id % 23) * interval '10 seconds' "
            "- CASE WHEN id % 50 = 0 THEN interval '1 hour' ELSE interval '0' END"))
    engine.dispose()
    instance = tempfile.mkdtemp(prefix="bench-pages-")
    app = create_app({"TESTING": True, "SECRET_KEY": "b" * 32, "DATABASE_URL": args.url,
                      "INSTANCE_PATH": instance, "WTF_CSRF_ENABLED": False})
    server = app.server
    with session_scope(server) as s:
        upsert_user(s, get_or_create_org(s, "Bench Org"), "analyst@bench.example", PASSWORD,
                    role="analyst")
    client = server.test_client()
    resp = client.post("/login", data={"email": "analyst@bench.example", "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code

    def cb(output: str, values: dict, triggered: str | None = None):
        return lambda: call_callback(client, app, output, values, triggered)

    fleet = {"health-interval.n_intervals": 1}
    compressor = {"compressor-id.data": "1", "compressor-live.value": True}
    rows = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}

    cases = [
        ("fleet: 500 compressors (auto: compact tiles)", 300,
         cb("health-grid.children", fleet)),
        ("fleet: 500 compressors as cards + sparklines", 300,
         cb("health-grid.children", {**fleet, "health-view.value": "cards"})),
        ("fleet: one status filtered (cards)", 300,
         cb("health-grid.children", {**fleet, "health-status.value": ["critical"],
                                     "health-view.value": "cards"})),
        ("compressor: header", 1000, cb("compressor-header.children", compressor)),
        ("compressor: sensors 30 d (2.6M readings)", 1000,
         cb("compressor-sensors.figure", {**compressor, "compressor-range.value": "30d"})),
        ("compressor: sensors 7 d", 1000,
         cb("compressor-sensors.figure", {**compressor, "compressor-range.value": "7d"})),
        ("compressor: sensors 24 h (86k rows)", 1000,
         cb("compressor-sensors.figure", {**compressor, "compressor-range.value": "24h"})),
        ("compressor: health timeline 30 d", 1000,
         cb("compressor-timeline.figure", {**compressor, "compressor-range.value": "30d"})),
        ("history: first block, newest first", 300,
         cb("history-grid.getRowsResponse", {"history-grid.getRowsRequest": rows})),
        ("history: block at row 5,000 by health score", 300,
         cb("history-grid.getRowsResponse", {"history-grid.getRowsRequest": {
             **rows, "startRow": 5000, "endRow": 5100,
             "sortModel": [{"colId": "health_score", "sort": "asc"}]}})),
        ("history: label + site filter", 300,
         cb("history-grid.getRowsResponse", {"history-grid.getRowsRequest": {
             **rows, "filterModel": {"label": {"filterType": "text", "type": "equals",
                                               "filter": "bearing"},
                                     "site_id": {"filterType": "number", "type": "equals",
                                                 "filter": 3}}}})),
        ("history: filters -> count, export link, trend", 300,
         cb("history-grid.filterModel", {"history-score.value": [0, 100]})),
    ]
    with server.app_context():
        from dashboard.core.database import db_session

        total = db_session().scalar(sa.text("select count(*) from diagnosis where org_id = 1"))
        readings = db_session().scalar(sa.text("select count(*) from reading"))
    print(f"\nvolumes: 500 compressors, {readings:,} readings, {total:,} diagnoses; "
          f"median and worst of {args.runs} runs after one warm-up\n")
    print(f"{'callback':<48} {'median':>8} {'worst':>8} {'target':>8} {'size':>9}  ok")
    for label, target, call in cases:
        median, worst, size = measure(label, call, args.runs)
        verdict = "yes" if median <= target else "NO"
        print(f"{label:<48} {median:6.0f}ms {worst:6.0f}ms {target:6d}ms {size / 1024:7.0f}KB  "
              f"{verdict}")
        record("pages", f"{label} (median)", median, "ms", target)
    started = time.perf_counter()
    resp = client.get("/export/diagnoses.csv")
    size = len(resp.get_data())
    print(f"\nCSV export of all {total:,} diagnoses (streamed): "
          f"{(time.perf_counter() - started):.1f} s, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
