"""Feature extraction for machine sound and vibration clips.

One magnitude STFT per clip (Hann window, ``N_FFT`` = 1024, hop 512, no
centre padding) feeds every spectral family; one full-length real FFT of the
clip feeds the fine-resolution line spectrum (dominant frequency and its
harmonics) and the band-pass envelope (demodulation) spectrum. The code uses
numpy/scipy only, so no numba compilation happens at run time; the mel filter
bank and the MFCC transform are numerically identical to ``librosa.filters.mel``
(Slaney scale and norm) and ``librosa.feature.mfcc`` (DCT-II, ortho) - the
tests check that.

Feature families (``FEATURE_NAMES`` gives the exact order, 1,654 values):

==================  =====  ==============================================================
family              count  what it describes
==================  =====  ==============================================================
``mfcc``              80   20 MFCCs of the log mel spectrum: mean and std over frames,
                           and mean and std of their first time derivative (delta, 9
                           frames). Overall spectral envelope and how it fluctuates.
``logmel``            80   40 mel band energies in dB (0 .. Nyquist): mean and std.
                           Where the energy is and how steady each band is.
``spectral``          27   centroid, bandwidth, 85 % roll-off (mean, std), 95 % roll-off
                           (mean), flatness (mean, std), flux (mean, std), entropy (mean,
                           std), contrast in 7 octave bands anchored at Nyquist (mean,
                           std). Tonal vs noisy, bright vs dull, steady vs intermittent.
``zcr``                2   zero-crossing rate per frame: mean, std.
``rms``                6   frame RMS: mean, std, max, and the same in dB.
``waveform``           5   whole-clip RMS level (dB re full scale), peak (dB), crest factor
                           (peak / RMS, also in dB), excess kurtosis, skewness.
                           Impulsiveness: knocks, cracks, bearing impacts.
``harmonic``          10   dominant line frequency between 20 Hz and 1 kHz (motor,
                           shaft or mains related) and the power within +-1.5 Hz of it
                           and of harmonics 2..5, in dB relative to the clip's total power;
                           electrical hum at twice the 50 / 60 Hz line frequency: power
                           of the lines k x 100 Hz (k x 120 Hz), k = 1..4, relative to the
                           total (dB), and the 100 Hz (120 Hz) line's prominence over the
                           spectrum within +-10 Hz of it (dB).
``envelope``          29   squared-envelope spectrum of the clip band-passed to
                           0.25 .. 0.9 x Nyquist (where bearing impacts excite
                           structural resonances): modulation energy (dB) in 25 bands
                           2-500 Hz, total modulation energy, the peak frequency, the
                           peak's prominence over the median (dB) and envelope kurtosis.
``impulse``           35   per band (30-300 Hz, 0.3-1.5, 1.5-4, 4-7.6 kHz, all) crest,
                           tail, kurtosis, impulse rate, regularity, periodicity of
                           impacts and its rate (``ml.impulse``). Knocks, rattles.
``lines``           1380   prominence of the strongest line in every cell of a fine grid
                           (1 Hz cells 20 Hz-1 kHz, 5 Hz cells 1-3 kHz; ``ml.line_grid``).
                           Used by the baseline only (``CLASSIFIER_COLUMNS`` leaves them
                           out): new or grown hum and motor lines.
==================  =====  ==============================================================

Levels are absolute (dB re full scale, not re the clip's maximum) so a louder
machine is distinguishable from a quieter one. Features are deterministic and
computed in float64; the result is float32.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise

import numpy as np
from scipy.fft import dct, rfft

from ml import impulse, line_grid
from ml.audio import DEVICE_SAMPLE_RATE, resample, to_mono_float32
from ml.envelope import ENVELOPE_BAND, ENVELOPE_MAX_HZ, envelope_band_edges, envelope_block
from ml.spectrum import (
    DELTA_WIDTH,
    HOP,
    N_FFT,
    N_MELS,
    delta,
    frame_signal,
    magnitude_stft,
    mel_filterbank,
)

N_MFCC = 20
CONTRAST_BANDS = 7
ROLLOFF_LOW, ROLLOFF_HIGH = 0.85, 0.95
DOMINANT_RANGE_HZ = (20.0, 1000.0)
HARMONIC_HALF_WIDTH_HZ = 1.5
N_HARMONICS = 5
HUM_HZ = (100.0, 120.0)  # twice the 50 / 60 Hz line frequency
N_HUM_HARMONICS = 4
AMIN = 1e-10  # power floor before taking logs (-100 dB)


def _build_names() -> list[str]:
    names: list[str] = []
    for stat in ("mean", "std"):
        names += [f"mfcc{i:02d}_{stat}" for i in range(N_MFCC)]
    for stat in ("mean", "std"):
        names += [f"mfcc{i:02d}_delta_{stat}" for i in range(N_MFCC)]
    for stat in ("mean", "std"):
        names += [f"logmel{i:02d}_{stat}" for i in range(N_MELS)]
    names += [
        "centroid_hz_mean", "centroid_hz_std", "bandwidth_hz_mean", "bandwidth_hz_std",
        "rolloff85_hz_mean", "rolloff85_hz_std", "rolloff95_hz_mean",
        "flatness_mean", "flatness_std", "flux_mean", "flux_std",
        "entropy_mean", "entropy_std",
    ]
    for stat in ("mean", "std"):
        names += [f"contrast{i}_db_{stat}" for i in range(CONTRAST_BANDS)]
    names += ["zcr_mean", "zcr_std"]
    names += ["rms_mean", "rms_std", "rms_max", "rms_db_mean", "rms_db_std", "rms_db_max"]
    names += ["rms_db", "peak_db", "crest_factor", "kurtosis", "skewness"]
    names += ["dominant_hz", "dominant_rel_db"] + [
        f"harmonic{k}_rel_db" for k in range(2, N_HARMONICS + 1)
    ]
    for hum in HUM_HZ:
        names += [f"hum{hum:.0f}_rel_db", f"hum{hum:.0f}_prominence_db"]
    edges = envelope_band_edges()
    names += [f"env_{lo:.0f}_{hi:.0f}hz_db" for lo, hi in pairwise(edges)]
    names += ["env_total_db", "env_peak_hz", "env_peak_prominence_db", "env_kurtosis"]
    names += impulse.impulse_feature_names()
    names += line_grid.line_feature_names()
    return names


FEATURE_NAMES: list[str] = _build_names()
N_FEATURES = len(FEATURE_NAMES)
FEATURE_FAMILIES: dict[str, str] = {
    "mfcc": "MFCC mean/std and delta mean/std",
    "logmel": "log mel band energies mean/std",
    "spectral": "centroid, bandwidth, roll-off, flatness, flux, entropy, contrast",
    "zcr": "zero-crossing rate",
    "rms": "frame RMS (linear and dB)",
    "waveform": "clip level, peak, crest factor, kurtosis, skewness",
    "harmonic": "dominant line 20 Hz-1 kHz and harmonics 2..5, 100/120 Hz hum lines",
    "envelope": "squared-envelope spectrum of the high band",
    "impulse": "per-band impulsiveness: crest, tail, kurtosis, impulse rate, regularity, "
               "periodicity of impacts",
    "lines": "prominence of narrow-band lines on a 1 Hz (20 Hz-1 kHz) / 5 Hz (1-3 kHz) grid",
}
_PARAMS = (N_FFT, HOP, N_MELS, N_MFCC, DELTA_WIDTH, ROLLOFF_LOW, ROLLOFF_HIGH,
           DOMINANT_RANGE_HZ, HARMONIC_HALF_WIDTH_HZ, HUM_HZ, ENVELOPE_BAND, ENVELOPE_MAX_HZ,
           impulse.PARAMS, line_grid.PARAMS)
FEATURE_SET_ID: str = "signalcraft-features-2:" + hashlib.sha1(
    repr((FEATURE_NAMES, _PARAMS)).encode()
).hexdigest()[:12]
"""Changes whenever the names or the parameters that shape the values change."""

SUMMARY_FEATURES: dict[str, str] = {
    "rms_db": "rms_db",
    "peak_db": "peak_db",
    "crest_factor": "crest_factor",
    "kurtosis": "kurtosis",
    "dominant_hz": "dominant_hz",
    "dominant_rel_db": "dominant_rel_db",
    "centroid_hz": "centroid_hz_mean",
    "rolloff85_hz": "rolloff85_hz_mean",
    "flatness": "flatness_mean",
    "zcr": "zcr_mean",
    "envelope_peak_hz": "env_peak_hz",
}
"""Human-meaningful values shown next to a diagnosis: display name -> feature name."""

_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _family_of(name: str) -> str:
    for prefix, family in (("mfcc", "mfcc"), ("logmel", "logmel"), ("zcr", "zcr"),
                           ("rms_db", "waveform" if name == "rms_db" else "rms"),
                           ("rms", "rms"), ("imp_", "impulse"), ("line_", "lines"),
                           ("env_", "envelope"), ("dominant", "harmonic"),
                           ("harmonic", "harmonic"), ("hum", "harmonic")):
        if name.startswith(prefix):
            return family
    if name in ("peak_db", "crest_factor", "kurtosis", "skewness"):
        return "waveform"
    return "spectral"


FEATURE_FAMILY: list[str] = [_family_of(name) for name in FEATURE_NAMES]
"""Family (a key of ``FEATURE_FAMILIES``) of every feature, in ``FEATURE_NAMES`` order."""


def family_columns(*families: str) -> np.ndarray:
    """Columns of the features of the given families."""
    unknown = set(families) - set(FEATURE_FAMILIES)
    if unknown:
        raise ValueError(f"unknown feature families {sorted(unknown)}")
    return np.flatnonzero(np.isin(np.asarray(FEATURE_FAMILY), list(families)))


CLASSIFIER_FAMILIES = ("mfcc", "logmel", "spectral", "zcr", "rms", "waveform", "harmonic",
                       "envelope", "impulse")
"""What the fault classifier sees: everything but the 1,380 line cells (which only the
baseline uses, against the machine's own lines)."""
CLASSIFIER_COLUMNS: np.ndarray = family_columns(*CLASSIFIER_FAMILIES)


def feature_index(name: str) -> int:
    """Column of a named feature in the feature vector."""
    return _INDEX[name]


def summarize_features(features: np.ndarray) -> dict[str, float]:
    """The ``SUMMARY_FEATURES`` of one feature vector, rounded for display."""
    vec = np.asarray(features, dtype=np.float64).ravel()
    return {key: round(float(vec[_INDEX[name]]), 4) for key, name in SUMMARY_FEATURES.items()}


# --------------------------------------------------------------------------- helpers


@lru_cache(maxsize=16)
def _contrast_bins(sr: int, n_fft: int = N_FFT) -> tuple[tuple[int, int], ...]:
    """Bin ranges of the octave bands [0, nyq/64), [nyq/64, nyq/32) ... [nyq/2, nyq]."""
    nyq = sr / 2.0
    freqs = np.linspace(0.0, nyq, 1 + n_fft // 2)
    edges = [0.0] + [nyq / 2 ** k for k in range(CONTRAST_BANDS - 1, 0, -1)] + [nyq + 1.0]
    out = []
    for lo, hi in pairwise(edges):
        idx = np.flatnonzero((freqs >= lo) & (freqs < hi))
        out.append((int(idx[0]), int(idx[-1]) + 1))
    return tuple(out)


def _stats(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=axis), x.std(axis=axis)


def _db(power: np.ndarray | float) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, AMIN))


