"""The health score: a classifier verdict and an anomaly score as 0..100 and one of four
levels (``health_score``; ml/README.md, "Design notes")."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

HEALTH_LEVELS = ("healthy", "watch", "warning", "critical")
LEVEL_CUTOFFS = {"healthy": 70.0, "watch": 45.0, "warning": 20.0}
"""Lowest score of each level: >= 70 healthy, >= 45 watch, >= 20 warning, else critical."""


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
