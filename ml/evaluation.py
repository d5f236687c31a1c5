"""Reproducible evaluations behind the figures in ml/README.md.

* ``cwru_time_split``: CWRU bearing data, first 70 % of every recording for
  training, last 30 % for testing (16 classes of the ``label`` column).
* ``cwru_cross_load``: train on the 0 HP recordings, test on the 1 HP ones;
  ``cwru_cross_loads``: every ordered pair of loads (each load held out once), with
  ``plain_logmel_baseline`` (logistic regression and a random forest on the log-mel
  band means) beside.
* ``calibration_comparison``: the ensemble with and without an outer sigmoid
  calibration (Brier score, log-loss, expected calibration error, time).
* ``detection_benchmark`` and ``cwru_anomaly`` (defined in ``ml.detection_eval``):
  real compressor clips with SYNTHETIC faults mixed in, and CWRU as anomaly
  detection, the new baseline beside the plain log-mel Mahalanobis.

Run them with ``python -m ml reproduce`` or ``bench/detection.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml.dataset import (
    ClipSet,
    Recording,
    choose_analysis_rate,
    choose_split,
    clip_features,
    load_labelled_folder,
    time_split,
)
from ml.detection_eval import cwru_anomaly, detection_benchmark
from ml.ensemble import DiagnosisModel
from ml.features import extract_features_batch, family_columns
from ml.spectrum import N_MELS
from ml.train import classification_metrics, train_from_folder

__all__ = ["calibration_comparison", "calibration_metrics", "cwru_anomaly", "cwru_calibration",
           "cwru_cross_load", "cwru_cross_loads", "cwru_time_split", "demo_calibration",
           "detection_benchmark", "plain_logmel_baseline"]


def calibration_metrics(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str],
                        n_bins: int = 10) -> dict[str, float]:
    """Brier score (multi-class, sum over classes), log-loss and top-label ECE."""
    y = np.asarray(y_true, dtype=str)
    onehot = (np.asarray(classes, dtype=str)[None, :] == y[:, None]).astype(float)
    brier = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    p_true = np.clip((proba * onehot).sum(axis=1), 1e-12, 1.0)
    conf = proba.max(axis=1)
    correct = onehot[np.arange(len(y)), proba.argmax(axis=1)]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return {"brier": round(brier, 5), "log_loss": round(float(-np.log(p_true).mean()), 5),
            "ece": round(float(ece), 5), "mean_confidence": round(float(conf.mean()), 4),
            "accuracy": round(float(correct.mean()), 5)}


def cwru_time_split(cwru_dir: str | Path, clip_seconds: float | None = None) -> dict[str, Any]:
    """Held-out clip accuracy with the time split inside every CWRU recording."""
    _, report = train_from_folder(cwru_dir, clip_seconds=clip_seconds, split="time",
                                  refit_on_all=False)
    return report


def plain_logmel_baseline(X_train: np.ndarray, y_train: Sequence[str], X_test: np.ndarray,
                          y_test: Sequence[str]) -> dict[str, float]:
    """Clip accuracy of two plain classifiers on the 40 log-mel band means alone.

    ``logistic``: standardised, multinomial logistic regression; ``random_forest``:
    300 trees. The yardstick beside the ensemble's cross-load figures.
    """
    cols = family_columns("logmel")[:N_MELS]  # the means; the stds follow them
    y_test = np.asarray(y_test, dtype=str)
    learners = {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
        "random_forest": RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1),
    }
    return {name: round(float(np.mean(est.fit(X_train[:, cols], np.asarray(y_train, dtype=str))
                                      .predict(X_test[:, cols]) == y_test)), 4)
            for name, est in learners.items()}


def _cross_load_pair(recordings: Sequence[Recording], clips: ClipSet, train_load: str,
                     test_load: str, model_args: dict[str, Any],
                     baseline: bool) -> dict[str, Any]:
    load_of = {r.rel_path: r.meta.get("load_hp") for r in recordings}
    clip_load = np.asarray([load_of[r] for r in clips.recordings])
    train_idx = np.flatnonzero(clip_load == train_load)
    trained_labels = set(clips.labels[train_idx].tolist())
    # a class the training load lacks (CWRU: normal exists at 0 HP only) cannot be right
    test_all = np.flatnonzero(clip_load == test_load)
    test_idx = test_all[np.isin(clips.labels[test_all], sorted(trained_labels))]
    if not len(train_idx) or not len(test_idx):
        raise ValueError(f"no recordings at load {train_load} or {test_load} HP")
    train, test = clips.subset(train_idx), clips.subset(test_idx)
    test_recs = [r for r in recordings
                 if r.meta.get("load_hp") == test_load and r.label in trained_labels]
    started = time.perf_counter()
    model = DiagnosisModel.train(train.X, train.labels, clips.sample_rate, clips.clip_seconds,
                                 **model_args)
    proba = model.predict_proba(test.X)
    predicted = np.asarray([model.classes[i] for i in proba.argmax(axis=1)])
    fault_of = {r.label: r.meta.get("fault", r.label) for r in recordings}
    true_fault = [fault_of[label] for label in test.labels]
    pred_fault = [fault_of.get(label, label) for label in predicted]
    file_pred = {}
    for rec in test_recs:
        mask = test.recordings == rec.rel_path
        file_pred[rec.rel_path] = model.classes[int(proba[mask].mean(axis=0).argmax())]
    out = {
        "train_load_hp": train_load, "test_load_hp": test_load,
        "sample_rate": clips.sample_rate, "clip_seconds": clips.clip_seconds,
        "inputs": model.inputs, "members": [name for name, _ in _vote(model).members],
        "n_train_clips": len(train), "n_test_clips": len(test),
        "n_test_clips_left_out": int(len(test_all) - len(test_idx)),
        "labels_left_out": sorted(set(clips.labels[test_all].tolist()) - trained_labels),
        "label": classification_metrics(test.labels, predicted, model.classes),
        "fault_type": classification_metrics(true_fault, pred_fault),
        "called_normal": round(float(np.mean(predicted == model.normal_label)), 4),
        "file_accuracy": round(float(np.mean([file_pred[r.rel_path] == r.label
                                              for r in test_recs])), 4),
        "file_predictions": {r.rel_path: file_pred[r.rel_path] for r in test_recs},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if baseline:
        out["plain_logmel"] = plain_logmel_baseline(train.X, train.labels, test.X, test.labels)
    return out


def _vote(model: DiagnosisModel) -> Any:
    pipeline = model.pipeline
    return getattr(pipeline, "estimator", pipeline)


def cwru_cross_load(cwru_dir: str | Path, train_load: str = "0", test_load: str = "1",
                    clip_seconds: float | None = None, baseline: bool = True,
                    **model_args: Any) -> dict[str, Any]:
    """Train on ``train_load`` HP recordings, test on ``test_load`` HP ones.

    CWRU has a healthy recording only at 0 HP: test clips of a class the training
    load lacks are left out (and counted), so the 0 HP -> 1 HP test set holds
    faults only, like 1 HP -> 0 HP. Reports accuracy on the 16-class ``label`` and
    on the coarse ``fault`` type (ball / inner_race / outer_race / normal) of the
    same predictions, how often a fault was called ``normal``, and (``baseline``)
    ``plain_logmel_baseline`` on the same clips. ``model_args`` go to
    ``DiagnosisModel.train`` (``inputs``, ``members``, ``random_state`` ...).
    """
    recordings = load_labelled_folder(cwru_dir)
    sr = choose_analysis_rate(recordings)
    clip = clip_seconds or choose_split(recordings)[0]
    pair = [r for r in recordings if r.meta.get("load_hp") in (train_load, test_load)]
    return _cross_load_pair(recordings, clip_features(pair, sr, clip), train_load, test_load,
                            model_args, baseline)


def cwru_cross_loads(cwru_dir: str | Path, clip_seconds: float | None = None,
                     baseline: bool = True, **model_args: Any) -> dict[str, dict[str, Any]]:
    """``cwru_cross_load`` for every ordered pair of motor loads, features computed once.

    Keys ``"0->1"`` etc.; every load is held out once.
    """
    recordings = load_labelled_folder(cwru_dir)
    sr = choose_analysis_rate(recordings)
    clip = clip_seconds or choose_split(recordings)[0]
    clips = clip_features(recordings, sr, clip)
    loads = sorted({r.meta.get("load_hp") for r in recordings} - {None, ""})
    return {f"{a}->{b}": _cross_load_pair(recordings, clips, a, b, model_args, baseline)
            for a in loads for b in loads if a != b}


def calibration_comparison(X_train: np.ndarray, y_train: Sequence[str], X_test: np.ndarray,
                           y_test: Sequence[str], sample_rate: int,
                           clip_seconds: float) -> dict[str, Any]:
    """Held-out calibration of the ensemble without and with the outer sigmoid step."""
    out: dict[str, Any] = {}
    for name, calibration in (("none", None), ("sigmoid", "sigmoid")):
        started = time.perf_counter()
        model = DiagnosisModel.train(X_train, y_train, sample_rate, clip_seconds,
                                     calibration=calibration)
        seconds = time.perf_counter() - started
        metrics = calibration_metrics(y_test, model.predict_proba(X_test), model.classes)
        out[name] = dict(metrics, train_seconds=round(seconds, 1))
    return out


def cwru_calibration(cwru_dir: str | Path, clip_seconds: float | None = None) -> dict[str, Any]:
    """``calibration_comparison`` on the CWRU time split."""
    recordings = load_labelled_folder(cwru_dir)
    sr = choose_analysis_rate(recordings)
    clip = clip_seconds or choose_split(recordings)[0]
    clips = clip_features(recordings, sr, clip)
    tr, te = time_split(clips)
    return calibration_comparison(clips.X[tr], clips.labels[tr], clips.X[te], clips.labels[te],
                                  sr, clip)


def demo_calibration(n_per_class: int = 60) -> dict[str, Any]:
    """``calibration_comparison`` on the demo set against a new synthetic draw."""
    from ml.demo import DEMO_CLIP_SECONDS, DEMO_SAMPLE_RATE, build_demo_set

    train_clips, train_labels = build_demo_set(n_per_class, 0)
    test_clips, test_labels = build_demo_set(n_per_class // 2, 1_000_003)
    X_train = extract_features_batch(train_clips, DEMO_SAMPLE_RATE)
    X_test = extract_features_batch(test_clips, DEMO_SAMPLE_RATE)
    return calibration_comparison(X_train, train_labels, X_test, test_labels, DEMO_SAMPLE_RATE,
                                  DEMO_CLIP_SECONDS)
