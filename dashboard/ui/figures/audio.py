"""Spectrogram page: the signal processing for display (mel spectrogram, averaged
spectrum, waveform envelope, dominant frequency) and the figures drawn from it.

Plain numpy/scipy, no librosa: the web process should not pay numba's start-up
for pictures; the model's features are computed elsewhere (``ml``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
from scipy.signal import stft, welch

from dashboard.core.i18n import _
from dashboard.ui.figures.base import base_layout, empty_figure, local_ms

N_FFT = 1024
HOP = 256
N_MELS = 64
MAX_FRAMES = 400  # columns of the heatmap; more only adds bytes, not detail on screen
HARMONICS = 5
# The motor line is searched here: below 20 Hz is rumble, above 2 kHz it is no
# longer the rotation frequency.
F0_BAND = (20.0, 2000.0)
HARMONIC_COLORS = ("#d6336c", "#f76707", "#f59f00", "#74b816", "#1098ad")


@dataclass(frozen=True)
class Spectrum:
    freqs: np.ndarray  # Hz
    db: np.ndarray  # power in dB


@dataclass(frozen=True)
class MelSpectrogram:
    times: np.ndarray  # s
    freqs: np.ndarray  # centre of each mel band, Hz
    db: np.ndarray  # (n_mels, frames)


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype="float64") / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@lru_cache(maxsize=16)
def mel_filterbank(sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Triangular filters evenly spaced on the mel scale from 0 to Nyquist:
    ``(weights (n_mels, n_fft//2+1), centre frequencies)``."""
    fft_freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(sr / 2.0)), n_mels + 2))
    weights = np.zeros((n_mels, fft_freqs.size))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rising = (fft_freqs - lo) / max(mid - lo, 1e-9)
        falling = (hi - fft_freqs) / max(hi - mid, 1e-9)
        weights[i] = np.maximum(0.0, np.minimum(rising, falling)) * 2.0 / max(hi - lo, 1e-9)
    return weights, edges[1:-1]


def mel_spectrogram(y: np.ndarray, sr: int, n_fft: int = N_FFT, hop: int = HOP,
                    n_mels: int = N_MELS, max_frames: int = MAX_FRAMES) -> MelSpectrogram:
    y = np.asarray(y, dtype="float64")
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    _f, t, z = stft(y, fs=sr, nperseg=n_fft, noverlap=n_fft - hop, boundary=None, padded=False)
    power = np.abs(z) ** 2
    weights, centres = mel_filterbank(int(sr), n_fft, n_mels)
    mel = weights @ power
    if mel.shape[1] > max_frames:  # average neighbouring frames down to the budget
        step = int(np.ceil(mel.shape[1] / max_frames))
        usable = mel.shape[1] // step * step
        mel = mel[:, :usable].reshape(n_mels, -1, step).mean(axis=2)
        t = t[:usable].reshape(-1, step).mean(axis=1)
    db = 10.0 * np.log10(np.maximum(mel, 1e-12))
    db = np.maximum(db, db.max() - 80.0)  # 80 dB of dynamic range, like librosa's top_db
    return MelSpectrogram(times=t.astype("float32"), freqs=centres.astype("float32"),
                          db=db.astype("float32"))


def spectrum(y: np.ndarray, sr: int, n_fft: int = 4096) -> Spectrum:
    """Welch-averaged power spectrum in dB."""
    y = np.asarray(y, dtype="float64")
    nperseg = int(min(n_fft, max(256, y.size)))
    freqs, power = welch(y, fs=sr, nperseg=nperseg)
    return Spectrum(freqs=freqs.astype("float32"),
                    db=(10.0 * np.log10(np.maximum(power, 1e-20))).astype("float32"))


def dominant_frequency(spec: Spectrum, band: tuple[float, float] = F0_BAND) -> float | None:
    """The strongest line in the motor band, refined by parabolic interpolation
    between neighbouring bins; None when the band is empty."""
    mask = (spec.freqs >= band[0]) & (spec.freqs <= band[1])
    if not mask.any():
        return None
    idx = np.flatnonzero(mask)
    peak = idx[int(np.argmax(spec.db[idx]))]
    if 0 < peak < spec.freqs.size - 1:
        a, b, c = (float(v) for v in spec.db[peak - 1:peak + 2])
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
        step = float(spec.freqs[1] - spec.freqs[0])
        return float(spec.freqs[peak]) + float(np.clip(offset, -0.5, 0.5)) * step
    return float(spec.freqs[peak])


def harmonic_frequencies(f0: float | None, nyquist: float, count: int = HARMONICS) -> list[float]:
    if not f0 or f0 <= 0:
        return []
    return [k * f0 for k in range(1, count + 1) if k * f0 < nyquist]


