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


def test_impulsive_knock_is_short_low_frequency_impacts_at_its_rate() -> None:
    y = S.impulsive_knock_fault(N, SR, np.random.default_rng(6), rate_hz=3.0,
                                resonance_hz=120.0, click_fraction=0.0)
    env = np.abs(y)
    frames = env[: N - N % 160].reshape(-1, 160).max(axis=1)  # 10 ms frames
    active = frames > 0.2 * frames.max()
    onsets = np.flatnonzero(active[1:] & ~active[:-1])
    assert 5 * 3.0 - 3 <= len(onsets) <= 5 * 3.0 + 2
    assert active.mean() < 0.35  # short: silent most of the time
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(N, 1 / SR)
    assert spectrum[(freqs > 60) & (freqs < 250)].sum() / spectrum.sum() > 0.8


def test_mains_hum_has_lines_at_the_mains_harmonics() -> None:
    y = S.mains_hum_fault(N, SR, np.random.default_rng(7), line_hz=50.0)
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(N, 1 / SR)
    on = sum(spectrum[np.abs(freqs - 50.0 * k) < 0.5].sum() for k in range(1, 9))
    assert on / spectrum.sum() > 0.99
    assert spectrum[np.abs(freqs - 150.0) < 0.5].sum() > spectrum[np.abs(freqs - 100.0) < 0.5].sum()


def test_intermittent_fault_is_present_in_only_part_of_the_clip() -> None:
    y = S.intermittent_fault(N, SR, np.random.default_rng(8), fraction=0.3)
    seconds = np.abs(y[: N - N % (SR // 10)]).reshape(-1, SR // 10).max(axis=1)  # 100 ms
    quiet = seconds < 1e-6 * np.abs(y).max()
    assert 0.5 <= quiet.mean() <= 0.8


def test_every_fault_kind_is_documented_as_synthetic() -> None:
    assert len(S.FAULT_GENERATORS) >= 7
    doc = S.__doc__ or ""
    assert "SYNTHETIC" in doc
    for kind in S.FAULT_GENERATORS:
        assert f"``{kind}``" in doc


def _band_share(y: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


def test_unseen_kinds_stay_out_of_design_and_training() -> None:
    """bench/detection.py --kinds unseen is a check on kinds the detector was not built
    on: they must never join the design kinds, whose names train the demo model."""
    from ml.demo import DEMO_CONDITIONS
    from ml.unseen_faults import UNSEEN_FAULT_GENERATORS
    from ml.unseen_faults import __doc__ as unseen_doc

    assert len(UNSEEN_FAULT_GENERATORS) == 5
    assert not set(UNSEEN_FAULT_GENERATORS) & (set(S.FAULT_GENERATORS) | set(DEMO_CONDITIONS))
    for kind in UNSEEN_FAULT_GENERATORS:
        assert f"``{kind}``" in (unseen_doc or "")


def test_unseen_kinds_sound_where_their_docstrings_say() -> None:
    from ml import unseen_faults as U

    rng = np.random.default_rng(9)
    assert _band_share(U.unbalance_fault(N, SR, rng), 20, 65) > 0.99
    assert _band_share(U.whine_fault(N, SR, rng), 1400, 5100) > 0.99
    assert _band_share(U.rub_fault(N, SR, rng), 900, 6500) > 0.95
    assert _band_share(U.crackle_fault(N, SR, rng), 2500, SR / 2) > 0.9
    loose = U.looseness_fault(N, SR, rng)
    assert _band_share(loose, 10, 450) > 0.9  # running speed, its harmonics, half orders
    crackle = _features(U.crackle_fault(N, SR, rng))
    assert crackle["kurtosis"] > 3
    for make in U.UNSEEN_FAULT_GENERATORS.values():
        y = make(N, SR, np.random.default_rng(10))
        assert y.shape == (N,) and np.isfinite(y).all() and np.std(y) > 0
