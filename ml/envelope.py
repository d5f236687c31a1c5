"""Squared-envelope (demodulation) spectrum of a clip's high band (the ``envelope``
features of ``ml.features``): bearing impacts ring structural resonances in the kHz
range, and the rate of the impacts shows as a peak in the envelope's spectrum."""

from __future__ import annotations

import numpy as np
from scipy.fft import ifft, next_fast_len, rfft

ENVELOPE_BAND = (0.25, 0.9)  # fractions of Nyquist
ENVELOPE_MAX_HZ = 500.0
ENVELOPE_MIN_HZ = 2.0
N_ENVELOPE_BANDS = 25
AMIN = 1e-10


def _db(power: np.ndarray | float) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, AMIN))


def envelope_band_edges() -> np.ndarray:
    edges = np.linspace(0.0, ENVELOPE_MAX_HZ, N_ENVELOPE_BANDS + 1)
    edges[0] = ENVELOPE_MIN_HZ
    return edges



def envelope_block(spectrum: np.ndarray, n: int, sr: int) -> list[np.ndarray | float]:
    """Squared-envelope spectrum of the band-passed clip, from its one-sided FFT."""
    df = sr / n
    k_lo = int(np.ceil(ENVELOPE_BAND[0] * sr / 2 / df))
    k_hi = int(np.floor(ENVELOPE_BAND[1] * sr / 2 / df))
    if k_hi - k_lo < 4:
        return [np.full(N_ENVELOPE_BANDS, _db(0.0))] + [float(_db(0.0)), 0.0, 0.0, 0.0]
    band = spectrum[k_lo:k_hi]
    m = next_fast_len(2 * len(band))  # complex baseband, sampled fast enough for |z|^2
    z = ifft(band, n=m)
    env = z.real * z.real + z.imag * z.imag
    mean_env = env.mean()
    if mean_env <= 1e-30:
        return [np.full(N_ENVELOPE_BANDS, _db(0.0))] + [float(_db(0.0)), 0.0, 0.0, 0.0]
    env = env / mean_env - 1.0
    env2 = env * env
    env_kurt = float(np.mean(env2 * env2) / max(float(env2.mean()), 1e-30) ** 2 - 3.0)
    fs_env = m / (n / sr)
    env_spec = rfft(env)
    ses = (env_spec.real * env_spec.real + env_spec.imag * env_spec.imag) / (m * m)
    f_env = np.arange(len(ses)) * fs_env / m
    edges = envelope_band_edges()
    idx = np.searchsorted(f_env, edges)
    csum = np.concatenate([[0.0], np.cumsum(ses)])
    band_e = csum[idx[1:]] - csum[idx[:-1]]
    total = csum[idx[-1]] - csum[idx[0]]
    # peak: ~1 Hz cells between 5 Hz and ENVELOPE_MAX_HZ
    df_env = fs_env / m
    block = max(1, int(round(1.0 / df_env)))
    lo, hi = int(np.ceil(5.0 / df_env)), min(len(ses), int(ENVELOPE_MAX_HZ / df_env))
    seg = ses[lo:hi]
    n_cells = max(1, len(seg) // block)
    cells = seg[: n_cells * block].reshape(n_cells, -1).sum(axis=1)
    c = int(np.argmax(cells))
    peak_bin = lo + c * block + int(np.argmax(seg[c * block:(c + 1) * block]))
    prominence = float(_db(cells[c]) - _db(np.median(cells)))
    return [_db(band_e), float(_db(total)), float(peak_bin * df_env), prominence, env_kurt]
