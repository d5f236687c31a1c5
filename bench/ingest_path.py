"""The readings path in-process: CPU, wall time and database round trips per device call,
through the Flask test client on PostgreSQL (no HTTP server, no load generator).

    .venv/bin/python bench/ingest_path.py [--calls 1000] [--app-root DIR]

``--app-root`` measures another tree (e.g. an export of an older commit) for
before/after figures. Round trips are counted from SQLAlchemy's engine events: every
statement, every BEGIN and COMMIT/ROLLBACK of a non-autocommit connection, and every
pool checkout ping. Uses its own database, created anew: BENCH_INGEST_PATH_URL
(default bench_ingest_path on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--app-root", default=str(ROOT))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    app_root = Path(args.app_root).resolve()
    sys.path.insert(0, str(ROOT))
    from bench.database import fresh_database  # this tree's; the app from app_root's

    sys.path.insert(0, str(app_root))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import sqlalchemy as sa

    url = fresh_database(os.environ.get(
        "BENCH_INGEST_PATH_URL", "postgresql://postgres@127.0.0.1:5432/bench_ingest_path"))
    from dashboard.accounts.provisioning import (
        add_compressor,
        get_or_create_org,
        get_or_create_site,
    )
    from dashboard.app import create_app
    from dashboard.core.database import session_scope
    from dashboard.fleet.device_tokens import issue_token

    trips = {"n": 0}

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _statement(*_a) -> None:
        trips["n"] += 1

    def autocommit(conn) -> bool:  # the driver's own flag: no BEGIN/COMMIT goes out
        return bool(getattr(conn.connection.dbapi_connection, "autocommit", False))

    @sa.event.listens_for(sa.engine.Engine, "begin")
    def _begin(conn) -> None:
        if not autocommit(conn):
            trips["n"] += 1

    @sa.event.listens_for(sa.engine.Engine, "commit")
    def _commit(conn) -> None:
        if not autocommit(conn):
            trips["n"] += 1

    @sa.event.listens_for(sa.pool.Pool, "checkout")
    def _checkout(_dbapi, record, _proxy) -> None:
        pool = getattr(record, "_ConnectionRecord__pool", None)
        if getattr(pool, "_pre_ping", False):  # pool_pre_ping: a round trip per checkout
            trips["n"] += 1

    instance = tempfile.mkdtemp(prefix="bench-ingest-path-")
    # 50 tokens called back to back: far over a real device's rate, so the per-token
    # limit is raised (still counted: its cost is part of the figure).
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "b" * 32,
                      "LOG_LEVEL": "WARNING", "DEVICE_RATE_LIMIT": "1000000 per second"})
    server = app.server
    with session_scope(server) as s:
        org = get_or_create_org(s, "Bench")
        site = get_or_create_site(s, org, "Plant")
        tokens = [issue_token(s, add_compressor(s, site, f"c{i:03d}")) for i in range(50)]
    client = server.test_client()
    metrics = {"temperature_c": 4.0, "current_a": 11.0, "pressure_bar": 7.5,
               "vibration_rms_g": 0.2, "humidity_pct": 60.0}
    seq = [0]

    def call(batch: int) -> None:
        token = tokens[seq[0] % len(tokens)]
        items = [{"seq": seq[0] * 1000 + k, "metrics": metrics} for k in range(batch)]
        seq[0] += 1
        resp = client.post("/api/esp32/data", data=json.dumps(items[0] if batch == 1 else items),
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 201, resp.get_data(as_text=True)

    results = {}
    for batch in (1, 50):
        for _ in range(100):  # warm: caches, prepared statements, the connection pools
            call(batch)
        trips["n"] = 0
        walls = []
        cpu0 = time.process_time()
        for _ in range(args.calls):
            t0 = time.perf_counter()
            call(batch)
            walls.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0) / args.calls
        results[batch] = {"cpu_ms": cpu * 1000, "wall_ms": statistics.median(walls) * 1000,
                          "round_trips": trips["n"] / args.calls}
    load = os.getloadavg()
    print(f"\nReadings path in-process ({app_root}), {args.calls} calls each, PostgreSQL on "
          f"loopback; load average {load[0]:.1f}")
    print(f"{'call':<22}{'CPU ms':>9}{'wall p50 ms':>13}{'round trips':>13}")
    for batch, r in results.items():
        name = "single reading" if batch == 1 else f"batch of {batch}"
        print(f"{name:<22}{r['cpu_ms']:>9.2f}{r['wall_ms']:>13.2f}{r['round_trips']:>13.1f}")
    if not args.no_record:
        from bench.results import record

        record("ingest", "round trips per readings call", results[1]["round_trips"], "", 3)
        record("ingest", "in-process CPU per single-reading call", results[1]["cpu_ms"], "ms")
        record("ingest", "in-process CPU per batch of 50", results[50]["cpu_ms"], "ms")


if __name__ == "__main__":
    main()