# ------------------------------------------------------------------- feature blocks


def _spectral_block(mag: np.ndarray, sr: int) -> list[np.ndarray | float]:
    freqs = np.linspace(0.0, sr / 2.0, mag.shape[0])
    total = mag.sum(axis=0) + 1e-12
    dist = mag / total
    centroid = freqs @ dist
    bandwidth = np.sqrt(np.maximum(((freqs[:, None] - centroid) ** 2 * dist).sum(axis=0), 0.0))
    cum = np.cumsum(dist, axis=0)
    roll_lo = freqs[np.argmax(cum >= ROLLOFF_LOW, axis=0)]
    roll_hi = freqs[np.argmax(cum >= ROLLOFF_HIGH, axis=0)]
    power = np.maximum(mag * mag, AMIN)
    flatness = np.exp(np.log(power).mean(axis=0)) / power.mean(axis=0)
    flux = np.abs(np.diff(dist, axis=1)).sum(axis=0) if mag.shape[1] > 1 else np.zeros(1)
    p_dist = power / power.sum(axis=0)
    entropy = -(p_dist * np.log(p_dist)).sum(axis=0) / np.log(mag.shape[0])
    contrast = []
    for lo, hi in _contrast_bins(sr, 2 * (mag.shape[0] - 1)):
        band = np.sort(power[lo:hi], axis=0)
        k = max(1, int(round(0.02 * (hi - lo))))
        contrast.append(_db(band[-k:].mean(axis=0)) - _db(band[:k].mean(axis=0)))
    contrast_arr = np.asarray(contrast)
    return [
        *_stats(centroid), *_stats(bandwidth), *_stats(roll_lo), roll_hi.mean(),
        *_stats(flatness), *_stats(flux), *_stats(entropy),
        contrast_arr.mean(axis=1), contrast_arr.std(axis=1),
    ]


