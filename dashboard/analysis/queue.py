"""Analysis of queued recordings: claim in the database, diagnose once, record.

Claiming sets ``status='analyzing'`` with the worker's id and time; PostgreSQL uses
``FOR UPDATE SKIP LOCKED`` so workers never wait on each other, and the claim itself
is an UPDATE ... RETURNING guarded by the status, so two workers can never both own a
recording. A worker killed mid-analysis leaves the claim to go stale; it is then
retried (up to ``MAX_ATTEMPTS``). The diagnosis row is unique per recording and the
final UPDATE only succeeds for the worker that still holds the claim: every recording
is analysed exactly once."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.alerts import evaluate_diagnosis
from dashboard.analysis.baselines import baseline_for, follow_drift, record_clip_features
from dashboard.analysis.registry import active_version, load_version
from dashboard.analysis.trends import refresh_trend
from dashboard.core.blobs import StoreUnavailable, audio_store
from dashboard.core.database import session_scope
from dashboard.core.events import publish
from dashboard.core.models import Compressor, Diagnosis, Recording, utcnow
from dashboard.core.observability import ANALYSES, ANALYSIS_SECONDS
from dashboard.core.wav import WavError, parse_wav
from ml.analysis import analyze_features
from ml.audio import load_audio, resample, split_clips
from ml.baseline import Baseline
from ml.ensemble import DiagnosisModel
from ml.features import extract_features

log = logging.getLogger("signalcraft.analysis")
STALE_AFTER = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 3


class PermanentAnalysisError(ValueError):
    """The recording can never be analysed (undecodable audio, ...)."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _claimable(now: dt.datetime, stale_after: dt.timedelta) -> sa.ColumnElement[bool]:
    return sa.or_(
        Recording.status == "queued",
        sa.and_(Recording.status == "analyzing", Recording.claimed_at < now - stale_after),
    )


def claim_next_recordings(session: Session, worker: str, limit: int, now: dt.datetime,
                          stale_after: dt.timedelta = STALE_AFTER) -> list[int]:
    """Claim up to ``limit`` recordings for ``worker``; commits. Stale claims that have
    used all attempts are marked failed instead."""
    session.execute(
        sa.update(Recording)
        .where(Recording.status == "analyzing", Recording.claimed_at < now - stale_after,
               Recording.attempts >= MAX_ATTEMPTS)
        .values(status="failed",
                error=f"analysis did not finish after {MAX_ATTEMPTS} attempts")
    )
    query = (sa.select(Recording.id).where(_claimable(now, stale_after))
             .order_by(Recording.id).limit(limit))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = list(session.scalars(query))
    claimed: list[int] = []
    if candidates:
        claimed = list(session.scalars(
            sa.update(Recording)
            .where(Recording.id.in_(candidates), _claimable(now, stale_after))
            .values(status="analyzing", claimed_by=worker, claimed_at=now,
                    attempts=Recording.attempts + 1)
            .returning(Recording.id)
        ))
    session.commit()
    return sorted(claimed)


def clip_features(y: np.ndarray, sr: int, sample_rate: int, clip_seconds: float) -> np.ndarray:
    """One feature row per ``clip_seconds`` piece of a clip, at the model's ``sample_rate``
    (what ``diagnose_audio`` scores; their mean is what a baseline learns from)."""
    y = resample(y, sr, sample_rate)
    pieces = split_clips(y, sample_rate, clip_seconds) or [y]
    return np.vstack([extract_features(p, sample_rate, sample_rate) for p in pieces])


