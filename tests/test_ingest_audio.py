"""POST /api/esp32/audio: clips stored through the audio store and queued once per seq;
bad audio refused with 4xx JSON and nothing stored; a failing store answers 503."""

import socket

import numpy as np
import pytest
import sqlalchemy as sa

from dashboard.core.blobs import LocalStore, S3Store, audio_store
from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, Recording
from tests.audio_fixtures import tone, wav_bytes


def post_clip(client, token, data, seq=1, content_type="audio/wav", **headers):
    return client.post(f"/api/esp32/audio?seq={seq}" if seq is not None else "/api/esp32/audio",
                       data=data, content_type=content_type,
                       headers={"Authorization": f"Bearer {token}", **headers})


def recordings(app):
    with session_scope(app) as s:
        return s.scalars(sa.select(Recording).order_by(Recording.id)).all()


def stored_files(app):
    root = audio_store(app).root
    return sorted(p for p in root.rglob("*.wav")) if root.exists() else []


@pytest.fixture
def device(world):
    cid = world.compressors["A"][0]
    return cid, world.tokens[cid]


def test_wav_clip_is_stored_and_queued(client, app, device):
    cid, token = device
    data = wav_bytes(tone(5.0))
    resp = post_clip(client, token, data, seq=42)
    assert resp.status_code == 202
    rid = resp.get_json()["recording_id"]
    [rec] = recordings(app)
    assert (rec.id, rec.compressor_id, rec.seq, rec.status) == (rid, cid, 42, "queued")
    assert rec.sample_rate == 16000 and rec.duration_s == pytest.approx(5.0)
    assert audio_store(app).get(rec.audio_key) == data
    with session_scope(app) as s:
        assert s.get(Compressor, cid).last_seen_at is not None


def test_float_wav_and_raw_pcm_are_accepted(client, app, device):
    _, token = device
    assert post_clip(client, token, wav_bytes(tone(2.0, 48000), 48000, "FLOAT"),
                     seq=1).status_code == 202
    pcm = (tone(1.5, 8000) * 32767).astype("<i2").tobytes()
    resp = client.post("/api/esp32/audio", data=pcm, content_type="application/octet-stream",
                       headers={"Authorization": f"Bearer {token}", "X-Seq": "2",
                                "X-Sample-Rate": "8000"})
    assert resp.status_code == 202
    raw = recordings(app)[1]
    assert raw.sample_rate == 8000 and raw.duration_s == pytest.approx(1.5)
    assert audio_store(app).get(raw.audio_key)[:4] == b"RIFF"  # stored as WAV


def test_repeated_seq_returns_the_same_recording_and_stores_once(client, app, device):
    _, token = device
    data = wav_bytes(tone(2.0))
    first = post_clip(client, token, data, seq=5).get_json()
    again = post_clip(client, token, data, seq=5).get_json()
    assert again == {"recording_id": first["recording_id"], "duplicate": True}
    assert len(recordings(app)) == 1
    assert len(stored_files(app)) == 1


def _truncated() -> bytes:
    return wav_bytes(tone(3.0))[:20000]


BAD_CLIPS = {
    "not a wav": (b"hello world, definitely not audio", "audio/wav", {}, 400, "invalid_audio"),
    "truncated wav": (None, "audio/wav", {}, 400, "invalid_audio"),
    "corrupt header": (b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\xff" * 64, "audio/wav", {}, 400,
                       "invalid_audio"),
    "rate too low": (wav_bytes(tone(2.0, 4000), 4000), "audio/wav", {}, 422,
                     "unsupported_sample_rate"),
    "rate too high": (wav_bytes(tone(1.0, 96000), 96000), "audio/wav", {}, 422,
                      "unsupported_sample_rate"),
    "too short": (wav_bytes(tone(0.5)), "audio/wav", {}, 422, "invalid_duration"),
    "too long": (wav_bytes(tone(31.0, 8000), 8000), "audio/wav", {}, 422, "invalid_duration"),
    "stereo": (wav_bytes(np.stack([tone(2.0), tone(2.0)], axis=1)), "audio/wav", {}, 422,
               "invalid_audio"),
    "8-bit wav": (wav_bytes(tone(2.0), subtype="PCM_U8"), "audio/wav", {}, 415,
                  "unsupported_audio"),
    "nan samples": (wav_bytes(np.full(32000, np.nan, dtype=np.float32), subtype="FLOAT"),
                    "audio/wav", {}, 422, "invalid_audio"),
    "raw without rate": (b"\x00\x01" * 16000, "application/octet-stream", {}, 400,
                         "missing_sample_rate"),
    "raw odd length": (b"\x00" * 32001, "application/octet-stream", {"X-Sample-Rate": "16000"},
                       400, "invalid_audio"),
    "raw bad rate": (b"\x00\x01" * 16000, "application/octet-stream",
                     {"X-Sample-Rate": "sixteen"}, 400, "invalid_sample_rate"),
    "wrong type": (wav_bytes(tone(2.0)), "application/json", {}, 415, "unsupported_media_type"),
    "empty": (b"", "audio/wav", {}, 400, "empty_body"),
    "future ts": (wav_bytes(tone(2.0)), "audio/wav", {"X-Timestamp": "2099-01-01T00:00:00Z"},
                  422, "invalid_timestamp"),
}