def _waveform_block(y: np.ndarray) -> list[float]:
    x = y - y.mean()
    x2 = x * x
    m2 = float(x2.mean())
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    rms = float(np.sqrt(np.dot(y, y) / len(y)))
    if m2 > 1e-20:
        skew = float(np.dot(x2, x) / len(x) / m2 ** 1.5)
        kurt = float(np.dot(x2, x2) / len(x) / m2 ** 2 - 3.0)
    else:
        skew = kurt = 0.0
    crest = peak / rms if rms > 1e-10 else 0.0
    return [float(_db(rms * rms)), float(_db(peak * peak)), crest, kurt, skew]


def _harmonic_block(power: np.ndarray, df: float) -> list[float]:
    """Dominant line in ``DOMINANT_RANGE_HZ`` of a one-sided power spectrum and its harmonics."""
    total = power[1:].sum() + 1e-30
    lo = max(1, int(np.ceil(DOMINANT_RANGE_HZ[0] / df)))
    hi = min(len(power) - 1, int(DOMINANT_RANGE_HZ[1] / df))
    if hi - lo < 3:
        return [0.0] * (1 + N_HARMONICS + 2 * len(HUM_HZ))
    block = max(1, int(round(1.0 / df)))  # ~1 Hz cells tame the periodogram's variance
    seg = power[lo:hi]
    n_cells = len(seg) // block
    cells = seg[: n_cells * block].reshape(n_cells, block).sum(axis=1)
    c = int(np.argmax(cells))
    k = lo + c * block + int(np.argmax(seg[c * block:(c + 1) * block]))
    if 1 <= k < len(power) - 1:  # parabolic interpolation on log power
        a, b, g = np.log(power[k - 1:k + 2] + 1e-30)
        denom = a - 2 * b + g
        offset = 0.5 * (a - g) / denom if denom < 0 else 0.0
    else:
        offset = 0.0
    f0 = (k + float(np.clip(offset, -0.5, 0.5))) * df
    half = max(HARMONIC_HALF_WIDTH_HZ, 1.5 * df)
    out = [f0]
    for h in range(1, N_HARMONICS + 1):
        centre = h * f0
        i0, i1 = int(np.floor((centre - half) / df)), int(np.ceil((centre + half) / df)) + 1
        if i0 >= len(power):
            out.append(float(_db(0.0)))
            continue
        out.append(float(_db(power[max(i0, 1):min(i1, len(power))].sum() / total)))
    for hum in HUM_HZ:
        out += _hum_line(power, df, hum, total)
    return out


