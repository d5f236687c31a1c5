"""Impulsiveness and periodicity of impacts, per frequency band (features of ``ml.features``).

Knocks, loose parts, valve slap and bearing impacts are short events a few
times (or a few hundred times) a second. Over a whole clip they carry little
energy, so level features hardly move; what changes is how *peaky* a band's
energy is in time, how often a peak comes, and how regular the peaks are.

For each band of ``IMPULSE_BANDS`` (clipped to 0.95 x Nyquist) the complex
band signal is rebuilt from the clip's one-sided FFT at baseband (an inverse
FFT of just the band's bins, so a 30-300 Hz band of a 5 s clip costs a
2,700-point FFT), after *removing stationary lines*: bins more than
``LINE_NOTCH`` times the median of their neighbourhood are set to that median,
so a loud motor tone does not swamp the band's envelope. ``|z|^2`` is the
band's power envelope; it is smoothed over ``SMOOTH_SECONDS`` and sampled into
``FRAME_SECONDS`` frames. The ``all`` band is the mean of the bands' frame
energies, each divided by its median (a broadband impact lifts every band at
once). Per band, seven values:

``crest_db``       peak over mean power of the raw envelope (dB): peak-to-RMS.
``p99_db``         99th percentile over the median frame energy (dB): a softer tail measure.
``kurtosis``       excess kurtosis of the frame energies.
``rate_hz``        impulses per second: frames that are local maxima more than
                   ``EVENT_MADS`` robust deviations above the median, at least
                   ``MIN_EVENT_GAP_S`` apart.
``regularity``     1 - coefficient of variation of the intervals between impulses,
                   times ``g / (g + 3)`` for ``g`` intervals (towards 1 = a long regular
                   train, 0 = random or fewer than four impulses).
``periodicity``    the largest normalised autocorrelation of the frame energies at
                   lags ``PERIOD_RANGE_S`` (1-12 impacts per second): 0 for noise,
                   towards 1 for a regular train of impacts.
``period_hz``      the impact rate at the shortest lag whose autocorrelation is within
                   25 % of that largest one (so twice the period is not picked).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.fft import ifft, next_fast_len, rfft

IMPULSE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("low", 30.0, 300.0),
    ("mid", 300.0, 1500.0),
    ("high", 1500.0, 4000.0),
    ("top", 4000.0, 7600.0),
)
IMPULSE_STATS = ("crest_db", "p99_db", "kurtosis", "rate_hz", "regularity", "periodicity",
                 "period_hz")
FRAME_SECONDS = 0.005
SMOOTH_SECONDS = {"low": 0.012, "mid": 0.004, "high": 0.002, "top": 0.002}
LINE_NOTCH = 8.0  # a bin above 8 x its neighbourhood median is a stationary line
NOTCH_BLOCK = 64  # bins per neighbourhood
EVENT_MADS = 6.0
MIN_EVENT_GAP_S = 0.04
PERIOD_RANGE_S = (1.0 / 12.0, 1.0)
_FLOOR = 1e-30


def impulse_feature_names() -> list[str]:
    bands = [name for name, _, _ in IMPULSE_BANDS] + ["all"]
    return [f"imp_{band}_{stat}" for band in bands for stat in IMPULSE_STATS]


N_IMPULSE = len(impulse_feature_names())
PARAMS = (IMPULSE_BANDS, FRAME_SECONDS, tuple(SMOOTH_SECONDS.items()), LINE_NOTCH, NOTCH_BLOCK,
          EVENT_MADS, MIN_EVENT_GAP_S, PERIOD_RANGE_S)


def _band_envelope(spectrum: np.ndarray, n: int, sr: int, lo_hz: float,
                   hi_hz: float) -> tuple[np.ndarray, float] | None:
    """Power envelope |z|^2 of the band (lines notched) and its sample rate."""
    df = sr / n
    k_lo, k_hi = int(np.ceil(lo_hz / df)), int(np.floor(min(hi_hz, 0.95 * sr / 2) / df))
    if k_hi - k_lo < 8:
        return None
    band = spectrum[k_lo:k_hi]
    power = band.real * band.real + band.imag * band.imag
    n_blocks = len(power) // NOTCH_BLOCK
    if n_blocks:
        med = np.median(power[: n_blocks * NOTCH_BLOCK].reshape(n_blocks, -1), axis=1)
        local = np.repeat(med, NOTCH_BLOCK)
        local = np.concatenate([local, np.full(len(power) - len(local), med[-1])])
    else:
        local = np.full(len(power), np.median(power))
    loud = power > LINE_NOTCH * local
    if loud.any():
        band = band.copy()
        band[loud] *= np.sqrt(local[loud] / power[loud])
    m = next_fast_len(2 * len(band))
    z = ifft(band, n=m)
    return z.real * z.real + z.imag * z.imag, m / (n / sr)


def _smooth_frames(env: np.ndarray, fs: float, smooth_s: float) -> np.ndarray:
    """Moving average over ``smooth_s``, then the mean of each ``FRAME_SECONDS`` frame."""
    w = max(1, int(round(smooth_s * fs)))
    if w > 1:
        c = np.concatenate([[0.0], np.cumsum(env)])
        env = (c[w:] - c[:-w]) / w
    step = fs * FRAME_SECONDS
    n_frames = int(len(env) / step)
    if n_frames < 4:
        return np.asarray(env, dtype=np.float64)
    edges = np.round(np.arange(n_frames + 1) * step).astype(int)
    c = np.concatenate([[0.0], np.cumsum(env)])
    return (c[edges[1:]] - c[edges[:-1]]) / np.maximum(np.diff(edges), 1)


def _events(frames: np.ndarray, med: float, mad: float) -> np.ndarray:
    """Frame indices of impulses (local maxima far above the median, kept apart)."""
    level = med + EVENT_MADS * mad
    inner = frames[1:-1]
    peaks = np.flatnonzero((inner > level) & (inner >= frames[:-2]) & (inner > frames[2:])) + 1
    gap = max(1, int(round(MIN_EVENT_GAP_S / FRAME_SECONDS)))
    kept: list[int] = []
    for p in peaks.tolist():  # in time order; of two peaks closer than gap keep the larger
        if kept and p - kept[-1] < gap:
            if frames[p] > frames[kept[-1]]:
                kept[-1] = p
        else:
            kept.append(p)
    return np.asarray(kept, dtype=int)


@lru_cache(maxsize=32)
def _lag_range(n_frames: int) -> tuple[int, int]:
    lo = max(1, int(round(PERIOD_RANGE_S[0] / FRAME_SECONDS)))
    hi = min(n_frames // 2, int(round(PERIOD_RANGE_S[1] / FRAME_SECONDS)))
    return lo, hi


def _frame_stats(frames: np.ndarray, crest_db: float, seconds: float) -> list[float]:
    med = float(np.median(frames))
    if med <= _FLOOR or len(frames) < 8:
        return [crest_db] + [0.0] * (len(IMPULSE_STATS) - 1)
    mad = float(np.median(np.abs(frames - med))) * 1.4826 + 1e-12 * med
    p99 = float(10.0 * np.log10(max(float(np.quantile(frames, 0.99)), _FLOOR) / med))
    x = frames - frames.mean()
    m2 = float(np.mean(x * x))
    kurt = float(np.mean(x ** 4) / m2 ** 2 - 3.0) if m2 > _FLOOR else 0.0
    events = _events(frames, med, mad)
    rate = len(events) / seconds
    regularity = 0.0
    if len(events) >= 4:
        gaps = np.diff(events).astype(np.float64)
        # shrunk towards 0 when few intervals back it: three random gaps can look regular
        regularity = float(np.clip(1.0 - gaps.std() / gaps.mean(), 0.0, 1.0)
                           * len(gaps) / (len(gaps) + 3.0))
    periodicity, period_hz = 0.0, 0.0
    lo, hi = _lag_range(len(frames))
    if hi > lo and m2 > _FLOOR:
        nfft = next_fast_len(2 * len(x))
        spec = rfft(x, nfft)
        acf = np.fft.irfft(spec.real ** 2 + spec.imag ** 2, nfft)[: hi + 1]
        acf = acf / acf[0]
        # unbiased: divide by the overlap so long lags are not penalised
        acf[lo:hi + 1] *= len(x) / (len(x) - np.arange(lo, hi + 1))
        window = acf[lo:hi + 1]
        best = float(window.max())
        # the shortest lag within a quarter of the best: multiples of the period score alike
        k = lo + int(np.argmax(window >= 0.75 * best))
        periodicity = float(np.clip(best, 0.0, 1.0))
        period_hz = float(1.0 / (k * FRAME_SECONDS))
    return [crest_db, p99, kurt, float(rate), regularity, periodicity, period_hz]


def impulse_features(spectrum: np.ndarray, n: int, sr: int) -> np.ndarray:
    """The ``impulse_feature_names()`` values of a clip from its one-sided FFT ``spectrum``."""
    seconds = n / sr
    out: list[float] = []
    normalised: list[np.ndarray] = []
    for name, lo, hi in IMPULSE_BANDS:
        env = _band_envelope(spectrum, n, sr, lo, hi)
        if env is None:
            out += [0.0] * len(IMPULSE_STATS)
            continue
        power, fs = env
        mean = float(power.mean())
        crest = float(10.0 * np.log10(max(float(power.max()), _FLOOR) / max(mean, _FLOOR)))
        frames = _smooth_frames(power, fs, SMOOTH_SECONDS[name])
        out += _frame_stats(frames, crest, seconds)
        med = float(np.median(frames))
        if med > _FLOOR and len(frames) >= 8:
            normalised.append(frames / med)
    if normalised:
        n_frames = min(len(f) for f in normalised)
        combined = np.mean([f[:n_frames] for f in normalised], axis=0)
        crest = float(10.0 * np.log10(combined.max() / max(float(combined.mean()), _FLOOR)))
        out += _frame_stats(combined, crest, seconds)
    else:
        out += [0.0] * len(IMPULSE_STATS)
    return np.asarray(out, dtype=np.float64)
