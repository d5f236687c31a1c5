"""analyze_clip, and the rule that ml/ stays free of web and database code."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from ml_helpers import SMALL_SR, small_clip

import ml.analysis as analysis
from ml.baseline import Baseline

ML_DIR = Path(analysis.__file__).resolve().parent


def test_analyze_clip_fields(small_dataset, small_model) -> None:
    X, labels = small_dataset
    baseline = Baseline(sample_rate=SMALL_SR, clip_seconds=1.0).fit(X[labels == "normal"])
    result = analysis.analyze_clip(small_clip("bearing", 4242), SMALL_SR, small_model, baseline)
    assert result["label"] == "bearing"
    assert result["recommended_action"].startswith("Bearing damage")
    assert set(result["probabilities"]) == set(small_model.classes)
    assert result["is_anomaly"] is True and result["anomaly_score"] > result["anomaly_threshold"]
    assert result["status"] in ("warning", "critical") and 0 <= result["health_score"] < 45
    assert result["duration_s"] == 1.0
    feats = result["features"]
    assert {"rms_db", "dominant_hz", "centroid_hz", "crest_factor", "kurtosis"} <= set(feats)
    assert len(feats) >= 8 and all(isinstance(v, float) for v in feats.values())
    healthy = analysis.analyze_clip(small_clip("normal", 4243), SMALL_SR, small_model, baseline)
    assert healthy["label"] == "normal" and healthy["status"] == "healthy"
    assert healthy["is_anomaly"] is False
    bare = analysis.analyze_clip(small_clip("normal", 4244), SMALL_SR, small_model)
    assert bare["anomaly_score"] is None and bare["status"] == "healthy"


def test_features_are_computed_once(monkeypatch, small_dataset, small_model) -> None:
    X, labels = small_dataset
    baseline = Baseline(sample_rate=SMALL_SR).fit(X[labels == "normal"])
    calls = []
    real = analysis.extract_features

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "extract_features", counting)
    analysis.analyze_clip(small_clip("normal", 1), SMALL_SR, small_model, baseline)
    assert len(calls) == 1


def test_baseline_at_other_rate_is_refused(small_dataset, small_model) -> None:
    X, _ = small_dataset
    baseline = Baseline(sample_rate=16_000).fit(X[:16])
    with pytest.raises(ValueError, match="Hz"):
        analysis.analyze_clip(np.zeros(SMALL_SR, dtype=np.float32), SMALL_SR, small_model,
                              baseline)


def test_ml_has_no_web_or_database_imports() -> None:
    forbidden = {"flask", "dash", "sqlalchemy", "werkzeug"}
    offenders = []
    for path in ML_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names
                          if n.split(".")[0].lower() in forbidden]
    assert offenders == []


def test_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in ML_DIR.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes
