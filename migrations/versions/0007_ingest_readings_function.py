"""the device readings hot path as one server-side function (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

``sc_ingest_readings(credential, compressor, received_at, rows, offline_after_s)``
does in one statement what the ingest path did in eight round trips: checks that the
credential is still live (revocation is immediate even where the token is cached),
takes the per-compressor advisory lock, skips the seqs already stored (any partition),
inserts the rest, folds exactly those into the minute and hour rollups, updates the
compressor's last seen / last reading / last metrics and the token's last use (to the
minute), and answers (outcome, accepted, was_offline). SQLite keeps the Python path.
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

METRICS = ('temperature_c', 'current_a', 'pressure_bar', 'vibration_rms_g', 'humidity_pct')
LOCK_NAMESPACE = 0x5C_0001  # ingestion/readings.py: the same lock as the Python path


def _rollup(table: str, column: str, unit: str) -> str:
    stats = []
    selects = []
    sets = [f"n = {table}.n + excluded.n"]
    for m in METRICS:
        stats += [f"{m}_min", f"{m}_sum", f"{m}_count", f"{m}_max"]
        selects += [f"min({m})", f"sum({m})", f"count({m})", f"max({m})"]
        old, new = f"{table}.{m}", f"excluded.{m}"
        sets += [f"{m}_min = least({old}_min, {new}_min)",
                 f"{m}_max = greatest({old}_max, {new}_max)",
                 f"{m}_sum = coalesce({old}_sum + {new}_sum, {old}_sum, {new}_sum)",
                 f"{m}_count = {old}_count + {new}_count"]
    return (f"INSERT INTO {table} (compressor_id, {column}, n, {', '.join(stats)}) "
            f"SELECT p_compressor, date_trunc('{unit}', ts, 'UTC'), count(*), "
            f"{', '.join(selects)} FROM ins GROUP BY 2 "
            f"ON CONFLICT (compressor_id, {column}) DO UPDATE SET {', '.join(sets)}")


def function_sql() -> str:
    columns = ", ".join(METRICS)
    extracted = ", ".join(f"(f.m->>'{m}')::double precision" for m in METRICS)
    return f"""
CREATE OR REPLACE FUNCTION sc_ingest_readings(
    p_credential integer, p_compressor integer, p_received timestamptz,
    p_rows jsonb, p_offline_after_s integer)
RETURNS TABLE (outcome text, accepted integer, was_offline boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_revoked timestamptz;
    v_used timestamptz;
    v_prev_seen timestamptz;
    v_accepted integer;
    v_ts timestamptz;
    v_m jsonb;
BEGIN
    SELECT c.revoked_at, c.last_used_at INTO v_revoked, v_used
      FROM device_credential c WHERE c.id = p_credential AND c.compressor_id = p_compressor;
    IF NOT FOUND OR v_revoked IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, 0, false;
        RETURN;
    END IF;
    -- A concurrent batch of the same compressor waits here until this one commits,
    -- so its lookup below sees these rows (the key alone cannot: it contains ts).
    PERFORM pg_advisory_xact_lock({LOCK_NAMESPACE}, p_compressor);
    WITH fresh AS (
        SELECT x.seq, x.ts, x.m FROM jsonb_to_recordset(p_rows) AS x(seq bigint, ts timestamptz, m jsonb)
        WHERE NOT EXISTS (SELECT 1 FROM reading r
                          WHERE r.compressor_id = p_compressor AND r.seq = x.seq)
    ), ins AS (
        INSERT INTO reading (compressor_id, seq, ts, received_at, {columns})
        SELECT p_compressor, f.seq, f.ts, p_received, {extracted} FROM fresh f
        ON CONFLICT (compressor_id, seq, ts) DO NOTHING
        RETURNING reading.seq, reading.ts, {columns}
    ), minute AS (
        {_rollup('reading_minute', 'minute', 'minute')}
    ), hour AS (
        {_rollup('reading_hour', 'hour', 'hour')}
    ), newest AS (
        SELECT f.ts, f.m FROM ins JOIN fresh f ON f.seq = ins.seq
        ORDER BY f.ts DESC, f.seq LIMIT 1
    )
    SELECT (SELECT count(*) FROM ins), newest.ts, newest.m INTO v_accepted, v_ts, v_m
      FROM (SELECT 1) one LEFT JOIN newest ON true;
    SELECT c.last_seen_at INTO v_prev_seen FROM compressor c WHERE c.id = p_compressor;
    UPDATE compressor c SET
        last_seen_at = p_received,
        last_reading_at = CASE WHEN v_ts IS NOT NULL AND (c.last_reading_at IS NULL
                               OR v_ts >= c.last_reading_at) THEN v_ts ELSE c.last_reading_at END,
        last_metrics = CASE WHEN v_ts IS NOT NULL AND (c.last_reading_at IS NULL
                            OR v_ts >= c.last_reading_at) THEN v_m ELSE c.last_metrics END
      WHERE c.id = p_compressor;
    IF v_used IS NULL OR v_used <= p_received - interval '60 seconds' THEN
        UPDATE device_credential SET last_used_at = p_received WHERE id = p_credential;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_accepted,
        (v_prev_seen IS NULL OR v_prev_seen < p_received - make_interval(secs => p_offline_after_s));
END
$fn$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(function_sql())


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP FUNCTION IF EXISTS sc_ingest_readings(integer, integer, timestamptz, jsonb, integer)")
