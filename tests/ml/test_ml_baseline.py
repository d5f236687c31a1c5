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
    upper_quantile,
)
from ml.features import FEATURE_NAMES, N_FEATURES


def _normal_rows(n: int, seed: int) -> np.ndarray:
    """Full-width feature rows: five latent factors mixed into every feature, plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 5))
    mixing = np.random.default_rng(99).standard_normal((5, N_FEATURES))
    return latent @ mixing + 0.3 * rng.standard_normal((n, N_FEATURES))


LOGMEL_MEANS = [FEATURE_NAMES.index(f"logmel{i:02d}_mean") for i in range(40)]


@pytest.mark.parametrize("method", BASELINE_METHODS)
def test_baseline_flags_shifted_clips_not_fresh_normal_ones(method: str) -> None:
    baseline = Baseline(method=method).fit(_normal_rows(80, 0))
    assert baseline.is_anomaly(_normal_rows(200, 1)).mean() <= 0.12
    shifted = _normal_rows(50, 2)
    shifted[:, LOGMEL_MEANS[:10]] += 8.0  # ten bands far louder: every method sees it
    normal = baseline.score(_normal_rows(50, 3))
    y = np.r_[np.zeros(50), np.ones(50)]
    assert roc_auc_score(y, np.r_[normal, baseline.score(shifted)]) >= 0.95
    assert baseline.is_anomaly(shifted).mean() >= 0.9


@pytest.mark.parametrize("feature", ["imp_low_rate_hz", "kurtosis", "hum100_prominence_db"])
def test_a_single_strongly_deviating_feature_is_not_diluted(feature: str) -> None:
    X = _normal_rows(80, 0)
    families = Baseline().fit(X)
    subspace = Baseline(method="mahalanobis").fit(X)  # the features-1 score
    shifted = _normal_rows(50, 2)
    j = FEATURE_NAMES.index(feature)
    shifted[:, j] += 6.0 * X[:, j].std()
    assert families.is_anomaly(shifted).mean() >= 0.9
    if feature.startswith("imp_"):  # not among the features-1 subspace's inputs at all
        assert subspace.is_anomaly(shifted).mean() <= 0.2
    explained = families.explain(shifted[0])
    expected = ("deviation", "impulse") if feature.startswith("imp_") else \
        ("deviation", "subspace")
    assert explained["family"] in expected
    assert explained["feature"] == feature
    assert explained["families"][explained["family"]] > 1.0
    assert explained["is_anomaly"]


def test_explain_and_family_scores_agree_with_the_score() -> None:
    baseline = Baseline().fit(_normal_rows(60, 4))
    x = _normal_rows(3, 5)
    parts = baseline.family_scores(x)
    assert set(parts) == set(baseline.families)
    combined = np.max(np.vstack(list(parts.values())), axis=0) * baseline.threshold
    np.testing.assert_allclose(combined, baseline.raw_score(x), rtol=1e-9)
    # score() reshapes raw_score monotonically and keeps the threshold
    assert np.array_equal(np.argsort(baseline.score(x)), np.argsort(baseline.raw_score(x)))
    info = baseline.explain(x[1])
    assert info["score"] == pytest.approx(baseline.score(x[1:2])[0], rel=1e-5)
    assert list(info["families"].values()) == sorted(info["families"].values(), reverse=True)
    assert len(info["top_features"]) == 5


def test_threshold_comes_from_out_of_fold_scores() -> None:
    X = _normal_rows(60, 4)
    baseline = Baseline().fit(X)
    assert baseline.threshold == pytest.approx(
        baseline.margin * upper_quantile(baseline.oof_scores, 0.95))
    # in-sample scores are lower than out-of-fold ones (why the threshold uses the latter)
    assert np.median(baseline.score(X)) < np.median(baseline.oof_scores)


def test_upper_quantile_reads_a_log_normal_tail() -> None:
    scores = np.exp(np.random.default_rng(0).normal(0.0, 0.5, 4000))
    assert upper_quantile(scores, 0.95) == pytest.approx(np.exp(0.5 * 1.6449), rel=0.05)


def test_baseline_needs_enough_full_width_clips_and_fitting() -> None:
    with pytest.raises(ValueError):
        Baseline().fit(_normal_rows(MIN_BASELINE_CLIPS - 1, 5))
    with pytest.raises(RuntimeError):
        Baseline().score(np.zeros((1, N_FEATURES)))
    with pytest.raises(ValueError):
        Baseline(method="magic").fit(_normal_rows(20, 5))
    with pytest.raises(ValueError):
        Baseline().fit(np.zeros((20, 40)))


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


def test_a_new_150_hz_line_is_found_by_the_line_comparison() -> None:
    from ml.features import extract_features_batch

    sr = 8_000
    t = np.arange(2 * sr) / sr

    def machine(seed: int, line_150: float = 0.0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        y = (0.2 * rng.uniform(0.8, 1.2) * np.sin(2 * np.pi * 494 * t + rng.uniform(0, 6))
             + 0.08 * np.sin(2 * np.pi * 120 * t + rng.uniform(0, 6))
             + 0.05 * rng.standard_normal(len(t)))
        return (y + line_150 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)

    baseline = Baseline(sample_rate=sr).fit(extract_features_batch(
        [machine(s) for s in range(30)], sr))
    healthy = extract_features_batch([machine(100 + s) for s in range(20)], sr)
    hum = extract_features_batch([machine(200 + s, line_150=0.006) for s in range(20)], sr)
    assert baseline.is_anomaly(hum).mean() >= 0.9  # a line 30 dB below the motor tone
    assert baseline.is_anomaly(healthy).mean() <= 0.15
    info = baseline.explain(hum[0])
    assert info["family"] in ("lines", "mains", "hum")  # 150 Hz = 3 x 50 Hz
    assert info["line_hz"] == pytest.approx(150.0, abs=1.0)


def test_tail_calibration_reads_a_pareto_tail_and_ranks_by_rarity() -> None:
    from ml.calibration import TailCalibration

    rng = np.random.default_rng(0)
    heavy = rng.pareto(1.0, 400) + 1.0  # index 1: healthy clips already reach far
    light = rng.pareto(4.0, 400) + 1.0
    th, tl = TailCalibration.fit(heavy, 0.95, 0.0), TailCalibration.fit(light, 0.95, 0.0)
    assert th.alpha == pytest.approx(1.0, rel=0.3) and tl.alpha == pytest.approx(4.0, rel=0.3)
    # 1 at the family's own 95 % quantile, monotone above
    assert th.ratio(np.array([np.quantile(heavy, 0.95)]))[0] == pytest.approx(1.0, rel=0.25)
    v = np.linspace(1.0, 50.0, 50)
    assert np.all(np.diff(th.ratio(v)) >= 0)
    # the same 3 x the 95 % quantile is far rarer (a larger ratio) in the light family
    r_heavy = th.ratio(np.array([3 * np.quantile(heavy, 0.95)]))[0]
    r_light = tl.ratio(np.array([3 * np.quantile(light, 0.95)]))[0]
    assert r_light > 5 * r_heavy


def test_the_tail_calibrated_method_keeps_single_feature_shifts_and_false_alarms() -> None:
    X = _normal_rows(80, 0)
    baseline = Baseline(method="families_tail").fit(X)
    assert baseline.is_anomaly(_normal_rows(200, 1)).mean() <= 0.08
    shifted = _normal_rows(50, 2)
    j = FEATURE_NAMES.index("imp_low_rate_hz")
    shifted[:, j] += 6.0 * X[:, j].std()
    assert baseline.is_anomaly(shifted).mean() >= 0.9
    assert baseline.explain(shifted[0])["family"] == "impulse"


def test_a_stored_families_baseline_keeps_its_method_and_drift_rules(tmp_path) -> None:
    from ml.baseline import DEFAULT_METHOD
    from ml.drift import DriftPolicy

    X = _normal_rows(40, 8)
    policy = DriftPolicy(admit_every=1, refit_every=3)
    stored = Baseline(method="families", policy=policy).fit(X)
    # as pickled before round 4: no linear threshold, a policy without the new rules
    for fitted in (stored._current, stored._original):
        fitted.__dict__.pop("linear_threshold", None)  # one object until a refit
    for name in ("pin_shape", "never_stricter"):
        del stored.policy.__dict__[name]
    path = tmp_path / "old.joblib"
    joblib.dump(stored, path)
    again = joblib.load(path)
    fresh = Baseline(method="families", policy=policy).fit(X)
    assert DEFAULT_METHOD == "families_tail" and "spectrum" in Baseline().fit(X).families
    assert again.method == "families" and "spectrum" not in again.families
    probe = _normal_rows(10, 9)
    np.testing.assert_array_equal(again.score(probe), fresh.score(probe))
    later = _normal_rows(15, 10)
    assert again.update(later).admitted.tolist() == fresh.update(later).admitted.tolist()
    assert again.n_refits == fresh.n_refits > 0
    np.testing.assert_allclose(again.score(probe), fresh.score(probe), rtol=1e-12)
