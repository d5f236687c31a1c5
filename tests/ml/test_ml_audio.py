"""Decoding, resampling and clip cutting."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.audio import clip_starts, load_audio, resample, split_clips, to_mono_float32


def _wav_bytes(data: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def test_load_wav_bytes_and_path(tmp_path) -> None:
    t = np.arange(16_000) / 16_000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    raw = _wav_bytes(tone, 16_000)
    y, sr = load_audio(raw)
    assert sr == 16_000 and y.dtype == np.float32 and y.shape == (16_000,)
    np.testing.assert_allclose(y, tone, atol=1e-4)
    path = tmp_path / "a.wav"
    path.write_bytes(raw)
    y2, sr2 = load_audio(path)
    np.testing.assert_array_equal(y, y2)
    assert sr2 == sr


def test_stereo_is_averaged_and_ints_are_scaled() -> None:
    left, right = np.full(100, 0.5), np.full(100, -0.25)
    y, _ = load_audio(_wav_bytes(np.stack([left, right], axis=1), 8000, "FLOAT"))
    np.testing.assert_allclose(y, 0.125, atol=1e-6)
    pcm = np.array([0, 16384, -32768], dtype=np.int16)
    np.testing.assert_allclose(to_mono_float32(pcm), [0.0, 0.5, -1.0])


def test_garbage_bytes_raise_value_error() -> None:
    with pytest.raises(ValueError):
        load_audio(b"not a wav file at all")
    with pytest.raises(ValueError):
        to_mono_float32(np.array([0.0, np.nan]))


def test_resample_keeps_a_tone_and_length() -> None:
    sr_in, sr_out = 48_000, 16_000
    t = np.arange(sr_in) / sr_in
    y = resample(np.sin(2 * np.pi * 1000 * t), sr_in, sr_out)
    assert len(y) == sr_out
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == pytest.approx(1000, abs=1)
    # content above the new Nyquist frequency is removed, not folded back
    alias = resample(np.sin(2 * np.pi * 10_000 * t), sr_in, sr_out)
    assert np.sqrt(np.mean(alias**2)) < 0.01


def test_split_clips_drops_short_tail_only() -> None:
    sr = 100
    y = np.arange(1040, dtype=np.float32)  # 10.4 s of 1 s clips: tail 0.4 s dropped
    clips = split_clips(y, sr, 1.0)
    assert len(clips) == 10 and all(len(c) == 100 for c in clips)
    assert clips[3][0] == 300
    kept = split_clips(np.zeros(1060, dtype=np.float32), sr, 1.0)  # tail 0.6 s kept
    assert len(kept) == 11 and len(kept[-1]) == 60
    assert clip_starts(1060, sr, 1.0) == [float(i) for i in range(11)]
    assert clip_starts(1040, sr, 1.0) == [float(i) for i in range(10)]
    assert split_clips(np.zeros(40, dtype=np.float32), sr, 1.0) == []


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 5000), sr=st.sampled_from([100, 8000, 16_000]),
       clip=st.sampled_from([0.01, 0.05, 0.1, 0.25]))
def test_split_clips_properties(n: int, sr: int, clip: float) -> None:
    y = np.arange(n, dtype=np.float32)
    clips = split_clips(y, sr, clip)
    size = int(round(clip * sr))
    starts = clip_starts(n, sr, clip)
    assert len(starts) == len(clips)
    for start, piece in zip(starts, clips, strict=True):
        assert piece[0] == round(start * sr)  # clips are where clip_starts says
        assert size / 2 <= len(piece) <= size
    dropped = n - sum(len(c) for c in clips)
    assert 0 <= dropped < size / 2  # only a tail shorter than half a clip is dropped
