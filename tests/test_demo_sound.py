"""The demo fleet's sound at seed: every compressor starts with a learned baseline, so the
next live clip of its simulated device is judged (not "learning") and a healthy one is
not flagged; the last days of the history have clips in the audio store."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from dashboard.analysis.baselines import baseline_for
from dashboard.analysis.queue import clip_features, run_analysis_batch
from dashboard.app.demo import ensure_admin, seed_demo
from dashboard.app.demo_history import DEGRADING
from dashboard.app.demo_sound import RECENT_CLIP_EVERY, RECENT_DAYS
from dashboard.core.blobs import audio_store
from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, CompressorBaseline, Diagnosis, Recording
from dashboard.core.wav import parse_wav
from dashboard.fleet.recordings import list_recordings
from firmware.simulator import clip_wav
from ml.audio import load_audio
from ml.demo import DEMO_CLIP_SECONDS, DEMO_SAMPLE_RATE
from tests.conftest import PASSWORD, install_model

LIVE_START = 1_800_000_000.0  # fixed instants: the same clips at every run


def _seed(server, tmp_path):
    with session_scope(server) as s:
        admin, _ = ensure_admin(s, "demo-admin@example.test", PASSWORD)
        started = time.perf_counter()
        states = seed_demo(s, tmp_path / "tokens.json", store=audio_store(server))
        print(f"seed-demo with baselines and clips: {time.perf_counter() - started:.1f} s")
    return states


@pytest.mark.parametrize("database", ["sqlite",
                                      pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_demo_compressors_start_with_a_learned_baseline(database, request, tmp_path,
                                                        demo_model_file):
    server = (request.getfixturevalue("app") if database == "sqlite"
              else request.getfixturevalue("pg_dash_app").server)
    states = _seed(server, tmp_path)
    with session_scope(server) as s:
        ids = s.scalars(sa.select(Compressor.id)).all()
        rows = s.scalars(sa.select(CompressorBaseline)).all()
        assert sorted(r.compressor_id for r in rows) == sorted(ids) and len(ids) == len(states)
        assert all(r.state == "ready" and r.artifact and r.threshold > 0 for r in rows)
        assert "learning" not in set(s.scalars(sa.select(Compressor.status)))
    install_model(server, demo_model_file)
    client = server.test_client()
    for state in states:  # the next live clip of each device, healthy (its first ones)
        resp = client.post("/api/esp32/audio", data=clip_wav(state, LIVE_START),
                           headers={"Authorization": f"Bearer {state.token}",
                                    "Content-Type": "audio/wav",
                                    "X-Seq": str(state.next_seq())})
        assert resp.status_code == 202, resp.data
    assert run_analysis_batch(server, "w1", limit=20) == len(states)
    with session_scope(server) as s:
        live = s.scalars(sa.select(Diagnosis).where(Diagnosis.model_version_id.is_not(None))).all()
        assert len(live) == len(states)
        assert all(d.status != "learning" and d.anomaly_score is not None for d in live)
        assert "learning" not in set(s.scalars(sa.select(Compressor.status)))
        print("live clips:", [(d.status, d.health_score, d.is_anomaly) for d in live])
        # The threshold is the 95th percentile of healthy clips (ml.baseline): a healthy
        # clip is flagged about that rarely, the next one of each device as later ones.
        flagged = [bool(d.is_anomaly) for d in live]
        for state in states:
            _row, baseline = baseline_for(s, state.seed)
            for k in range(1, 6):
                y, sr = load_audio(clip_wav(state, LIVE_START + 3600 * k))
                flagged.append(bool(baseline.is_anomaly(
                    clip_features(y, sr, DEMO_SAMPLE_RATE, DEMO_CLIP_SECONDS).mean(axis=0,
                                                                              keepdims=True))[0]))
        assert sum(flagged) <= 0.1 * len(flagged), flagged
        assert sum(d.status == "healthy" for d in live) >= len(live) - 1


def test_the_last_days_of_demo_history_have_clips(app, tmp_path):
    _seed(app, tmp_path)
    store = audio_store(app)
    now = dt.datetime.now(dt.UTC)
    with session_scope(app) as s:
        recordings = s.execute(sa.select(Recording, Diagnosis).join(
            Diagnosis, Diagnosis.recording_id == Recording.id).order_by(Recording.ts)).all()
        per_compressor: dict[int, list[Recording]] = {}
        for recording, diagnosis in recordings:
            assert recording.status == "done" and recording.ts == diagnosis.ts
            assert now - recording.ts <= dt.timedelta(days=RECENT_DAYS, minutes=1)
            per_compressor.setdefault(recording.compressor_id, []).append(recording)
        assert len(per_compressor) == s.scalar(sa.select(sa.func.count(Compressor.id)))
        expected = RECENT_DAYS * dt.timedelta(days=1) // RECENT_CLIP_EVERY
        assert all(expected <= len(v) <= expected + 1 for v in per_compressor.values())
        degrading = s.scalar(sa.select(Compressor.id).where(Compressor.name == DEGRADING))
        sample = per_compressor[degrading][-1]
        clip = parse_wav(store.get(sample.audio_key))
        assert clip.duration_s == pytest.approx(5.0) and clip.sample_rate == sample.sample_rate
        # The spectrogram page's list: the newest clip first, with its diagnosis.
        org_id = s.get(Compressor, degrading).org_id
        newest = list_recordings(s, org_id, degrading)[0]
        assert newest.id == sample.id and newest.health_score is not None
        assert newest.label == "bearing"  # the story's fault, sounding as it says
    # An analyst (the demo admin) plays it from the history page's link.
    client = app.test_client()
    assert client.post("/login", data={"email": "demo-admin@example.test",
                                       "password": PASSWORD}).status_code == 302
    resp = client.get(f"/media/recording/{sample.id}.wav")
    assert resp.status_code == 200 and resp.data == store.get(sample.audio_key)
    # A restart adds no clip.
    _seed(app, tmp_path)
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count(Recording.id))) == len(recordings)
