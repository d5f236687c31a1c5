"""Small WAV builders for tests: real files written with soundfile."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf


def tone(seconds: float = 2.0, rate: int = 16000, freq: float = 120.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, subtype=subtype, format="WAV")
    return buf.getvalue()
