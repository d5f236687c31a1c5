"""Per-compressor baselines: each compressor learns its own normal from its first
``clips_needed`` analysed clips (status "learning" until then); afterwards every clip
gets an anomaly score against it, and is offered to the baseline's drift policy
(``ml.drift``: only comfortably normal clips, slowly, inside the original envelope), so
the baseline follows seasons and load without learning a developing fault. Feature
vectors are kept (RecordingFeatures), so a baseline can be refitted without decoding
audio again."""

from __future__ import annotations

import copy
import datetime as dt
import io
import os
import threading

import joblib
import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.core.models import CompressorBaseline, RecordingFeatures, utcnow
from ml.baseline import MIN_BASELINE_CLIPS, Baseline
from ml.features import FEATURE_SET_ID

DEFAULT_CLIPS_NEEDED = max(MIN_BASELINE_CLIPS,
                           int(os.environ.get("SIGNALCRAFT_BASELINE_CLIPS", "20") or 20))
_cache: dict[tuple[int, str], Baseline] = {}
_lock = threading.Lock()


def baseline_state(session: Session, compressor_id: int) -> CompressorBaseline:
    """The compressor's baseline row, created ("learning") when it has none yet."""
    query = sa.select(CompressorBaseline).where(CompressorBaseline.compressor_id == compressor_id)
    row = session.scalar(query)
    if row is None:
        # Two workers may meet a new compressor at once: insert-if-missing, then read.
        insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
                  else sqlite.insert)
        session.execute(insert(CompressorBaseline).values(
            compressor_id=compressor_id, state="learning", clips_seen=0,
            clips_needed=DEFAULT_CLIPS_NEEDED, feature_set=FEATURE_SET_ID,
        ).on_conflict_do_nothing(index_elements=["compressor_id"]))
        row = session.scalar(query)
    return row


def baseline_for(session: Session, compressor_id: int) -> tuple[CompressorBaseline,
                                                                 Baseline | None]:
    """The compressor's baseline state, and its fitted Baseline once ready."""
    row = baseline_state(session, compressor_id)
    if row.state != "ready" or row.artifact is None or row.feature_set != FEATURE_SET_ID:
        return row, None
    key = (row.id, row.updated_at.isoformat())
    with _lock:
        if key not in _cache:
            _cache[key] = joblib.load(io.BytesIO(row.artifact))
        return row, _cache[key]


def record_clip_features(session: Session, compressor_id: int, recording_id: int,
                         features: np.ndarray, row: CompressorBaseline) -> bool:
    """Keep the clip's features; while learning, count it and fit the baseline when
    enough clips are in. Returns True when the baseline is ready."""
    session.add(RecordingFeatures(recording_id=recording_id, compressor_id=compressor_id,
                                  feature_set=FEATURE_SET_ID,
                                  vector=np.asarray(features, dtype=np.float32).tobytes()))
    if row.state == "ready" and row.feature_set == FEATURE_SET_ID:
        return True
    # Counted in the database: two workers analysing the same compressor must not
    # overwrite each other's count.
    seen = session.scalar(
        sa.update(CompressorBaseline).where(CompressorBaseline.id == row.id)
        .values(clips_seen=CompressorBaseline.clips_seen + 1)
        .returning(CompressorBaseline.clips_seen))
    if seen >= row.clips_needed:
        session.flush()
        fit_baseline(session, row)
    return row.state == "ready"


def fit_baseline(session: Session, row: CompressorBaseline) -> None:
    """Fit from the compressor's first ``clips_needed`` feature vectors."""
    vectors = session.scalars(
        sa.select(RecordingFeatures.vector)
        .where(RecordingFeatures.compressor_id == row.compressor_id,
               RecordingFeatures.feature_set == FEATURE_SET_ID)
        .order_by(RecordingFeatures.recording_id).limit(row.clips_needed)
    ).all()
    fit_baseline_from(np.vstack([np.frombuffer(v, dtype=np.float32) for v in vectors]), row)


def fit_baseline_from(X: np.ndarray, *rows: CompressorBaseline) -> None:
    """Fit a baseline from feature rows ``X`` (healthy clips, in order) and store it, ready,
    as the baseline of every row: the live path's fit, also used by the demo so its fleet
    starts with a learned normal (its simulated devices all play the same machine)."""
    baseline = Baseline().fit(np.asarray(X, dtype=np.float32))
    buf = io.BytesIO()
    joblib.dump(baseline, buf, compress=3)
    for row in rows:
        row.artifact = buf.getvalue()
        row.threshold = float(baseline.threshold)
        row.feature_set = FEATURE_SET_ID
        row.state = "ready"
        row.updated_at = utcnow()


def follow_drift(session: Session, row: CompressorBaseline, baseline: Baseline,
                 features: np.ndarray, ts: dt.datetime) -> bool:
    """Offer a scored clip to the baseline's drift policy; store the baseline when the
    policy admitted it (the cached one is never changed in place, so a transaction
    that rolls back leaves nothing behind). Returns True when it was stored."""
    candidate = copy.deepcopy(baseline)
    result = candidate.update(np.asarray(features, dtype=np.float64)[None, :],
                              times=[ts.timestamp()])
    if not result.changed:
        return False
    buf = io.BytesIO()
    joblib.dump(candidate, buf, compress=3)
    row.artifact = buf.getvalue()
    row.threshold = float(candidate.threshold)
    row.updated_at = utcnow()
    return True


def reset_baseline(session: Session, compressor_id: int) -> None:
    """Learn again from the next clips (after maintenance changed what normal sounds like)."""
    row = baseline_state(session, compressor_id)
    row.state, row.clips_seen, row.artifact, row.threshold = "learning", 0, None, None
    row.updated_at = utcnow()
    session.execute(sa.delete(RecordingFeatures)
                    .where(RecordingFeatures.compressor_id == compressor_id))
