"""Issue 17, finding 2: one WAV check (``dashboard.core.wav``) for the device API and
the spectrogram page's upload, decided from the header before decoding; uploads are
rate limited per user. Malformed headers are fuzzed."""

from __future__ import annotations

import base64
import io
import random
import struct
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from dashboard.core import wav
from dashboard.core.wav import WavError
from tests.audio_fixtures import tone, wav_bytes
from tests.dash_client import call_callback, ids_in, output_of, text_of


def riff(channels: int = 1, rate: int = 16000, bits: int = 16, tag: int = 1,
         data_size: int | None = None, payload: bytes = b"\0" * 64000) -> bytes:
    """A WAV whose header says anything, with ``payload`` as its data."""
    size = len(payload) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * bits // 8,
                      channels * bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", len(body) + len(payload)) + body + payload


def flac_bomb() -> bytes:
    """The probe's file: 192 kHz, 2 channels, 59 s of silence, ~40 KB as FLAC."""
    buf = io.BytesIO()
    sf.write(buf, np.zeros((192_000 * 59, 2), dtype="int16"), 192_000, format="FLAC")
    return buf.getvalue()


@pytest.mark.parametrize("data, code", [
    (riff(channels=2, payload=b"\0" * 128000), "invalid_audio"),
    (riff(rate=192_000, payload=b"\0" * 768000), "unsupported_sample_rate"),
    (riff(channels=8, rate=655_350, data_size=4_000_000_000, payload=b"\0" * 64),
     "invalid_audio"),  # truncated: the header lies about its size
    (riff(bits=24, payload=b"\0" * 96000), "unsupported_audio"),
    (riff(payload=b"\0" * 1000), "invalid_duration"),
    (b"fLaC" + b"\0" * 100, "invalid_audio"),
])
def test_headers_outside_the_limits_are_refused_before_decoding(data, code):
    with pytest.raises(WavError) as err:
        wav.read_header(data)
    assert err.value.code == code and err.value.status in (400, 413, 415, 422)


def test_a_flac_bomb_is_refused_in_little_time_and_memory():
    data = flac_bomb()
    assert len(data) < 200_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(WavError):
        wav.decode(data)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5_000_000, peak  # the old path decoded 1.3 GB
    print(f"flac bomb refused in {elapsed * 1000:.2f} ms, peak {peak} bytes")


def test_a_good_clip_decodes_to_mono_float32():
    y, sr = wav.decode(wav_bytes(tone(2.0, 16000)))
    assert sr == 16000 and y.dtype == np.float32 and y.shape == (32000,)


def test_fuzzed_wav_headers_only_raise_wav_error():
    rnd = random.Random(17)
    good = bytearray(wav_bytes(tone(1.5, 8000)))
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rnd.randint(1, 6)):
            pos = rnd.randrange(0, 48)
            data[pos] = rnd.randrange(256)
        if rnd.random() < 0.2:
            data = data[:rnd.randrange(0, len(data))]
        try:
            y, sr = wav.decode(bytes(data))
        except WavError:
            continue
        assert y.ndim == 1 and wav.MIN_RATE <= sr <= wav.MAX_RATE
        assert y.nbytes <= wav.MAX_DECODED_BYTES


def test_device_path_refuses_stereo_and_flac(client, world):
    cid = world.compressors["A"][0]
    headers = {"Authorization": f"Bearer {world.tokens[cid]}", "Content-Type": "audio/wav"}
    stereo = riff(channels=2, payload=b"\0" * 128000)
    resp = client.post("/api/esp32/audio?seq=1", data=stereo, headers=headers)
    assert resp.status_code == 422 and resp.get_json()["error"] == "invalid_audio"
    resp = client.post("/api/esp32/audio?seq=2", data=flac_bomb(), headers=headers)
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_audio"


def _upload(client, dash_app, data: bytes):
    contents = "data:audio/wav;base64," + base64.b64encode(data).decode()
    return call_callback(client, dash_app, "spectro-upload-result.children",
                         {"spectro-upload.contents": contents,
                          "spectro-upload.filename": "x.flac"})


def test_spectrogram_upload_refuses_the_bomb_with_a_message(client, world, dash_app):
    world.login(client, "A-analyst")
    out = output_of(_upload(client, dash_app, flac_bomb()), "spectro-upload-result",
                    "children")
    assert "spectro-upload-error" in ids_in(out)
    assert "RIFF/WAVE" in text_of(out)
    stereo = output_of(_upload(client, dash_app, riff(channels=2, payload=b"\0" * 128000)),
                       "spectro-upload-result", "children")
    assert "mono" in text_of(stereo) or "모노" in text_of(stereo)  # in the user's language


def _too_many(text: str) -> bool:
    # the message comes in the user's language (profile default: Korean)
    return "Too many uploads" in text or "업로드가 너무 많습니다" in text


def test_uploads_are_rate_limited_per_user(client, world, dash_app):
    # The page's upload and POST /api/analyze are one act with one per-user count.
    dash_app.server.config["ANALYZE_RATE_LIMIT"] = "4 per minute"
    world.login(client, "A-analyst")
    good = wav_bytes(tone(1.5, 8000))
    texts = [text_of(output_of(_upload(client, dash_app, good), "spectro-upload-result",
                               "children")) for _ in range(2)]
    codes = [client.post("/api/analyze", data=good).status_code for _ in range(2)]
    # (no model is active here: each call is counted, then answers 422)
    assert not any(_too_many(t) for t in texts) and 429 not in codes
    assert _too_many(text_of(output_of(_upload(client, dash_app, good),
                                       "spectro-upload-result", "children")))
    refused = client.post("/api/analyze", data=good)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    # another user is not limited by this one
    other = dash_app.server.test_client()
    world.login(other, "A-admin")
    assert not _too_many(text_of(output_of(
        _upload(other, dash_app, good), "spectro-upload-result", "children")))


def test_api_analyze_is_for_analysts_and_up(client, world):
    world.login(client, "A-viewer")
    assert client.post("/api/analyze", data=wav_bytes(tone(1.5, 8000))).status_code == 403
