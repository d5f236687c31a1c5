"""Pydantic models of what devices send, with physical ranges for every known metric.
Anything outside them is refused, never stored."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from dashboard.core.sensors import METRICS as SENSORS

# name -> (min, max): physically plausible ranges (dashboard/core/sensors.py).
METRICS: dict[str, tuple[float, float]] = {m.key: (m.low, m.high) for m in SENSORS.values()}
MAX_BATCH = 500
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_AGE = dt.timedelta(days=365)


def oldest_reading_age(retention_days: int) -> dt.timedelta:
    """How old a reading may be: a year, or less when readings are kept for less
    (an older one would be dropped at once)."""
    if retention_days > 0:
        return min(MAX_AGE, dt.timedelta(days=retention_days))
    return MAX_AGE


def parse_timestamp(value: Any, now: dt.datetime,
                    max_age: dt.timedelta = MAX_AGE) -> dt.datetime:
    if isinstance(value, bool):
        raise ValueError("ts must be ISO 8601 text or epoch milliseconds")
    if isinstance(value, int):
        try:
            ts = dt.datetime.fromtimestamp(value / 1000.0, tz=dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError("ts is out of range") from exc
    elif isinstance(value, str):
        try:
            ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("ts is not ISO 8601") from exc
        if ts.tzinfo is None:
            raise ValueError("ts needs a time zone (e.g. 'Z' or '+09:00')")
        try:
            ts = ts.astimezone(dt.UTC)
        except OverflowError as exc:  # e.g. year 9999 at -14:00
            raise ValueError("ts is out of range") from exc
    else:
        raise ValueError("ts must be ISO 8601 text or epoch milliseconds")
    if ts > now + MAX_FUTURE:
        raise ValueError("ts is in the future; is the device clock set?")
    if ts < now - max_age:
        raise ValueError("ts is more than a year old" if max_age == MAX_AGE else
                         f"ts is more than {max_age.days} days old, older than this "
                         "server keeps readings")
    return ts


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: StrictInt = Field(ge=0, lt=2**63)
    ts: StrictInt | str | None = None
    metrics: dict[str, Any] = Field(min_length=1)

    @field_validator("metrics")
    @classmethod
    def _known_finite_in_range(cls, metrics: dict[str, Any]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, value in metrics.items():
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{name} is not finite")
            low, high = METRICS[name]
            if not low <= value <= high:
                raise ValueError(f"{name}={value} is outside {low}..{high}")
            out[name] = value
        return out
