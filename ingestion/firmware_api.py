"""OTA for devices: what to install, the binary (resumable with HTTP Range), and the
device's report of how the update went."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard.core.blobs import StoreUnavailable, audio_store
from dashboard.core.database import db_session
from dashboard.core.models import FirmwareRelease
from dashboard.fleet.firmware import (
    HW_RE,
    FirmwareError,
    applies_to,
    parse_version,
    release_for_device,
)
from ingestion.api import authenticate_device, bp, parse_json_body
from ingestion.errors import ApiError


class FirmwareStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=40)
    state: str = Field(pattern="^(downloading|installed|failed)$")
    reason: str | None = Field(default=None, max_length=500)


@bp.get("/firmware")
def check_firmware() -> Any:
    compressor = authenticate_device()
    running = request.args.get("version", "")
    hw_model = request.args.get("hw", "")
    if not HW_RE.match(hw_model):
        raise ApiError(400, "invalid_hw", "hw must name the hardware model")
    try:
        parse_version(running)
        release = release_for_device(db_session(), compressor, running, hw_model)
    except FirmwareError as exc:
        raise ApiError(400, "invalid_version", str(exc)) from exc
    if compressor.firmware_version != running or compressor.hw_model != hw_model:
        compressor.firmware_version = running
        compressor.hw_model = hw_model
    db_session().commit()
    if release is None:
        return Response(status=204)
    return jsonify(version=release.version, size=release.size, sha256=release.sha256,
                   url=f"/api/esp32/firmware/{release.id}/download")


@bp.get("/firmware/<int:release_id>/download")
def download_firmware(release_id: int) -> Any:
    compressor = authenticate_device()
    release = db_session().get(FirmwareRelease, release_id)
    if release is None or not applies_to(release, compressor):
        raise ApiError(404, "not_found", "no such firmware for this device")
    db_session().commit()
    try:
        data = audio_store().get(release.artifact_key)
    except FileNotFoundError as exc:
        raise ApiError(404, "not_found", "firmware binary is missing") from exc
    except StoreUnavailable as exc:
        raise ApiError(503, "storage_unavailable", str(exc), {"Retry-After": "30"}) from exc
    resp = Response(data, mimetype="application/octet-stream")
    resp.set_etag(release.sha256)
    resp.headers["X-Firmware-Sha256"] = release.sha256
    # Answers Range requests with 206 so an interrupted download resumes.
    return resp.make_conditional(request, accept_ranges=True, complete_length=len(data))


@bp.post("/firmware/status")
def firmware_status() -> Any:
    from dashboard.core.models import utcnow

    compressor = authenticate_device()
    try:
        status = FirmwareStatusIn.model_validate(parse_json_body())
        parse_version(status.version)
    except ValidationError as exc:
        raise ApiError(422, "invalid_status", "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    except FirmwareError as exc:
        raise ApiError(422, "invalid_status", str(exc)) from exc
    now = utcnow()
    compressor.firmware_state = status.state
    compressor.firmware_detail = status.reason
    compressor.firmware_updated_at = now
    if status.state == "installed":
        compressor.firmware_version = status.version
    db_session().commit()
    return jsonify(ok=True)