def waveform_envelope(y: np.ndarray, sr: int, max_points: int = 2000
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, min, max) per block, so a 5 s clip draws as ~2,000 points with every
    peak kept."""
    y = np.asarray(y, dtype="float32")
    block = max(1, int(np.ceil(y.size / max_points)))
    usable = y.size // block * block
    if usable == 0:
        return np.zeros(0, "float32"), np.zeros(0, "float32"), np.zeros(0, "float32")
    blocks = y[:usable].reshape(-1, block)
    t = (np.arange(blocks.shape[0]) * block / sr).astype("float32")
    return t, blocks.min(axis=1), blocks.max(axis=1)


def figure_spectrogram(mel: MelSpectrogram, title: str = "", height: int = 300) -> go.Figure:
    if mel.db.size == 0:
        return empty_figure(_("No audio."), height)
    fig = go.Figure(go.Heatmap(
        x=mel.times, y=mel.freqs, z=mel.db, colorscale="Magma", zsmooth="best",
        colorbar={"title": {"text": "dB", "side": "right"}, "thickness": 10},
        hovertemplate="%{x:.2f} s · %{y:.0f} Hz · %{z:.0f} dB<extra></extra>",
    ))
    fig.update_layout(**base_layout(height, hovermode="closest",
                                    title={"text": title, "font": {"size": 13}, "x": 0.01}))
    fig.update_xaxes(title=_("Time (s)"))
    ticks = [f for f in (50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000)
             if mel.freqs[0] <= f <= mel.freqs[-1]]
    fig.update_yaxes(title="Hz", type="log", tickvals=ticks,
                     ticktext=[f"{f // 1000}k" if f >= 1000 else str(f) for f in ticks])
    return fig


def figure_waveform(y: np.ndarray, sr: int, height: int = 200) -> go.Figure:
    t, lo, hi = waveform_envelope(y, sr)
    if t.size == 0:
        return empty_figure(_("No audio."), height)
    fig = go.Figure([
        go.Scatter(x=t, y=hi, mode="lines", line={"width": 0.8, "color": "#1c7ed6"},
                   hoverinfo="skip", showlegend=False),
        go.Scatter(x=t, y=lo, mode="lines", line={"width": 0.8, "color": "#1c7ed6"},
                   fill="tonexty", fillcolor="rgba(28,126,214,0.35)", showlegend=False,
                   hovertemplate="%{x:.3f} s<extra></extra>"),
    ])
    fig.update_layout(**base_layout(height, hovermode="closest"))
    fig.update_xaxes(title=_("Time (s)"))
    fig.update_yaxes(title=_("Amplitude"), fixedrange=True)
    return fig


def figure_spectrum(spec: Spectrum, f0: float | None, baseline: Spectrum | None = None,
                    labels: tuple[str, str] = ("", ""), height: int = 300,
                    max_hz: float | None = None) -> go.Figure:
    """Spectrum (and a baseline's, dashed) with a marker at the motor frequency f0
    and its harmonics."""
    if spec.freqs.size == 0:
        return empty_figure(_("No audio."), height)
    fig = go.Figure()
    if baseline is not None and baseline.freqs.size:
        fig.add_trace(go.Scatter(x=baseline.freqs, y=baseline.db, mode="lines",
                                 name=labels[1] or _("Baseline"),
                                 line={"color": "#868e96", "width": 1, "dash": "dot"}))
    fig.add_trace(go.Scatter(x=spec.freqs, y=spec.db, mode="lines",
                             name=labels[0] or _("This clip"),
                             line={"color": "#1c7ed6", "width": 1.4}))
    nyquist = float(spec.freqs[-1])
    for k, freq in enumerate(harmonic_frequencies(f0, nyquist), start=1):
        name = f"f0 {freq:.1f} Hz" if k == 1 else f"{k}×f0"
        fig.add_vline(x=freq, line={"color": HARMONIC_COLORS[(k - 1) % len(HARMONIC_COLORS)],
                                    "width": 1.2 if k == 1 else 1,
                                    "dash": "solid" if k == 1 else "dash"},
                      annotation={"text": name, "font": {"size": 10}, "textangle": -90,
                                  "yanchor": "top"},
                      annotation_position="top right")
    fig.update_layout(**base_layout(height, hovermode="x"))
    # Wide enough for the harmonics, narrow enough to tell them apart; a double
    # click shows everything up to Nyquist.
    top = max_hz or min(nyquist, max(500.0, 8 * (f0 or 250.0)))
    fig.update_xaxes(title="Hz", range=[0, top])
    fig.update_yaxes(title="dB")
    return fig


def figure_waterfall(spectra: Sequence[tuple[dt.datetime, Spectrum]], tz: str | None = "UTC",
                     max_hz: float = 2000.0, offset_db: float = 12.0,
                     height: int = 420) -> go.Figure:
    """Spectra of successive recordings stacked upwards, oldest at the bottom, each
    shifted by ``offset_db``: a line that grows or moves over time stands out."""
    if not spectra:
        return empty_figure(_("No recordings to compare yet."),
                            height)
    ordered = sorted(spectra, key=lambda item: item[0])
    fig = go.Figure()
    n = len(ordered)
    stamps = local_ms([ts for ts, _spec in ordered], tz)
    for i, ((_ts, spec), stamp) in enumerate(zip(ordered, stamps, strict=True)):
        keep = spec.freqs <= max_hz
        shade = int(60 + 150 * i / max(n - 1, 1))
        label = dt.datetime.fromtimestamp(stamp / 1000.0, dt.UTC).strftime("%m-%d %H:%M")
        fig.add_trace(go.Scatter(
            x=spec.freqs[keep], y=spec.db[keep] + i * offset_db, mode="lines", name=label,
            line={"width": 1, "color": f"rgb({shade // 3},{shade // 2},{shade})"},
            hovertemplate=f"{label} · %{{x:.0f}} Hz<extra></extra>",
        ))
    fig.update_layout(**base_layout(height, hovermode="closest", showlegend=False))
    fig.update_xaxes(title="Hz", range=[0, max_hz])
    fig.update_yaxes(title=_("dB (+%(offset_db)s per recording)",
                             offset_db=format(offset_db, ".0f")), showticklabels=False)
    return fig
