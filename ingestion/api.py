"""The device API (``/api/esp32/...``): bearer-token authentication, strict
validation, idempotent writes. Every failure is a 4xx JSON error and writes nothing."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from dashboard.accounts.operators import org_suspended
from dashboard.accounts.rate_limits import retry_after, secret_key
from dashboard.core.blobs import StoreUnavailable, audio_store
from dashboard.core.database import db_session, events_hub, ingest_engine
from dashboard.core.models import Compressor, utcnow
from dashboard.core.observability import CLIPS, READING_DUPLICATES, READINGS, REJECTED
from dashboard.fleet.activity import ReadingsNotifier
from dashboard.fleet.device_tokens import TokenCache, verify_token
from ingestion.audio import MAX_BYTES as MAX_AUDIO_BYTES
from ingestion.audio import parse_clip, store_clip
from ingestion.errors import ApiError
from ingestion.readings import ReadingRow, store_readings, store_readings_pg
from ingestion.schemas import MAX_BATCH, ReadingIn, oldest_reading_age, parse_timestamp

bp = Blueprint("ingestion", __name__, url_prefix="/api/esp32")
DEVICE_MAX_BODY = 5 * 1024 * 1024


@bp.before_request
def _limit_body() -> None:
    # Bigger than any clip (4 MB) or batch: refused with 413 before it is read.
    request.max_content_length = DEVICE_MAX_BODY


@bp.before_request
def _limit_calls() -> None:
    # Counted per token before it is looked up: a leaked or guessed token floods nothing.
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return
    wait = retry_after("DEVICE_RATE_LIMIT", secret_key(header[7:].strip()))
    if wait is not None:
        raise ApiError(429, "rate_limited",
                       f"too many calls with this token; retry in {wait} s",
                       {"Retry-After": str(wait)})


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body() -> Any:
    if not request.mimetype or request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    raw = request.get_data(cache=False)
    try:
        # parse_constant refuses NaN and Infinity, which Python's json accepts.
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # 100,000 `[`: nested deeper than the parser goes
        raise ApiError(400, "malformed_json", "body is nested too deeply") from exc


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(401, "unauthorized", "missing bearer token",
                       {"WWW-Authenticate": 'Bearer realm="signalcraft-device"'})
    return header[7:].strip()


def _invalid_token() -> ApiError:
    return ApiError(401, "unauthorized", "invalid or revoked token",
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _suspended() -> ApiError:
    return ApiError(403, "suspended",
                    "this device's organisation is suspended; contact your SignalCraft provider")


def _check_claimed_device(compressor_id: int) -> None:
    claimed = request.headers.get("X-Device-Id")
    if claimed is not None and claimed != str(compressor_id):
        raise ApiError(403, "forbidden", "this token does not belong to that device")


def token_cache() -> TokenCache:
    cache = current_app.extensions.get("sc_token_cache")
    if cache is None:
        cache = current_app.extensions["sc_token_cache"] = TokenCache(events_hub())
    return cache


def readings_notifier() -> ReadingsNotifier:
    notifier = current_app.extensions.get("sc_readings_notifier")
    if notifier is None:
        notifier = ReadingsNotifier(events_hub())
        current_app.extensions["sc_readings_notifier"] = notifier
    return notifier


def authenticate_device() -> Compressor:
    token = _bearer_token()
    session = db_session()
    cred = verify_token(session, token)
    if cred is None:
        raise _invalid_token()
    compressor = cred.compressor
    _check_claimed_device(compressor.id)
    if org_suspended(session, compressor.org_id):
        raise _suspended()
    now = utcnow()
    g.device_was_offline = _offline(compressor.last_seen_at, now)
    # Written with the call's own commit: a refused call rolls back and leaves no trace.
    # The token's last use is kept to the minute: one UPDATE less on most calls.
    if cred.last_used_at is None or (now - cred.last_used_at).total_seconds() >= 60:
        cred.last_used_at = now
    compressor.last_seen_at = now
    g.device_now = now
    return compressor


def _validation_detail(index: int | None, exc: ValidationError) -> str:
    where = f"item {index}: " if index is not None else ""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return where + "; ".join(parts)


def _offline(last_seen_at: Any, now: Any) -> bool:
    limit = current_app.config.get("OFFLINE_AFTER_SECONDS", 120)
    return last_seen_at is None or (now - last_seen_at).total_seconds() > limit


@bp.post("/data")
def post_readings() -> Any:
    if current_app.config["SQLALCHEMY_URL"].startswith("postgresql"):
        return _post_readings_pg()
    compressor = authenticate_device()
    rows = _parse_readings(g.device_now)
    session = db_session()
    accepted, duplicates = store_readings(session, compressor, rows, g.device_now)
    org_id, compressor_id = compressor.org_id, compressor.id
    session.commit()
    readings_notifier().note(org_id, compressor_id, online=g.device_was_offline)
    READINGS.inc(accepted)
    READING_DUPLICATES.inc(duplicates)
    return jsonify(accepted=accepted, duplicates=duplicates), 201


def _post_readings_pg() -> Any:
    """The PostgreSQL hot path: the token from the process's cache, the batch in one
    statement on an autocommit connection (one round trip; two on a cache miss)."""
    token = _bearer_token()
    cache = token_cache()
    with ingest_engine(current_app).connect() as conn:
        ident = cache.lookup(conn, token)
        if ident is None:
            raise _invalid_token()
        _check_claimed_device(ident.compressor_id)
        now = utcnow()
        rows = _parse_readings(now)
        outcome = store_readings_pg(conn, ident.credential_id, ident.compressor_id, rows, now,
                                    current_app.config.get("OFFLINE_AFTER_SECONDS", 120))
    if outcome.revoked:
        cache.evict(ident.compressor_id)
        raise _invalid_token()
    if outcome.suspended:
        # the function checked the organisation in the storing statement itself
        raise _suspended()
    readings_notifier().note(ident.org_id, ident.compressor_id, online=outcome.was_offline)
    READINGS.inc(outcome.accepted)
    READING_DUPLICATES.inc(outcome.duplicates)
    return jsonify(accepted=outcome.accepted, duplicates=outcome.duplicates), 201


def _parse_readings(now: Any) -> list[ReadingRow]:
    """The request's readings, validated; any bad item refuses the whole batch."""
    body = parse_json_body()
    if isinstance(body, dict) and "readings" in body and set(body) <= {"readings", "device_id"}:
        items = body["readings"]
    else:
        items = body
    single = isinstance(items, dict)
    if single:
        items = [items]
    if not isinstance(items, list) or not items:
        raise ApiError(400, "invalid", "expected a reading object or a non-empty array of them")
    if len(items) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"at most {MAX_BATCH} readings per request")
    max_age = oldest_reading_age(current_app.config.get("READING_RETENTION_DAYS", 0))
    rows: list[ReadingRow] = []
    for index, item in enumerate(items):
        where = None if single else index
        try:
            reading = ReadingIn.model_validate(item)
            ts = parse_timestamp(reading.ts, now, max_age) if reading.ts is not None else now
        except ValidationError as exc:
            raise ApiError(422, "invalid_reading", _validation_detail(where, exc)) from exc
        except ValueError as exc:
            prefix = f"item {index}: " if where is not None else ""
            raise ApiError(422, "invalid_reading", f"{prefix}ts: {exc}") from exc
        rows.append(ReadingRow(seq=reading.seq, ts=ts, metrics=reading.metrics))
    return rows


