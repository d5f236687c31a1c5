"""Audio clips from devices: parse and validate WAV (16-bit PCM or float) or raw
16-bit PCM, then store the clip and queue a recording for analysis, once per seq."""

from __future__ import annotations

import datetime as dt
import io
import struct
import uuid
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.core.blobs import BlobStore
from dashboard.core.models import Compressor, Recording
from ingestion.errors import ApiError

MIN_RATE, MAX_RATE = 8_000, 48_000
MIN_SECONDS, MAX_SECONDS = 1.0, 30.0
MAX_BYTES = 4 * 1024 * 1024
WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}
RAW_TYPES = {"application/octet-stream", "audio/l16", "audio/pcm"}
ACCEPTED_SUBTYPES = {"PCM_16", "FLOAT", "DOUBLE"}


@dataclass(frozen=True)
class Clip:
    wav: bytes  # what is stored: always a WAV file
    sample_rate: int
    duration_s: float


def _check_riff(data: bytes) -> None:
    """Soundfile reads a truncated file without complaint; the chunk sizes do not lie."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ApiError(400, "invalid_audio", "not a RIFF/WAVE file")
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if chunk_id == b"data":
            if pos + 8 + size > len(data):
                raise ApiError(400, "invalid_audio",
                               f"WAV is truncated: data chunk says {size} bytes, "
                               f"{len(data) - pos - 8} present")
            return
        pos += 8 + size + (size & 1)
    raise ApiError(400, "invalid_audio", "WAV has no data chunk")


def _check_shape(rate: int, frames: int, channels: int) -> float:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ApiError(422, "unsupported_sample_rate",
                       f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if channels != 1:
        raise ApiError(422, "invalid_audio", f"expected mono audio, got {channels} channels")
    duration = frames / rate
    if not MIN_SECONDS <= duration <= MAX_SECONDS:
        raise ApiError(422, "invalid_duration",
                       f"clip is {duration:.2f} s; expected {MIN_SECONDS:g}-{MAX_SECONDS:g} s")
    return duration


def parse_wav(data: bytes) -> Clip:
    _check_riff(data)
    try:
        info = sf.info(io.BytesIO(data))
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, ValueError) as exc:
        raise ApiError(400, "invalid_audio", f"unreadable WAV: {exc}") from exc
    if info.format != "WAV" or info.subtype not in ACCEPTED_SUBTYPES:
        raise ApiError(415, "unsupported_audio",
                       f"WAV must be 16-bit PCM or float, not {info.subtype}")
    duration = _check_shape(rate, samples.shape[0], samples.shape[1])
    if not np.isfinite(samples).all():
        raise ApiError(422, "invalid_audio", "audio holds NaN or infinite samples")
    return Clip(wav=data, sample_rate=int(rate), duration_s=duration)


def parse_raw_pcm(data: bytes, sample_rate_header: str | None) -> Clip:
    if not sample_rate_header:
        raise ApiError(400, "missing_sample_rate", "raw PCM needs an X-Sample-Rate header")
    try:
        rate = int(sample_rate_header)
    except ValueError as exc:
        raise ApiError(400, "invalid_sample_rate", "X-Sample-Rate must be an integer") from exc
    if len(data) % 2:
        raise ApiError(400, "invalid_audio", "raw 16-bit PCM must have an even byte count")
    duration = _check_shape(rate, len(data) // 2, 1)
    buf = io.BytesIO()
    sf.write(buf, np.frombuffer(data, dtype="<i2"), rate, subtype="PCM_16", format="WAV")
    return Clip(wav=buf.getvalue(), sample_rate=rate, duration_s=duration)


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
