"""Synthetic fault signatures do what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest

from ml import synthetic as S
from ml.features import FEATURE_NAMES, extract_features

SR = 16_000
N = 5 * SR


def _features(y: np.ndarray) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, extract_features(y, SR).tolist(), strict=True))


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 20.0])
def test_mix_at_snr_is_exact(snr_db: float) -> None:
    rng = np.random.default_rng(0)
    clean = 0.3 * rng.standard_normal(N)
    fault = S.make_fault("valve_leak", N, SR, rng)
    mixed = S.mix_at_snr(clean, fault, snr_db).astype(np.float64)
    added = mixed - clean
    measured = 10 * np.log10(np.mean(clean**2) / np.mean(added**2))
    assert measured == pytest.approx(snr_db, abs=0.01)


def test_bearing_impacts_show_at_the_defect_frequency() -> None:
    rng = np.random.default_rng(1)
    fault = S.bearing_fault(N, SR, rng, defect_hz=107.0, resonance_hz=3500.0, modulated=False)
    f = _features(fault)
    assert f["env_peak_hz"] == pytest.approx(107.0, abs=1.5)
    assert f["kurtosis"] > 3
    assert f["centroid_hz_mean"] == pytest.approx(3500, rel=0.15)


def test_hum_is_at_twice_the_line_frequency() -> None:
    for line, expected in ((50.0, 100.0), (60.0, 120.0)):
        hum = S.electrical_hum_fault(N, SR, np.random.default_rng(2), line_hz=line)
        f = _features(hum)
        assert f["dominant_hz"] == pytest.approx(expected, abs=0.5)
        assert f[f"hum{expected:.0f}_prominence_db"] > 30


def test_valve_leak_energy_is_in_its_band() -> None:
    hiss = S.valve_leak_fault(N, SR, np.random.default_rng(3), band_hz=(3000.0, 6000.0))
    spectrum = np.abs(np.fft.rfft(hiss)) ** 2
    freqs = np.fft.rfftfreq(N, 1 / SR)
    in_band = spectrum[(freqs > 2800) & (freqs < 6300)].sum() / spectrum.sum()
    assert in_band > 0.95


def test_belt_slip_is_intermittent_and_sweeps_upwards() -> None:
    y = S.belt_slip_fault(N, SR, np.random.default_rng(4), n_events=1)
    active = np.flatnonzero(np.abs(y) > 1e-9)
    assert 0.08 * SR <= len(active) <= 0.25 * SR + 1
    burst = y[active[0]:active[-1] + 1]
    half = len(burst) // 2
    zc = [np.mean(np.abs(np.diff(np.signbit(p).astype(int)))) for p in (burst[:half],
                                                                        burst[half:])]
    assert zc[1] > zc[0]  # pitch rises


def test_make_labelled_set_counts_and_determinism() -> None:
    rng = np.random.default_rng(5)
    normals = [0.1 * rng.standard_normal(SR).astype(np.float32) for _ in range(3)]
    clips, labels = S.make_labelled_set(normals, SR, n_per_class=4, rng_seed=9)
    assert len(clips) == 4 * (1 + len(S.FAULT_GENERATORS))
    assert labels.count("normal") == 4 and labels.count("bearing") == 4
    again, _ = S.make_labelled_set(normals, SR, n_per_class=4, rng_seed=9)
    assert all(np.array_equal(a, b) for a, b in zip(clips, again, strict=True))
    with pytest.raises(ValueError):
        S.make_fault("gearbox", 10, SR, rng)
