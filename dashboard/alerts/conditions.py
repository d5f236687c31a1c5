"""Judging one rule against one compressor: firing, pending, clear or unknown.

``pending`` means "bad, but not for long enough yet" (a sensor over its limit for 3 of
the required 10 minutes): it opens nothing and it stops an open alert from counting
towards auto-resolve. ``unknown`` (no data) changes nothing at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.alerts.rules import (
    ANY_FAULT,
    NORMAL_LABEL,
    SENSOR_METRICS,
    STATUS_RANK,
    AnomalyParams,
    FaultProbabilityParams,
    HealthStatusParams,
    OfflineParams,
    RuleParams,
    SensorLimitParams,
)
from dashboard.core.i18n import _, in_language
from dashboard.core.models import Compressor, Diagnosis, Reading
from dashboard.core.status import DEFAULT_OFFLINE_AFTER_S

FIRING, PENDING, CLEAR, UNKNOWN = "firing", "pending", "clear", "unknown"
# Details are stored as "English · 한국어" (alerts are read by people of either
# language); half_in_language() shows one half.
LANGUAGE_SEPARATOR = " · "


def half_in_language(text: str | None, language: str) -> str:
    if not text or LANGUAGE_SEPARATOR not in text:
        return text or ""
    en, ko = text.split(LANGUAGE_SEPARATOR, 1)
    return en if language == "en" else ko
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
    detail = (f"Status {diagnosis.status}, health {diagnosis.health_score:.0f}, "
              f"diagnosis {diagnosis.label} · 상태 {diagnosis.status}, "
              f"건강 점수 {diagnosis.health_score:.0f}, 진단 {diagnosis.label}")
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
    return Verdict(FIRING, f"P({fault}) = {p:.2f} > {params.threshold:.2f} · "
                           f"{fault} 확률 {p:.2f} > {params.threshold:.2f}")


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
    return Verdict(FIRING, f"Anomaly score {shown} above the compressor's baseline · "
                           f"이상 점수 {shown}, 기준선 초과")


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
        return Verdict(FIRING, "Never heard from since registration · 등록 후 수신 없음")
    silent = now - compressor.last_seen_at
    if silent < limit:
        return Verdict(CLEAR)
    minutes = int(silent.total_seconds() // 60)
    seen = f"{compressor.last_seen_at:%Y-%m-%d %H:%M}"
    return Verdict(FIRING, f"No data for {minutes} min (last seen {seen} UTC) · "
                           f"{minutes}분 동안 수신 없음")


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
    en, unit = metric.label, metric.unit
    with in_language("ko"):
        ko = _(metric.label)
    held = int((now - first_bad).total_seconds() // 60)
    word_en = "above" if params.op == "above" else "below"
    word_ko = "초과" if params.op == "above" else "미만"
    return Verdict(FIRING, f"{en} {newest_value:g} {unit} {word_en} {params.limit:g} {unit} "
                           f"for {held} min · {ko} {newest_value:g} {unit}, "
                           f"{params.limit:g} {unit} {word_ko} {held}분 지속")
