"""A compressor's health trend: a smoothed health, its rate of change and a projected time
to the warning and critical levels, with an honest uncertainty.

Pure: it takes ``(time, health score)`` pairs and returns numbers (ml/README.md, "Health
trend"). The method, in three steps:

1. **Hourly medians**: clips are grouped per hour and each hour is its median, so one odd
   clip (a door slammed next to the microphone) does not move anything.
2. **Theil-Sen line** over the last ``window`` (7 days by default): the median of the
   slopes between every pair of hours, robust to up to ~29 % of odd hours, with its
   confidence interval (Sen's, ``alpha``).
3. **Projection** only when the decline is real: enough hours over enough time, the
   whole confidence interval below zero, and a decline faster than ``min_slope``. The
   time to a level comes from the fitted line; its band from the interval's two ends
   (the slow end may never get there: the band is then open-ended).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.stats import theilslopes

from ml.baseline import LEVEL_CUTOFFS

# Health below these enters the level (``ml.baseline.LEVEL_CUTOFFS`` is the lowest score
# of the level above): warning below the watch cut-off, critical below the warning one.
WARNING_BELOW = LEVEL_CUTOFFS["watch"]
CRITICAL_BELOW = LEVEL_CUTOFFS["warning"]

DEFAULT_WINDOW = dt.timedelta(days=7)
MIN_HOURS = 12  # hourly medians needed before any slope is trusted
MIN_SPAN = dt.timedelta(hours=24)  # ... spread over at least this long
MIN_SLOPE_PER_DAY = 0.5  # a slower decline is "flat": it would take months to matter
MAX_HORIZON_DAYS = 60.0  # beyond this a projection is noise, not a plan
ALPHA = 0.90  # confidence of the slope interval


@dataclass(frozen=True)
class Projection:
    """Days from the last hour until the fitted line crosses ``level``; ``earliest`` and
    ``latest`` from the slope interval (``latest`` None: maybe never)."""

    level: str  # "warning" or "critical"
    days: float
    earliest: float
    latest: float | None


@dataclass(frozen=True)
class HealthTrend:
    hours: int  # hourly medians used
    smoothed: float | None  # the fitted health at the last hour
    slope_per_day: float | None  # points per day (negative: getting worse)
    slope_low: float | None
    slope_high: float | None
    declining: bool  # a real decline (see the module text)
    last_ts: dt.datetime | None
    to_warning: Projection | None = None
    to_critical: Projection | None = None
    # (time, fitted health) at the window's start and end, for drawing the line.
    fit_line: tuple[tuple[dt.datetime, float], tuple[dt.datetime, float]] | None = None

    @property
    def next_projection(self) -> Projection | None:
        """The next level this compressor is heading for."""
        return self.to_warning or self.to_critical


NO_TREND = HealthTrend(0, None, None, None, None, False, None)


def hourly_medians(points: Iterable[tuple[dt.datetime, float | None]]
                   ) -> list[tuple[dt.datetime, float]]:
    """The median health of each clock hour that has a finite score, oldest first."""
    by_hour: dict[dt.datetime, list[float]] = {}
    for ts, score in points:
        if score is None or not math.isfinite(score):
            continue
        hour = ts.replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(hour, []).append(float(score))
    return [(hour + dt.timedelta(minutes=30), float(np.median(values)))
            for hour, values in sorted(by_hour.items())]


def _project(level: str, below: float, smoothed: float, slope: float, low: float,
             high: float) -> Projection | None:
    if smoothed < below:
        return None  # already there: the level itself says so
    gap = smoothed - below
    days = gap / -slope
    if days > MAX_HORIZON_DAYS:
        return None
    earliest = gap / -low
    latest = gap / -high if high < 0 else None
    if latest is not None and latest > MAX_HORIZON_DAYS:
        latest = None
    return Projection(level, days, earliest, latest)


def health_trend(points: Iterable[tuple[dt.datetime, float | None]],
                 now: dt.datetime | None = None, window: dt.timedelta = DEFAULT_WINDOW,
                 min_hours: int = MIN_HOURS, min_slope: float = MIN_SLOPE_PER_DAY
                 ) -> HealthTrend:
    """The trend of ``points`` (time, health 0..100) over the ``window`` before ``now``
    (default: the newest point)."""
    hours = hourly_medians(points)
    if not hours:
        return NO_TREND
    end = now or hours[-1][0]
    hours = [(ts, v) for ts, v in hours if end - window <= ts <= end + dt.timedelta(hours=1)]
    if not hours:
        return NO_TREND
    last_ts = hours[-1][0]
    if len(hours) < min_hours or last_ts - hours[0][0] < MIN_SPAN:
        return HealthTrend(len(hours), hours[-1][1], None, None, None, False, last_ts)
    days = np.array([(ts - last_ts).total_seconds() / 86400.0 for ts, _ in hours])
    values = np.array([v for _, v in hours])
    slope, intercept, low, high = (float(x) for x in theilslopes(values, days, alpha=ALPHA))
    smoothed = float(np.clip(intercept, 0.0, 100.0))  # the line at the last hour (x = 0)
    line = ((hours[0][0], float(np.clip(intercept + slope * days[0], 0.0, 100.0))),
            (last_ts, smoothed))
    declining = high < 0 and slope <= -min_slope
    trend = HealthTrend(len(hours), smoothed, slope, low, high, declining, last_ts,
                        fit_line=line)
    if not declining:
        return trend
    return HealthTrend(
        trend.hours, smoothed, slope, low, high, True, last_ts,
        to_warning=_project("warning", WARNING_BELOW, smoothed, slope, low, high),
        to_critical=_project("critical", CRITICAL_BELOW, smoothed, slope, low, high),
        fit_line=line)


def trend_to_dict(trend: HealthTrend, computed_at: dt.datetime) -> dict:
    """A JSON-able form (the compressor row keeps it; ``trend_from_dict`` reads it)."""
    def projection(p: Projection | None) -> dict | None:
        return None if p is None else {"level": p.level, "days": p.days,
                                       "earliest": p.earliest, "latest": p.latest}
    line = None if trend.fit_line is None else [[ts.isoformat(), v] for ts, v in trend.fit_line]
    return {"hours": trend.hours, "smoothed": trend.smoothed,
            "slope_per_day": trend.slope_per_day, "slope_low": trend.slope_low,
            "slope_high": trend.slope_high, "declining": trend.declining,
            "last_ts": trend.last_ts.isoformat() if trend.last_ts else None,
            "to_warning": projection(trend.to_warning),
            "to_critical": projection(trend.to_critical),
            "fit_line": line, "computed_at": computed_at.isoformat()}


def trend_from_dict(data: dict | None) -> HealthTrend:
    if not data:
        return NO_TREND
    def projection(p: dict | None) -> Projection | None:
        return None if not p else Projection(p["level"], p["days"], p["earliest"], p["latest"])
    line = data.get("fit_line")
    fit = None if not line else tuple((dt.datetime.fromisoformat(ts), v) for ts, v in line)
    last = data.get("last_ts")
    return HealthTrend(
        data.get("hours", 0), data.get("smoothed"), data.get("slope_per_day"),
        data.get("slope_low"), data.get("slope_high"), bool(data.get("declining")),
        dt.datetime.fromisoformat(last) if last else None,
        projection(data.get("to_warning")), projection(data.get("to_critical")), fit)
