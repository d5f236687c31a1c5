"""Audio clips from devices: validate WAV (16-bit PCM or float) or raw 16-bit PCM
with ``dashboard.core.wav`` (the same check as uploads), then store the clip and queue
a recording for analysis, once per seq."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.core import wav
from dashboard.core.blobs import BlobStore
from dashboard.core.models import Compressor, Recording
from dashboard.core.wav import MAX_BYTES, Clip, WavError
from ingestion.errors import ApiError

WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}
RAW_TYPES = {"application/octet-stream", "audio/l16", "audio/pcm"}

__all__ = ["MAX_BYTES", "Clip", "parse_clip", "store_clip"]


def _api_error(exc: WavError) -> ApiError:
    return ApiError(exc.status, exc.code, str(exc))


def parse_wav(data: bytes) -> Clip:
    try:
        return wav.parse_wav(data)
    except WavError as exc:
        raise _api_error(exc) from exc


def parse_raw_pcm(data: bytes, sample_rate_header: str | None) -> Clip:
    if not sample_rate_header:
        raise ApiError(400, "missing_sample_rate", "raw PCM needs an X-Sample-Rate header")
    try:
        rate = int(sample_rate_header)
    except ValueError as exc:
        raise ApiError(400, "invalid_sample_rate", "X-Sample-Rate must be an integer") from exc
    try:
        return wav.parse_raw_pcm(data, rate)
    except WavError as exc:
        raise _api_error(exc) from exc


def parse_clip(data: bytes, mimetype: str, sample_rate_header: str | None) -> Clip:
    if not data:
        raise ApiError(400, "empty_body", "no audio in the request body")
    if len(data) > MAX_BYTES:
        raise ApiError(413, "payload_too_large", f"clips are limited to {MAX_BYTES} bytes")
    if mimetype in WAV_TYPES:
        return parse_wav(data)
    if mimetype in RAW_TYPES:
        return parse_raw_pcm(data, sample_rate_header)
    raise ApiError(415, "unsupported_media_type",
                   "send audio/wav, or application/octet-stream with X-Sample-Rate")


@dataclass(frozen=True)
class StoredClip:
    recording_id: int
    duplicate: bool
    key: str | None  # the blob written by this call (None for a duplicate)


def store_clip(session: Session, store: BlobStore, compressor: Compressor, seq: int,
               ts: dt.datetime, clip: Clip) -> StoredClip:
    """Queue the clip's recording and store its audio, once per (compressor, seq).

    The row is written first (inside the caller's transaction, not yet visible to
    analysis), then the blob: a duplicate seq, even one racing in through another
    server, fails on the unique index before any blob is written. If the blob cannot be
    stored, ``StoreUnavailable`` propagates and the caller rolls the row back. The
    caller commits, and removes ``key`` if that commit fails."""
    existing = session.scalar(sa.select(Recording.id).where(
        Recording.compressor_id == compressor.id, Recording.seq == seq))
    if existing is not None:
        return StoredClip(existing, True, None)
    key = f"org{compressor.org_id}/c{compressor.id}/{seq}-{uuid.uuid4().hex[:8]}.wav"
    recording = Recording(compressor_id=compressor.id, seq=seq, ts=ts,
                          sample_rate=clip.sample_rate, duration_s=clip.duration_s,
                          audio_key=key, size_bytes=len(clip.wav), status="queued", attempts=0)
    try:
        with session.begin_nested():
            session.add(recording)
            session.flush()
    except IntegrityError:
        # The same seq raced in from a retry through another server: keep the first.
        existing = session.scalar(sa.select(Recording.id).where(
            Recording.compressor_id == compressor.id, Recording.seq == seq))
        return StoredClip(existing, True, None)
    store.put(key, clip.wav)
    return StoredClip(recording.id, False, key)
