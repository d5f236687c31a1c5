"""One-call diagnosis of a clip: classifier verdict, anomaly evidence, health, advice."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.baseline import Baseline, health_score
from ml.ensemble import DiagnosisModel, recommended_action
from ml.features import extract_features, summarize_features
from ml.features import warm_up as warm_up_features


def analyze_features(features: np.ndarray, model: DiagnosisModel,
                     baseline: Baseline | None = None) -> dict[str, Any]:
    """``analyze_clip`` for an already computed feature vector."""
    vec = np.asarray(features, dtype=np.float32).ravel()
    if baseline is not None and baseline.sample_rate not in (None, model.sample_rate):
        raise ValueError(f"baseline was learned at {baseline.sample_rate} Hz, the model "
                         f"analyses at {model.sample_rate} Hz")
    verdict = model.predict_clips(vec[None, :])[0]
    anomaly_score: float | None = None
    threshold: float | None = None
    is_anomaly: bool | None = None
    explanation: dict[str, Any] | None = None
    if baseline is not None:
        anomaly_score = round(float(baseline.score(vec[None, :])[0]), 6)
        threshold = round(float(baseline.threshold), 6)
        is_anomaly = bool(anomaly_score > baseline.threshold)
        if is_anomaly:  # what changed, for the incident view (costs one more scoring)
            explanation = baseline.explain(vec)
    score, level = health_score(verdict.probabilities, model.normal_label,
                                anomaly_score, threshold)
    return {
        "label": verdict.label,
        "probabilities": verdict.probabilities,
        "confidence": round(verdict.confidence, 6),
        "recommended_action": recommended_action(verdict.label),
        "anomaly_score": anomaly_score,
        "anomaly_threshold": threshold,
        "is_anomaly": is_anomaly,
        "anomaly_explanation": explanation,
        "health_score": score,
        "status": level,
        "features": summarize_features(vec),
    }


def analyze_clip(y: np.ndarray, sr: int, model: DiagnosisModel,
                 baseline: Baseline | None = None) -> dict[str, Any]:
    """Diagnose one clip (any sample rate; resampled to the model's rate).

    Features are computed once and feed the classifier, the baseline and the
    summary. Returns ``label``, ``probabilities``, ``confidence``,
    ``recommended_action``, ``anomaly_score``/``anomaly_threshold``/``is_anomaly``
    (``None`` without a baseline), ``anomaly_explanation`` (``Baseline.explain`` of the
    clip when it is an anomaly, else ``None``), ``health_score`` (0..100), ``status``
    (healthy / watch / warning / critical), ``features`` (about ten
    human-meaningful values: rms_db, peak_db, crest_factor, kurtosis,
    dominant_hz, centroid_hz, ...) and ``duration_s``.
    """
    features = extract_features(y, int(sr), model.sample_rate)
    result = analyze_features(features, model, baseline)
    result["duration_s"] = round(len(y) / float(sr), 4)
    return result


def warm_up(model: DiagnosisModel | None = None, baseline: Baseline | None = None) -> None:
    """Pay one-off costs (filter banks, lazy imports, first prediction) before serving."""
    rates = {model.sample_rate} if model is not None else {16_000}
    warm_up_features(sorted(rates))
    if model is not None:
        sr = model.sample_rate
        t = np.arange(int(sr * model.clip_seconds)) / sr
        clip = (0.1 * np.sin(2 * np.pi * 120 * t)).astype(np.float32)
        analyze_clip(clip, sr, model, baseline)
