"""Calibration of evidence-family scores on out-of-fold baseline scores.

``upper_quantile`` reads a quantile from a log-normal fit of the upper half of the
scores (the threshold rule). ``TailCalibration`` turns one family's raw score into a
ratio of tail probabilities (``ml.baseline``, method ``families_tail``; ml/README.md,
"Figures (round 3)" and "Round 4").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TAIL_FRACTION = 0.2
"""Share of the out-of-fold scores (at least ``TAIL_MIN``) above which a family's
tail is modelled as a Pareto tail (``TailCalibration``)."""
TAIL_MIN = 5
TAIL_ALPHA_RANGE = (0.25, 8.0)


def upper_quantile(scores: np.ndarray, q: float) -> float:
    """The ``q`` quantile of positive scores read from a log-normal fit of their upper
    half (median and 50-90 % spread of the logs): steadier than the empirical
    quantile of 20-100 out-of-fold scores, whose top few values decide it."""
    from scipy.stats import norm

    logs = np.log(np.maximum(np.asarray(scores, dtype=np.float64), 1e-12))
    med = float(np.median(logs))
    spread = (float(np.quantile(logs, 0.9)) - med) / norm.ppf(0.9)
    return float(np.exp(med + norm.ppf(q) * max(spread, 0.0)))


@dataclass
class TailCalibration:
    """One family's calibration by tail probability on its out-of-fold scores.

    ``p(v)``, the chance that a healthy clip scores at least ``v``, is the empirical
    survival of the out-of-fold scores (count >= v over n + 1, interpolated in log
    between them) up to the ``(k+1)``-th largest ``u`` (k = ``TAIL_FRACTION`` of
    them, at least ``TAIL_MIN``), and above it a Pareto tail ``p(u) (v / u) **
    -alpha`` with the Hill estimate of ``alpha`` from the k largest. A family whose
    baseline clips already reach far (a deviation family that has heard room
    transients) thus counts a large value as less evidence than a family whose
    healthy scores stay tight (a new mains line). ``shrink`` (= the 95 % quantile /
    the family's calibration floor, <= 1) scales values first when the floor binds.
    ``ratio(v) = (1 - quantile) / p(v)``: 1 at the family's 95 % quantile, so the
    ratios read like the former ``score / calibration`` and stay comparable across
    families (equal ratio = equal tail probability).
    """

    values: np.ndarray  # unique out-of-fold scores, ascending
    log_survival: np.ndarray
    u: float
    alpha: float
    p_u: float
    shrink: float = 1.0
    level: float = 0.05

    @classmethod
    def fit(cls, scores: np.ndarray, quantile: float, floor: float) -> TailCalibration:
        s = np.sort(np.maximum(np.asarray(scores, dtype=np.float64), 0.0))
        n = len(s)
        k = min(max(TAIL_MIN, int(round(TAIL_FRACTION * n))), n - 1)
        u = float(s[n - 1 - k])
        top = np.maximum(s[n - k:], 1e-12)
        spread = float(np.sum(np.log(top / max(u, 1e-12))))
        alpha = float(np.clip(k / max(spread, 1e-9), *TAIL_ALPHA_RANGE))
        values, first = np.unique(s, return_index=True)
        q = upper_quantile(s, quantile)
        return cls(values, np.log((n - first) / (n + 1.0)), u, alpha, (k + 1) / (n + 1.0),
                   min(1.0, q / max(q, floor)), 1.0 - quantile)

    def p(self, v: np.ndarray) -> np.ndarray:
        v = self.shrink * np.maximum(np.asarray(v, dtype=np.float64), 0.0)
        body = np.exp(np.interp(v, self.values, self.log_survival))
        body = np.where(v < self.values[0], 1.0, body)
        tail = self.p_u * np.maximum(v / max(self.u, 1e-12), 1.0) ** -self.alpha
        return np.where(v > self.u, tail, body)

    def ratio(self, v: np.ndarray) -> np.ndarray:
        return self.level / self.p(v)
