"""Migrations on real PostgreSQL: an empty database upgrades to head, models
round-trip, and the schema matches the models (no missing migration)."""

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dashboard.core.database import Base, session_scope
from dashboard.core.migrations import downgrade, upgrade
from dashboard.core.models import (
    Compressor,
    Diagnosis,
    Organization,
    Reading,
    Recording,
    Site,
)
from dashboard.fleet.partitions import include_name


def test_empty_database_upgrades_to_head_and_back(pg_url):
    downgrade(pg_url, "base")
    engine = sa.create_engine(pg_url)
    assert "compressor" not in sa.inspect(engine).get_table_names()
    upgrade(pg_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_models_round_trip_on_postgresql(pg_dash_app):
    server = pg_dash_app.server
    ts = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with session_scope(server) as s:
        org = Organization(name="Round Trip")
        s.add(org)
        s.flush()
        site = Site(org_id=org.id, name="S")
        s.add(site)
        s.flush()
        comp = Compressor(org_id=org.id, site_id=site.id, name="C", last_metrics={"current_a": 1.5})
        s.add(comp)
        s.flush()
        s.add(Reading(compressor_id=comp.id, seq=2**40, ts=ts, temperature_c=4.5))
        rec = Recording(compressor_id=comp.id, seq=1, ts=ts, sample_rate=16000, duration_s=5.0,
                        audio_key="k", size_bytes=10)
        s.add(rec)
        s.flush()
        s.add(Diagnosis(recording_id=rec.id, org_id=org.id, compressor_id=comp.id, ts=ts,
                        label="normal", probabilities={"normal": 0.9, "bearing": 0.1},
                        health_score=91.0, status="healthy"))
        comp_id = comp.id
    with session_scope(server) as s:
        reading = s.scalar(sa.select(Reading))
        assert reading.seq == 2**40
        assert reading.ts == ts and reading.ts.tzinfo is not None
        diag = s.scalar(sa.select(Diagnosis))
        assert diag.probabilities == {"normal": 0.9, "bearing": 0.1}
        assert s.get(Compressor, comp_id).last_metrics == {"current_a": 1.5}


@pytest.fixture(params=["postgresql", "sqlite"])
def any_url(request, pg_url, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    yield pg_url
    upgrade(pg_url)  # leave the shared database at head whatever happened


def test_partitioning_migration_keeps_every_reading_and_rolls_up_hours(any_url):
    """0005 moves ``reading`` to the (compressor, seq, ts) key and, on PostgreSQL,
    into monthly partitions: readings already stored survive, in their months."""
    engine = sa.create_engine(any_url)
    if engine.dialect.name == "postgresql":
        downgrade(any_url, "base")
    upgrade(any_url, "0004")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organization (name, created_at) VALUES ('o', :t)"),
                     {"t": now})
        conn.execute(sa.text("INSERT INTO site (org_id, name, timezone, created_at) "
                             "VALUES (1, 's', 'UTC', :t)"), {"t": now})
        conn.execute(sa.text(
            "INSERT INTO compressor (org_id, site_id, name, kind, hw_model, status, "
            "last_metrics, created_at) VALUES (1, 1, 'c', 'air', 'x', 'active', '{}', :t)"),
            {"t": now})
        for i in range(40):  # one every 5 days: 7 or 8 months
            ts = now - dt.timedelta(days=5 * i)
            conn.execute(sa.text("INSERT INTO reading (compressor_id, seq, ts, received_at, "
                                 "current_a) VALUES (1, :seq, :ts, :ts, :a)"),
                         {"seq": i, "ts": ts.replace(tzinfo=None) if engine.dialect.name ==
                          "sqlite" else ts, "a": float(i)})
        from dashboard.fleet.rollups import rebuild_sql
        conn.execute(sa.text(rebuild_sql(engine.dialect.name)))
    upgrade(any_url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*), sum(current_a) FROM reading")).one() == \
            (40, float(sum(range(40))))
        assert conn.execute(sa.text("SELECT sum(n), sum(current_a_sum) FROM reading_hour")
                            ).one() == (40, float(sum(range(40))))
        if engine.dialect.name == "postgresql":
            from dashboard.fleet.partitions import monthly_partitions

            assert conn.execute(sa.text("SELECT count(*) FROM reading_default")).scalar() == 0
            months = {dt.datetime(t.year, t.month, 1, tzinfo=dt.UTC)
                      for t in (now - dt.timedelta(days=5 * i) for i in range(40))}
            assert months <= set(monthly_partitions(conn, "reading"))
    engine.dispose()
