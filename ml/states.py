"""Operating states of a machine (run / idle / ...) and the per-state family scorers.

``find_states`` clusters healthy feature rows by level and log-mel means;
``StateModel`` fits one scorer per evidence family (``ml.anomaly``) per state and
scores each row against the state it is nearest to. ``ml.baseline`` uses one state
by default (``Baseline(per_state=False)``): per-state models were more sensitive on
the development split but followed the within-cycle drift of the compressor
recordings far worse (ml/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.anomaly import (
    DEVIATION_COLUMNS,
    IMPULSE_COLUMNS,
    TOP_K,
    DeviationScorer,
    FamilyScore,
    HumScorer,
    LineScorer,
    LogmelMahalanobisScorer,
    MainsScorer,
    SubspaceScorer,
)
from ml.features import FEATURE_NAMES, N_MELS

STATE_FEATURES = ["rms_db"] + [f"logmel{i:02d}_mean" for i in range(N_MELS)]
STATE_COLUMNS = np.asarray([FEATURE_NAMES.index(n) for n in STATE_FEATURES])
MAX_STATES = 3
MIN_STATE_CLIPS = 8
MIN_STATE_FRACTION = 0.15
MIN_SILHOUETTE = 0.5


def find_states(X: np.ndarray, random_state: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray, np.ndarray]:
    """Operating states of healthy rows (run / idle / ...): centre, scale, centroids, labels.

    k-means (k = 2..``MAX_STATES``) on the standardised level and log-mel means;
    the k with the best silhouette is kept when the silhouette is at least
    ``MIN_SILHOUETTE`` and every state has ``MIN_STATE_CLIPS`` rows and
    ``MIN_STATE_FRACTION`` of them; otherwise one state.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    A = X[:, STATE_COLUMNS]
    center = np.median(A, axis=0)
    scale = np.maximum(A.std(axis=0), 1e-6)
    Z = (A - center) / scale
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    smallest = max(MIN_STATE_CLIPS, int(np.ceil(MIN_STATE_FRACTION * len(X))))
    for k in range(2, MAX_STATES + 1):
        if len(X) < k * smallest:
            break
        km = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(Z)
        if np.bincount(km.labels_, minlength=k).min() < smallest:
            continue
        sil = float(silhouette_score(Z, km.labels_))
        if sil >= MIN_SILHOUETTE and (best is None or sil > best[0]):
            best = (sil, km.cluster_centers_, km.labels_)
    if best is None:
        return center, scale, Z.mean(axis=0, keepdims=True), np.zeros(len(X), dtype=int)
    return center, scale, best[1], best[2].astype(int)


def assign_states(X: np.ndarray, center: np.ndarray, scale: np.ndarray,
                  centroids: np.ndarray) -> np.ndarray:
    """Nearest state of each row (by level and log-mel means, as ``find_states``)."""
    Z = (X[:, STATE_COLUMNS] - center) / scale
    d = ((Z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


FAMILY_SCORERS = {
    "subspace": SubspaceScorer,
    "deviation": lambda top_k=TOP_K: DeviationScorer(DEVIATION_COLUMNS, top_k=top_k),
    "impulse": lambda top_k=TOP_K: DeviationScorer(IMPULSE_COLUMNS, two_sided=False,
                                                   top_k=top_k),
    "lines": LineScorer,
    "mains": MainsScorer,
    "hum": HumScorer,
    "logmel_mahalanobis": LogmelMahalanobisScorer,
    "spectrum": LogmelMahalanobisScorer,  # the same score as an evidence family
}
"""Family name -> scorer factory."""


@dataclass
class StateModel:
    """Per operating state, one fitted scorer per family."""

    families: tuple[str, ...]
    per_state: bool = True
    top_k: int | None = None  # deviation / impulse: mean of the top_k largest z (None: TOP_K)
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    centroids: np.ndarray | None = None
    scorers: list[dict[str, object]] = field(default_factory=list)

    def fit(self, X: np.ndarray) -> StateModel:
        if self.per_state:
            self.center, self.scale, self.centroids, labels = find_states(X)
        else:
            labels = np.zeros(len(X), dtype=int)
            self.center = np.zeros(len(STATE_COLUMNS))
            self.scale = np.ones(len(STATE_COLUMNS))
            self.centroids = np.zeros((1, len(STATE_COLUMNS)))
        self.scorers = [{f: self._scorer(f).fit(X[labels == s]) for f in self.families}
                        for s in range(len(self.centroids))]
        return self

    def _scorer(self, family: str) -> Any:
        if self.top_k is not None and family in ("deviation", "impulse"):
            return FAMILY_SCORERS[family](self.top_k)
        return FAMILY_SCORERS[family]()

    @property
    def n_states(self) -> int:
        return len(self.scorers)

    def states_of(self, X: np.ndarray) -> np.ndarray:
        if self.n_states == 1:
            return np.zeros(len(X), dtype=int)
        return assign_states(X, self.center, self.scale, self.centroids)

    def score(self, X: np.ndarray) -> tuple[dict[str, FamilyScore], np.ndarray]:
        """Each family's scores of the rows (each row against its own state), and the states."""
        states = self.states_of(X)
        out = {f: FamilyScore(np.zeros(len(X)), np.zeros(len(X), dtype=int), np.zeros(len(X)))
               for f in self.families}
        for s in np.unique(states):
            rows = states == s
            for f, scorer in self.scorers[s].items():
                r = scorer.score(X[rows])
                out[f].scores[rows], out[f].feature[rows], out[f].value[rows] = \
                    r.scores, r.feature, r.value
        return out, states
