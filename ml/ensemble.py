"""The fault classifier: a soft-voting ensemble and the ``DiagnosisModel`` around it.

Learners behind a ``StandardScaler`` vote with their class probabilities (mean);
``build_ensemble`` knows ``rf`` / ``et`` (random forest, extra trees), ``svc`` (RBF,
Platt-scaled by ``CalibratedClassifierCV``) and ``hgb`` (boosted trees). Since round 4
the default (``DEFAULT_MEMBERS``, ``DEFAULT_INPUTS``) is the extra trees alone (200) on
level-relative inputs (``level_relative_features``): across CWRU motor loads the SVC and
the boosted trees failed, and the random forest was the weaker forest (ml/README.md,
"CWRU across loads (round 4)"). Stored models keep their members and inputs.

``calibration="sigmoid"`` (the default) wraps the vote in ``CalibratedClassifierCV``
(3 folds, ``ensemble=False``: sigmoids fitted on out-of-fold votes, one ensemble trained
on all data kept, so prediction costs one ensemble). The SVC gets its probabilities the
same way (``SVC(probability=True)`` is deprecated in scikit-learn 1.9). Measured with
``ml.evaluation.calibration_comparison`` (round-3 vote of four): Brier 0.0035 -> 0.0004
(CWRU time split), 0.0057 -> 0.0007 (demo set); averaged forest votes are under-confident.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier as _ET
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble import RandomForestClassifier as _RF
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.svm import SVC

from ml.audio import resample, split_clips, to_mono_float32
from ml.features import CLASSIFIER_COLUMNS, FEATURE_NAMES, FEATURE_SET_ID, extract_features
from ml.spectrum import N_MELS

DEFAULT_CALIBRATION: str | None = "sigmoid"
NORMAL_LABEL = "normal"
ALL_MEMBERS, DEFAULT_MEMBERS, DEFAULT_TREES = ("rf", "et", "svc", "hgb"), ("et",), 200
AS_RECORDED, LEVEL_RELATIVE = "as_recorded", "level_relative"
MODEL_INPUTS, DEFAULT_INPUTS = (AS_RECORDED, LEVEL_RELATIVE), LEVEL_RELATIVE

RECOMMENDED_ACTIONS: dict[str, str] = {
    "normal": "No action needed. Keep the regular maintenance schedule.",
    "bearing": (
        "Bearing damage suspected: check motor and compressor bearings for heat, play and "
        "noise with a stethoscope or vibration pen; check lubrication (grease quantity and "
        "condition); plan a bearing replacement before the next long run."),
    "ball": (
        "Rolling-element (ball) defect suspected: inspect the bearing for pitted or flattened "
        "balls, check grease for metal particles and contamination, and plan replacement."),
    "inner_race": (
        "Inner-race defect suspected: check shaft fit and alignment, look for overheating and "
        "spalling on the inner ring, and plan bearing replacement; check for overload."),
    "outer_race": (
        "Outer-race defect suspected: check the bearing housing fit and for loose mounting, "
        "misalignment or contamination; inspect the outer ring and plan replacement."),
    "valve_leak": (
        "Air leak / valve leak suspected: listen for hissing at intake and discharge valves, "
        "unloader and fittings; soap-test joints, check valve plates and seals, and compare "
        "pressure build-up time with the nominal value."),
    "belt_slip": (
        "Belt slip suspected: check belt tension and wear (glazing, cracks), pulley alignment "
        "and cleanliness; re-tension or replace the belt set."),
    "electrical_hum": (
        "Electrical hum at twice the line frequency: check supply voltage balance across "
        "phases, loose terminals, motor mounting and contactor; have an electrician measure "
        "phase currents."),
    "generic": (
        "Unusual sound detected: inspect the compressor (bearings, belts, valves, mounting, "
        "electrical connections) and compare with a recording from a healthy period."),
}


def recommended_action(label: str) -> str:
    """What a technician should check for ``label``.

    Exact key first, then the longest key the label starts with (so CWRU's
    ``inner_race_014`` maps to ``inner_race``), then the generic advice.
    """
    if label in RECOMMENDED_ACTIONS:
        return RECOMMENDED_ACTIONS[label]
    prefixes = sorted((k for k in RECOMMENDED_ACTIONS if label.startswith(k + "_")),
                      key=len, reverse=True)
    return RECOMMENDED_ACTIONS[prefixes[0]] if prefixes else RECOMMENDED_ACTIONS["generic"]


_LEVEL, _MFCC0 = FEATURE_NAMES.index("rms_db"), FEATURE_NAMES.index("mfcc00_mean")
_LEVEL_DB = np.asarray([i for i, n in enumerate(FEATURE_NAMES) if n in (
    *(f"logmel{b:02d}_mean" for b in range(N_MELS)), "rms_db_mean", "rms_db_max", "peak_db")])
_LEVEL_LINEAR = np.asarray([FEATURE_NAMES.index(n) for n in ("rms_mean", "rms_std", "rms_max")])
LEVEL_RELATIVE_COLUMNS: np.ndarray = CLASSIFIER_COLUMNS[CLASSIFIER_COLUMNS != _LEVEL]
"""The classifier's columns with level-relative inputs: all but the clip level itself."""


