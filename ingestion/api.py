"""The device API (``/api/esp32/...``): bearer-token authentication, strict
validation, idempotent writes. Every failure is a 4xx JSON error and writes nothing."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from dashboard.core.blobs import StoreUnavailable, audio_store
from dashboard.core.database import db_session
from dashboard.core.models import Compressor, utcnow
from dashboard.core.observability import CLIPS, READING_DUPLICATES, READINGS, REJECTED
from dashboard.fleet.device_tokens import verify_token
from ingestion.audio import MAX_BYTES as MAX_AUDIO_BYTES
from ingestion.audio import parse_clip, store_clip
from ingestion.errors import ApiError
from ingestion.readings import ReadingRow, store_readings
from ingestion.schemas import MAX_BATCH, ReadingIn, oldest_reading_age, parse_timestamp

bp = Blueprint("ingestion", __name__, url_prefix="/api/esp32")
DEVICE_MAX_BODY = 5 * 1024 * 1024


@bp.before_request
def _limit_body() -> None:
    # Bigger than any clip (4 MB) or batch: refused with 413 before it is read.
    request.max_content_length = DEVICE_MAX_BODY


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


def authenticate_device() -> Compressor:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(401, "unauthorized", "missing bearer token",
                       {"WWW-Authenticate": 'Bearer realm="signalcraft-device"'})
    session = db_session()
    cred = verify_token(session, header[7:].strip())
    if cred is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token",
                       {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    compressor = cred.compressor
    claimed = request.headers.get("X-Device-Id")
    if claimed is not None and claimed != str(compressor.id):
        raise ApiError(403, "forbidden", "this token does not belong to that device")
    now = utcnow()
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


@bp.post("/data")
def post_readings() -> Any:
    compressor = authenticate_device()
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
    now = g.device_now
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
    session = db_session()
    accepted, duplicates = store_readings(session, compressor, rows, now)
    session.commit()
    READINGS.inc(accepted)
    READING_DUPLICATES.inc(duplicates)
    return jsonify(accepted=accepted, duplicates=duplicates), 201


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


@bp.errorhandler(OperationalError)
def _database_down(_exc: OperationalError) -> Any:
    db_session().rollback()
    return ApiError(503, "unavailable", "database unavailable; retry later",
                    {"Retry-After": "5"}).response()
