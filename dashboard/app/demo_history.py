"""Thirty days of history for the demo fleet, so a first visit shows the product: sensor
readings (stored and rolled up by the device path, ``ingestion.readings``), diagnoses
applied as live ones are (``dashboard.analysis.queue.apply_diagnosis``: state, trend),
and the alert engine's own incidents.

The story it tells (docs/alerts.md, "Demo history"): "Chiller 2" degrades slowly over two
weeks (its trend projects warning within days and the degrading rule has an open
incident), "Air compressor 1" has an intermittent valve fault, "Booster" had a fault
resolved by a manager with a maintenance note, "Freezer room B" went offline for three
hours. Baselines are learned already and the last days have clips (``demo_sound``).
Idempotent: a compressor that already has diagnoses older than a day is left alone, so a
restart adds nothing."""

from __future__ import annotations

import datetime as dt
import math
import random

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.alerts import ensure_default_rules, evaluate_diagnosis
from dashboard.alerts.actions import resolve_incident
from dashboard.analysis.queue import apply_diagnosis
from dashboard.app.demo_sound import attach_recent_clips, learn_demo_baselines
from dashboard.core.blobs import BlobStore
from dashboard.core.events import publish
from dashboard.core.models import Compressor, Diagnosis, Incident, MaintenanceNote, User
from dashboard.core.status import score_status
from dashboard.fleet.notes import add_note
from ingestion.readings import ReadingRow, store_readings

DAYS = 30
READING_EVERY = dt.timedelta(minutes=10)
DIAGNOSIS_EVERY = dt.timedelta(minutes=30)
DEGRADING, INTERMITTENT, RESOLVED, OUTAGE = ("Chiller 2", "Air compressor 1", "Booster",
                                              "Freezer room B")
MAINTENANCE_NOTE = "Replaced the worn motor bearing; vibration back to normal."


def _health(name: str, age_days: float, rng: random.Random) -> tuple[float, str]:
    """(health score, label) of the story at ``age_days`` before now."""
    noise = rng.gauss(0, 1.5)
    if name == DEGRADING and age_days < 14:
        # 94 two weeks ago, down ~2.3 points a day: about 62 now.
        return 94 - 2.3 * (14 - age_days) + noise, "bearing" if age_days < 4 else "normal"
    if name == INTERMITTENT and ((age_days - 1.0) % 3.0) < 0.15:
        return 38 + rng.gauss(0, 3), "valve_leak"  # a few hours every three days
    if name == RESOLVED and 9.0 < age_days < 9.5:
        return 38 + rng.gauss(0, 3), "electrical_hum"
    return 93 + noise, "normal"


def _readings(session: Session, compressor: Compressor, start: dt.datetime, end: dt.datetime,
              seed: int, offline: tuple[dt.datetime, dt.datetime] | None) -> dt.datetime | None:
    rng = random.Random(seed)
    rows, ts, last = [], start, None
    while ts <= end:
        if offline is None or not offline[0] <= ts < offline[1]:
            hour = ts.hour + ts.minute / 60
            running = rng.random() < 0.7
            rows.append(ReadingRow(seq=int(ts.timestamp() * 1000), ts=ts, metrics={
                "temperature_c": round(4 + 1.5 * math.sin(hour / 24 * 2 * math.pi)
                                       + rng.gauss(0, 0.2), 2),
                "current_a": round(11 + rng.gauss(0, 0.3) if running else 0.4, 2),
                "pressure_bar": round(7.8 + rng.gauss(0, 0.1) if running else 5.2, 2),
                "vibration_rms_g": round(0.18 + abs(rng.gauss(0, 0.02)) if running else 0.02,
                                         4),
                "humidity_pct": round(62 + rng.gauss(0, 1), 1),
            }))
            last = ts
        ts += READING_EVERY
    for i in range(0, len(rows), 2000):
        store_readings(session, compressor, rows[i:i + 2000], received_at=end)
    return last


def _has_history(session: Session, compressor: Compressor, now: dt.datetime) -> bool:
    return session.scalar(sa.select(Diagnosis.id).where(
        Diagnosis.compressor_id == compressor.id,
        Diagnosis.ts < now - dt.timedelta(days=1)).limit(1)) is not None


