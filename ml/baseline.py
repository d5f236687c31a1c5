"""Per-compressor anomaly baseline and the combined health score.

A ``Baseline`` learns what *this* machine sounds like from feature vectors of
its first healthy clips (rows in recording order) and scores new clips by how
far they are from that.

Scoring (``method``):

``"families_tail"`` (default since round 4)
    The clip is compared with the healthy clips of its own **operating state**
    (``ml.anomaly.find_states``: run / idle / ... found by k-means on level and
    log-mel means; one state when they do not separate clearly) by seven
    evidence families (``ml.anomaly``): ``subspace`` (PCA Hotelling T^2 +
    residual of the broadband features), ``deviation`` (robust |z| of the
    non-line features, mean of the top 2), ``impulse`` (growth of impulsiveness,
    top 2), ``lines`` (a new or grown narrow-band line anywhere on the fine grid),
    ``mains`` (lines at k x 50 / 60 Hz as one comb), ``hum`` (the single strongest
    line at a mains harmonic against that cell's own baseline level) and
    ``spectrum`` (the log-mel Mahalanobis distance, floored at 2). Each family's
    score becomes a ratio of **tail probabilities** on its own out-of-fold scores
    (``ml.calibration.TailCalibration``: empirical survival, Pareto tail above the
    top fifth; 1 at the family's 95 % quantile, after the floor
    ``CALIBRATION_FLOOR`` / ``FAMILY_CALIBRATION_FLOOR``), so equal ratios mean
    equal rarity among the baseline's clips; the clip's score is the **largest**
    ratio, so one strongly deviating family is never diluted by the others.
    Meets every 20 dB target of bench/detection.py on all splits, drift tests
    included (ml/README.md, "Round 4").
``"families"`` (the default of rounds 1-3)
    The first six families (top 3 |z|), each divided by its own calibration
    constant, the 95th percentile of its out-of-fold scores (at least the floor).
    Baselines stored with it keep it (the method is pickled with the baseline).
``"mahalanobis"``
    The ``features-1`` default: the ``subspace`` family alone, one state.
``"logmel_mahalanobis"``
    The plain reference: log-mel band means, robust scaling, Ledoit-Wolf
    covariance, one state.

Calibration and threshold come from out-of-fold scores of the baseline clips
(``folds`` interleaved folds; each clip scored by a baseline fitted without its
fold, so the scores are not optimistically low). Quantiles are read from a
log-normal fit of the scores' upper half (``upper_quantile``), which is steadier
than the empirical 95th percentile of 20-100 scores:
``threshold = margin x upper_quantile(out_of_fold combined, quantile)``, 1.0 x the
95th percentile by default. Chosen with ``bench/detection.py`` (ml/README.md).

``update`` follows slow benign drift (``ml.drift``; with the ``spectrum`` family
the level-free spectral shape stays pinned to the original); ``explain`` says which
family and feature deviate most. ``health_score`` turns a classifier verdict and an
anomaly score into 0..100 and one of four levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.anomaly import line_frequency
from ml.calibration import TailCalibration, upper_quantile
from ml.drift import DriftPolicy, UpdateResult, pinned_ratio, update_baseline
from ml.features import FEATURE_NAMES, FEATURE_SET_ID, N_FEATURES
from ml.health import HEALTH_LEVELS as HEALTH_LEVELS  # re-exported: callers import them here
from ml.health import LEVEL_CUTOFFS as LEVEL_CUTOFFS
from ml.health import health_level as health_level
from ml.health import health_score as health_score
from ml.states import StateModel

METHOD_FAMILIES: dict[str, tuple[str, ...]] = {
    "families": ("subspace", "deviation", "impulse", "lines", "mains", "hum"),
    "families_tail": ("subspace", "deviation", "impulse", "lines", "mains", "hum",
                      "spectrum"),
    "mahalanobis": ("subspace",),
    "logmel_mahalanobis": ("logmel_mahalanobis",),
}
BASELINE_METHODS = tuple(METHOD_FAMILIES)
DEFAULT_METHOD = "families_tail"
MIN_BASELINE_CLIPS = 8
CALIBRATION_FLOOR = 0.5  # family scores are squared z-like: below 0.7 sigma is no evidence
TYPICAL_HEALTHY_RATIO = 0.3  # where score() puts the median healthy clip (x threshold)
MAX_SHAPE = 6.0
FAMILY_CALIBRATION_FLOOR: dict[str, float] = {"hum": 3.0, "spectrum": 2.0}
"""``hum`` is the largest of ~100 cells: one cell must stand 1.7 spreads above its
reference before it counts, whatever a few dozen baseline clips' tail says.
``spectrum`` (log-mel Mahalanobis / bands) is very sensitive to the slow drift of a
machine's band levels, which out-of-fold clips of one stretch of recording do not
show: a mean squared distance of 2 (1.4 robust spreads per band) is its least
evidence (1.0 let a gradually mixed-in idle state through tests/ml/test_ml_drift.py)."""
TAIL_METHODS: dict[str, int] = {"families_tail": 2}
"""Methods whose families are calibrated by tail probability (``TailCalibration``),
with the ``top_k`` of their deviation / impulse families (round 3; the default since
round 4, ml/README.md, "Round 4"). The others divide by the 95 % quantile."""


def oof_folds(n: int, folds: int) -> np.ndarray:
    """Fold of each of ``n`` rows: interleaved (row i in fold i mod folds)."""
    return np.arange(n) % max(1, min(folds, n))


@dataclass
class _Fitted:
    """One fitted state model with its calibration and threshold."""

    model: StateModel
    calibration: dict[str, float]
    threshold: float
    oof_scores: np.ndarray  # raw (largest calibrated family score)
    shape: float = 1.0
    tails: dict[str, TailCalibration] | None = None  # None: baselines fitted before round 3
    linear_threshold: float | None = None  # None: baselines fitted before round 4

    def linear_ratios(self, X: np.ndarray) -> tuple[np.ndarray, float]:
        """Largest ``family score / its 95 % quantile`` per row, and the threshold in those
        units: the scale of ``ml.drift``'s envelope rule (a tail ratio grows like a power
        of the score, so a cap on it would be far tighter than the same cap on these)."""
        if self.tails is None or self.linear_threshold is None:
            return self.score(X), self.threshold
        scores, _ = self.model.score(X)
        linear = np.max(np.vstack([s.scores / self.calibration[f]
                                   for f, s in scores.items()]), axis=0)
        return linear, self.linear_threshold

    def ratios(self, X: np.ndarray) -> tuple[dict[str, np.ndarray], Any, np.ndarray]:
        scores, states = self.model.score(X)
        if self.tails is not None:
            ratios = {f: self.tails[f].ratio(s.scores) for f, s in scores.items()}
        else:
            ratios = {f: s.scores / self.calibration[f] for f, s in scores.items()}
        return ratios, scores, states

    def score(self, X: np.ndarray) -> np.ndarray:
        ratios, _, _ = self.ratios(X)
        return np.max(np.vstack(list(ratios.values())), axis=0)

    def shape_ratio(self, X: np.ndarray) -> np.ndarray | None:
        """The ``spectrum`` family's ratio with the clip's overall level taken out
        (``LogmelMahalanobisScorer.score(level_free=True)``); None without that family."""
        if "spectrum" not in self.model.families:
            return None
        states = self.model.states_of(X)
        d2 = np.empty(len(X))
        for s in np.unique(states):
            rows = states == s
            d2[rows] = self.model.scorers[s]["spectrum"].score(X[rows], level_free=True).scores
        if self.tails is not None:
            return self.tails["spectrum"].ratio(d2)
        return d2 / self.calibration["spectrum"]


def _fit(X: np.ndarray, families: tuple[str, ...], per_state: bool, folds: int,
         quantile: float, margin: float, tail: bool = False,
         top_k: int | None = None) -> _Fitted:
    fold_of = oof_folds(len(X), folds)
    oof = {f: np.empty(len(X)) for f in families}
    for k in np.unique(fold_of):
        held = fold_of == k
        scores, _ = StateModel(families, per_state, top_k).fit(X[~held]).score(X[held])
        for f in families:
            oof[f][held] = scores[f].scores
    floor = {f: FAMILY_CALIBRATION_FLOOR.get(f, CALIBRATION_FLOOR) for f in families}
    calibration = {f: max(upper_quantile(oof[f], quantile), floor[f]) for f in families}
    tails = {f: TailCalibration.fit(oof[f], quantile, floor[f]) for f in families} \
        if tail else None
    linear = np.max(np.vstack([oof[f] / calibration[f] for f in families]), axis=0)
    linear_threshold = float(margin * upper_quantile(linear, quantile))
    combined = linear
    if tails is not None:
        combined = np.max(np.vstack([tails[f].ratio(oof[f]) for f in families]), axis=0)
    threshold = float(margin * upper_quantile(combined, quantile))
    typical = float(np.median(combined)) / threshold
    shape = 1.0
    if TYPICAL_HEALTHY_RATIO < typical < 1.0:
        shape = float(np.clip(np.log(TYPICAL_HEALTHY_RATIO) / np.log(typical), 1.0, MAX_SHAPE))
    return _Fitted(StateModel(families, per_state, top_k).fit(X), calibration, threshold, combined,
                   shape, tails, linear_threshold)


@dataclass
class Baseline:
    """Anomaly detector learned from one machine's healthy clips (see module docstring)."""

    method: str = DEFAULT_METHOD
    quantile: float = 0.95
    margin: float = 1.0
    folds: int = 5
    per_state: bool = False
    sample_rate: int | None = None
    clip_seconds: float | None = None
    policy: DriftPolicy = field(default_factory=DriftPolicy)
    feature_set_id: str = FEATURE_SET_ID
    threshold: float = float("nan")
    n_clips: int = 0
    oof_scores: np.ndarray = field(default_factory=lambda: np.empty(0))
    _current: _Fitted | None = field(default=None, repr=False)
    _original: _Fitted | None = field(default=None, repr=False)
    _original_rows: np.ndarray | None = field(default=None, repr=False)
    _reservoir: np.ndarray | None = field(default=None, repr=False)
    _admitted_since_refit: int = 0
    _qualifying_since_admit: int = 0
    _last_admit_time: float | None = None
    n_admitted: int = 0
    n_refits: int = 0

    # ------------------------------------------------------------------ fitting
    def fit(self, X: np.ndarray) -> Baseline:
        """Learn from healthy feature rows ``X`` (recording order, >= ``MIN_BASELINE_CLIPS``)."""
        X = self._check(X)
        if len(X) < MIN_BASELINE_CLIPS:
            raise ValueError(f"a baseline needs at least {MIN_BASELINE_CLIPS} healthy clips, "
                             f"got {len(X)}")
        if self.method not in METHOD_FAMILIES:
            raise ValueError(f"unknown baseline method {self.method!r}; "
                             f"use one of {BASELINE_METHODS}")
        self._original_rows = X
        self._reservoir = np.empty((0, X.shape[1]))
        self._original = self._current = self._fit_rows(X)
        self._admitted_since_refit = self._qualifying_since_admit = 0
        self._last_admit_time = None
        self.n_admitted = self.n_refits = 0
        self._publish(len(X))
        return self

    def _fit_rows(self, X: np.ndarray) -> _Fitted:
        per_state = self.method in ("families", "families_tail") and self.per_state
        return _fit(X, METHOD_FAMILIES[self.method], per_state, self.folds, self.quantile,
                    self.margin, tail=self.method in TAIL_METHODS,
                    top_k=TAIL_METHODS.get(self.method))

    def _publish(self, n: int) -> None:
        current = self._current
        assert current is not None
        self.threshold = current.threshold
        self.oof_scores = current.threshold * (current.oof_scores / current.threshold) \
            ** current.shape
        self.n_clips = int(n)

    @staticmethod
    def _check(X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise ValueError(f"expected feature rows of {N_FEATURES} values "
                             f"({FEATURE_SET_ID}), got shape {X.shape}")
        return X

    @property
    def is_fitted(self) -> bool:
        return self._current is not None

    @property
    def families(self) -> tuple[str, ...]:
        """The evidence families this baseline scores with (those it was fitted with)."""
        if self._current is not None:
            return tuple(self._current.model.families)
        return METHOD_FAMILIES[self.method]

    # ------------------------------------------------------------------ scoring
    def _require(self) -> tuple[_Fitted, _Fitted]:
        if self._current is None or self._original is None:
            raise RuntimeError("baseline is not fitted")
        return self._current, self._original

    def _ratios(self, X: np.ndarray, before: dict[str, np.ndarray] | None = None,
                ) -> tuple[dict[str, np.ndarray], Any, np.ndarray]:
        """Each family's ratio against the current baseline (``_Fitted.ratios``); for a
        drifted tail-calibrated baseline never above the original's (``ml.drift``, rule 6).
        ``before``: the original's ratios of ``X`` when the caller has them already."""
        current, original = self._current, self._original
        assert current is not None and original is not None
        ratios, scores, states = current.ratios(X)
        if current is not original and current.tails is not None and \
                getattr(self.policy, "never_stricter", False):
            if before is None:
                before, _, _ = original.ratios(X)
            scale = current.threshold / original.threshold
            ratios = {f: np.minimum(r, before[f] * scale) if f in before else r
                      for f, r in ratios.items()}
        return ratios, scores, states

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """The largest calibrated family score of each row (before ``score``'s shaping)."""
        current, original = self._require()
        X = self._check(X)
        drifted = current is not original
        # a drifted baseline reads the original's ratios twice (rules 5 and 6): score once
        before = original.ratios(X)[0] if drifted else None
        ratios, _, _ = self._ratios(X, before)
        score = np.max(np.vstack(list(ratios.values())), axis=0)
        if drifted:  # the fault families stay pinned (ml.drift, rule 5)
            guard = pinned_ratio(self, X, before)
            if guard is not None:
                score = np.maximum(score, guard * current.threshold / original.threshold)
        return score

    def score(self, X: np.ndarray) -> np.ndarray:
        """Anomaly score of each feature row (higher = less like the baseline;
        above ``threshold`` = anomaly).

        ``threshold x (raw / threshold) ** shape``: a monotone reshaping of
        ``raw_score`` (same ranking, same threshold) that puts the median
        out-of-fold healthy clip at ``TYPICAL_HEALTHY_RATIO`` of the threshold, so that
        ``health_score``'s mapping (0.5 evidence at the threshold) reads a typical
        healthy clip as healthy. The maximum of several calibrated families crowds
        healthy clips just under the threshold without it.
        """
        current, _ = self._require()
        raw = self.raw_score(X)
        return current.threshold * (np.maximum(raw, 0.0) / current.threshold) ** current.shape

    def is_anomaly(self, X: np.ndarray) -> np.ndarray:
        """Boolean per row: score above the threshold."""
        return self.score(X) > self.threshold

    def family_scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Each family's score per row in units of the threshold (> 1: that family alone
        calls the clip an anomaly)."""
        current, _ = self._require()
        ratios, _, _ = self._ratios(self._check(X))
        return {f: r / current.threshold for f, r in ratios.items()}

    def explain(self, x: np.ndarray, top: int = 5) -> dict[str, Any]:
        """What deviates most in one clip: for the incident view ("what changed").

        Returns ``score``, ``threshold``, ``is_anomaly``, ``state`` (index of the
        operating state it was compared with), ``families`` (each family's score
        / threshold, largest first), ``family`` (the largest), ``feature`` and
        ``feature_value`` (that family's most deviating feature and its robust z
        or line excess in spreads), ``line_hz`` (the line's frequency when the
        family is ``lines`` or ``mains``, else None) and ``top_features``
        (``top`` features by |z| against the clip's state: name, value, z).
        """
        current, _ = self._require()
        X = self._check(x)[:1]
        ratios, scores, states = self._ratios(X)
        fam = {f: round(float(r[0] / current.threshold), 4) for f, r in ratios.items()}
        fam = dict(sorted(fam.items(), key=lambda kv: -kv[1]))
        best = next(iter(fam))
        column = int(scores[best].feature[0])
        scorer = current.model.scorers[int(states[0])]
        z_of = self._z_scores(scorer, X[0])
        order = sorted(z_of, key=lambda kv: -abs(kv[1]))[:top]
        score = float(self.score(X)[0])
        return {
            "score": round(score, 6), "threshold": round(float(self.threshold), 6),
            "is_anomaly": bool(score > self.threshold), "state": int(states[0]),
            "families": fam, "family": best, "feature": FEATURE_NAMES[column],
            "feature_value": round(float(scores[best].value[0]), 3),
            "line_hz": line_frequency(column) if best in ("lines", "mains", "hum") else None,
            "top_features": [{"feature": FEATURE_NAMES[c], "value": round(float(X[0, c]), 4),
                              "z": round(float(z), 2)} for c, z in order],
        }

    @staticmethod
    def _z_scores(scorers: Mapping[str, Any], x: np.ndarray) -> list[tuple[int, float]]:
        for name in ("deviation", "subspace", "logmel_mahalanobis"):
            scorer = scorers.get(name)
            if scorer is not None and getattr(scorer, "center", None) is not None:
                z = (x[scorer.columns] - scorer.center) / scorer.scale
                return list(zip(scorer.columns.tolist(), z.tolist(), strict=True))
        return []

    # ------------------------------------------------------------------ drift
    def update(self, X: np.ndarray, times: Sequence[float] | None = None) -> UpdateResult:
        """Offer new clips' feature rows (in recording order) to the drift policy.

        ``times``: recording times in seconds (e.g. POSIX timestamps), one per row;
        without them every ``policy.admit_every``-th qualifying clip is admitted.
        Call it after scoring each new clip; persist the baseline when the result
        says ``changed`` (see ``ml.drift`` and ml/README.md, "Integration").
        """
        self._require()
        return update_baseline(self, self._check(X), times)

    def _refit(self) -> None:
        assert self._original_rows is not None and self._reservoir is not None
        rows = np.vstack([self._original_rows, self._reservoir])
        self._current = self._fit_rows(rows)
        self._admitted_since_refit = 0
        self.n_refits += 1
        self._publish(len(rows))

    def reset_drift(self) -> None:
        """Forget every admitted clip: back to the original baseline."""
        self._require()
        assert self._original_rows is not None
        self._reservoir = np.empty((0, self._original_rows.shape[1]))
        self._current = self._original
        self._admitted_since_refit = self._qualifying_since_admit = 0
        self._last_admit_time = None
        self._publish(len(self._original_rows))


def baseline_summary(baseline: Baseline) -> dict[str, Any]:
    """Plain-type description of a fitted baseline (for reports and metadata)."""
    states = baseline._current.model.n_states if baseline._current is not None else None
    return {"method": baseline.method, "threshold": baseline.threshold,
            "n_clips": baseline.n_clips, "quantile": baseline.quantile,
            "margin": baseline.margin, "sample_rate": baseline.sample_rate,
            "clip_seconds": baseline.clip_seconds, "n_states": states,
            "n_admitted": baseline.n_admitted, "n_refits": baseline.n_refits}
