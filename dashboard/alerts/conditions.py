"""Judging one rule against one compressor: firing, pending, clear or unknown.

``pending`` means "bad, but not for long enough yet" (a sensor over its limit for 3 of
the required 10 minutes): it opens nothing and it stops an open alert from counting
towards auto-resolve. ``unknown`` (no data) changes nothing at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.alerts.messages import keyed
from dashboard.alerts.rules import (
    ANY_FAULT,
    NORMAL_LABEL,
    SENSOR_METRICS,
    STATUS_RANK,
    AnomalyParams,
    DegradingParams,
    FaultProbabilityParams,
    HealthStatusParams,
    OfflineParams,
    RuleParams,
    SensorLimitParams,
)
from dashboard.core.i18n import N_
from dashboard.core.models import Compressor, Diagnosis, Reading
from dashboard.core.status import DEFAULT_OFFLINE_AFTER_S, STATUS_LABELS
from ml.trend import CRITICAL_BELOW, WARNING_BELOW, trend_from_dict

FIRING, PENDING, CLEAR, UNKNOWN = "firing", "pending", "clear", "unknown"
LEVEL_BELOW = {"warning": WARNING_BELOW, "critical": CRITICAL_BELOW}
# How far back a sensor rule looks for the last in-limit reading: beyond this, a value
# that has been out of limits all along counts from the start of the window.
SENSOR_LOOKBACK = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Verdict:
    state: str
    detail: str = ""
    # A verdict may ask for more than the rule's severity (status "critical").
    severity: str | None = None


def judge_diagnosis(params: RuleParams, diagnosis: Diagnosis) -> Verdict:
    if isinstance(params, HealthStatusParams):
        return _judge_health(params, diagnosis)
    if isinstance(params, FaultProbabilityParams):
        return _judge_fault(params, diagnosis)
    if isinstance(params, AnomalyParams):
        return _judge_anomaly(params, diagnosis)
    raise TypeError(f"{type(params).__name__} is not judged from a diagnosis")


def _judge_health(params: HealthStatusParams, diagnosis: Diagnosis) -> Verdict:
    rank = STATUS_RANK.get(diagnosis.status)
    if rank is None:
        return Verdict(UNKNOWN)
    if rank < STATUS_RANK[params.level]:
        return Verdict(CLEAR)
    detail = keyed(N_("Status %(status)s, health %(health)s, diagnosis %(label)s"),
                   translate=("status",), status=STATUS_LABELS.get(diagnosis.status,
                                                                    diagnosis.status),
                   health=f"{diagnosis.health_score:.0f}", label=diagnosis.label)
    return Verdict(FIRING, detail, "critical" if diagnosis.status == "critical" else None)


def _judge_fault(params: FaultProbabilityParams, diagnosis: Diagnosis) -> Verdict:
    probs = {k: float(v) for k, v in (diagnosis.probabilities or {}).items()}
    if not probs:
        return Verdict(UNKNOWN)
    if params.fault == ANY_FAULT:
        faults = {k: v for k, v in probs.items() if k != NORMAL_LABEL}
        if not faults:
            return Verdict(UNKNOWN)
        fault, p = max(faults.items(), key=lambda kv: kv[1])
    else:
        fault, p = params.fault, probs.get(params.fault)
        if p is None:
            return Verdict(UNKNOWN)
    if p <= params.threshold:
        return Verdict(CLEAR)
    return Verdict(FIRING, keyed(N_("Probability of %(fault)s %(p)s > %(threshold)s"),
                                 fault=fault, p=f"{p:.2f}", threshold=f"{params.threshold:.2f}"))


def _judge_anomaly(params: AnomalyParams, diagnosis: Diagnosis) -> Verdict:
    score = diagnosis.anomaly_score
    if params.score_above is not None:
        if score is None:
            return Verdict(UNKNOWN)
        firing = score > params.score_above
    elif diagnosis.is_anomaly is None:
        return Verdict(UNKNOWN)
    else:
        firing = bool(diagnosis.is_anomaly)
    if not firing:
        return Verdict(CLEAR)
    shown = "—" if score is None else f"{score:.3g}"
    return Verdict(FIRING, keyed(N_("Anomaly score %(score)s above the compressor's baseline"),
                                 score=shown))


def judge_degrading(params: DegradingParams, compressor: Compressor) -> Verdict:
    """Fires while the compressor's health trend (``ml.trend``, kept on its row) projects
    the rule's level within ``horizon_days``. No trend yet changes nothing; a level
    already reached leaves the alert as it is (the health rule speaks now)."""
    trend = trend_from_dict(compressor.health_trend)
    if trend.slope_per_day is None:
        return Verdict(UNKNOWN)
    if trend.smoothed is not None and trend.smoothed < LEVEL_BELOW[params.level]:
        return Verdict(UNKNOWN)
    projection = trend.to_warning if params.level == "warning" else trend.to_critical
    if projection is None or projection.days > params.horizon_days:
        return Verdict(CLEAR)
    latest = "—" if projection.latest is None else f"{projection.latest:.0f}"
    return Verdict(FIRING, keyed(
        N_("Health %(health)s falling %(rate)s points/day: %(level)s in about %(days)s days "
           "(%(earliest)s to %(latest)s)"), translate=("level",),
        health=f"{trend.smoothed:.0f}", rate=f"{-trend.slope_per_day:.1f}",
        level=STATUS_LABELS[params.level], days=f"{projection.days:.1f}",
        earliest=f"{projection.earliest:.1f}", latest=latest))



def judge_offline(params: OfflineParams, compressor: Compressor, now: dt.datetime,
                  offline_after_s: int = DEFAULT_OFFLINE_AFTER_S) -> Verdict:
    """Fires when the compressor shows offline (``dashboard.core.status``, the one
    definition) and has been silent for the rule's minutes: the minutes are how long an
    outage lasts before anyone is notified, never a second meaning of "offline"."""
    limit = dt.timedelta(seconds=max(60 * params.minutes, offline_after_s))
    if compressor.last_seen_at is None:
        # A device registered a moment ago has not had the chance to speak yet.
        if compressor.created_at is None or now - compressor.created_at < limit:
            return Verdict(UNKNOWN)
        return Verdict(FIRING, keyed(N_("Never heard from since registration")))
    silent = now - compressor.last_seen_at
    if silent < limit:
        return Verdict(CLEAR)
    minutes = int(silent.total_seconds() // 60)
    return Verdict(FIRING, keyed(N_("No data for %(minutes)s min"), minutes=minutes))


def judge_sensor(session: Session, params: SensorLimitParams, compressor_id: int,
                 now: dt.datetime) -> Verdict:
    """Beyond the limit for ``minutes``: every reading since the first bad one after the
    last good one is bad, that first bad one is at least ``minutes`` old, and the newest
    reading is fresh (a silent device is the offline rule's business)."""
    column = getattr(Reading, params.metric)
    beyond = column > params.limit if params.op == "above" else column < params.limit
    window = sa.and_(Reading.compressor_id == compressor_id, column.is_not(None),
                     Reading.ts <= now, Reading.ts >= now - SENSOR_LOOKBACK)
    newest = session.execute(
        sa.select(Reading.ts, column).where(window).order_by(Reading.ts.desc()).limit(1)
    ).first()
    duration = dt.timedelta(minutes=params.minutes)
    if newest is None or now - newest[0] > duration:
        return Verdict(UNKNOWN)
    newest_value = newest[1]
    is_bad = newest_value > params.limit if params.op == "above" else newest_value < params.limit
    if not is_bad:
        return Verdict(CLEAR)
    last_good = session.scalar(sa.select(sa.func.max(Reading.ts)).where(window, sa.not_(beyond)))
    since = sa.true() if last_good is None else Reading.ts > last_good
    first_bad = session.scalar(sa.select(sa.func.min(Reading.ts)).where(window, beyond, since))
    if first_bad is None:
        return Verdict(UNKNOWN)
    if now - first_bad < duration:
        return Verdict(PENDING)
    metric = SENSOR_METRICS[params.metric]
    held = int((now - first_bad).total_seconds() // 60)
    msgid = (N_("%(metric)s %(value)s %(unit)s above %(limit)s %(unit)s for %(minutes)s min")
             if params.op == "above" else
             N_("%(metric)s %(value)s %(unit)s below %(limit)s %(unit)s for %(minutes)s min"))
    return Verdict(FIRING, keyed(msgid, translate=("metric",), metric=metric.label,
                                 value=f"{newest_value:g}", unit=metric.unit,
                                 limit=f"{params.limit:g}", minutes=held))
