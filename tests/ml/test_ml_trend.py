"""The health trend (ml/trend.py): flat gives no projection, a steady decline gives one
within tolerance, a single odd clip does not move it, too few points give nothing."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ml.trend import CRITICAL_BELOW, WARNING_BELOW, health_trend, hourly_medians

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def series(days: float, start: float, per_day: float, noise: float = 1.0, per_hour: int = 4,
           seed: int = 0) -> list[tuple[dt.datetime, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(int(days * 24 * per_hour)):
        t = i / (24 * per_hour)
        out.append((T0 + dt.timedelta(days=t), start + per_day * t + rng.normal(0, noise)))
    return out


def test_flat_health_gives_no_projection():
    trend = health_trend(series(7, 92, 0.0, noise=2.0))
    assert trend.slope_per_day is not None and abs(trend.slope_per_day) < 0.5
    assert not trend.declining
    assert trend.to_warning is None and trend.to_critical is None


def test_steady_decline_projects_the_warning_within_tolerance():
    # 95 -> 67 over 7 days at -4/day: warning (below 45) 22 points later, ~5.5 days.
    points = series(7, 95, -4.0, noise=2.0)
    trend = health_trend(points)
    assert trend.declining
    assert abs(trend.slope_per_day + 4.0) < 0.3
    assert abs(trend.smoothed - 67.0) < 1.5
    expected = (67.0 - WARNING_BELOW) / 4.0
    projection = trend.to_warning
    assert projection is not None and abs(projection.days - expected) < 0.5
    assert projection.earliest <= projection.days <= projection.latest
    critical = trend.to_critical
    assert critical is not None
    assert abs(critical.days - (67.0 - CRITICAL_BELOW) / 4.0) < 0.7
    assert trend.next_projection is projection


def test_one_odd_clip_does_not_move_the_trend():
    points = series(7, 95, -4.0, noise=2.0)
    calm = health_trend(points)
    odd = list(points)
    odd[-1] = (odd[-1][0], 0.0)  # the very last clip reads 0
    odd[len(odd) // 2] = (odd[len(odd) // 2][0], 100.0)
    shaken = health_trend(odd)
    assert abs(shaken.slope_per_day - calm.slope_per_day) < 0.1
    assert abs(shaken.smoothed - calm.smoothed) < 0.5
    assert abs(shaken.to_warning.days - calm.to_warning.days) < 0.2


def test_flat_but_noisy_health_is_not_called_a_decline():
    trend = health_trend(series(3, 80, -0.2, noise=8.0, seed=3))
    assert not trend.declining and trend.next_projection is None


def test_too_few_points_give_no_slope():
    trend = health_trend(series(0.4, 90, -20.0))  # ten hours only
    assert trend.slope_per_day is None and trend.next_projection is None
    assert health_trend([]).hours == 0


def test_a_level_already_reached_is_not_projected():
    trend = health_trend(series(4, 50, -3.0, noise=0.5))  # ends near 38: in warning
    assert trend.declining
    assert trend.to_warning is None
    assert trend.to_critical is not None


def test_hourly_medians_skip_missing_scores():
    hours = hourly_medians([(T0, 10.0), (T0 + dt.timedelta(minutes=5), None),
                            (T0 + dt.timedelta(minutes=10), 30.0),
                            (T0 + dt.timedelta(minutes=20), float("nan"))])
    assert hours == [(T0 + dt.timedelta(minutes=30), 20.0)]


def test_a_trend_survives_its_stored_form():
    from ml.trend import trend_from_dict, trend_to_dict
    trend = health_trend(series(7, 95, -4.0, noise=2.0))
    assert trend_from_dict(trend_to_dict(trend, T0)) == trend
    assert trend_from_dict(None).hours == 0
