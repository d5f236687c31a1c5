"""Storing readings: idempotent on (compressor, seq).

On PostgreSQL ``reading`` is partitioned by month of ``ts``, and a unique key there
must include ``ts``; a retried reading without a device timestamp gets a new one from
the server, so the key alone would not stop it being stored twice. So the batch takes
a per-compressor transaction lock, looks its seqs up (an index probe per partition),
and inserts only the new ones; the ON CONFLICT on the key stays as a second guard."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.core.models import Compressor, Reading
from dashboard.fleet.rollups import add_to_rollups
from ingestion.schemas import METRICS


@dataclass(frozen=True)
class ReadingRow:
    seq: int
    ts: dt.datetime
    metrics: dict[str, float]


# The first key of pg_advisory_xact_lock(int, int): this lock's namespace.
_LOCK_NAMESPACE = 0x5C_0001


def _insert_for(session: Session):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


def _already_stored(session: Session, compressor_id: int, seqs: list[int]) -> set[int]:
    """The seqs of this compressor already stored, in any partition. On PostgreSQL the
    lock makes a concurrent batch of the same compressor wait until this transaction
    ends, so its lookup sees these rows; SQLite has one writer at a time anyway."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:ns, :cid)"),
                     {"ns": _LOCK_NAMESPACE, "cid": compressor_id})
        found = conn.execute(_LOOKUP_PG, {"cid": compressor_id, "seqs": seqs})
    else:
        found = conn.execute(_LOOKUP_SQLITE, {"cid": compressor_id, "seqs": seqs})
    return set(found.scalars().all())


_LOOKUP_PG = sa.text("SELECT seq FROM reading WHERE compressor_id = :cid AND seq = ANY(:seqs)")
_LOOKUP_SQLITE = sa.text(
    "SELECT seq FROM reading WHERE compressor_id = :cid AND seq IN :seqs"
).bindparams(sa.bindparam("seqs", expanding=True))


def store_readings(session: Session, compressor: Compressor, rows: list[ReadingRow],
                   received_at: dt.datetime) -> tuple[int, int]:
    """Insert what is new, skip seqs already stored. Returns (accepted, duplicates).
    The caller commits, so a failure leaves nothing behind."""
    unique: dict[int, ReadingRow] = {}
    for row in rows:
        unique.setdefault(row.seq, row)
    stored = _already_stored(session, compressor.id, list(unique))
    new = [r for r in unique.values() if r.seq not in stored]
    inserted: set[int] = set()
    if new:
        # Every row names every metric column: a multi-row INSERT needs the same keys
        # in each row, and devices may send different metrics in one batch.
        values = [
            {"compressor_id": compressor.id, "seq": r.seq, "ts": r.ts, "received_at": received_at,
             **{name: r.metrics.get(name) for name in METRICS}}
            for r in new
        ]
        # A Core statement with the rows as parameters: compiled once and cached, then
        # sent as one multi-row INSERT ("insertmanyvalues"); the ORM bulk path with
        # inline VALUES recompiled it for every batch.
        stmt = (
            _insert_for(session)(Reading.__table__)
            .on_conflict_do_nothing(index_elements=["compressor_id", "seq", "ts"])
            .returning(Reading.__table__.c.seq)  # a set: no order needed (nor a sentinel)
        )
        inserted = set(session.connection().execute(stmt, values).scalars().all())
    fresh = [r for r in new if r.seq in inserted]
    add_to_rollups(session, compressor.id, ((r.ts, r.metrics) for r in fresh))
    newest = max(fresh, key=lambda r: r.ts, default=None)
    if newest is not None and (
        compressor.last_reading_at is None or newest.ts >= compressor.last_reading_at
    ):
        compressor.last_reading_at = newest.ts
        compressor.last_metrics = dict(newest.metrics)
    return len(inserted), len(rows) - len(inserted)


_INGEST_PG = "SELECT outcome, accepted, was_offline FROM sc_ingest_readings(%s, %s, %s, %s, %s)"


@dataclass(frozen=True)
class IngestOutcome:
    revoked: bool
    accepted: int
    duplicates: int
    was_offline: bool
    # the device's organisation is suspended (migration 0011): nothing was stored
    suspended: bool = False


def store_readings_pg(conn: sa.Connection, credential_id: int, compressor_id: int,
                      rows: list[ReadingRow], received_at: dt.datetime,
                      offline_after_s: int) -> IngestOutcome:
    """The same as ``store_readings`` on PostgreSQL in one round trip: one call of the
    server-side function (migration 0006) on an autocommit connection, so the batch
    is one statement and its own transaction (all or nothing). It also refuses a
    credential revoked since it was cached."""
    unique: dict[int, ReadingRow] = {}
    for row in rows:
        unique.setdefault(row.seq, row)
    payload = json.dumps([{"seq": r.seq, "ts": r.ts.isoformat(), "m": r.metrics}
                          for r in unique.values()], separators=(",", ":"))
    outcome, accepted, was_offline = conn.exec_driver_sql(
        _INGEST_PG, (credential_id, compressor_id, received_at, payload, offline_after_s)
    ).one()
    if outcome == "revoked":
        return IngestOutcome(True, 0, 0, False)
    if outcome == "suspended":
        return IngestOutcome(False, 0, 0, False, suspended=True)
    return IngestOutcome(False, accepted, len(rows) - accepted, bool(was_offline))