def level_relative_features(X: np.ndarray) -> np.ndarray:
    """Feature rows with every absolute level made relative to the clip level ``rms_db``.

    Log-mel band means, frame RMS mean / max (dB) and peak (dB) minus it; ``mfcc00_mean``
    minus sqrt(40) x it (how a constant dB shift moves the first ortho DCT coefficient);
    frame RMS mean / std / max (linear) divided by the clip RMS. The rest is already a
    ratio or a shape, so a gain or load-dependent level change moves only ``rms_db``.
    """
    A = np.array(np.atleast_2d(X), dtype=np.float64)
    level = A[:, _LEVEL].copy()
    A[:, _LEVEL_DB] -= level[:, None]
    A[:, _MFCC0] -= np.sqrt(N_MELS) * level
    A[:, _LEVEL_LINEAR] /= (10.0 ** (level / 20.0))[:, None]
    return A.astype(np.float32)


class SoftVoteEnsemble(ClassifierMixin, BaseEstimator):
    """Mean of the members' ``predict_proba`` (soft voting), with a fast forest path.

    Equivalent to ``VotingClassifier(voting="soft")``; sklearn's forests spend
    ~60 us of joblib/config bookkeeping per tree and per call, so for forests
    the trees' own ``tree_.predict`` is summed directly (identical numbers,
    ~10x faster for one clip). ``tests/ml`` checks the equivalence.
    """

    def __init__(self, members: list[tuple[str, Any]]):
        self.members = members

    def fit(self, X: np.ndarray, y: Sequence[str]) -> SoftVoteEnsemble:
        self.le_ = LabelEncoder().fit(y)
        self.classes_ = self.le_.classes_
        encoded = self.le_.transform(y)
        X = np.asarray(X, dtype=np.float32)
        self.members_ = [(name, clone(est).fit(X, encoded)) for name, est in self.members]
        return self

    def member_proba(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Each member's class probabilities (columns in ``classes_`` order)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        return {name: _member_predict_proba(est, X) for name, est in self.members_}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        probs = list(self.member_proba(X).values())
        return np.mean(probs, axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _scale(scaler: StandardScaler, X: np.ndarray) -> np.ndarray:
    """``StandardScaler.transform`` without its per-call validation (same arithmetic)."""
    out = np.array(X, dtype=X.dtype, copy=True)
    if scaler.with_mean:
        out -= scaler.mean_.astype(out.dtype)
    if scaler.with_std:
        out /= scaler.scale_.astype(out.dtype)
    return out


def _sigmoid_calibrated(cal: CalibratedClassifierCV, X: np.ndarray,
                        response: Callable[[Any, np.ndarray], np.ndarray]) -> np.ndarray:
    """``CalibratedClassifierCV.predict_proba`` (sigmoid, ``ensemble=False``) step by step.

    Same formula as scikit-learn (``expit(-(a * f + b))`` per class, then
    normalised); skips its validation, which costs more than the arithmetic
    for one clip.
    """
    (inner,) = cal.calibrated_classifiers_
    pred = np.asarray(response(inner.estimator, X), dtype=np.float64)
    n_classes = len(cal.classes_)
    if pred.ndim == 1:
        pred = pred[:, None]
    elif n_classes == 2:  # binary: scikit-learn calibrates the positive class only
        pred = pred[:, 1:]
    proba = np.zeros((X.shape[0], n_classes))
    positions = np.searchsorted(cal.classes_, inner.estimator.classes_)
    for class_idx, column, calibrator in zip(positions, pred.T, inner.calibrators,
                                             strict=False):
        proba[:, class_idx + (1 if n_classes == 2 else 0)] = expit(
            -(calibrator.a_ * column + calibrator.b_))
    if n_classes == 2:
        proba[:, 0] = 1.0 - proba[:, 1]
        return proba
    denominator = proba.sum(axis=1, keepdims=True)
    uniform = np.full_like(proba, 1.0 / n_classes)
    return np.divide(proba, denominator, out=uniform, where=denominator != 0)


def _fast_path_ok(cal: Any) -> bool:
    return (isinstance(cal, CalibratedClassifierCV) and cal.method == "sigmoid"
            and len(getattr(cal, "calibrated_classifiers_", ())) == 1)


def fast_predict_proba(model: Any, X: np.ndarray) -> np.ndarray:
    """Class probabilities of a fitted ``build_ensemble`` result, for few rows quickly.

    Numerically the same as ``model.predict_proba`` (``tests/ml`` checks it);
    falls back to it for anything this module did not build.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    if isinstance(model, SoftVoteEnsemble):
        return model.predict_proba(X)
    if _fast_path_ok(model) and isinstance(model.estimator, SoftVoteEnsemble):
        return _sigmoid_calibrated(model, X, lambda est, x: est.predict_proba(x))
    return np.asarray(model.predict_proba(X), dtype=np.float64)


def _member_predict_proba(est: Any, X: np.ndarray) -> np.ndarray:
    if isinstance(est, Pipeline):
        for _, step in est.steps[:-1]:
            X = _scale(step, X) if type(step) is StandardScaler else step.transform(X)
        est = est.steps[-1][1]
    if _fast_path_ok(est) and isinstance(est.estimator, SVC):
        return _sigmoid_calibrated(est, X, lambda svc, x: svc.decision_function(x))
    if isinstance(est, (_RF, _ET)):
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        n_classes = int(est.n_classes_)
        total = np.zeros((X32.shape[0], n_classes))
        for tree in est.estimators_:
            total += tree.tree_.predict(X32)[:, :n_classes]
        return total / len(est.estimators_)
    return np.asarray(est.predict_proba(X), dtype=np.float64)


def build_ensemble(calibration: str | None = DEFAULT_CALIBRATION, random_state: int = 0,
                   n_estimators: int = DEFAULT_TREES, min_class_count: int = 3,
                   n_samples: int = 1000, members: Sequence[str] = DEFAULT_MEMBERS) -> Any:
    """Unfitted soft-voting ensemble of ``members`` (see the module docstring).

    ``min_class_count`` (clips of the rarest class) bounds the folds: the outer
    calibration needs 6 per class (3 folds still allowing the SVC's own 3-fold Platt
    scaling), every class 2. ``n_samples`` scales the boosted trees' smallest leaf.
    """
    m = int(min_class_count)
    if m < 2:
        raise ValueError("every class needs at least 2 training clips")
    calibrate = calibration is not None and m >= 6
    inner_min = (m * 2) // 3 if calibrate else m
    folds = 3 if inner_min >= 3 else 2
    if not members or set(members) - set(ALL_MEMBERS):
        raise ValueError(f"members must be a non-empty subset of {ALL_MEMBERS}, got {members}")
    available = [(name, make_pipeline(StandardScaler(), forest(
        n_estimators=n_estimators, max_features="sqrt", random_state=random_state, n_jobs=1)))
        for name, forest in (("rf", _RF), ("et", _ET))] + [
        ("svc", make_pipeline(StandardScaler(), CalibratedClassifierCV(
            SVC(kernel="rbf", C=10.0, gamma="scale", random_state=random_state),
            method="sigmoid", cv=folds, ensemble=False))),
        ("hgb", make_pipeline(StandardScaler(), HistGradientBoostingClassifier(
            max_iter=50, learning_rate=0.15, max_leaf_nodes=15, l2_regularization=1.0,
            min_samples_leaf=max(2, min(20, int(n_samples) // 10)),
            early_stopping=False, random_state=random_state))),
    ]
    vote = SoftVoteEnsemble([(name, est) for name, est in available if name in members])
    if not calibrate:
        return vote
    return CalibratedClassifierCV(vote, method=calibration, cv=3, ensemble=False)


@dataclass
class ClipDiagnosis:
    """Verdict for one clip."""

    label: str
    probabilities: dict[str, float]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "probabilities": dict(self.probabilities),
                "confidence": self.confidence}


@dataclass
class FileDiagnosis:
    """Verdict for a recording: mean clip probabilities, plus each clip's verdict."""

    label: str
    probabilities: dict[str, float]
    confidence: float
    clips: list[ClipDiagnosis]
    clip_starts: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "probabilities": dict(self.probabilities),
                "confidence": self.confidence, "n_clips": len(self.clips),
                "clips": [dict(c.to_dict(), start_s=s)
                          for c, s in zip(self.clips, self.clip_starts, strict=True)]}


def _verdict(classes: Sequence[str], proba: np.ndarray) -> ClipDiagnosis:
    k = int(np.argmax(proba))
    probs = {c: round(float(p), 6) for c, p in zip(classes, proba, strict=True)}
    return ClipDiagnosis(label=str(classes[k]), probabilities=probs, confidence=float(proba[k]))


@dataclass
class DiagnosisModel:
    """A trained classifier with everything needed to use it on raw audio."""

    pipeline: Any
    classes: list[str]
    sample_rate: int
    clip_seconds: float
    feature_names: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))
    feature_set_id: str = FEATURE_SET_ID
    normal_label: str = NORMAL_LABEL
    training_summary: dict[str, Any] = field(default_factory=dict)
    columns: np.ndarray = field(default_factory=lambda: CLASSIFIER_COLUMNS.copy())
    """Columns the ensemble sees (``CLASSIFIER_COLUMNS``: all but the line grid, which
    only the baseline uses; ``LEVEL_RELATIVE_COLUMNS`` with level-relative inputs)."""
    inputs: str = AS_RECORDED
    """``MODEL_INPUTS``; a plain class default, so a model pickled before the field existed
    reads ``"as_recorded"``, what it was trained on (``train`` uses ``DEFAULT_INPUTS``)."""

    @classmethod
    def train(cls, X: np.ndarray, labels: Sequence[str], sample_rate: int, clip_seconds: float,
              calibration: str | None = DEFAULT_CALIBRATION, random_state: int = 0,
              normal_label: str = NORMAL_LABEL,
              training_summary: Mapping[str, Any] | None = None,
              columns: np.ndarray | None = None, inputs: str = DEFAULT_INPUTS,
              members: Sequence[str] = DEFAULT_MEMBERS,
              n_estimators: int = DEFAULT_TREES) -> DiagnosisModel:
        """Fit on full ``FEATURE_NAMES`` rows ``X`` and their ``labels``; ``inputs``,
        ``columns`` (default: those of ``inputs``), ``members``, ``n_estimators`` (trees per
        forest) shape the ensemble."""
        if inputs not in MODEL_INPUTS:
            raise ValueError(f"inputs must be one of {MODEL_INPUTS}, got {inputs!r}")
        y = np.asarray(labels, dtype=object).astype(str)
        if len(set(y.tolist())) < 2:
            raise ValueError("training needs at least two classes")
        counts = np.unique(y, return_counts=True)[1]
        pipeline = build_ensemble(calibration=calibration, random_state=random_state,
                                  min_class_count=int(counts.min()), n_samples=len(y),
                                  members=members, n_estimators=n_estimators)
        if columns is None:
            columns = LEVEL_RELATIVE_COLUMNS if inputs == LEVEL_RELATIVE else CLASSIFIER_COLUMNS
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
            raise ValueError(f"expected {len(FEATURE_NAMES)} features, got {X.shape[-1]}")
        model = cls(pipeline=pipeline, classes=[], sample_rate=int(sample_rate),
                    clip_seconds=float(clip_seconds), normal_label=normal_label,
                    training_summary=dict(training_summary or {}),
                    columns=np.asarray(columns, dtype=int), inputs=inputs)
        pipeline.fit(model.model_inputs(X), y)
        model.classes = [str(c) for c in pipeline.classes_]
        return model

    def model_inputs(self, X: np.ndarray) -> np.ndarray:
        """What the ensemble sees for feature rows ``X`` (``inputs``, then ``columns``)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if self.inputs == LEVEL_RELATIVE:
            X = level_relative_features(X)
        elif self.inputs != AS_RECORDED:
            raise ValueError(f"unknown model inputs {self.inputs!r}")
        return np.ascontiguousarray(X[:, self.columns])

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, len(classes)), columns in ``classes`` order."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if X.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {X.shape[1]}")
        if not np.all(np.isfinite(X)):
            raise ValueError("features contain NaN or infinite values")
        # validated once here; sklearn's per-step re-validation costs more than the maths
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return fast_predict_proba(self.pipeline, self.model_inputs(X))

    def predict_clips(self, X: np.ndarray) -> list[ClipDiagnosis]:
        """One ``ClipDiagnosis`` per feature row."""
        return [_verdict(self.classes, p) for p in self.predict_proba(X)]

    def features_for(self, y: np.ndarray, sr: int) -> np.ndarray:
        """Feature rows of the clips of a recording (resampled to the model's rate)."""
        y = resample(to_mono_float32(y), int(sr), self.sample_rate)
        clips = split_clips(y, self.sample_rate, self.clip_seconds)
        if not clips:
            if len(y) == 0:
                raise ValueError("empty recording")
            clips = [y]  # shorter than half a clip: diagnose what there is
        return np.vstack([extract_features(c, self.sample_rate, self.sample_rate)
                          for c in clips])

    def diagnose_clip(self, y: np.ndarray, sr: int) -> ClipDiagnosis:
        """Verdict for a single clip (any length; resampled, not cut)."""
        feats = extract_features(y, int(sr), self.sample_rate)
        return self.predict_clips(feats[None, :])[0]

    def diagnose_file(self, y: np.ndarray, sr: int) -> FileDiagnosis:
        """Cut a recording into clips of ``clip_seconds`` and average their probabilities."""
        X = self.features_for(y, sr)
        return self.aggregate(self.predict_proba(X))

    def aggregate(self, proba: np.ndarray) -> FileDiagnosis:
        """File verdict from per-clip probabilities (mean probability)."""
        mean = proba.mean(axis=0)
        verdict = _verdict(self.classes, mean)
        clips = [_verdict(self.classes, p) for p in proba]
        starts = [i * self.clip_seconds for i in range(len(clips))]
        return FileDiagnosis(verdict.label, verdict.probabilities, verdict.confidence,
                             clips, starts)
