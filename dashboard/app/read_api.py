"""The read API, ``/api/v1/...``: compressors, readings (raw, per minute, per hour),
diagnoses and alerts as JSON for analysts' scripts and other plant systems.

``Authorization: Bearer scapi_...`` (a personal token from Settings; session cookies
are ignored here, so no CSRF applies). The token acts as its user: their organisation
only, their current role (raw readings and diagnosis details need analyst). Lists are
``{"data": [...], "next": url | null, "next_cursor": str | null}``, oldest-first for
readings, newest-first otherwise. Errors are ``{"error", "detail"}`` with a 4xx status,
like the device API. Described at ``/api/v1/openapi.json`` (read_api_openapi.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, Literal
from urllib.parse import urlencode

from flask import Blueprint, Flask, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from dashboard.accounts.api_tokens import verify_api_token
from dashboard.accounts.operators import org_suspended
from dashboard.accounts.rate_limits import retry_after, secret_key
from dashboard.alerts.api_queries import alerts_page
from dashboard.app.read_api_openapi import read_api_spec
from dashboard.core.database import db_session
from dashboard.core.models import User, utcnow
from dashboard.fleet.api_queries import (
    compressor_detail,
    compressors_page,
    diagnoses_page,
    readings_page,
)

bp = Blueprint("read_api", __name__, url_prefix="/api/v1")
MAX_ID = 2**63 - 1
MAX_READINGS_SPAN = dt.timedelta(days=400)


class ApiRefusal(Exception):
    def __init__(self, status: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = headers or {}


def _unauthorized(detail: str) -> ApiRefusal:
    return ApiRefusal(401, "unauthorized", detail,
                      {"WWW-Authenticate": 'Bearer realm="signalcraft-api"'})


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "read_api.openapi_json":
        return
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else ""
    if not token:
        raise _unauthorized("missing bearer token (a personal API token from Settings)")
    wait = retry_after("READ_API_RATE_LIMIT", "api", secret_key(token))
    if wait is not None:
        raise ApiRefusal(429, "rate_limited", f"too many calls; retry in {wait} s",
                         {"Retry-After": str(wait)})
    user = verify_api_token(db_session(), token)
    if user is None:
        raise _unauthorized("invalid or revoked token")
    if org_suspended(db_session(), user.org_id):
        raise ApiRefusal(403, "suspended", "this token's organisation is suspended; "
                         "contact your SignalCraft provider")
    g.api_user = user


def _user() -> User:
    return g.api_user


# ------------------------------------------------------------------ query parameters
class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, max_length=200)


class DiagnosesQuery(PageQuery):
    compressor_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class AlertsQuery(PageQuery):
    compressor_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    state: Literal["open", "acknowledged", "resolved"] | None = None


class ReadingsQuery(PageQuery):
    limit: int = Field(default=1000, ge=1, le=10000)
    bucket: Literal["raw", "minute", "hour"] = "hour"
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def _query(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        raise ApiRefusal(400, "invalid_query", "; ".join(parts)) from exc


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# ------------------------------------------------------------------ cursors and pages
def _encode_cursor(key: Any) -> str:
    if isinstance(key, tuple):
        key = [key[0].astimezone(dt.UTC).isoformat(), key[1]]
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None, kind: str) -> Any:
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind == "id":
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
                return value
        elif (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
              and isinstance(value[1], int) and not isinstance(value[1], bool)
              and 0 <= value[1] <= MAX_ID):
            ts = dt.datetime.fromisoformat(value[0])
            if ts.tzinfo is not None:
                return ts.astimezone(dt.UTC), value[1]
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError):
        pass
    raise ApiRefusal(400, "invalid_cursor", "cursor is not one this API gave out")


def _page_response(rows: list, next_key: Any) -> Any:
    cursor = _encode_cursor(next_key) if next_key is not None else None
    nxt = None
    if cursor is not None:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        nxt = f"{request.base_url}?{urlencode({**args, 'cursor': cursor})}"
    return jsonify(data=rows, next=nxt, next_cursor=cursor)


# ------------------------------------------------------------------ endpoints
@bp.get("/compressors")
def list_compressors() -> Any:
    q = _query(PageQuery)
    rows, nxt = compressors_page(db_session(), _user().org_id, q.limit,
                                 _decode_cursor(q.cursor, "id"))
    return _page_response(rows, nxt)


def _compressor_or_404(compressor_id: int) -> dict:
    row = compressor_detail(db_session(), _user().org_id, compressor_id) \
        if 0 < compressor_id <= MAX_ID else None
    if row is None:
        raise ApiRefusal(404, "not_found", "no such compressor in your organisation")
    return row


@bp.get("/compressors/<int:compressor_id>")
def get_compressor(compressor_id: int) -> Any:
    return jsonify(_compressor_or_404(compressor_id))


@bp.get("/compressors/<int:compressor_id>/readings")
def list_readings(compressor_id: int) -> Any:
    q = _query(ReadingsQuery)
    _compressor_or_404(compressor_id)
    if q.bucket == "raw" and not _user().has_role("analyst"):
        raise ApiRefusal(403, "forbidden", "raw readings need the analyst role; "
                                           "use bucket=minute or bucket=hour")
    end = _utc(q.end) or utcnow()
    start = _utc(q.start) or end - dt.timedelta(days=1)
    if start >= end:
        raise ApiRefusal(400, "invalid_query", "start must be before end")
    if end - start > MAX_READINGS_SPAN:
        raise ApiRefusal(400, "invalid_query", "at most 400 days per request")
    rows, nxt = readings_page(db_session(), _user().org_id, compressor_id, q.bucket, start,
                              end, q.limit, _decode_cursor(q.cursor, "time"))
    return _page_response(rows, nxt)


@bp.get("/diagnoses")
def list_diagnoses() -> Any:
    q = _query(DiagnosesQuery)
    rows, nxt = diagnoses_page(db_session(), _user().org_id, q.limit,
                               _decode_cursor(q.cursor, "id"), compressor_id=q.compressor_id,
                               since=_utc(q.since), until=_utc(q.until),
                               detailed=_user().has_role("analyst"))
    return _page_response(rows, nxt)


@bp.get("/alerts")
def list_alerts() -> Any:
    q = _query(AlertsQuery)
    rows, nxt = alerts_page(db_session(), _user().org_id, q.limit,
                            _decode_cursor(q.cursor, "id"), compressor_id=q.compressor_id,
                            state=q.state)
    return _page_response(rows, nxt)


@bp.get("/openapi.json")
def openapi_json() -> Any:
    return jsonify(read_api_spec())


# ------------------------------------------------------------------ errors
def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Any:
    resp = jsonify(error=code, detail=detail)
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


@bp.errorhandler(ApiRefusal)
def _refused(exc: ApiRefusal) -> Any:
    db_session().rollback()
    return _error(exc.status, exc.code, exc.detail, exc.headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 400, "bad_request")
    return _error(exc.code or 400, code, exc.description or exc.name)


@bp.errorhandler(OperationalError)
def _database_down(_exc: OperationalError) -> Any:
    db_session().rollback()
    return _error(503, "unavailable", "database unavailable; retry later", {"Retry-After": "5"})


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