@pytest.mark.parametrize("case", sorted(BAD_CLIPS))
def test_bad_audio_is_refused_and_nothing_is_stored(client, app, device, case):
    _, token = device
    data, ctype, headers, status, code = BAD_CLIPS[case]
    data = _truncated() if data is None else data
    resp = post_clip(client, token, data, content_type=ctype, **headers)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"] == code
    assert recordings(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("seq", [None, "x", "-1"])
def test_missing_or_bad_seq_is_400(client, app, device, seq):
    _, token = device
    url = "/api/esp32/audio" if seq is None else f"/api/esp32/audio?seq={seq}"
    resp = client.post(url, data=wav_bytes(tone(2.0)), content_type="audio/wav",
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    assert recordings(app) == []


def test_oversize_clip_is_413(client, app, device):
    _, token = device
    big = wav_bytes(tone(30.0, 48000), 48000, "FLOAT")  # 5.8 MB
    resp = post_clip(client, token, big)
    assert resp.status_code == 413
    assert recordings(app) == []


def test_invalid_token_is_401_and_stores_nothing(client, app):
    resp = post_clip(client, "sc_abc_def", wav_bytes(tone(2.0)))
    assert resp.status_code == 401 and recordings(app) == []


def test_unavailable_store_answers_503_with_retry_after(client, app, device, tmp_path):
    _, token = device
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the audio folder should be")
    app.extensions["sc_audio_store"] = LocalStore(blocked)
    resp = post_clip(client, token, wav_bytes(tone(2.0)))
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "30"
    assert resp.get_json()["error"] == "storage_unavailable"
    assert recordings(app) == []


@pytest.fixture
def moto_s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    url = f"http://127.0.0.1:{port}"
    import boto3
    import requests

    # moto keeps one in-memory backend per process: start from an empty one.
    requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()

    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="clips")
    yield url
    server.stop()


def test_clips_go_to_an_s3_bucket_when_configured(client, app, device, moto_s3):
    _, token = device
    app.extensions["sc_audio_store"] = S3Store("clips", "prod", moto_s3)
    data = wav_bytes(tone(2.0))
    assert post_clip(client, token, data, seq=9).status_code == 202
    [rec] = recordings(app)
    import boto3

    obj = boto3.client("s3", endpoint_url=moto_s3).get_object(
        Bucket="clips", Key=f"prod/{rec.audio_key}")
    assert obj["Body"].read() == data
    assert audio_store(app).get(rec.audio_key) == data
    missing_bucket = S3Store("no-such-bucket", "", moto_s3)
    app.extensions["sc_audio_store"] = missing_bucket
    resp = post_clip(client, token, data, seq=10)
    assert resp.status_code == 503 and len(recordings(app)) == 1


def test_audio_is_idempotent_on_postgresql(pg_dash_app, pg_world):
    client = pg_dash_app.server.test_client()
    cid = pg_world.compressors["B"][0]
    data = wav_bytes(tone(2.0))
    ids = {post_clip(client, pg_world.tokens[cid], data, seq=77).get_json()["recording_id"]
           for _ in range(3)}
    assert len(ids) == 1
    assert len(recordings(pg_dash_app.server)) == 1
