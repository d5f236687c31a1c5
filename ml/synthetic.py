"""SYNTHETIC compressor fault signatures, for training the demo model and for
measuring detection on real compressor sound.

None of this is a recording of a real fault. Each generator returns a fault
*component* (zero-mean, arbitrary level) that ``mix_at_snr`` adds to a real
healthy clip at a chosen signal-to-noise ratio (healthy power over fault
power). The models follow the usual textbook descriptions:

``bearing``
    A localised defect on a race or a rolling element produces an impact each
    time a rolling element passes it, at a characteristic defect frequency
    (BPFO/BPFI/BSF: here 70-160 Hz, a few times the shaft rate of a 4-pole
    motor). Each impact rings a structural resonance in the kHz range
    (2.5 kHz .. 0.4 x sample rate) that decays within ~1 ms. The train jitters
    by 1 % (rolling elements slip) and each impact's strength varies; for an
    inner-race-like variant the train is amplitude modulated at the shaft
    rate (24-25 Hz). Detected by envelope analysis and kurtosis.
``valve_leak``
    Air escaping through a leaking valve or fitting: turbulent hiss, i.e.
    stationary band-limited noise (4th-order Butterworth band 2.5-7 kHz at
    16 kHz) with a slow 0.5-2 Hz level fluctuation.
``belt_slip``
    A slipping V-belt squeals: short (80-250 ms) tonal bursts whose pitch
    sweeps upwards (800-1500 Hz rising by 20-60 %, with 2nd and 3rd harmonics),
    intermittent: 2-5 bursts per 5 s at random times.
``electrical_hum``
    Magnetostriction and electromagnetic forces in a motor or transformer
    hum at twice the line frequency: 100 Hz (50 Hz mains) or 120 Hz (60 Hz)
    plus its harmonics with decreasing amplitude and a slight slow wobble.
``impulsive_knock``
    A loose part, piston slap or a cracked mounting knocks: short impacts
    (1.5-6 per second, mostly regular with 5 % timing jitter and 30 %
    strength variation; each impact a damped low-frequency resonance of
    60-400 Hz decaying in 8-25 ms, with a 1 ms broadband click at its onset
    carrying about a tenth of its energy).
``mains_hum``
    A weak hum at the mains frequency itself and its harmonics, e.g. a
    ground loop, an unbalanced phase or loose laminations: lines at k x 50 Hz
    (or k x 60 Hz), k = 1..8, odd harmonics stronger (1, 0.4, 0.7, 0.25, 0.4,
    0.15, 0.25, 0.1), the line frequency off nominal by up to 0.2 Hz.
``intermittent``
    A fault present in only part of the clip: one or two stretches covering
    15-40 % of it in all, with 20 ms fades, in which a rattle (irregular
    impacts ringing a 1-4 kHz resonance, 20-60 a second) sounds; silent
    elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

FaultGenerator = Callable[[int, int, np.random.Generator], np.ndarray]


def bearing_fault(n: int, sr: int, rng: np.random.Generator, defect_hz: float | None = None,
                  resonance_hz: float | None = None, shaft_hz: float | None = None,
                  modulated: bool | None = None) -> np.ndarray:
    """Impacts at ``defect_hz`` ringing a damped resonance (see module docstring)."""
    defect_hz = float(rng.uniform(70, 160)) if defect_hz is None else float(defect_hz)
    hi = max(2600.0, 0.4 * sr)
    resonance_hz = float(rng.uniform(2500, hi)) if resonance_hz is None else float(resonance_hz)
    shaft_hz = float(rng.uniform(23.5, 25.0)) if shaft_hz is None else float(shaft_hz)
    modulated = bool(rng.random() < 0.5) if modulated is None else modulated
    period = sr / defect_hz
    n_imp = int(n / period) + 2
    times = np.cumsum(period * (1.0 + 0.01 * rng.standard_normal(n_imp)))
    times = times - period * rng.random()
    times = times[(times >= 0) & (times < n)]
    amps = 1.0 + 0.2 * rng.standard_normal(len(times))
    if modulated:
        amps *= 1.0 + 0.8 * np.cos(2 * np.pi * shaft_hz * times / sr + rng.uniform(0, 2 * np.pi))
    impulses = np.zeros(n)
    np.add.at(impulses, times.astype(int), amps)
    tau = float(rng.uniform(0.0005, 0.0015))
    k = np.arange(int(6 * tau * sr) + 1) / sr
    ring = np.exp(-k / tau) * np.sin(2 * np.pi * resonance_hz * k)
    return fftconvolve(impulses, ring)[:n]


def valve_leak_fault(n: int, sr: int, rng: np.random.Generator,
                     band_hz: tuple[float, float] | None = None) -> np.ndarray:
    """Band-limited turbulent hiss with a slow level fluctuation."""
    nyq = sr / 2.0
    if band_hz is None:
        lo = float(rng.uniform(2500, 4000)) * min(1.0, nyq / 8000)
        hi = min(0.9 * nyq, lo + float(rng.uniform(2000, 3500)) * min(1.0, nyq / 8000))
    else:
        lo, hi = band_hz
    sos = butter(4, [lo / nyq, hi / nyq], btype="band", output="sos")
    hiss = sosfilt(sos, rng.standard_normal(n + 2048))[2048:]
    t = np.arange(n) / sr
    wobble = 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t + rng.uniform(0, 6.3))
    return hiss * wobble


def belt_slip_fault(n: int, sr: int, rng: np.random.Generator,
                    n_events: int | None = None) -> np.ndarray:
    """Intermittent upward-sweeping squeal bursts."""
    out = np.zeros(n)
    seconds = n / sr
    n_events = int(rng.integers(2, 6)) if n_events is None else int(n_events)
    n_events = max(1, int(round(n_events * min(1.0, seconds / 5.0))))
    for _ in range(n_events):
        dur = float(rng.uniform(0.08, 0.25))
        m = min(n, int(dur * sr))
        start = int(rng.integers(0, max(1, n - m)))
        f0 = float(rng.uniform(800, 1500))
        f1 = f0 * (1.0 + float(rng.uniform(0.2, 0.6)))
        t = np.arange(m) / sr
        phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / dur * t * t)
        tone = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)
        env = np.sqrt(np.maximum(np.sin(np.pi * np.arange(m) / max(m - 1, 1)), 0.0))
        out[start:start + m] += tone * env
    return out


def electrical_hum_fault(n: int, sr: int, rng: np.random.Generator,
                         line_hz: float | None = None) -> np.ndarray:
    """Hum at twice the line frequency with harmonics (see module docstring)."""
    line_hz = float(rng.choice([50.0, 60.0])) if line_hz is None else float(line_hz)
    t = np.arange(n) / sr
    hum = np.zeros(n)
    for k, amp in enumerate((1.0, 0.5, 0.3, 0.2, 0.1), start=1):
        f = 2 * line_hz * k
        if f >= sr / 2:
            break
        hum += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    wobble = 1.0 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t)
    return hum * wobble


def impulsive_knock_fault(n: int, sr: int, rng: np.random.Generator,
                          rate_hz: float | None = None,
                          resonance_hz: float | None = None,
                          click_fraction: float = 0.1) -> np.ndarray:
    """Short low-frequency impacts a few times a second (see module docstring)."""
    rate_hz = float(rng.uniform(1.5, 6.0)) if rate_hz is None else float(rate_hz)
    resonance_hz = float(rng.uniform(60, 400)) if resonance_hz is None else float(resonance_hz)
    tau = float(rng.uniform(0.008, 0.025))
    period = sr / rate_hz
    n_imp = int(n / period) + 2
    times = np.cumsum(period * (1.0 + 0.05 * rng.standard_normal(n_imp)))
    times = times - period * rng.random()
    times = times[(times >= 0) & (times < n)].astype(int)
    k = np.arange(int(5 * tau * sr) + 1) / sr
    thump = np.exp(-k / tau) * np.sin(2 * np.pi * resonance_hz * k)
    click_len = max(2, int(0.001 * sr))
    click = rng.standard_normal(click_len) * np.hanning(click_len)
    # ``click_fraction`` of the impact's energy in the click (0: a pure thump)
    click *= np.sqrt(click_fraction * np.sum(thump ** 2) / max(np.sum(click ** 2), 1e-30))
    impact = thump.copy()
    impact[:click_len] += click
    impulses = np.zeros(n)
    np.add.at(impulses, times, np.maximum(1.0 + 0.3 * rng.standard_normal(len(times)), 0.2))
    return fftconvolve(impulses, impact)[:n]


def mains_hum_fault(n: int, sr: int, rng: np.random.Generator,
                    line_hz: float | None = None) -> np.ndarray:
    """Lines at k x the mains frequency, odd harmonics stronger (see module docstring)."""
    nominal = float(rng.choice([50.0, 60.0])) if line_hz is None else float(line_hz)
    f1 = nominal + (float(rng.uniform(-0.2, 0.2)) if line_hz is None else 0.0)
    t = np.arange(n) / sr
    hum = np.zeros(n)
    for k, amp in enumerate((1.0, 0.4, 0.7, 0.25, 0.4, 0.15, 0.25, 0.1), start=1):
        if k * f1 >= sr / 2:
            break
        hum += amp * np.sin(2 * np.pi * k * f1 * t + rng.uniform(0, 2 * np.pi))
    return hum


def intermittent_fault(n: int, sr: int, rng: np.random.Generator,
                       fraction: float | None = None) -> np.ndarray:
    """A rattle present in only part of the clip (see module docstring)."""
    fraction = float(rng.uniform(0.15, 0.4)) if fraction is None else float(fraction)
    n_parts = int(rng.integers(1, 3))
    gate = np.zeros(n)
    fade = max(1, int(0.02 * sr))
    part = max(2 * fade + 1, int(fraction * n / n_parts))
    for _ in range(n_parts):
        start = int(rng.integers(0, max(1, n - part)))
        ramp = np.ones(min(part, n - start))
        f = min(fade, len(ramp) // 2)
        if f:
            ramp[:f] = np.linspace(0.0, 1.0, f)
            ramp[-f:] = np.linspace(1.0, 0.0, f)
        gate[start:start + len(ramp)] = np.maximum(gate[start:start + len(ramp)], ramp)
    rate = float(rng.uniform(20, 60))
    n_imp = rng.poisson(rate * n / sr)
    impulses = np.zeros(n)
    np.add.at(impulses, rng.integers(0, n, n_imp), rng.uniform(0.3, 1.0, n_imp))
    resonance = float(rng.uniform(1000, min(4000, 0.4 * sr)))
    tau = float(rng.uniform(0.001, 0.003))
    k = np.arange(int(6 * tau * sr) + 1) / sr
    ring = np.exp(-k / tau) * np.sin(2 * np.pi * resonance * k)
    return fftconvolve(impulses * gate, ring)[:n]


FAULT_GENERATORS: dict[str, FaultGenerator] = {
    "bearing": bearing_fault,
    "valve_leak": valve_leak_fault,
    "belt_slip": belt_slip_fault,
    "electrical_hum": electrical_hum_fault,
    "impulsive_knock": impulsive_knock_fault,
    "mains_hum": mains_hum_fault,
    "intermittent": intermittent_fault,
}
"""Fault label -> generator ``(n_samples, sample_rate, rng) -> fault component``."""


def make_fault(label: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Fault component of ``label`` (one of ``FAULT_GENERATORS``)."""
    try:
        generator = FAULT_GENERATORS[label]
    except KeyError:
        raise ValueError(f"unknown synthetic fault {label!r}; "
                         f"known: {sorted(FAULT_GENERATORS)}") from None
    return generator(n, sr, rng)