def _seq_from_request() -> int:
    raw = request.headers.get("X-Seq", request.args.get("seq"))
    if raw is None or raw == "":
        raise ApiError(400, "missing_seq", "send the clip's sequence number as X-Seq or ?seq=")
    try:
        seq = int(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_seq", "seq must be a non-negative integer") from exc
    if not 0 <= seq < 2**63:
        raise ApiError(400, "invalid_seq", "seq must be a non-negative integer")
    return seq


@bp.post("/audio")
def post_audio() -> Any:
    compressor = authenticate_device()
    seq = _seq_from_request()
    now = g.device_now
    raw_ts = request.headers.get("X-Timestamp", request.args.get("ts"))
    try:
        ts = parse_timestamp(int(raw_ts) if raw_ts and raw_ts.isdigit() else raw_ts, now) \
            if raw_ts else now
    except ValueError as exc:
        raise ApiError(422, "invalid_timestamp", f"ts: {exc}") from exc
    if (request.content_length or 0) > MAX_AUDIO_BYTES:
        raise ApiError(413, "payload_too_large", f"clips are limited to {MAX_AUDIO_BYTES} bytes")
    clip = parse_clip(request.get_data(cache=False), (request.mimetype or "").lower(),
                      request.headers.get("X-Sample-Rate"))
    session = db_session()
    store = audio_store()
    try:
        stored = store_clip(session, store, compressor, seq, ts, clip)
    except StoreUnavailable as exc:
        raise ApiError(503, "storage_unavailable", str(exc), {"Retry-After": "30"}) from exc
    try:
        session.commit()
    except Exception:
        session.rollback()
        if stored.key:
            store.delete(stored.key)
        raise
    if not stored.duplicate:
        CLIPS.inc()
    return jsonify(recording_id=stored.recording_id, duplicate=stored.duplicate), 202


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Any:
    db_session().rollback()
    REJECTED.labels(exc.code).inc()
    return exc.response()


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    db_session().rollback()
    code = {413: "payload_too_large", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.code or 400, "bad_request")
    return ApiError(exc.code or 400, code, exc.description or exc.name).response()


@bp.errorhandler(PoolTimeout)
def _pool_exhausted(_exc: PoolTimeout) -> Any:
    # Every connection busy for longer than the pool waits: overloaded, not broken.
    db_session().rollback()
    return ApiError(503, "unavailable", "server busy; retry later",
                    {"Retry-After": "5"}).response()


@bp.errorhandler(OperationalError)
def _database_down(_exc: OperationalError) -> Any:
    db_session().rollback()
    return ApiError(503, "unavailable", "database unavailable; retry later",
                    {"Retry-After": "5"}).response()
