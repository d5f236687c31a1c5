"""Per-compressor anomaly baseline and the combined health score.

A ``Baseline`` learns what *this* machine sounds like from feature vectors of
its first healthy clips and scores new clips by how far they are from that.

Scoring (``method``):

``"mahalanobis"`` (default)
    Robust scaling (median / IQR per feature), PCA keeping 90 % of the
    variance (at most n/3 components), Hotelling T^2 in that subspace with the
    eigenvalues shrunk by adding their mean (so that tiny, noisy directions
    do not dominate), divided by the number of components; plus the residual
    (off-subspace) energy divided by its baseline mean; the score is the
    average of the two.
``"knn"``
    Robust scaling, then the mean Euclidean distance to the ``k`` nearest
    baseline clips, divided by the root of the number of features.
``"isolation_forest"``
    Robust scaling, then an ``IsolationForest`` (200 trees); the score is the
    expected path length of a random clip over the clip's own (> 1 = easier to
    isolate than usual).

Which one detects best was measured with ``bench/detection.py`` on real
compressor clips with synthetic faults mixed in at 10 dB SNR (ml/README.md has
the figures); ``DEFAULT_METHOD`` holds the outcome.

Threshold: 5-fold out-of-fold scores of the baseline clips (each clip scored
by a baseline fitted without it, so the scores are not optimistically low),
``threshold = margin x quantile(out_of_fold, 0.95)`` with ``margin`` 1.25.
The baseline should span the machine's whole duty cycle (e.g. a full
pressure build-up and idle period): the sound of a compressor changes as the
tank pressure rises, and states missing from the baseline read as anomalies.

``health_score`` turns a classifier verdict and an anomaly score into 0..100
and one of four levels; its docstring documents the cut-offs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from ml.features import FEATURE_SET_ID

BASELINE_METHODS = ("mahalanobis", "knn", "isolation_forest")
DEFAULT_METHOD = "mahalanobis"
MIN_BASELINE_CLIPS = 8

HEALTH_LEVELS = ("healthy", "watch", "warning", "critical")
LEVEL_CUTOFFS = {"healthy": 70.0, "watch": 45.0, "warning": 20.0}
"""Lowest score of each level: >= 70 healthy, >= 45 watch, >= 20 warning, else critical."""


@dataclass
class _Scorer:
    method: str
    center: np.ndarray
    scale: np.ndarray
    k: int = 5
    train: np.ndarray | None = None
    components: np.ndarray | None = None
    variances: np.ndarray | None = None
    mean: np.ndarray | None = None
    residual_ref: float = 1.0
    forest: IsolationForest | None = None

    def scaled(self, X: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(X, dtype=np.float64) - self.center) / self.scale, -50, 50)

    def score(self, X: np.ndarray) -> np.ndarray:
        Z = self.scaled(X)
        if self.method == "knn":
            assert self.train is not None
            d2 = ((Z * Z).sum(1)[:, None] + (self.train * self.train).sum(1)[None, :]
                  - 2.0 * Z @ self.train.T)
            d = np.sqrt(np.maximum(d2, 0.0))
            k = min(self.k, d.shape[1])
            nearest = np.partition(d, k - 1, axis=1)[:, :k]
            return nearest.mean(axis=1) / np.sqrt(Z.shape[1])
        if self.method == "mahalanobis":
            assert self.components is not None and self.variances is not None
            centred = Z - self.mean
            proj = centred @ self.components.T
            t2 = (proj * proj / self.variances).sum(axis=1) / len(self.variances)
            resid = centred - proj @ self.components
            spe = (resid * resid).sum(axis=1) / self.residual_ref
            return 0.5 * (t2 + spe)
        assert self.forest is not None
        # -score_samples = 2^(-mean path length / c): map to c / mean path length so
        # that ratios (the threshold margin) mean the same as for the other methods
        return 1.0 / np.maximum(-np.log2(-self.forest.score_samples(Z)), 1e-6)


def _fit_scorer(X: np.ndarray, method: str, k: int, random_state: int) -> _Scorer:
    X = np.asarray(X, dtype=np.float64)
    center = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    spread = (q75 - q25) / 1.349
    std = X.std(axis=0)
    scale = np.where(spread > 1e-9, spread, np.where(std > 1e-9, std, 1.0))
    scorer = _Scorer(method=method, center=center, scale=scale, k=k)
    Z = scorer.scaled(X)
    if method == "knn":
        scorer.train = Z
    elif method == "mahalanobis":
        scorer.mean = Z.mean(axis=0)
        _, s, vt = np.linalg.svd(Z - scorer.mean, full_matrices=False)
        var = s * s / max(len(Z) - 1, 1)
        ratio = np.cumsum(var) / max(var.sum(), 1e-12)
        n_comp = int(np.searchsorted(ratio, 0.90) + 1)
        n_comp = max(1, min(n_comp, max(1, len(Z) // 3)))
        scorer.components = vt[:n_comp]
        kept = np.maximum(var[:n_comp], 1e-9)
        scorer.variances = kept + kept.mean()  # shrinkage towards the mean eigenvalue
        centred = Z - scorer.mean
        resid = centred - (centred @ scorer.components.T) @ scorer.components
        scorer.residual_ref = max(float((resid * resid).sum(axis=1).mean()), 1e-9)
    elif method == "isolation_forest":
        scorer.forest = IsolationForest(n_estimators=200, random_state=random_state).fit(Z)
    else:
        raise ValueError(f"unknown baseline method {method!r}; use one of {BASELINE_METHODS}")
    return scorer


@dataclass
class Baseline:
    """Anomaly detector learned from one machine's healthy clips (see module docstring)."""

    method: str = DEFAULT_METHOD
    k: int = 5
    quantile: float = 0.95
    margin: float = 1.25
    folds: int = 5
    random_state: int = 0
    sample_rate: int | None = None
    clip_seconds: float | None = None
    feature_set_id: str = FEATURE_SET_ID
    threshold: float = float("nan")
    n_clips: int = 0
    oof_scores: np.ndarray = field(default_factory=lambda: np.empty(0))
    _scorer: _Scorer | None = field(default=None, repr=False)

    def fit(self, X: np.ndarray) -> Baseline:
        """Learn from healthy feature rows ``X`` (at least ``MIN_BASELINE_CLIPS``)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < MIN_BASELINE_CLIPS:
            raise ValueError(f"a baseline needs at least {MIN_BASELINE_CLIPS} healthy clips, "
                             f"got {0 if X.ndim != 2 else len(X)}")
        folds = min(self.folds, len(X))
        fold_of = np.arange(len(X)) % folds
        oof = np.empty(len(X))
        for f in range(folds):
            held = fold_of == f
            scorer = _fit_scorer(X[~held], self.method, self.k, self.random_state)
            oof[held] = scorer.score(X[held])
        self.oof_scores = oof
        self.threshold = float(self.margin * np.quantile(oof, self.quantile))
        self._scorer = _fit_scorer(X, self.method, self.k, self.random_state)
        self.n_clips = int(len(X))
        return self

    @property
    def is_fitted(self) -> bool:
        return self._scorer is not None

    def score(self, X: np.ndarray) -> np.ndarray:
        """Anomaly score of each feature row (higher = less like the baseline)."""
        if self._scorer is None:
            raise RuntimeError("baseline is not fitted")
        return self._scorer.score(np.atleast_2d(X))

    def is_anomaly(self, X: np.ndarray) -> np.ndarray:
        """Boolean per row: score above the threshold."""
        return self.score(X) > self.threshold


def _anomaly_evidence(anomaly_score: float, threshold: float) -> float:
    """0..1; 0.5 at the threshold, ~0.11 at half of it, ~0.89 at twice it."""
    if not np.isfinite(threshold) or threshold <= 0:
        return 0.0
    ratio = max(float(anomaly_score), 0.0) / threshold
    return float(ratio ** 3 / (1.0 + ratio ** 3))


def health_level(score: float) -> str:
    """Level of a 0..100 health score (see ``LEVEL_CUTOFFS``)."""
    for level in HEALTH_LEVELS[:-1]:
        if score >= LEVEL_CUTOFFS[level]:
            return level
    return HEALTH_LEVELS[-1]


def health_score(probabilities: Mapping[str, float] | None, normal_label: str | None,
                 anomaly_score: float | None = None,
                 threshold: float | None = None) -> tuple[float, str]:
    """Health 0..100 (100 = like new) and its level.

    * fault probability ``p = 1 - probabilities[normal_label]`` (0 when there is
      no classifier verdict; when the model has no normal class, the anomaly
      evidence alone decides);
    * anomaly evidence ``a = r^3 / (1 + r^3)`` with ``r = anomaly_score /
      threshold``: 0.5 exactly at the threshold, 0.11 at half, 0.89 at twice;
    * risk = noisy-OR ``1 - (1 - p)(1 - a)``; score = ``100 (1 - risk)``.

    Levels: ``healthy`` >= 70, ``watch`` 45-70, ``warning`` 20-45, ``critical``
    < 20. So a clip right at the anomaly threshold with a confident "normal"
    verdict is ``watch`` (50); twice the threshold, or a fault probability
    above 0.8, is ``critical``; a fault probability of 0.3 alone is still
    ``healthy``.
    """
    p_fault = 0.0
    if probabilities and normal_label is not None and normal_label in probabilities:
        p_fault = float(np.clip(1.0 - float(probabilities[normal_label]), 0.0, 1.0))
    evidence = 0.0
    if anomaly_score is not None and threshold is not None:
        evidence = _anomaly_evidence(anomaly_score, threshold)
    risk = 1.0 - (1.0 - p_fault) * (1.0 - evidence)
    score = round(100.0 * (1.0 - risk), 1)
    return score, health_level(score)


def baseline_summary(baseline: Baseline) -> dict[str, Any]:
    """Plain-type description of a fitted baseline (for reports and metadata)."""
    return {"method": baseline.method, "threshold": baseline.threshold,
            "n_clips": baseline.n_clips, "quantile": baseline.quantile,
            "margin": baseline.margin, "sample_rate": baseline.sample_rate,
            "clip_seconds": baseline.clip_seconds}
