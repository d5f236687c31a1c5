"""``POST /api/analyze``: ad-hoc diagnosis of an uploaded WAV for analysts and up (the
design gives audio and diagnoses of uploads to analysts), rate limited per user."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from dashboard.accounts.auth import require_role
from dashboard.accounts.rate_limits import user_refusal
from dashboard.analysis.queue import UploadError, analyze_upload
from dashboard.core.wav import MAX_BYTES

bp = Blueprint("analysis_api", __name__)


@bp.post("/api/analyze")
@require_role("analyst")
def analyze() -> Any:
    refused = user_refusal("ANALYZE_RATE_LIMIT")
    if refused is not None:
        return refused
    upload = request.files.get("file")
    data = upload.read(MAX_BYTES + 1) if upload is not None else request.get_data(cache=False)
    if len(data) > MAX_BYTES:
        return jsonify(error="payload_too_large", detail=f"at most {MAX_BYTES} bytes"), 413
    if not data:
        return jsonify(error="empty_body",
                       detail="send a WAV file (body or form field 'file')"), 400
    try:
        result = analyze_upload(current_app._get_current_object(), data)  # type: ignore[attr-defined]
    except UploadError as exc:
        return jsonify(error="invalid_audio", detail=str(exc)), 422
    return jsonify(result)


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
