"""Storing readings: idempotent on (compressor, seq), one statement per batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.models import Compressor, Reading
from ingestion.rollup import add_to_minutes
from ingestion.schemas import METRICS


@dataclass(frozen=True)
class ReadingRow:
    seq: int
    ts: dt.datetime
    metrics: dict[str, float]


def _insert_for(session: Session):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


def store_readings(session: Session, compressor: Compressor, rows: list[ReadingRow],
                   received_at: dt.datetime) -> tuple[int, int]:
    """Insert what is new, skip seqs already stored. Returns (accepted, duplicates).
    The caller commits, so a failure leaves nothing behind."""
    unique: dict[int, ReadingRow] = {}
    for row in rows:
        unique.setdefault(row.seq, row)
    # Every row names every metric column: a multi-row INSERT needs the same keys in
    # each row, and devices may send different metrics in one batch.
    values = [
        {"compressor_id": compressor.id, "seq": r.seq, "ts": r.ts, "received_at": received_at,
         **{name: r.metrics.get(name) for name in METRICS}}
        for r in unique.values()
    ]
    # A Core statement with the rows as parameters: compiled once and cached, then sent
    # as one multi-row INSERT ("insertmanyvalues"); the ORM bulk path with inline
    # VALUES recompiled it for every batch.
    stmt = (
        _insert_for(session)(Reading.__table__)
        .on_conflict_do_nothing(index_elements=["compressor_id", "seq"])
        .returning(Reading.__table__.c.seq, sort_by_parameter_order=True)
    )
    inserted = set(session.connection().execute(stmt, values).scalars().all())
    accepted = len(inserted)
    add_to_minutes(session, compressor.id,
                   ((r.ts, r.metrics) for r in unique.values() if r.seq in inserted))
    newest = max((r for r in unique.values() if r.seq in inserted), key=lambda r: r.ts,
                 default=None)
    if newest is not None and (
        compressor.last_reading_at is None or newest.ts >= compressor.last_reading_at
    ):
        compressor.last_reading_at = newest.ts
        compressor.last_metrics = dict(newest.metrics)
    return accepted, len(rows) - accepted