def _hum_line(power: np.ndarray, df: float, hum_hz: float, total: float) -> list[float]:
    """Relative power of the lines k x ``hum_hz`` and prominence of the first one."""
    half = max(1.0, 1.5 * df)
    line = 0.0
    for k in range(1, N_HUM_HARMONICS + 1):
        i0, i1 = int(np.floor((k * hum_hz - half) / df)), int(np.ceil((k * hum_hz + half) / df))
        line += float(power[max(i0, 1):min(i1 + 1, len(power))].sum())
    i0, i1 = int(np.floor((hum_hz - half) / df)), int(np.ceil((hum_hz + half) / df))
    j0, j1 = int(np.floor((hum_hz - 10.0) / df)), int(np.ceil((hum_hz + 10.0) / df))
    if i1 >= len(power) or j1 - j0 < 3 * (i1 - i0 + 1):
        return [float(_db(line / total)), 0.0]
    near = np.concatenate([power[max(j0, 1):i0], power[i1 + 1:j1 + 1]])
    peak = power[i0:i1 + 1].mean()
    return [float(_db(line / total)), float(_db(peak) - _db(np.median(near)))]


# ------------------------------------------------------------------------ public API


def extract_features(y: np.ndarray, sr: int, analysis_sr: int = DEVICE_SAMPLE_RATE) -> np.ndarray:
    """Feature vector (``FEATURE_NAMES`` order, float32) of one clip.

    ``y`` is resampled from ``sr`` to ``analysis_sr`` first (a no-op when equal).
    """
    y = resample(to_mono_float32(y), int(sr), int(analysis_sr))
    if len(y) == 0:
        raise ValueError("empty clip")
    sr = int(analysis_sr)
    x = y.astype(np.float64)
    frames = frame_signal(x)
    mag = magnitude_stft(frames)  # the one STFT
    power = mag * mag

    mel_db = _db(mel_filterbank(sr) @ power)
    mfcc = dct(mel_db, type=2, norm="ortho", axis=0)[:N_MFCC]
    d_mfcc = delta(mfcc)

    signs = np.signbit(frames)
    zcr = (signs[:, 1:] != signs[:, :-1]).mean(axis=1)
    frame_rms = np.sqrt((frames * frames).mean(axis=1))
    frame_rms_db = _db(frame_rms ** 2)

    spectrum = rfft(x)
    line_power = spectrum.real ** 2 + spectrum.imag ** 2

    parts: list[np.ndarray | float] = [
        *_stats(mfcc), *_stats(d_mfcc), *_stats(mel_db),
        *_spectral_block(mag, sr),
        *_stats(zcr),
        frame_rms.mean(), frame_rms.std(), frame_rms.max(),
        frame_rms_db.mean(), frame_rms_db.std(), frame_rms_db.max(),
        *_waveform_block(x),
        *_harmonic_block(line_power, sr / len(x)),
        *envelope_block(spectrum, len(x), sr),
        impulse.impulse_features(spectrum, len(x), sr),
        line_grid.line_features(spectrum, len(x), sr),
    ]
    vec = np.concatenate([np.atleast_1d(np.asarray(p, dtype=np.float64)) for p in parts])
    if vec.shape[0] != N_FEATURES:  # pragma: no cover - guards edits of this module
        raise AssertionError(f"feature count {vec.shape[0]} != {N_FEATURES}")
    return np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def extract_features_batch(
    clips: Iterable[np.ndarray] | Sequence[np.ndarray],
    sr: int,
    analysis_sr: int = DEVICE_SAMPLE_RATE,
) -> np.ndarray:
    """Stack ``extract_features`` of several clips sharing one sample rate: (n, N_FEATURES)."""
    rows = [extract_features(c, sr, analysis_sr) for c in clips]
    if not rows:
        return np.empty((0, N_FEATURES), dtype=np.float32)
    return np.vstack(rows)


def warm_up(sample_rates: Iterable[int] = (DEVICE_SAMPLE_RATE,)) -> None:
    """Build the cached filter banks and run every code path once per sample rate."""
    rng = np.random.default_rng(0)
    for sr in sample_rates:
        t = np.arange(int(sr)) / sr
        clip = (0.1 * np.sin(2 * np.pi * 100 * t) + 0.01 * rng.standard_normal(len(t)))
        extract_features(clip.astype(np.float32), int(sr), int(sr))