def diagnose_audio(model: DiagnosisModel, baseline: Baseline | None, y: np.ndarray,
                   sr: int) -> tuple[dict[str, Any], np.ndarray]:
    """Diagnose a clip of any length: cut into the model's clip length, features once per
    piece, verdicts aggregated (mean probabilities, worst anomaly and health).
    Returns the result and the mean feature vector (what the baseline learns from)."""
    feats = clip_features(y, sr, model.sample_rate, model.clip_seconds)
    results = [analyze_features(row, model, baseline) for row in feats]
    if len(results) == 1:
        return results[0], feats[0]
    probs = {c: float(np.mean([r["probabilities"][c] for r in results])) for c in model.classes}
    label = max(probs, key=probs.get)
    worst = min(results, key=lambda r: r["health_score"])
    merged = dict(worst)
    merged.update(label=label, probabilities=probs, confidence=probs[label])
    anomalies = [r["anomaly_score"] for r in results if r["anomaly_score"] is not None]
    if anomalies:
        merged["anomaly_score"] = max(anomalies)
        merged["is_anomaly"] = any(r["is_anomaly"] for r in results)
    return merged, feats.mean(axis=0)


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The diagnosis' features summary, with what deviated most when the clip is an
    anomaly (``anomaly``: family, feature, its value, the line's frequency)."""
    summary: dict[str, Any] = {k: float(v) for k, v in result["features"].items()
                               if v is not None and np.isfinite(v)}
    explanation = result.get("anomaly_explanation")
    if explanation:
        summary["anomaly"] = {key: explanation.get(key) for key in
                              ("family", "feature", "feature_value", "line_hz")}
    return summary


def analyze_recording(app: Flask, session: Session, recording_id: int, worker: str,
                      now: dt.datetime) -> Diagnosis | None:
    """Analyse one claimed recording. Returns the diagnosis, or None when the claim was
    lost (another worker took over a stale claim). The caller commits."""
    rec = session.get(Recording, recording_id)
    if rec is None or rec.status != "analyzing" or rec.claimed_by != worker:
        return None
    version = active_version(session)
    if version is None:
        raise RuntimeError("no active model")
    model = load_version(app, version)
    try:
        data = audio_store(app).get(rec.audio_key)
    except FileNotFoundError as exc:
        raise PermanentAnalysisError(f"audio {rec.audio_key} is missing") from exc
    try:
        y, sr = load_audio(data)
    except Exception as exc:
        raise PermanentAnalysisError(f"audio cannot be decoded: {exc}") from exc
    compressor = session.get(Compressor, rec.compressor_id)
    state, baseline = baseline_for(session, compressor.id)
    result, features = diagnose_audio(model, baseline, y, sr)
    diagnosis = Diagnosis(
        recording_id=rec.id, org_id=compressor.org_id, compressor_id=compressor.id, ts=rec.ts,
        model_version_id=version.id, label=result["label"],
        probabilities=result["probabilities"], confidence=float(result["confidence"]),
        anomaly_score=result["anomaly_score"], is_anomaly=result["is_anomaly"],
        health_score=float(result["health_score"]), status=result["status"],
        features_summary=_summary(result),
    )
    session.add(diagnosis)
    if baseline is not None:
        follow_drift(session, state, baseline, features, rec.ts)
    ready = record_clip_features(session, compressor.id, rec.id, features, state)
    done = session.execute(
        sa.update(Recording)
        .where(Recording.id == rec.id, Recording.claimed_by == worker,
               Recording.status == "analyzing")
        .values(status="done", error=None)
    ).rowcount
    if done != 1:
        session.rollback()
        return None
    session.flush()
    fault = None if result["label"] == model.normal_label else result["label"]
    apply_diagnosis(session, compressor, diagnosis, ready, fault, now)
    return diagnosis


def apply_diagnosis(session: Session, compressor: Compressor, diagnosis: Diagnosis,
                    ready: bool, fault: str | None, now: dt.datetime,
                    evaluate_alerts: bool = True, announce: bool = True) -> None:
    """What a written diagnosis changes: the compressor's state and trend, the event
    every open page hears, and the alert rules. The live analysis and the demo's
    history both go through here."""
    previous_status = compressor.status
    compressor.health_score = float(diagnosis.health_score)
    compressor.status = diagnosis.status if ready else "learning"
    compressor.suspected_fault = fault
    refresh_trend(session, compressor, diagnosis.ts)
    if not announce:  # a history written in bulk: one "fleet" event afterwards says it
        if evaluate_alerts:
            _run_alert_hook(session, diagnosis, now)
        return
    # Told to every open page when this transaction commits.
    publish(session, "diagnosis", compressor.org_id, compressor=compressor.id,
            recording=diagnosis.recording_id, diagnosis=diagnosis.id,
            health_score=compressor.health_score, status=compressor.status,
            previous_status=previous_status, fault=compressor.suspected_fault,
            label=diagnosis.label, ts=diagnosis.ts.isoformat())
    if evaluate_alerts:
        _run_alert_hook(session, diagnosis, now)


def _run_alert_hook(session: Session, diagnosis: Diagnosis, now: dt.datetime) -> None:
    evaluate_diagnosis(session, diagnosis, now)


def _mark_failed(app: Flask, recording_id: int, worker: str, error: str, permanent: bool) -> None:
    with session_scope(app) as session:
        rec = session.get(Recording, recording_id)
        if rec is None or rec.claimed_by != worker or rec.status != "analyzing":
            return
        rec.error = error[:2000]
        rec.status = "failed" if permanent or rec.attempts >= MAX_ATTEMPTS else "queued"


def run_analysis_batch(app: Flask, worker: str, limit: int = 8,
                       now: dt.datetime | None = None) -> int:
    """Claim and analyse up to ``limit`` recordings; returns how many were diagnosed."""
    now = now or utcnow()
    stale_after = dt.timedelta(seconds=app.config.get("ANALYSIS_STALE_SECONDS", 300))
    with session_scope(app) as session:
        if active_version(session) is None:
            return 0
        ids = claim_next_recordings(session, worker, limit, now, stale_after)
    diagnosed = 0
    for rid in ids:
        started = time.perf_counter()
        try:
            with session_scope(app) as session:
                if analyze_recording(app, session, rid, worker, utcnow()) is not None:
                    diagnosed += 1
                    ANALYSES.labels("done").inc()
            ANALYSIS_SECONDS.observe(time.perf_counter() - started)
        except PermanentAnalysisError as exc:
            ANALYSES.labels("failed").inc()
            log.warning("recording %s failed: %s", rid, exc)
            _mark_failed(app, rid, worker, str(exc), permanent=True)
        except StoreUnavailable as exc:
            ANALYSES.labels("retry").inc()
            _mark_failed(app, rid, worker, f"audio store unavailable: {exc}", permanent=False)
        except Exception as exc:  # kept with its reason and retried
            ANALYSES.labels("error").inc()
            log.exception("analysis of recording %s failed", rid)
            _mark_failed(app, rid, worker, f"{type(exc).__name__}: {exc}", permanent=False)
    return diagnosed


class UploadError(ValueError):
    """An uploaded file that cannot be analysed; the message is for the user."""


def analyze_upload(app: Flask, wav_bytes: bytes) -> dict[str, Any]:
    """Diagnose an uploaded WAV with the active model (no per-compressor baseline):
    label, probabilities, confidence, recommended_action, health_score, status,
    anomaly_score (None), features. Raises UploadError with a readable message."""
    try:
        clip = parse_wav(wav_bytes)
    except WavError as exc:
        raise UploadError(exc.localized()) from exc
    with session_scope(app) as session:
        version = active_version(session)
        if version is None:
            raise UploadError("no diagnosis model is active yet")
        model = load_version(app, version)
        version_id = version.id
    y, sr = load_audio(clip.wav)
    result, _features = diagnose_audio(model, None, y, sr)
    result["model_version_id"] = version_id
    result["duration_s"] = round(clip.duration_s, 3)
    result["sample_rate"] = clip.sample_rate
    return result
