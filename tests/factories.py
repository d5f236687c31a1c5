"""Small factories for page tests: readings, recordings (a generated WAV written
through the real audio store) and diagnoses. Each takes an open session and
flushes; the caller commits (``session_scope`` does)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import soundfile as sf
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.core.blobs import audio_store
from dashboard.core.models import Compressor, Diagnosis, MaintenanceNote, Reading, Recording, utcnow
from dashboard.fleet.rollups import rebuild as rebuild_rollups


def wav_bytes(freq_hz: float = 50.0, seconds: float = 1.0, sample_rate: int = 16000,
              harmonics: int = 3, noise: float = 0.01, seed: int = 0) -> bytes:
    """A motor-like tone: ``freq_hz`` and its harmonics with falling amplitude, plus noise."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    y = sum(0.5 / k * np.sin(2 * np.pi * k * freq_hz * t) for k in range(1, harmonics + 1))
    y = y + noise * np.random.default_rng(seed).standard_normal(t.size)
    out = io.BytesIO()
    sf.write(out, (0.5 * y / np.max(np.abs(y))).astype("float32"), sample_rate, format="WAV",
             subtype="PCM_16")
    return out.getvalue()


def add_readings(session: Session, compressor_id: int, start: dt.datetime, count: int,
                 step_s: float = 1.0, seq_start: int = 0,
                 spikes: Iterable[int] = (), **constant: float) -> None:
    """``count`` readings from ``start`` every ``step_s`` seconds: slow waves around
    plausible values; indexes in ``spikes`` get a current of 99 A."""
    spike_at = set(spikes)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        ts = start + dt.timedelta(seconds=i * step_s)
        phase = i / max(count, 1) * 2 * np.pi
        row = {
            "compressor_id": compressor_id, "seq": seq_start + i, "ts": ts, "received_at": ts,
            "temperature_c": 4.0 + np.sin(phase), "current_a": 11.0 + 0.5 * np.cos(phase),
            "pressure_bar": 8.0 + 0.1 * np.sin(2 * phase), "vibration_rms_g": 0.1,
            "humidity_pct": 50.0,
        }
        if i in spike_at:
            row["current_a"] = 99.0
        row.update(constant)
        rows.append(row)
    for chunk in range(0, len(rows), 5000):
        session.execute(sa.insert(Reading), rows[chunk:chunk + 5000])
    session.flush()
    rebuild_rollups(session, compressor_id)  # as the ingest path keeps them


def add_recording(app: Flask, session: Session, compressor_id: int, ts: dt.datetime,
                  seq: int, freq_hz: float = 50.0, seconds: float = 1.0,
                  sample_rate: int = 16000, status: str = "done",
                  data: bytes | None = None) -> Recording:
    compressor = session.get(Compressor, compressor_id)
    data = data if data is not None else wav_bytes(freq_hz, seconds, sample_rate, seed=seq)
    key = f"org/{compressor.org_id}/comp/{compressor_id}/{seq:06d}.wav"
    audio_store(app).put(key, data)
    recording = Recording(compressor_id=compressor_id, seq=seq, ts=ts, sample_rate=sample_rate,
                          duration_s=seconds, audio_key=key, size_bytes=len(data), status=status,
                          created_at=ts)
    session.add(recording)
    session.flush()
    return recording


def add_diagnosis(session: Session, compressor_id: int, ts: dt.datetime,
                  label: str = "normal", health_score: float = 90.0,
                  recording_id: int | None = None, confidence: float = 0.9,
                  status: str | None = None, features: dict[str, float] | None = None
                  ) -> Diagnosis:
    from dashboard.ui.figures.base import score_status

    compressor = session.get(Compressor, compressor_id)
    diagnosis = Diagnosis(
        recording_id=recording_id, org_id=compressor.org_id, compressor_id=compressor_id, ts=ts,
        label=label, probabilities={label: confidence, "other": 1 - confidence},
        confidence=confidence, anomaly_score=0.1, is_anomaly=False, health_score=health_score,
        status=status or score_status(health_score), features_summary=features or {},
        created_at=ts,
    )
    session.add(diagnosis)
    session.flush()
    return diagnosis


def add_diagnoses(session: Session, compressor_id: int, org_id: int, end: dt.datetime,
                  count: int, step_s: float = 600.0,
                  labels: tuple[str, ...] = ("normal", "normal", "normal", "bearing")) -> None:
    """``count`` diagnoses ending at ``end``, one every ``step_s`` seconds, in one insert."""
    rows = []
    for i in range(count):
        score = float(90 - (i % 50))
        label = labels[i % len(labels)]
        rows.append({
            "org_id": org_id, "compressor_id": compressor_id,
            "ts": end - dt.timedelta(seconds=i * step_s), "label": label,
            "probabilities": {label: 0.8}, "confidence": 0.8, "anomaly_score": 0.2,
            "is_anomaly": False, "health_score": score,
            "status": "healthy" if score >= 70 else "watch", "features_summary": {},
            "created_at": end,
        })
    session.execute(sa.insert(Diagnosis), rows)
    session.flush()


def add_note(session: Session, compressor_id: int, ts: dt.datetime, text: str,
             author_id: int | None = None) -> MaintenanceNote:
    compressor = session.get(Compressor, compressor_id)
    note = MaintenanceNote(org_id=compressor.org_id, compressor_id=compressor_id, ts=ts,
                           text=text, author_id=author_id, created_at=utcnow(),
                           updated_at=utcnow())
    session.add(note)
    session.flush()
    return note


def set_compressor_state(session: Session, compressor_id: int, **values: Any) -> None:
    compressor = session.get(Compressor, compressor_id)
    for key, value in values.items():
        setattr(compressor, key, value)
    session.flush()
