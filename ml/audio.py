"""Audio input helpers: decode, down-mix, resample and cut recordings into clips.

Everything here works on plain numpy arrays; nothing knows about HTTP or storage.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

DEVICE_SAMPLE_RATE = 16_000
"""Sample rate of the ESP32 clips and the default analysis rate."""

AudioSource = bytes | bytearray | memoryview | str | Path


def to_mono_float32(y: np.ndarray) -> np.ndarray:
    """Return ``y`` as a contiguous float32 mono vector (channels are averaged).

    Accepts ``(n,)``, ``(n, channels)`` (soundfile layout) arrays. Integer PCM is
    scaled to [-1, 1].
    """
    arr = np.asarray(y)
    if arr.ndim == 2:
        arr = arr.mean(axis=1) if arr.shape[1] <= arr.shape[0] else arr.mean(axis=0)
    elif arr.ndim != 1:
        raise ValueError(f"expected a 1-D or 2-D audio array, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        scale = float(np.iinfo(arr.dtype).max) + 1.0
        arr = arr.astype(np.float64) / scale
    out = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(out)):
        raise ValueError("audio contains NaN or infinite samples")
    return out


def load_audio(source: AudioSource) -> tuple[np.ndarray, int]:
    """Decode WAV (or any libsndfile format) bytes or a file path.

    Returns ``(samples as float32 mono, sample rate)``.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        handle: io.BytesIO | str = io.BytesIO(bytes(source))
    else:
        handle = str(source)
    try:
        data, sr = sf.read(handle, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:  # corrupt / unsupported data
        raise ValueError(f"cannot decode audio: {exc}") from exc
    return to_mono_float32(data), int(sr)


def audio_info(path: str | Path) -> tuple[int, float]:
    """Sample rate and duration in seconds of an audio file, without decoding it."""
    info = sf.info(str(path))
    return int(info.samplerate), float(info.frames) / float(info.samplerate)


def resample(y: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) to ``target_sr``.

    The anti-aliasing filter of ``resample_poly`` removes content above the new
    Nyquist frequency, so a 48 kHz and a 12 kHz recording resampled to 12 kHz
    have the same bandwidth.
    """
    y = to_mono_float32(y)
    if int(sr) == int(target_sr):
        return y
    if sr <= 0 or target_sr <= 0:
        raise ValueError("sample rates must be positive")
    ratio = Fraction(int(target_sr), int(sr))
    out = resample_poly(y, ratio.numerator, ratio.denominator)
    return np.ascontiguousarray(out, dtype=np.float32)


def split_clips(y: np.ndarray, sr: int, clip_seconds: float) -> list[np.ndarray]:
    """Cut ``y`` into consecutive, non-overlapping clips of ``clip_seconds``.

    A tail shorter than half a clip is dropped; a longer tail is kept as a
    (shorter) last clip. A recording shorter than half a clip yields no clip.
    """
    if clip_seconds <= 0:
        raise ValueError("clip_seconds must be positive")
    n = int(round(clip_seconds * sr))
    if n <= 0:
        raise ValueError("clip is shorter than one sample")
    clips = [y[start:start + n] for start in range(0, len(y), n)]
    if clips and len(clips[-1]) < n / 2:
        clips.pop()
    return clips


def clip_starts(n_samples: int, sr: int, clip_seconds: float) -> list[float]:
    """Start times (s) of the clips ``split_clips`` returns for a recording of ``n_samples``."""
    n = int(round(clip_seconds * sr))
    starts = list(range(0, n_samples, n))
    if starts and n_samples - starts[-1] < n / 2:
        starts.pop()
    return [s / sr for s in starts]
