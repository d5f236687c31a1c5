"""The demo fleet's sound at seed: baselines already learned, and clips for the last days
of its history, so a first visit shows neither "learning" nor diagnoses without audio.

Baselines: each demo compressor starts with a baseline fitted by the live fit
(``dashboard.analysis.baselines.fit_baseline_from``) from the live features
(``dashboard.analysis.queue.clip_features``) of the healthy clips its simulated device
sends (``firmware.simulator.clip_wav``, decoded as an upload is). The simulated devices
all play the same real recordings, so their clips are pooled: ``BASELINE_CLIPS`` clips
spread over the devices, features computed once, one fit stored for each.

Clips: the diagnoses of the last ``RECENT_DAYS`` get one clip every ``RECENT_CLIP_EVERY``,
sounding as the story says (its fault at a severity that follows the health score),
stored as a device's clip is (``ingestion.audio.store_clip``, the blob store) and marked
analysed by that diagnosis."""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from dashboard.analysis.baselines import baseline_state, fit_baseline_from
from dashboard.analysis.queue import clip_features
from dashboard.analysis.registry import active_version, load_version
from dashboard.core.blobs import BlobStore
from dashboard.core.models import Compressor, CompressorBaseline, Diagnosis, Recording
from dashboard.core.wav import parse_wav
from firmware.simulator import DeviceState, clip_wav, sound_wav
from ingestion.audio import store_clip
from ml.audio import load_audio
from ml.demo import DEMO_CLIP_SECONDS, DEMO_CONDITIONS, DEMO_SAMPLE_RATE

# 48 pooled clips: healthy clips of the demo sound were flagged 0-5 % by such baselines
# (measured on 320 later clips), about as often as by one learned live from 20 clips.
BASELINE_CLIPS = 48
BASELINE_CLIP_EVERY = dt.timedelta(minutes=30)
RECENT_DAYS = 2
RECENT_CLIP_EVERY = dt.timedelta(hours=6)
HEALTHY_SCORE = 93.0  # the story's healthy level (demo_history._health)


def _analysis_format(session: Session) -> tuple[int, float]:
    """(sample rate, clip seconds) the active model analyses at; the demo model's before
    one is trained (``run-demo`` seeds first)."""
    version = active_version(session)
    if version is not None and has_app_context():
        model = load_version(current_app._get_current_object(), version)  # type: ignore[attr-defined]
        return model.sample_rate, model.clip_seconds
    return DEMO_SAMPLE_RATE, DEMO_CLIP_SECONDS


def learn_demo_baselines(session: Session, compressors: list[Compressor]) -> int:
    """Fit the baseline of every compressor whose baseline is not ready, from its
    device's healthy clips; returns how many were fitted. The clips are drawn at fixed
    instants, so every demo installation learns the same normal."""
    rows: list[CompressorBaseline] = [
        row for row in (baseline_state(session, c.id) for c in compressors) if row.state != "ready"]
    if not rows:
        return 0
    sample_rate, clip_seconds = _analysis_format(session)
    per_device = -(-BASELINE_CLIPS // len(rows))
    features = []
    for row in rows:
        # A fresh device: its first clips are healthy whatever its profile.
        device = DeviceState(token="", name="", seed=row.compressor_id)
        for i in range(per_device):
            y, sr = load_audio(clip_wav(device, i * BASELINE_CLIP_EVERY.total_seconds()))
            features.append(clip_features(y, sr, sample_rate, clip_seconds).mean(axis=0))
        row.clips_seen = per_device
    fit_baseline_from(np.vstack(features), *rows)
    return len(rows)


def _sound(diagnosis: Diagnosis) -> tuple[str, float]:
    """What the story's diagnosis sounds like: its fault, as strong as health is low."""
    if diagnosis.label == "normal" or diagnosis.label not in DEMO_CONDITIONS:
        return "normal", 1.0
    return diagnosis.label, float(np.clip((HEALTHY_SCORE - diagnosis.health_score) / 50,
                                          0.1, 1.0))


def attach_recent_clips(session: Session, store: BlobStore, compressor: Compressor,
                        diagnoses: list[Diagnosis], now: dt.datetime) -> int:
    """Give the diagnoses of the last ``RECENT_DAYS`` one clip every ``RECENT_CLIP_EVERY``
    (flushed rows, in time order); returns how many clips were stored."""
    stored, next_ts = 0, now - dt.timedelta(days=RECENT_DAYS)
    for diagnosis in diagnoses:
        if diagnosis.ts < next_ts or diagnosis.recording_id is not None:
            continue
        next_ts = diagnosis.ts + RECENT_CLIP_EVERY
        label, severity = _sound(diagnosis)
        clip = parse_wav(sound_wav(label, compressor.id, diagnosis.ts.timestamp(), severity))
        result = store_clip(session, store, compressor, int(diagnosis.ts.timestamp() * 1000),
                            diagnosis.ts, clip)
        session.execute(sa.update(Recording).where(Recording.id == result.recording_id)
                        .values(status="done", attempts=1))
        diagnosis.recording_id = result.recording_id
        stored += not result.duplicate
    return stored