def backfill_demo_history(session: Session, compressors: list[Compressor], now: dt.datetime,
                          days: int = DAYS, store: BlobStore | None = None) -> int:
    """Write the history, with clips for its last days in ``store`` (none without one);
    returns how many compressors got one (0 on a second run). Commits once at the end."""
    start = now - dt.timedelta(days=days)
    filled = 0
    org_ids = {c.org_id for c in compressors}
    for org_id in org_ids:
        ensure_default_rules(session, org_id)
    for compressor in compressors:
        if _has_history(session, compressor, now):
            continue
        filled += 1
        outage = ((now - dt.timedelta(days=5, hours=3), now - dt.timedelta(days=5))
                  if compressor.name == OUTAGE else None)
        last_reading = _readings(session, compressor, start, now - dt.timedelta(minutes=1),
                                 compressor.id, outage)
        rng = random.Random(compressor.id * 7919)
        ts, rows = start, []
        while ts <= now - dt.timedelta(minutes=5):
            if outage is None or not outage[0] <= ts < outage[1]:
                score, label = _health(compressor.name, (now - ts).total_seconds() / 86400, rng)
                score = max(0.0, min(100.0, score))
                probabilities = ({"normal": 0.92, label: 0.08} if label == "normal"
                                 else {"normal": 0.3, label: 0.7})
                rows.append(Diagnosis(
                    org_id=compressor.org_id, compressor_id=compressor.id, ts=ts,
                    label=label if score < 70 or label == "normal" else "normal",
                    probabilities=probabilities, confidence=max(probabilities.values()),
                    anomaly_score=round((100 - score) / 50, 3), is_anomaly=score < 45,
                    health_score=round(score, 1), status=score_status(score),
                    features_summary={"demo_history": True}))
            ts += DIAGNOSIS_EVERY
        session.add_all(rows)
        session.flush()
        if store is not None:
            attach_recent_clips(session, store, compressor, rows, now)
        last = rows[-1]
        apply_diagnosis(session, compressor, last, True,
                        None if last.label == "normal" else last.label, now,
                        evaluate_alerts=False, announce=False)
        if last_reading is not None:
            # Its simulated device speaks within seconds of the start: seen "now", so the
            # start is not mistaken for a site outage.
            compressor.last_seen_at = max(compressor.last_seen_at or now, now)
        _past_incidents(session, compressor, rows, now)
        # Judged now, as the next live clip would be: the degrading rule opens its incident.
        evaluate_diagnosis(session, last, now)
    learn_demo_baselines(session, compressors)
    if filled:
        for org_id in org_ids:
            publish(session, "fleet", org_id)
    session.commit()
    return filled


def _past_incidents(session: Session, compressor: Compressor, rows: list[Diagnosis],
                    now: dt.datetime) -> None:
    """Run the engine over the story's past episodes (so they are real incidents with
    their timelines), then close the resolved one as a manager would."""
    if compressor.name not in (RESOLVED, INTERMITTENT):
        return
    bad = [i for i, d in enumerate(rows) if d.status in ("warning", "critical")]
    # Each bad clip and, for the intermittent fault, enough good ones after it for the
    # alerts to resolve themselves; the manager resolves the other one.
    after = 5 if compressor.name == INTERMITTENT else 1
    judged = sorted({j for start in bad for j in range(start, min(start + after, len(rows)))})
    for j in judged:
        evaluate_diagnosis(session, rows[j], rows[j].ts)
    if compressor.name != RESOLVED:
        return
    manager = session.scalar(sa.select(User).where(
        User.org_id == compressor.org_id, User.role.in_(("admin", "manager"))).order_by(User.id))
    episode_end = now - dt.timedelta(days=9)
    incident = session.scalar(sa.select(Incident).where(
        Incident.compressor_id == compressor.id, Incident.state != "resolved"))
    if manager is not None and incident is not None:
        resolve_incident(session, manager, incident.id, MAINTENANCE_NOTE,
                         episode_end + dt.timedelta(hours=2))
    exists = session.scalar(sa.select(MaintenanceNote.id).where(
        MaintenanceNote.compressor_id == compressor.id))
    if exists is None:
        session.flush()
        add_note(session, compressor.org_id, compressor.id, episode_end + dt.timedelta(hours=2),
                 MAINTENANCE_NOTE, manager.id if manager else None)
