"""Scheduled analysis: recordings are claimed in the database and diagnosed exactly
once; compressors learn their own baseline; failures are kept with their reason; two
workers never analyse the same recording; a killed worker's claim is retried."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

import dashboard.analysis.baselines as baselines
from dashboard.analysis.queue import (
    STALE_AFTER,
    analyze_recording,
    claim_next_recordings,
    run_analysis_batch,
)
from dashboard.core.blobs import audio_store
from dashboard.core.database import session_scope
from dashboard.core.models import (
    Compressor,
    CompressorBaseline,
    Diagnosis,
    Recording,
    RecordingFeatures,
    utcnow,
)
from ml.demo import demo_clip
from tests.audio_fixtures import wav_bytes
from tests.conftest import install_model


def post_condition(client, token, seq, label="normal", seed=None, snr_db=None, ts=None):
    samples, rate = demo_clip(label, rng_seed=seed if seed is not None else seq, snr_db=snr_db)
    headers = {"Authorization": f"Bearer {token}"}
    if ts is not None:
        headers["X-Timestamp"] = ts.isoformat()
    resp = client.post(f"/api/esp32/audio?seq={seq}", data=wav_bytes(samples, rate),
                       content_type="audio/wav", headers=headers)
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()["recording_id"]


def statuses(server):
    with session_scope(server) as s:
        return dict(s.execute(sa.select(Recording.id, Recording.status)).all())


def test_queued_recording_is_diagnosed_once(client, app, world, demo_model_file):
    version = install_model(app, demo_model_file)
    cid = world.compressors["A"][0]
    rid = post_condition(client, world.tokens[cid], 1, "bearing", seed=11)
    assert run_analysis_batch(app, "w1") == 1
    assert run_analysis_batch(app, "w1") == 0
    with session_scope(app) as s:
        [diag] = s.scalars(sa.select(Diagnosis)).all()
        assert (diag.recording_id, diag.compressor_id, diag.model_version_id) == (rid, cid, version)
        assert diag.label == "bearing"
        assert abs(sum(diag.probabilities.values()) - 1) < 1e-3
        assert 0 <= diag.health_score <= 100 and diag.status in ("watch", "warning", "critical")
        assert diag.anomaly_score is None  # still learning its baseline
        assert {"rms_db", "dominant_hz"} <= set(diag.features_summary)
        comp = s.get(Compressor, cid)
        assert comp.status == "learning" and comp.suspected_fault == "bearing"
        assert s.get(Recording, rid).status == "done"
        assert s.scalar(sa.select(sa.func.count()).select_from(RecordingFeatures)) == 1


def test_compressor_learns_its_baseline_then_flags_anomalies(client, app, world,
                                                             demo_model_file, monkeypatch):
    monkeypatch.setattr(baselines, "DEFAULT_CLIPS_NEEDED", 8)
    install_model(app, demo_model_file)
    cid = world.compressors["A"][1]
    token = world.tokens[cid]
    for seq in range(8):
        post_condition(client, token, seq, "normal", seed=100 + seq)
    assert run_analysis_batch(app, "w1", limit=20) == 8
    with session_scope(app) as s:
        row = s.scalar(sa.select(CompressorBaseline).where(CompressorBaseline.compressor_id == cid))
        assert (row.state, row.clips_seen) == ("ready", 8) and row.threshold > 0
        assert s.get(Compressor, cid).status == "healthy"
    post_condition(client, token, 50, "normal", seed=999)
    post_condition(client, token, 51, "belt_slip", seed=998, snr_db=6)
    run_analysis_batch(app, "w1")
    with session_scope(app) as s:
        normal, fault = s.scalars(sa.select(Diagnosis).order_by(Diagnosis.id.desc()).limit(2)
                                 ).all()[::-1]
        assert normal.anomaly_score is not None and fault.anomaly_score > normal.anomaly_score
        assert fault.is_anomaly is True and normal.is_anomaly is False
        assert fault.health_score < normal.health_score
        assert s.get(Compressor, cid).status != "learning"


def test_baseline_follows_normal_clips_but_never_learns_a_fault(client, app, world,
                                                              demo_model_file, monkeypatch):
    """The drift policy (ml.drift) wired in: normal clips spread over hours are admitted
    into the stored baseline; faulty ones are flagged and leave it unchanged."""
    monkeypatch.setattr(baselines, "DEFAULT_CLIPS_NEEDED", 8)
    install_model(app, demo_model_file)
    cid = world.compressors["A"][1]
    token = world.tokens[cid]
    start = utcnow() - dt.timedelta(hours=12)

    def stored():
        with session_scope(app) as s:
            row = s.scalar(sa.select(CompressorBaseline)
                           .where(CompressorBaseline.compressor_id == cid))
            return row.state, row.artifact

    for seq in range(8):
        post_condition(client, token, seq, "normal", seed=200 + seq,
                       ts=start + dt.timedelta(minutes=seq))
    run_analysis_batch(app, "w1", limit=20)
    state, learned = stored()
    assert state == "ready"
    for k in range(8):  # normal clips 20 minutes apart: some are admitted
        post_condition(client, token, 20 + k, "normal", seed=300 + k,
                       ts=start + dt.timedelta(hours=1, minutes=20 * k))
        run_analysis_batch(app, "w1")
    _state, followed = stored()
    assert followed != learned
    for k in range(4):  # a fault, 20 minutes apart: flagged, never admitted
        post_condition(client, token, 40 + k, "bearing", seed=400 + k, snr_db=6,
                       ts=start + dt.timedelta(hours=5, minutes=20 * k))
        run_analysis_batch(app, "w1")
    _state, after_fault = stored()
    assert after_fault == followed
    with session_scope(app) as s:
        faults = s.scalars(sa.select(Diagnosis).where(Diagnosis.compressor_id == cid)
                           .order_by(Diagnosis.ts.desc()).limit(4)).all()
        assert all(d.is_anomaly for d in faults)
        assert all(d.features_summary["anomaly"]["family"] for d in faults)


def test_undecodable_audio_fails_with_its_reason(client, app, world, demo_model_file):
    install_model(app, demo_model_file)
    cid = world.compressors["A"][0]
    rid = post_condition(client, world.tokens[cid], 1)
    with session_scope(app) as s:
        audio_store(app).put(s.get(Recording, rid).audio_key, b"RIFF garbage")
    assert run_analysis_batch(app, "w1") == 0
    with session_scope(app) as s:
        rec = s.get(Recording, rid)
        assert rec.status == "failed" and "cannot be decoded" in rec.error
        assert s.scalar(sa.select(sa.func.count()).select_from(Diagnosis)) == 0


def test_without_an_active_model_recordings_stay_queued(client, app, world):
    cid = world.compressors["A"][0]
    rid = post_condition(client, world.tokens[cid], 1)
    assert run_analysis_batch(app, "w1") == 0
    assert statuses(app)[rid] == "queued"


def test_transient_failure_is_retried_then_given_up(client, app, world, demo_model_file):
    install_model(app, demo_model_file)
    cid = world.compressors["A"][0]
    rid = post_condition(client, world.tokens[cid], 1)
    with session_scope(app) as s:
        key = s.get(Recording, rid).audio_key
    audio_store(app).delete(key)  # missing audio is permanent
    run_analysis_batch(app, "w1")
    with session_scope(app) as s:
        assert s.get(Recording, rid).status == "failed"
        assert "missing" in s.get(Recording, rid).error


def test_killed_worker_claim_is_retried_after_it_goes_stale(pg_dash_app, pg_world,
                                                             demo_model_file):
    server = pg_dash_app.server
    client = server.test_client()
    install_model(server, demo_model_file)
    cid = pg_world.compressors["A"][0]
    rid = post_condition(client, pg_world.tokens[cid], 1)
    now = utcnow()
    with session_scope(server) as s:
        assert claim_next_recordings(s, "dead-worker", 5, now) == [rid]
    with session_scope(server) as s:  # still fresh: nobody else may take it
        assert claim_next_recordings(s, "w2", 5, now + dt.timedelta(minutes=1)) == []
    later = now + STALE_AFTER + dt.timedelta(seconds=1)
    with session_scope(server) as s:
        assert claim_next_recordings(s, "w2", 5, later) == [rid]
        assert s.get(Recording, rid).attempts == 2
    with session_scope(server) as s:  # the "dead" worker wakes up: its claim is gone
        assert analyze_recording(server, s, rid, "dead-worker", later) is None
    with session_scope(server) as s:
        assert analyze_recording(server, s, rid, "w2", later) is not None
    with session_scope(server) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Diagnosis)) == 1
        assert s.get(Recording, rid).status == "done"


def test_two_workers_never_analyse_the_same_recording(pg_dash_app, pg_world, demo_model_file):
    server = pg_dash_app.server
    client = server.test_client()
    install_model(server, demo_model_file)
    ids = [post_condition(client, pg_world.tokens[cid], seq)
           for seq in range(6) for cid in pg_world.compressors["A"] + pg_world.compressors["B"]]
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while run_analysis_batch(server, name, limit=3) > 0:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with session_scope(server) as s:
        per_recording = dict(s.execute(
            sa.select(Diagnosis.recording_id, sa.func.count()).group_by(Diagnosis.recording_id)
        ).all())
        workers = set(s.scalars(sa.select(Recording.claimed_by)))
    assert per_recording == {rid: 1 for rid in ids}
    assert set(statuses(server).values()) == {"done"}
    assert workers <= {"w0", "w1"}


def test_stale_claim_past_max_attempts_is_marked_failed(app, client, world, demo_model_file):
    install_model(app, demo_model_file)
    rid = post_condition(client, world.tokens[world.compressors["A"][0]], 1)
    now = utcnow()
    for attempt in range(3):
        with session_scope(app) as s:
            assert claim_next_recordings(s, f"w{attempt}", 5, now) == [rid]
        now += STALE_AFTER + dt.timedelta(seconds=1)
    with session_scope(app) as s:
        assert claim_next_recordings(s, "w9", 5, now) == []
        rec = s.get(Recording, rid)
        assert rec.status == "failed" and "3 attempts" in rec.error


@pytest.mark.parametrize("who,status", [(None, 401), ("A-viewer", 403), ("A-analyst", 200)])
def test_adhoc_analysis_needs_login(client, app, world, demo_model_file, who, status):
    install_model(app, demo_model_file)
    if who:
        world.login(client, who)
    samples, rate = demo_clip("electrical_hum", rng_seed=5)
    resp = client.post("/api/analyze", data=wav_bytes(samples, rate), content_type="audio/wav")
    assert resp.status_code == status
    if status == 200:
        body = resp.get_json()
        assert body["label"] == "electrical_hum"
        assert "hum" in body["recommended_action"].lower() or body["recommended_action"]
        bad = client.post("/api/analyze", data=b"not audio", content_type="audio/wav")
        assert bad.status_code == 422 and bad.get_json()["error"] == "invalid_audio"
