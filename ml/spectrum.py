"""Spectral building blocks of ``ml.features``: framing, the STFT, the mel filter bank.

The mel scale and filter normalisation are Slaney's, as ``librosa.filters.mel``
(the tests check the two agree); the window is a periodic Hann window, as
``scipy.signal.get_window("hann", n)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.fft import rfft
from scipy.signal import savgol_filter

N_FFT = 1024
HOP = 512
N_MELS = 40
DELTA_WIDTH = 9


def _hz_to_mel(freqs: np.ndarray) -> np.ndarray:
    """Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa."""
    f = np.asarray(freqs, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mels = f / f_sp
    high = f >= min_log_hz
    mels[high] = min_log_mel + np.log(f[high] / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    m = np.asarray(mels, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    freqs = f_sp * m
    high = m >= min_log_mel
    freqs[high] = min_log_hz * np.exp(logstep * (m[high] - min_log_mel))
    return freqs


@lru_cache(maxsize=16)
def mel_filterbank(sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-normalised triangular mel filters, 0 Hz .. Nyquist, shape (n_mels, bins)."""
    fft_freqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0],
                                   _hz_to_mel(np.array([sr / 2.0]))[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    # periodic Hann, as scipy.signal.get_window("hann", n_fft) and librosa
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    w.setflags(write=False)
    return w


def frame_signal(y: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Frames of ``y`` (no centre padding; a clip shorter than a frame is zero-padded)."""
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    return sliding_window_view(y, n_fft)[::hop]


def magnitude_stft(frames: np.ndarray) -> np.ndarray:
    """Magnitude spectrogram (bins, frames) of already framed audio."""
    spec = rfft(frames * _window(frames.shape[1]), axis=1)
    return np.abs(spec).T


def delta(x: np.ndarray) -> np.ndarray:
    """First time derivative over ``DELTA_WIDTH`` frames (``librosa.feature.delta``'s
    Savitzky-Golay definition); fewer frames use a narrower window, < 3 give zeros."""
    n = x.shape[-1]
    width = min(DELTA_WIDTH, n if n % 2 else n - 1)
    if width < 3:
        return np.zeros_like(x)
    return savgol_filter(x, window_length=width, polyorder=1, deriv=1, axis=-1, mode="interp")
