"""The demo's thirty days of history: written once, through the device and diagnosis
paths, telling its story (a slow degradation with a projection and an open incident, an
intermittent fault, a resolved incident with its note, an offline episode)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from dashboard.app.demo import ensure_admin, seed_demo
from dashboard.app.demo_history import DEGRADING, MAINTENANCE_NOTE, OUTAGE, RESOLVED
from dashboard.core.database import session_scope
from dashboard.core.models import (
    Compressor,
    Diagnosis,
    Incident,
    MaintenanceNote,
    Reading,
    ReadingHour,
)
from ml.trend import trend_from_dict


@pytest.mark.parametrize("database", ["sqlite",
                                      pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_demo_history_tells_its_story_once(database, request, tmp_path):
    app = (request.getfixturevalue("app") if database == "sqlite"
           else request.getfixturevalue("pg_dash_app").server)
    with session_scope(app) as s:
        ensure_admin(s, None, None)
        started = time.perf_counter()
        seed_demo(s, tmp_path / "tokens.json")
        took = time.perf_counter() - started
        print(f"demo backfill ({database}): {took:.1f} s")
    with session_scope(app) as s:
        by_name = {c.name: c for c in s.scalars(sa.select(Compressor))}
        counts = (s.scalar(sa.select(sa.func.count(Diagnosis.id))),
                  s.scalar(sa.select(sa.func.count(Reading.seq))))
        oldest, newest = s.execute(sa.select(sa.func.min(Diagnosis.ts),
                                             sa.func.max(Diagnosis.ts))).one()
        assert newest - oldest > dt.timedelta(days=14)
        # Rolled up as live readings are: the 30-day chart has its hours.
        assert s.scalar(sa.select(sa.func.count()).select_from(ReadingHour)) > 8 * 24 * 25
        degrading = trend_from_dict(by_name[DEGRADING].health_trend)
        assert degrading.declining and degrading.to_warning is not None
        assert 3 < degrading.to_warning.days < 14
        assert by_name[DEGRADING].status in ("healthy", "watch")
        incidents = s.scalars(sa.select(Incident)).all()
        open_ones = [i for i in incidents if i.state != "resolved"]
        assert [i.compressor_id for i in open_ones] == [by_name[DEGRADING].id]
        resolved = [i for i in incidents if i.compressor_id == by_name[RESOLVED].id]
        assert resolved and resolved[0].resolve_comment == MAINTENANCE_NOTE
        assert s.scalar(sa.select(MaintenanceNote.text)) == MAINTENANCE_NOTE
        # The offline episode is a gap of hours in the outage compressor's readings.
        times = s.scalars(sa.select(Reading.ts).where(
            Reading.compressor_id == by_name[OUTAGE].id).order_by(Reading.ts)).all()
        assert max(b - a for a, b in zip(times, times[1:], strict=False)) >= dt.timedelta(hours=3)
    with session_scope(app) as s:
        seed_demo(s, tmp_path / "tokens.json")  # a restart
    with session_scope(app) as s:
        assert (s.scalar(sa.select(sa.func.count(Diagnosis.id))),
                s.scalar(sa.select(sa.func.count(Reading.seq)))) == counts
        assert s.scalar(sa.select(sa.func.count(Incident.id))) == len(incidents)
