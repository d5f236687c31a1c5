"""Migrations on real PostgreSQL: an empty database upgrades to head, models
round-trip, and the schema matches the models (no missing migration)."""

import datetime as dt

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dashboard.database import Base, session_scope
from dashboard.migrations import downgrade, upgrade
from dashboard.models import (
    Compressor,
    Diagnosis,
    Organization,
    Reading,
    Recording,
    Site,
)


def test_empty_database_upgrades_to_head_and_back(pg_url):
    downgrade(pg_url, "base")
    engine = sa.create_engine(pg_url)
    assert "compressor" not in sa.inspect(engine).get_table_names()
    upgrade(pg_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
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
