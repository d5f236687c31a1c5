"""How a fitted ``Baseline`` follows slow benign change without learning a fault.

``Baseline.update(X, times)`` (see ``ml/README.md``, "Drift policy") applies a
``DriftPolicy`` to each new clip's feature row:

1. **Only comfortably normal clips are admitted**: the clip's score against the
   *current* baseline is no higher than the ``admit_quantile`` quantile of that
   baseline's own out-of-fold scores (as normal as nine in ten of the clips it
   learned from).
2. **They stay inside the original envelope**: against the *original* baseline
   (the one fitted from the first clips, kept frozen) the clip scores at most
   ``original_cap`` x the original threshold, read on *linear* family ratios
   (family score / its 95 % quantile, ``_Fitted.linear_ratios``: a tail-probability
   ratio grows like a power of the score, so the same cap on it would stop a
   +3 dB gain drift), and each fault family (``strict_families``: impulsiveness,
   lines, mains lines, hum) at most 1 x the threshold. With ``pin_shape`` and a
   ``spectrum`` family, the **level-free spectral shape** (the log-mel Mahalanobis
   distance to the nearest level-shifted original baseline,
   ``LogmelMahalanobisScorer.score(level_free=True)``) must also stay within 1 x
   the original threshold. Level may drift (gain, load, duty cycle); a new knock,
   a new line or a new band of hiss never becomes normal.
3. **Slowly**: at most one admitted clip per ``min_interval_s`` seconds of
   recording time (when times are given), otherwise one in ``admit_every``
   qualifying clips.
4. Admitted rows go into a FIFO **reservoir** holding at most ``reservoir_size``
   rows (default: twice the original baseline), so the original clips always make
   at least a third of what the baseline learns from. Every
   ``refit_every`` admissions the baseline is refitted on original + reservoir
   (same method, same out-of-fold threshold rule).
5. **Cumulative drift is capped**: clips beyond ``original_cap`` x the original
   threshold are never admitted, so the current baseline cannot stretch further
   than about that, and anything beyond is flagged; a broadband fault that grows
   over days is absorbed at most up to there and then crosses the threshold.
   The fault families and the level-free spectral shape are **pinned** at scoring
   time (``pinned_ratio``): their score against the *original* baseline (rescaled
   to the current threshold) counts too, so a knock, a hum or a valve's hiss is
   flagged exactly as the original baseline would flag it, however long the
   baseline has drifted. (A tail-calibrated baseline without the shape pin learned
   a valve leak growing over 300 clips: ml/README.md, "Round 4".)
6. **A refit only relaxes** (``never_stricter``; tail-calibrated baselines): each
   family's ratio against the current baseline is at most its ratio against the
   original (rescaled to the current threshold). The reservoir holds the clips of
   whichever state the machine ran in lately, and tail probabilities are sensitive
   to that mix: after 33 run clips were admitted, healthy idle clips the original
   found normal were flagged by the refit's ``deviation`` (4 -> 8 % of healthy
   clips flagged on bench/detection.py's chronological split). Drift is followed
   (the current baseline relaxes what moved), and whatever the original baseline
   found normal stays normal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ml.baseline import Baseline


@dataclass(frozen=True)
class DriftPolicy:
    """Parameters of ``Baseline.update`` (module docstring)."""

    admit_quantile: float = 0.9
    original_cap: float = 3.0
    strict_families: tuple[str, ...] = ("impulse", "lines", "mains", "hum")
    min_interval_s: float = 600.0
    admit_every: int = 3
    reservoir_size: int | None = None
    refit_every: int = 5
    pin_shape: bool = True  # pin the level-free spectral shape (rule 2 and 5)
    never_stricter: bool = True  # a refit may only relax a tail-calibrated family (rule 6)


@dataclass
class UpdateResult:
    """What ``Baseline.update`` did with the rows it was given."""

    admitted: np.ndarray  # bool per row
    reasons: list[str] = field(default_factory=list)  # per row: why (not) admitted
    refitted: bool = False
    changed: bool = False  # the baseline object changed: persist it

    def to_dict(self) -> dict[str, object]:
        return {"admitted": self.admitted.tolist(), "reasons": list(self.reasons),
                "refitted": self.refitted, "changed": self.changed}


def update_baseline(baseline: Baseline, X: np.ndarray,
                    times: Sequence[float] | None = None) -> UpdateResult:
    """``Baseline.update``: apply the baseline's ``DriftPolicy`` to rows ``X``."""
    policy = baseline.policy
    if times is not None and len(times) != len(X):
        raise ValueError("one time per row")
    admitted = np.zeros(len(X), dtype=bool)
    reasons: list[str] = []
    changed = refitted = False
    for i, row in enumerate(X):
        reason = _admission(baseline, row[None, :])
        if reason is None:
            t = None if times is None else float(times[i])
            reason = _rate_allows(baseline, t)
            changed = changed or times is None  # the clip counter moved
        if reason is None:
            admitted[i] = changed = True
            _admit(baseline, row, None if times is None else float(times[i]))
            reason = "admitted"
            if baseline._admitted_since_refit >= policy.refit_every:
                baseline._refit()
                refitted = True
        reasons.append(reason)
    return UpdateResult(admitted, reasons, refitted, changed or refitted)


