"""Feature families checked on signals whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from ml import features as F

SR = 16_000


def _t(seconds: float = 5.0, sr: int = SR) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def feats(y: np.ndarray, sr: int = SR) -> dict[str, float]:
    vec = F.extract_features(y.astype(np.float32), sr, sr)
    return dict(zip(F.FEATURE_NAMES, vec.tolist(), strict=True))


def test_names_unique_and_count() -> None:
    assert len(F.FEATURE_NAMES) == len(set(F.FEATURE_NAMES)) == F.N_FEATURES
    assert F.N_FEATURES >= 200
    assert not any("chroma" in n or "tonnetz" in n for n in F.FEATURE_NAMES)


def test_output_shape_dtype_and_determinism() -> None:
    rng = np.random.default_rng(3)
    y = 0.1 * rng.standard_normal(5 * SR)
    a = F.extract_features(y, SR)
    b = F.extract_features(y.copy(), SR)
    assert a.dtype == np.float32 and a.shape == (F.N_FEATURES,)
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    batch = F.extract_features_batch([y, y[: 2 * SR]], SR)
    assert batch.shape == (2, F.N_FEATURES)
    np.testing.assert_array_equal(batch[0], a)


def test_pure_tone_centroid_zcr_and_flatness() -> None:
    f0 = 1000.0
    tone = 0.5 * np.sin(2 * np.pi * f0 * _t())
    f = feats(tone)
    assert f["centroid_hz_mean"] == pytest.approx(f0, rel=0.03)
    assert f["centroid_hz_std"] < 5.0
    # a sine crosses zero twice per period
    assert f["zcr_mean"] == pytest.approx(2 * f0 / SR, rel=0.02)
    assert f["flatness_mean"] < 0.01
    assert f["dominant_hz"] == pytest.approx(f0, abs=0.5)


def test_white_noise_is_flat_and_centroid_mid_band() -> None:
    noise = 0.1 * np.random.default_rng(0).standard_normal(5 * SR)
    f = feats(noise)
    assert f["flatness_mean"] > 0.4
    assert f["centroid_hz_mean"] == pytest.approx(SR / 4, rel=0.05)
    assert f["entropy_mean"] > 0.9
    assert f["zcr_mean"] == pytest.approx(0.5, abs=0.03)


def test_sine_rms_and_crest_factor() -> None:
    amp = 0.5
    f = feats(amp * np.sin(2 * np.pi * 440 * _t()))
    assert f["rms_db"] == pytest.approx(20 * np.log10(amp / np.sqrt(2)), abs=0.05)
    assert f["peak_db"] == pytest.approx(20 * np.log10(amp), abs=0.05)
    assert f["crest_factor"] == pytest.approx(np.sqrt(2), rel=0.01)
    assert f["rms_mean"] == pytest.approx(amp / np.sqrt(2), rel=0.01)
    assert f["rms_db_std"] < 0.1
    assert f["kurtosis"] == pytest.approx(-1.5, abs=0.02)  # excess kurtosis of a sine


def test_kurtosis_impulsive_vs_gaussian() -> None:
    rng = np.random.default_rng(1)
    gauss = 0.1 * rng.standard_normal(5 * SR)
    impulsive = gauss.copy() * 0.1
    impulsive[:: SR // 10] += 0.9  # ten clicks per second
    fg, fi = feats(gauss), feats(impulsive)
    assert abs(fg["kurtosis"]) < 0.2
    assert abs(fg["skewness"]) < 0.1
    assert fi["kurtosis"] > 50
    assert fg["crest_factor"] < 6 < 15 < fi["crest_factor"]


def test_dominant_frequency_of_hum_with_harmonics() -> None:
    t = _t()
    hum = sum(a * np.sin(2 * np.pi * 50 * k * t) for k, a in [(1, 0.3), (2, 0.15), (3, 0.1),
                                                                (4, 0.05), (5, 0.03)])
    hum = hum + 0.005 * np.random.default_rng(2).standard_normal(len(t))
    f = feats(hum)
    assert f["dominant_hz"] == pytest.approx(50.0, abs=0.2)
    # relative power of each line: a_k^2 / sum(a^2)
    amps = np.array([0.3, 0.15, 0.1, 0.05, 0.03])
    expected = 10 * np.log10(amps**2 / np.sum(amps**2))
    got = [f["dominant_rel_db"]] + [f[f"harmonic{k}_rel_db"] for k in range(2, 6)]
    np.testing.assert_allclose(got, expected, atol=0.5)


def test_click_train_envelope_peak_at_click_rate() -> None:
    rate = 37.0  # clicks per second, like a bearing defect frequency
    rng = np.random.default_rng(5)
    t = _t()
    y = 0.02 * rng.standard_normal(len(t))
    ring = np.exp(-np.arange(int(0.004 * SR)) / (0.0008 * SR)) * np.sin(
        2 * np.pi * 4500 * np.arange(int(0.004 * SR)) / SR)
    for start in (np.arange(0, 5.0, 1 / rate) * SR).astype(int):
        seg = y[start:start + len(ring)]
        seg += 0.5 * ring[: len(seg)]
    f = feats(y)
    assert f["env_peak_hz"] == pytest.approx(rate, abs=0.5)
    assert f["env_peak_prominence_db"] > 15
    noise = feats(0.02 * rng.standard_normal(len(t)))
    assert f["env_total_db"] > noise["env_total_db"] + 10
    band = next(n for n in F.FEATURE_NAMES if n.startswith("env_20_40"))
    assert f[band] > noise[band] + 15


def test_mel_and_mfcc_match_librosa_definitions() -> None:
    librosa = pytest.importorskip("librosa")
    ours = F.mel_filterbank(SR)
    ref = librosa.filters.mel(sr=SR, n_fft=F.N_FFT, n_mels=F.N_MELS, fmin=0.0, fmax=SR / 2)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)
    # MFCC = orthonormal DCT-II of the mel spectrum in dB (librosa.feature.mfcc's definition)
    noise = 0.01 * np.random.default_rng(0).standard_normal(SR)
    y = 0.2 * np.sin(2 * np.pi * 300 * _t(1.0)) + noise
    f = feats(y)
    frames = F.frame_signal(y)
    mel_db = 10 * np.log10(np.maximum(ours @ F.magnitude_stft(frames) ** 2, 1e-10))
    from scipy.fft import dct
    mfcc = dct(mel_db, type=2, norm="ortho", axis=0)[: F.N_MFCC]
    np.testing.assert_allclose([f[f"mfcc{i:02d}_mean"] for i in range(F.N_MFCC)],
                               mfcc.mean(axis=1), rtol=1e-4, atol=1e-3)


def test_level_is_absolute() -> None:
    y = 0.1 * np.random.default_rng(4).standard_normal(2 * SR)
    quiet, loud = feats(y), feats(10 * y)
    assert loud["rms_db"] - quiet["rms_db"] == pytest.approx(20.0, abs=0.01)
    assert loud["logmel05_mean"] - quiet["logmel05_mean"] == pytest.approx(20.0, abs=0.01)
    # shape descriptors do not depend on the level
    assert loud["centroid_hz_mean"] == pytest.approx(quiet["centroid_hz_mean"], rel=1e-4)


def test_resampling_and_short_clips() -> None:
    t48 = np.arange(2 * 48_000) / 48_000
    y48 = 0.3 * np.sin(2 * np.pi * 500 * t48)
    f = dict(zip(F.FEATURE_NAMES, F.extract_features(y48, 48_000, SR).tolist(), strict=True))
    assert f["centroid_hz_mean"] == pytest.approx(500, rel=0.03)
    short = F.extract_features(y48[:300], 48_000, 12_000)  # shorter than one frame
    assert np.all(np.isfinite(short))


def test_summary_has_human_units() -> None:
    y = 0.5 * np.sin(2 * np.pi * 440 * _t(1.0))
    summary = F.summarize_features(F.extract_features(y, SR))
    assert summary["dominant_hz"] == pytest.approx(440, abs=1)
    assert summary["crest_factor"] == pytest.approx(np.sqrt(2), rel=0.01)
    assert set(summary) >= {"rms_db", "centroid_hz", "kurtosis", "envelope_peak_hz"}


def _hum_background(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = _t(seconds)
    return 0.2 * np.sin(2 * np.pi * 494 * t) + 0.05 * rng.standard_normal(len(t))


def test_an_impulsive_knock_raises_the_impulse_rate_and_periodicity() -> None:
    from ml.synthetic import impulsive_knock_fault, mix_at_snr

    clean = _hum_background(seed=1)
    knock = impulsive_knock_fault(len(clean), SR, np.random.default_rng(2), rate_hz=4.0,
                                  resonance_hz=150.0)
    fc, fk = feats(clean), feats(mix_at_snr(clean, knock, 10.0))
    assert fc["imp_all_rate_hz"] <= 1.0
    assert fk["imp_all_rate_hz"] == pytest.approx(4.0, abs=1.0)
    assert fk["imp_low_p99_db"] > fc["imp_low_p99_db"] + 3.0
    assert fk["imp_all_periodicity"] > fc["imp_all_periodicity"] + 0.2
    assert fk["imp_all_period_hz"] == pytest.approx(4.0, rel=0.15)
    assert fk["imp_all_regularity"] > 0.5 > fc["imp_all_regularity"]


def test_the_line_grid_shows_a_weak_line_where_it_is() -> None:
    clean = _hum_background(seed=3)
    weak = clean + 0.01 * np.sin(2 * np.pi * 150.0 * _t(2.0))  # -26 dB re the 494 Hz tone
    fc, fw = feats(clean), feats(weak)
    assert fw["line_150hz"] > 20.0 and fc["line_150hz"] < 10.0
    assert fc["line_494hz"] > 30.0  # the machine's own line
    grid = [n for n in F.FEATURE_NAMES if n.startswith("line_")]
    moved = [n for n in grid if abs(fw[n] - fc[n]) > 10.0]
    assert "line_150hz" in moved
    assert set(moved) <= {"line_149hz", "line_150hz", "line_151hz"}  # a Hann lobe spills


def test_classifier_columns_leave_out_the_line_grid_only() -> None:
    names = [F.FEATURE_NAMES[i] for i in F.CLASSIFIER_COLUMNS]
    assert not any(n.startswith("line_") for n in names)
    assert len(names) + len(F.family_columns("lines")) == F.N_FEATURES
    assert set(F.FEATURE_FAMILY) == set(F.FEATURE_FAMILIES)
