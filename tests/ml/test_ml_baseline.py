"""Per-machine anomaly baseline and the health score."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml.baseline import (
    BASELINE_METHODS,
    LEVEL_CUTOFFS,
    MIN_BASELINE_CLIPS,
    Baseline,
    health_level,
    health_score,
)


def _normal_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 5))
    mixing = np.random.default_rng(99).standard_normal((5, 40))
    return latent @ mixing + 0.3 * rng.standard_normal((n, 40))


@pytest.mark.parametrize("method", BASELINE_METHODS)
def test_baseline_flags_shifted_clips_not_fresh_normal_ones(method: str) -> None:
    baseline = Baseline(method=method).fit(_normal_rows(80, 0))
    fresh = baseline.is_anomaly(_normal_rows(200, 1))
    assert fresh.mean() <= 0.10
    shifted = _normal_rows(50, 2)
    shifted[:, :10] += 8.0  # a quarter of the features far outside their normal range
    normal = baseline.score(_normal_rows(50, 3))
    y = np.r_[np.zeros(50), np.ones(50)]
    auc = roc_auc_score(y, np.r_[normal, baseline.score(shifted)])
    if method == "isolation_forest":  # the weakest of the three here, as on real data
        assert auc >= 0.85
    else:
        assert auc >= 0.95
        assert baseline.is_anomaly(shifted).mean() >= 0.9


def test_mahalanobis_sees_a_single_feature_leaving_its_subspace() -> None:
    baseline = Baseline(method="mahalanobis").fit(_normal_rows(80, 0))
    shifted = _normal_rows(50, 2)
    shifted[:, 7] += 6.0  # one feature breaks the correlation structure
    assert baseline.is_anomaly(shifted).mean() >= 0.9


def test_threshold_comes_from_out_of_fold_scores() -> None:
    X = _normal_rows(60, 4)
    baseline = Baseline().fit(X)
    assert baseline.threshold == pytest.approx(1.25 * np.quantile(baseline.oof_scores, 0.95))
    # in-sample scores are lower than out-of-fold ones (why the threshold uses the latter)
    assert np.median(baseline.score(X)) < np.median(baseline.oof_scores)


def test_baseline_needs_enough_clips_and_fitting() -> None:
    with pytest.raises(ValueError):
        Baseline().fit(_normal_rows(MIN_BASELINE_CLIPS - 1, 5))
    with pytest.raises(RuntimeError):
        Baseline().score(np.zeros((1, 40)))
    with pytest.raises(ValueError):
        Baseline(method="magic").fit(_normal_rows(20, 5))


def test_baseline_round_trips_through_joblib(tmp_path) -> None:
    baseline = Baseline().fit(_normal_rows(30, 6))
    path = tmp_path / "b.joblib"
    joblib.dump(baseline, path)
    again = joblib.load(path)
    X = _normal_rows(5, 7)
    np.testing.assert_array_equal(again.score(X), baseline.score(X))
    assert again.threshold == baseline.threshold


def test_health_score_levels_and_cutoffs() -> None:
    normal = {"normal": 1.0, "bearing": 0.0}
    assert health_score(normal, "normal") == (100.0, "healthy")
    assert health_score({"normal": 0.7, "bearing": 0.3}, "normal") == (70.0, "healthy")
    assert health_score({"normal": 0.5, "bearing": 0.5}, "normal") == (50.0, "watch")
    assert health_score({"normal": 0.3, "bearing": 0.7}, "normal") == (30.0, "warning")
    assert health_score({"normal": 0.1, "bearing": 0.9}, "normal") == (10.0, "critical")
    # anomaly evidence alone: at the threshold -> 50 (watch); twice -> critical
    assert health_score(normal, "normal", 1.0, 1.0) == (50.0, "watch")
    assert health_score(normal, "normal", 2.0, 1.0)[1] == "critical"
    assert health_score(normal, "normal", 0.3, 1.0)[1] == "healthy"
    # both kinds of evidence combine (noisy-OR): worse than either alone
    both = health_score({"normal": 0.6, "bearing": 0.4}, "normal", 1.0, 1.0)[0]
    assert both < min(60.0, 50.0)
    # no classifier verdict / no normal class: anomaly evidence alone decides
    assert health_score(None, None, 1.0, 1.0) == (50.0, "watch")
    assert health_score({"a": 0.5, "b": 0.5}, "normal") == (100.0, "healthy")
    assert [health_level(s) for s in (LEVEL_CUTOFFS["healthy"], LEVEL_CUTOFFS["watch"],
                                      LEVEL_CUTOFFS["warning"], 0.0)] == \
        ["healthy", "watch", "warning", "critical"]


def test_health_score_is_monotonic_in_anomaly_score() -> None:
    scores = [health_score({"normal": 0.9, "x": 0.1}, "normal", a, 2.0)[0]
              for a in np.linspace(0, 10, 21)]
    assert all(b <= a for a, b in zip(scores, scores[1:], strict=False))
    assert 0.0 <= min(scores) and max(scores) <= 100.0
