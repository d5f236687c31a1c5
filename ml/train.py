"""Train, evaluate and score from folders of labelled recordings.

Plain functions (the web app wraps them in CLI commands; ``python -m ml``
exposes them too). ``progress`` arguments are ``callable(done, total)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from ml.analysis import analyze_features
from ml.audio import clip_starts, load_audio, resample, split_clips
from ml.baseline import Baseline
from ml.dataset import (
    choose_analysis_rate,
    choose_split,
    clip_features,
    list_audio_files,
    load_labelled_folder,
    split_by_recording,
    time_split,
)
from ml.ensemble import DEFAULT_CALIBRATION, DiagnosisModel
from ml.features import extract_features

Progress = Callable[[int, int], None]


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str],
                           classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    y_true = [str(v) for v in y_true]
    y_pred = [str(v) for v in y_pred]
    labels = sorted(set(y_true) | set(y_pred) | set(classes or []))
    present = sorted(set(y_true))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6) if y_true else None,
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=present, average="macro",
                                         zero_division=0)), 6) if y_true else None,
        "per_class": {lab: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                            "f1": round(float(f), 4), "support": int(s)}
                      for lab, p, r, f, s in zip(labels, precision, recall, f1, support,
                                                 strict=True)},
        "confusion_matrix": {"labels": labels, "matrix": matrix.tolist()},
    }


def _counts(labels: Sequence[str]) -> dict[str, int]:
    values, counts = np.unique(np.asarray(labels, dtype=str), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def train_from_folder(
    data_dir: str | Path,
    clip_seconds: float | None = None,
    progress: Progress | None = None,
    *,
    split: str | None = None,
    test_fraction: float = 0.3,
    label_column: str = "label",
    refit_on_all: bool = True,
    calibration: str | None = DEFAULT_CALIBRATION,
) -> tuple[DiagnosisModel, dict[str, Any]]:
    """Train a ``DiagnosisModel`` on a labelled folder; report held-out metrics.

    The analysis rate is the lowest sample rate in the folder (at most 16 kHz).
    ``clip_seconds``/``split`` default to ``dataset.choose_split``: a time split
    inside each recording (first part train, last ``test_fraction`` test) for a
    few long recordings per label, a split by recording otherwise. The report
    holds the held-out metrics of a model trained on the training part; with
    ``refit_on_all`` the returned model is then retrained on every clip.
    """
    started = time.perf_counter()
    recordings = load_labelled_folder(data_dir, label_column=label_column)
    sr = choose_analysis_rate(recordings)
    auto_clip, auto_split = choose_split(recordings)
    clip = float(clip_seconds) if clip_seconds else auto_clip
    strategy = split or auto_split
    clips = clip_features(recordings, sr, clip, progress=progress)
    if strategy == "time":
        train_idx, test_idx = time_split(clips, test_fraction)
    elif strategy == "recording":
        train_idx, test_idx = split_by_recording(clips, test_fraction)
    else:
        raise ValueError("split must be 'time' or 'recording'")
    summary = {
        "data_dir": str(data_dir), "n_recordings": len(recordings),
        "recordings_per_label": _counts([r.label for r in recordings]),
        "recording_sample_rates": sorted({r.sample_rate for r in recordings}),
        "sample_rate": sr, "clip_seconds": clip, "split": strategy,
        "test_fraction": test_fraction, "n_clips": len(clips),
    }
    model = DiagnosisModel.train(clips.X[train_idx], clips.labels[train_idx], sr, clip,
                                 calibration=calibration, training_summary=summary)
    report: dict[str, Any] = dict(summary)
    report["train"] = {"n_clips": int(len(train_idx)),
                       "per_class": _counts(clips.labels[train_idx])}
    report["test"] = {"n_clips": int(len(test_idx)), "per_class": _counts(clips.labels[test_idx])}
    if len(test_idx):
        proba = model.predict_proba(clips.X[test_idx])
        predicted = [model.classes[i] for i in proba.argmax(axis=1)]
        report["held_out"] = classification_metrics(clips.labels[test_idx], predicted,
                                                    model.classes)
    report["refit_on_all"] = bool(refit_on_all)
    if refit_on_all:
        model = DiagnosisModel.train(clips.X, clips.labels, sr, clip, calibration=calibration,
                                     training_summary=summary)
    report["seconds"] = round(time.perf_counter() - started, 1)
    model.training_summary = dict(summary, held_out_accuracy=report.get(
        "held_out", {}).get("accuracy"), refit_on_all=bool(refit_on_all))
    return model, report


def evaluate_folder(model: DiagnosisModel, data_dir: str | Path, progress: Progress | None = None,
                    label_column: str = "label") -> dict[str, Any]:
    """Clip-level and file-level (mean probability) metrics of ``model`` on a labelled folder."""
    recordings = load_labelled_folder(data_dir, label_column=label_column)
    clips = clip_features(recordings, model.sample_rate, model.clip_seconds, progress=progress)
    if len(clips) == 0:
        raise ValueError(f"{data_dir} yields no clips of {model.clip_seconds} s")
    proba = model.predict_proba(clips.X)
    predicted = [model.classes[i] for i in proba.argmax(axis=1)]
    file_true, file_pred = [], []
    for rec in recordings:
        mask = clips.recordings == rec.rel_path
        if mask.any():
            file_true.append(rec.label)
            file_pred.append(model.classes[int(proba[mask].mean(axis=0).argmax())])
    unknown = sorted(set(clips.labels.tolist()) - set(model.classes))
    return {"data_dir": str(data_dir), "sample_rate": model.sample_rate,
            "clip_seconds": model.clip_seconds,
            "clips": classification_metrics(clips.labels, predicted, model.classes),
            "files": classification_metrics(file_true, file_pred, model.classes),
            "labels_unknown_to_model": unknown}


def fit_baseline_from_folder(data_dir: str | Path, sample_rate: int, clip_seconds: float,
                             progress: Progress | None = None, **baseline_args: Any) -> Baseline:
    """A ``Baseline`` from every clip of the (healthy) recordings under ``data_dir``.

    Files are taken in name order (name them by time: the baseline should
    span the machine's duty cycle).
    """
    files = list_audio_files(data_dir)
    rows = []
    for i, path in enumerate(files):
        y, sr = load_audio(path)
        y = resample(y, sr, sample_rate)
        rows += [extract_features(c, sample_rate, sample_rate)
                 for c in split_clips(y, sample_rate, clip_seconds)]
        if progress is not None:
            progress(i + 1, len(files))
    if not rows:
        raise ValueError(f"no clips of {clip_seconds} s under {data_dir}")
    baseline = Baseline(sample_rate=sample_rate, clip_seconds=clip_seconds, **baseline_args)
    return baseline.fit(np.vstack(rows))


def _resolve_baseline(model: DiagnosisModel, baseline_dir: str | Path | Baseline | None,
                      progress: Progress | None) -> Baseline | None:
    if baseline_dir is None or isinstance(baseline_dir, Baseline):
        return baseline_dir
    path = Path(baseline_dir)
    if path.is_file():
        from ml.artifacts import load_artifact
        baseline = load_artifact(path, expected_kind="Baseline")
        assert isinstance(baseline, Baseline)
        return baseline
    return fit_baseline_from_folder(path, model.sample_rate, model.clip_seconds, progress)


def score_folder(model: DiagnosisModel, data_dir: str | Path,
                 baseline_dir: str | Path | Baseline | None = None,
                 progress: Progress | None = None) -> Iterator[dict[str, Any]]:
    """Diagnose every clip of every audio file under ``data_dir`` (recursively).

    ``baseline_dir``: a folder of healthy recordings to learn a baseline from,
    a saved baseline artifact, or a ``Baseline``; without one the anomaly
    fields are ``None`` and the health score uses the classifier alone.
    Yields one dict per clip: ``file`` (relative to ``data_dir``), ``start_s``,
    ``label``, ``probabilities``, ``confidence``, ``anomaly_score``,
    ``is_anomaly``, ``health_score``, ``status``.
    """
    baseline = _resolve_baseline(model, baseline_dir, None)
    root = Path(data_dir)
    files = list_audio_files(root)
    for i, path in enumerate(files):
        y, sr = load_audio(path)
        y = resample(y, sr, model.sample_rate)
        starts = clip_starts(len(y), model.sample_rate, model.clip_seconds)
        pieces = split_clips(y, model.sample_rate, model.clip_seconds)
        for start, clip in zip(starts, pieces, strict=True):
            feats = extract_features(clip, model.sample_rate, model.sample_rate)
            result = analyze_features(feats, model, baseline)
            yield {"file": path.relative_to(root).as_posix(), "start_s": round(start, 4),
                   "label": result["label"], "probabilities": result["probabilities"],
                   "confidence": result["confidence"], "anomaly_score": result["anomaly_score"],
                   "is_anomaly": result["is_anomaly"], "health_score": result["health_score"],
                   "status": result["status"]}
        if progress is not None:
            progress(i + 1, len(files))