def mix_at_snr(clean: np.ndarray, fault: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + g * fault`` with ``g`` making ``10 log10(P_clean / P_fault) == snr_db``.

    Powers are mean squares over the whole clip (for an intermittent fault, the
    bursts are correspondingly louder). The result is float32 and not clipped.
    """
    clean = np.asarray(clean, dtype=np.float64)
    fault = np.asarray(fault, dtype=np.float64)[: len(clean)]
    if len(fault) < len(clean):
        fault = np.pad(fault, (0, len(clean) - len(fault)))
    p_clean = float(np.mean(clean * clean))
    p_fault = float(np.mean(fault * fault))
    if p_fault <= 0.0 or p_clean <= 0.0:
        return clean.astype(np.float32)
    gain = np.sqrt(p_clean / (p_fault * 10.0 ** (snr_db / 10.0)))
    return (clean + gain * fault).astype(np.float32)


def make_labelled_set(
    normal_clips: Sequence[np.ndarray],
    sr: int,
    n_per_class: int,
    fault_classes: Sequence[str] = tuple(FAULT_GENERATORS),
    snr_db: tuple[float, float] = (3.0, 18.0),
    rng_seed: int = 0,
    normal_label: str = "normal",
) -> tuple[list[np.ndarray], list[str]]:
    """Healthy clips labelled ``normal_label`` plus each fault mixed into healthy clips.

    ``n_per_class`` clips per class; the healthy clips are reused in turn (the
    normal class gets a random +-3 dB gain so repeated clips are not identical);
    each fault clip takes a random healthy clip and a fault at a random SNR drawn
    uniformly from ``snr_db``.
    """
    if not normal_clips:
        raise ValueError("need at least one healthy clip")
    rng = np.random.default_rng(rng_seed)
    clips: list[np.ndarray] = []
    labels: list[str] = []
    order = rng.permutation(max(n_per_class, len(normal_clips))) % len(normal_clips)
    for i in range(n_per_class):
        gain = 10.0 ** (rng.uniform(-3, 3) / 20.0)
        clips.append((np.asarray(normal_clips[order[i]], dtype=np.float64) * gain)
                     .astype(np.float32))
        labels.append(normal_label)
    for label in fault_classes:
        for _ in range(n_per_class):
            base = np.asarray(normal_clips[int(rng.integers(len(normal_clips)))])
            fault = make_fault(label, len(base), sr, rng)
            clips.append(mix_at_snr(base, fault, float(rng.uniform(*snr_db))))
            labels.append(label)
    return clips, labels