def pinned_ratio(baseline: Baseline, X: np.ndarray,
                 ratios: dict[str, np.ndarray] | None = None) -> np.ndarray | None:
    """Per row, the largest pinned ratio against the *original* baseline: each strict
    family and, with ``pin_shape``, the level-free spectral shape (rule 5); None when
    there is nothing to pin. ``ratios``: the original's family ratios of ``X``, when
    the caller has them already."""
    original = baseline._original
    assert original is not None
    policy = baseline.policy
    parts = []
    strict = [f for f in policy.strict_families if f in original.model.families]
    if strict:
        if ratios is None:
            ratios, _, _ = original.ratios(X)
        parts += [ratios[f] for f in strict]
    if getattr(policy, "pin_shape", False):
        shape = original.shape_ratio(X)
        if shape is not None:
            parts.append(shape)
    return np.max(np.vstack(parts), axis=0) if parts else None


def _admission(baseline: Baseline, row: np.ndarray) -> str | None:
    """Why the clip may not be admitted, or None when it may."""
    current, original = baseline._current, baseline._original
    assert current is not None and original is not None
    policy = baseline.policy
    if float(baseline.raw_score(row)[0]) > float(np.quantile(current.oof_scores,
                                                         policy.admit_quantile)):
        return "not comfortably normal"
    linear, linear_threshold = original.linear_ratios(row)
    if float(linear[0]) > policy.original_cap * linear_threshold:
        return "outside the original envelope"
    ratios, _, _ = original.ratios(row)
    for family in policy.strict_families:
        if family in ratios and float(ratios[family][0]) > original.threshold:
            return f"{family} outside the original envelope"
    if getattr(policy, "pin_shape", False):
        shape = original.shape_ratio(row)
        if shape is not None and float(shape[0]) > original.threshold:
            return "spectral shape outside the original envelope"
    return None


def _rate_allows(baseline: Baseline, t: float | None) -> str | None:
    policy = baseline.policy
    if t is not None:
        if baseline._last_admit_time is not None and \
                t - baseline._last_admit_time < policy.min_interval_s:
            return "too soon after the last admitted clip"
        return None
    baseline._qualifying_since_admit += 1
    if baseline._qualifying_since_admit < policy.admit_every:
        return "rate limit"
    return None


def _admit(baseline: Baseline, row: np.ndarray, t: float | None) -> None:
    assert baseline._original_rows is not None and baseline._reservoir is not None
    size = baseline.policy.reservoir_size or 2 * len(baseline._original_rows)
    baseline._reservoir = np.vstack([baseline._reservoir, row[None, :]])[-size:]
    baseline._qualifying_since_admit = 0
    baseline._last_admit_time = t
    baseline._admitted_since_refit += 1
    baseline.n_admitted += 1
