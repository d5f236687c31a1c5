"""SYNTHETIC fault kinds that played no part in designing the detector.

The detector (``ml.baseline``, ``families_tail``) and its calibration were chosen on the
kinds of ``ml.synthetic.FAULT_GENERATORS``. The kinds here were written afterwards
(2026-12-03, with the detector frozen) and nothing was tuned on them: they stand in for
"fault kinds you do not have" in ``bench/detection.py --unseen``. Like ``ml.synthetic``
they return a fault *component* to be mixed in with ``mix_at_snr``; none is a recording.

``looseness``
    A loose mounting or bearing housing: the running speed (23.5-29.8 Hz, a 4-pole
    motor on 50 or 60 Hz) and many of its harmonics (1x..15x, amplitude falling like
    k^-0.7 with 50 % scatter) plus half orders (0.5x, 1.5x, .. 5.5x), the classic
    spectrum of looseness; the waveform is then clipped where it peaks (the part hits
    its stop), which adds more harmonics.
``rub``
    A rotor touching a stator or a seal once per revolution: a burst of friction noise
    (band 1-6 kHz) lasting 10-30 % of each revolution, its strength varying 30 % from
    one revolution to the next.
``crackle``
    Liquid slugging or cavitation: a dense irregular train (300-1,500 a second,
    Poisson) of very short broadband impacts (0.1-0.3 ms decay), high-passed at 3 kHz.
``unbalance``
    Rotor unbalance heard as sound: a line at the running speed (23.5-29.8 Hz) with
    its second harmonic at 20-40 % of it, a slow 0.2-1 Hz beat in level.
``whine``
    Vane-pass or gear-mesh whine: a tone at 1.5-5 kHz (a blade or tooth count times
    the running speed) with sidebands at +-1 and +-2 times the running speed.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from ml.synthetic import FaultGenerator


def _shaft_hz(rng: np.random.Generator) -> float:
    return float(rng.uniform(23.5, 29.8))


def looseness_fault(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    f0 = _shaft_hz(rng)
    t = np.arange(n) / sr
    x = np.zeros(n)
    for order in [*range(1, 16), *(k + 0.5 for k in range(6))]:
        f = order * f0
        if f >= 0.45 * sr:
            continue
        amp = float(rng.uniform(0.5, 1.5)) * order ** -0.7
        x += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    stop = float(np.quantile(np.abs(x), rng.uniform(0.8, 0.95)))
    clipped = np.clip(x, -stop, stop)
    return clipped - clipped.mean()


def rub_fault(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    f0 = _shaft_hz(rng)
    sos = butter(4, [1000.0, min(6000.0, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    noise = sosfilt(sos, rng.standard_normal(n))
    period = sr / f0
    duty = float(rng.uniform(0.1, 0.3))
    gate = np.zeros(n)
    start = float(rng.uniform(0, period))
    while start < n:
        a, b = int(start), min(n, int(start + duty * period))
        if b > a:
            gate[a:b] = rng.uniform(0.7, 1.3) * np.hanning(b - a)
        start += period
    return noise * gate


def crackle_fault(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    rate = float(rng.uniform(300, 1500))
    count = rng.poisson(rate * n / sr)
    impulses = np.zeros(n)
    np.add.at(impulses, rng.integers(0, n, count), rng.exponential(1.0, count))
    tau = float(rng.uniform(0.0001, 0.0003))
    k = np.arange(int(8 * tau * sr) + 2) / sr
    ring = np.exp(-k / tau) * rng.standard_normal(len(k))
    sos = butter(4, min(3000.0, 0.4 * sr), btype="highpass", fs=sr, output="sos")
    return sosfilt(sos, fftconvolve(impulses, ring)[:n])


def unbalance_fault(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    f0 = _shaft_hz(rng)
    t = np.arange(n) / sr
    beat = 1.0 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t)
    second = float(rng.uniform(0.2, 0.4))
    return beat * (np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
                   + second * np.sin(4 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi)))


def whine_fault(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    f0 = _shaft_hz(rng)
    carrier = float(rng.uniform(1500, min(5000, 0.4 * sr)))
    t = np.arange(n) / sr
    x = np.sin(2 * np.pi * carrier * t)
    for side, amp in ((1, float(rng.uniform(0.2, 0.5))), (2, float(rng.uniform(0.05, 0.2)))):
        for sign in (-1, 1):
            x += amp * np.sin(2 * np.pi * (carrier + sign * side * f0) * t
                              + rng.uniform(0, 2 * np.pi))
    return x


UNSEEN_FAULT_GENERATORS: dict[str, FaultGenerator] = {
    "looseness": looseness_fault,
    "rub": rub_fault,
    "crackle": crackle_fault,
    "unbalance": unbalance_fault,
    "whine": whine_fault,
}
"""Kinds kept out of every choice (see the module docstring); never used for training."""
