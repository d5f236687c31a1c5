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
from dashboard.core.i18n import tr
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
            raise ClipError(tr("The audio file is empty.", "오디오 파일이 비어 있습니다."))
        if info.frames / info.samplerate > max_seconds:
            raise ClipError(tr(f"Clips longer than {max_seconds:.0f} s are not shown.",
                               f"{max_seconds:.0f}초보다 긴 파일은 표시하지 않습니다."))
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ClipError(tr("This is not a readable WAV file.",
                           "읽을 수 있는 WAV 파일이 아닙니다.")) from exc
    mono = samples.mean(axis=1).astype("float32")
    if not np.all(np.isfinite(mono)):
        raise ClipError(tr("The audio contains invalid samples.",
                           "오디오에 잘못된 샘플이 있습니다."))
    return mono, int(rate)


def clip_bytes(app: Flask, recording: RecordingView) -> bytes:
    try:
        return audio_store(app).get(recording.audio_key)
    except (FileNotFoundError, ValueError) as exc:
        raise ClipError(tr("The audio of this recording is missing from storage.",
                           "이 녹음의 오디오 파일이 저장소에 없습니다.")) from exc
    except StoreUnavailable as exc:
        raise ClipError(tr("Audio storage is unavailable; try again shortly.",
                           "오디오 저장소에 연결할 수 없습니다. 잠시 후 다시 시도하세요.")) from exc


def load_clip(app: Flask, recording: RecordingView) -> tuple[np.ndarray, int]:
    return decode_wav(clip_bytes(app, recording))
