"""Recordings (audio clips) of the organisation's compressors and their diagnoses:
lists for the spectrogram page, single look-ups for the audio route, and decoding
a clip from the audio store. A recording of another organisation is "not found"."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soundfile as sf
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.core.blobs import StoreUnavailable, audio_store
from dashboard.core.i18n import _
from dashboard.core.models import Compressor, Diagnosis, Recording

MAX_CLIP_SECONDS = 60.0


class ClipError(ValueError):
    """A clip that cannot be shown or played; the message is for people."""


@dataclass(frozen=True)
class RecordingView:
    id: int
    compressor_id: int
    ts: Any
    sample_rate: int
    duration_s: float
    status: str
    audio_key: str
    label: str | None = None
    health_score: float | None = None
    confidence: float | None = None
    features: dict[str, float] = field(default_factory=dict)

    @property
    def dominant_hz(self) -> float | None:
        value = self.features.get("dominant_hz") if self.features else None
        try:
            return float(value) if value is not None and float(value) > 0 else None
        except (TypeError, ValueError):
            return None


def _select() -> sa.Select:
    return (
        sa.select(Recording.id, Recording.compressor_id, Recording.ts, Recording.sample_rate,
                  Recording.duration_s, Recording.status, Recording.audio_key,
                  sa.func.coalesce(Diagnosis.analyst_label, Diagnosis.label),
                  Diagnosis.health_score, Diagnosis.confidence, Diagnosis.features_summary)
        .join(Compressor, Compressor.id == Recording.compressor_id)
        .outerjoin(Diagnosis, Diagnosis.recording_id == Recording.id)
    )


def _view(row: Any) -> RecordingView:
    rid, cid, ts, sr, duration, status, key, label, score, confidence, features = row
    return RecordingView(id=rid, compressor_id=cid, ts=ts, sample_rate=sr, duration_s=duration,
                         status=status, audio_key=key, label=label, health_score=score,
                         confidence=confidence, features=dict(features or {}))


def list_recordings(session: Session, org_id: int, compressor_id: int, limit: int = 50,
                    oldest_first: bool = False) -> list[RecordingView]:
    order = Recording.ts.asc() if oldest_first else Recording.ts.desc()
    rows = session.execute(
        _select().where(Compressor.org_id == org_id, Recording.compressor_id == compressor_id)
        .order_by(order, Recording.id).limit(limit)
    )
    return [_view(r) for r in rows]


def owned_recording(session: Session, org_id: int, recording_id: int | str | None
                    ) -> RecordingView | None:
    try:
        rid = int(recording_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    row = session.execute(
        _select().where(Recording.id == rid, Compressor.org_id == org_id)
    ).first()
    return _view(row) if row is not None else None


def decode_wav(data: bytes, max_seconds: float = MAX_CLIP_SECONDS) -> tuple[np.ndarray, int]:
    """Mono float32 samples and sample rate of WAV (or any libsndfile format) bytes."""
    try:
        info = sf.info(io.BytesIO(data))
        if info.frames <= 0 or info.samplerate <= 0:
            raise ClipError(_("The audio file is empty."))
        if info.frames / info.samplerate > max_seconds:
            raise ClipError(_("Clips longer than %(max_seconds)s s are not shown.",
                                                   max_seconds=format(max_seconds, ".0f")))
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ClipError(_("This is not a readable WAV file.")) from exc
    mono = samples.mean(axis=1).astype("float32")
    if not np.all(np.isfinite(mono)):
        raise ClipError(_("The audio contains invalid samples."))
    return mono, int(rate)


def clip_bytes(app: Flask, recording: RecordingView) -> bytes:
    try:
        return audio_store(app).get(recording.audio_key)
    except (FileNotFoundError, ValueError) as exc:
        raise ClipError(_("The audio of this recording is missing from storage.")) from exc
    except StoreUnavailable as exc:
        raise ClipError(_("Audio storage is unavailable; try again shortly.")) from exc


def load_clip(app: Flask, recording: RecordingView) -> tuple[np.ndarray, int]:
    return decode_wav(clip_bytes(app, recording))
