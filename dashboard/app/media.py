"""Plain Flask routes beside the Dash pages: a recording's audio (analysts and up of
its organisation, with HTTP Range so the browser's player can seek) and the CSV
export of the diagnosis history (streamed, same filters as the page). Anything of
another organisation is 404, never a hint that it exists.

The compressor page is a Dash page, always served as the app's HTML; the hook at
the bottom gives a compressor id of another organisation a 404 status as well."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    send_file,
    stream_with_context,
)
from flask_login import current_user

from dashboard.accounts.auth import require_role, user_has_role
from dashboard.accounts.rate_limits import user_refusal
from dashboard.core.database import db_session
from dashboard.core.i18n import DEFAULT_TIME_ZONE
from dashboard.core.models import utcnow
from dashboard.core.timezones import local_text
from dashboard.fleet.history import FilterError, filter_from_args, iter_history_rows
from dashboard.fleet.overview import org_sites
from dashboard.fleet.recordings import ClipError, clip_bytes, owned_recording
from dashboard.fleet.timeseries import owned_compressor

bp = Blueprint("media", __name__)
COMPRESSOR_PAGE = re.compile(r"^/compressor/([^/]+)/?$")
CSV_COLUMNS = ("id", "time_utc", "time_local", "site", "compressor", "compressor_id", "label",
               "confidence", "health_score", "status", "anomaly_score", "is_anomaly",
               "analyst_label", "analyst_valid", "reviewed_at_utc", "recording_id")


@bp.get("/media/recording/<int:recording_id>.wav")
def recording_audio(recording_id: int) -> Any:
    if not user_has_role("analyst"):
        abort(404)
    recording = owned_recording(db_session(), current_user.org_id, recording_id)
    if recording is None:
        abort(404)
    try:
        data = clip_bytes(current_app, recording)
    except ClipError:
        abort(404)
    response = send_file(
        io.BytesIO(data), mimetype="audio/wav", conditional=True, max_age=3600,
        download_name=f"recording-{recording.id}.wav",
        etag=f"rec-{recording.id}-{len(data)}",
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe
    (OWASP CSV injection); our own numbers, negative ones too, stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def _csv_line(values: tuple[Any, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([csv_cell(v) for v in values])
    return out.getvalue()


def _csv_rows(org_id: int, filters: Any, tz: str) -> Iterator[str]:
    # A byte-order mark so spreadsheet programs read the Korean names as UTF-8.
    yield "\ufeff" + _csv_line(CSV_COLUMNS)
    session = db_session()
    buffer: list[str] = []
    for row in iter_history_rows(session, org_id, filters):
        (did, ts, site, compressor, cid, label, confidence, score, status, anomaly,
         is_anomaly, analyst_label, analyst_valid, reviewed_at, recording_id) = row
        buffer.append(_csv_line((
            did, ts.isoformat(), local_text(ts, tz, "%Y-%m-%d %H:%M:%S"), site, compressor, cid,
            label, f"{confidence:.4f}", f"{score:.1f}", status,
            "" if anomaly is None else f"{anomaly:.4f}", "" if is_anomaly is None else is_anomaly,
            analyst_label or "", "" if analyst_valid is None else analyst_valid,
            reviewed_at.isoformat() if reviewed_at else "", recording_id or "",
        )))
        if len(buffer) >= 500:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


@bp.get("/export/diagnoses.csv")
@require_role("analyst")
def export_diagnoses() -> Any:
    refused = user_refusal("EXPORT_RATE_LIMIT")
    if refused is not None:
        return refused
    try:
        filters = filter_from_args(request.args)
    except FilterError as exc:
        return jsonify(error="bad_filter", detail=str(exc)), 400
    session = db_session()
    org_id = current_user.org_id
    if filters.compressor_id is not None and owned_compressor(
            session, org_id, filters.compressor_id) is None:
        abort(404)
    if filters.site_id is not None and filters.site_id not in {
            s.id for s in org_sites(session, org_id)}:
        abort(404)
    tz = getattr(current_user, "timezone", None) or DEFAULT_TIME_ZONE
    name = f"diagnoses-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(_csv_rows(org_id, filters, tz)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "no-store"},
    )


@bp.after_app_request
def _foreign_compressor_page_is_404(response: Response) -> Response:
    if request.method != "GET" or response.status_code != 200:
        return response
    match = COMPRESSOR_PAGE.match(request.path)
    if match and current_user.is_authenticated:
        if owned_compressor(db_session(), current_user.org_id, match.group(1)) is None:
            # The body stays the app, which renders its own "not found" message.
            response.status_code = 404
    return response


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
