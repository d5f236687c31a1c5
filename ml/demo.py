"""The demo model: real compressor sound + SYNTHETIC fault signatures.

``train_demo_model`` builds a labelled set from the bundled real clips in
``ml/demo_clips`` (see its README for the source) and the synthetic faults of
``ml/synthetic.py`` (normal, bearing, valve_leak, belt_slip, electrical_hum),
at 16 kHz with 5 s clips like the devices send, trains the ensemble, fits a
baseline on healthy demo clips and saves both. ``demo_clip`` produces one
realistic 5 s clip of a condition for the device simulator.

The bundled clips are 2 s long. A 5 s clip is made by joining clips of one
operating state: it starts at a random offset in a random clip and continues
with the following clips of the same state in recording order (wrapping
around), each join smoothed by a 20 ms linear cross-fade so that no click is
created at the seams. The run clips of one recording are consecutive parts,
so most joins continue the same recording.

Like a device's ADC (and the simulator's 16-bit WAV), every demo clip is
clipped to full scale [-1, 1] *after* the fault is mixed in: the bundled run
clips already sit at full scale about a third of the time, so a fault rides
on a clipped waveform exactly as it would in a real recording.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ml.audio import DEVICE_SAMPLE_RATE, load_audio, resample
from ml.baseline import Baseline
from ml.ensemble import DiagnosisModel
from ml.features import extract_features_batch
from ml.synthetic import FAULT_GENERATORS, make_fault, mix_at_snr

DEMO_CLIPS_DIR = Path(__file__).resolve().parent / "demo_clips"
DEMO_SAMPLE_RATE = DEVICE_SAMPLE_RATE
DEMO_CLIP_SECONDS = 5.0
DEMO_CLASSES = ("normal", "bearing", "valve_leak", "belt_slip", "electrical_hum")
DEMO_STATES = ("run", "rest")
RUN_PROBABILITY = 0.7
TRAIN_SNR_DB = (3.0, 18.0)
DEMO_SNR_DB = (6.0, 15.0)
CROSSFADE_SECONDS = 0.02
MODEL_FILE, BASELINE_FILE, REPORT_FILE = "demo_model.joblib", "demo_baseline.joblib", \
    "demo_report.json"


@lru_cache(maxsize=2)
def demo_sources(sr: int = DEMO_SAMPLE_RATE) -> dict[str, tuple[np.ndarray, ...]]:
    """The bundled real clips per operating state, resampled to ``sr`` (cached)."""
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for state in DEMO_STATES:
        files = sorted((DEMO_CLIPS_DIR / state).glob("*.wav"))
        if not files:
            raise FileNotFoundError(f"no demo clips in {DEMO_CLIPS_DIR / state}")
        out[state] = tuple(resample(*load_audio(f), sr) for f in files)
    return out


def join_with_crossfade(pieces: list[np.ndarray], n: int, fade: int) -> np.ndarray:
    """Concatenate ``pieces`` with linear cross-fades of ``fade`` samples; first ``n`` samples."""
    out = np.asarray(pieces[0], dtype=np.float64)
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False) if fade > 0 else np.empty(0)
    for piece in pieces[1:]:
        piece = np.asarray(piece, dtype=np.float64)
        if fade > 0 and len(out) >= fade and len(piece) >= fade:
            mixed = out[-fade:] * (1.0 - ramp) + piece[:fade] * ramp
            out = np.concatenate([out[:-fade], mixed, piece[fade:]])
        else:
            out = np.concatenate([out, piece])
        if len(out) >= n:
            break
    return out[:n]


def healthy_clip(rng: np.random.Generator, seconds: float = DEMO_CLIP_SECONDS,
                 sr: int = DEMO_SAMPLE_RATE, state: str | None = None) -> np.ndarray:
    """A healthy clip of ``seconds`` built from the bundled clips (module docstring)."""
    if state is None:
        state = "run" if rng.random() < RUN_PROBABILITY else "rest"
    sources = demo_sources(sr)[state]
    n = int(round(seconds * sr))
    first = int(rng.integers(len(sources)))
    offset = int(rng.integers(0, len(sources[first]) // 2))
    pieces = [sources[first][offset:]]
    k = first
    while sum(len(p) for p in pieces) < n + len(pieces) * int(CROSSFADE_SECONDS * sr):
        k = (k + 1) % len(sources)
        pieces.append(sources[k])
    return join_with_crossfade(pieces, n, int(CROSSFADE_SECONDS * sr)).astype(np.float32)


DEMO_CONDITIONS = ("normal", *FAULT_GENERATORS)
"""What ``demo_clip`` can make: the classifier's ``DEMO_CLASSES`` plus the other SYNTHETIC
fault kinds (impulsive knock, mains hum, intermittent rattle), which the demo model has
no class for and only the per-machine baseline flags."""


def demo_clip(label: str, rng_seed: int = 0, snr_db: float | None = None,
              state: str | None = None, severity: float = 1.0) -> tuple[np.ndarray, int]:
    """A 5 s, 16 kHz clip of ``label`` (one of ``DEMO_CONDITIONS``): ``(samples, sample_rate)``.

    Faults are mixed in at ``snr_db`` (default: drawn from 6-15 dB by the seed), then
    their amplitude is multiplied by ``severity`` (0..1): 1 is the full fault, 0.1 is
    20 dB quieter, 0 is the healthy clip itself (same seed, same healthy sound), so a
    demo fleet can ramp a fault smoothly over hours. The same arguments give the same
    clip.
    """
    if label not in DEMO_CONDITIONS:
        raise ValueError(f"unknown demo condition {label!r}; known: {list(DEMO_CONDITIONS)}")
    if not 0.0 <= float(severity) <= 1.0:
        raise ValueError("severity must be within 0..1")
    rng = np.random.default_rng(rng_seed)
    clean = healthy_clip(rng, state=state)
    if label == "normal":
        return to_full_scale(clean), DEMO_SAMPLE_RATE
    snr = float(rng.uniform(*DEMO_SNR_DB)) if snr_db is None else float(snr_db)
    fault = make_fault(label, len(clean), DEMO_SAMPLE_RATE, rng)
    mixed = mix_at_snr(clean, fault, snr)
    if severity == 1.0:
        return to_full_scale(mixed), DEMO_SAMPLE_RATE
    full = mixed.astype(np.float64) - clean
    return to_full_scale(clean + float(severity) * full), DEMO_SAMPLE_RATE


def to_full_scale(y: np.ndarray) -> np.ndarray:
    """Clip to [-1, 1] as an ADC (or a 16-bit WAV) does."""
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def build_demo_set(
    n_per_class: int, rng_seed: int = 0, snr_db: tuple[float, float] = TRAIN_SNR_DB
) -> tuple[list[np.ndarray], list[str]]:
    """``n_per_class`` 5 s clips of every demo class (healthy clips drawn independently)."""
    rng = np.random.default_rng(rng_seed)
    clips: list[np.ndarray] = []
    labels: list[str] = []
    for label in DEMO_CLASSES:
        for _ in range(n_per_class):
            clean = healthy_clip(rng)
            if label != "normal":
                fault = make_fault(label, len(clean), DEMO_SAMPLE_RATE, rng)
                clean = mix_at_snr(clean, fault, float(rng.uniform(*snr_db)))
            clips.append(to_full_scale(clean))
            labels.append(label)
    return clips, labels


@dataclass
class DemoArtifacts:
    """What ``train_demo_model`` wrote, and the trained objects."""

    model_path: Path
    baseline_path: Path
    report_path: Path
    model: DiagnosisModel
    baseline: Baseline
    report: dict[str, Any]


def train_demo_model(out_dir: str | Path, n_per_class: int = 60, rng_seed: int = 0,
                     progress: Callable[[int, int], None] | None = None) -> DemoArtifacts:
    """Train and save the demo model and a demo baseline into ``out_dir``.

    Runs in roughly 15-30 s on two cores. The report holds the accuracy on a
    separate synthetic hold-out set (new fault draws, same bundled clips).
    """
    from ml.artifacts import save_artifact  # local: artifacts imports this package's peers
    from ml.train import classification_metrics

    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clips, labels = build_demo_set(n_per_class, rng_seed)
    test_clips, test_labels = build_demo_set(max(10, n_per_class // 3), rng_seed + 1_000_003)
    total = len(clips) + len(test_clips) + 1
    rows = []
    for i, clip in enumerate(clips + test_clips):
        rows.append(extract_features_batch([clip], DEMO_SAMPLE_RATE)[0])
        if progress is not None and i % 10 == 9:
            progress(i + 1, total)
    X = np.vstack(rows)
    X_train, X_test = X[: len(clips)], X[len(clips):]
    summary = {"source": "ml/demo_clips (real compressor) + SYNTHETIC faults (ml/synthetic.py)",
               "n_clips": len(clips), "per_class": {c: labels.count(c) for c in DEMO_CLASSES},
               "snr_db": list(TRAIN_SNR_DB), "clip_seconds": DEMO_CLIP_SECONDS,
               "sample_rate": DEMO_SAMPLE_RATE}
    model = DiagnosisModel.train(X_train, labels, DEMO_SAMPLE_RATE, DEMO_CLIP_SECONDS,
                                 training_summary=summary)
    normal_rows = X_train[np.asarray(labels) == "normal"]
    baseline = Baseline(sample_rate=DEMO_SAMPLE_RATE, clip_seconds=DEMO_CLIP_SECONDS)
    baseline.fit(normal_rows)
    proba = model.predict_proba(X_test)
    predicted = [model.classes[i] for i in proba.argmax(axis=1)]
    report = {"training": summary,
              "synthetic_holdout": classification_metrics(test_labels, predicted, model.classes),
              "seconds": round(time.perf_counter() - started, 1)}
    model.training_summary["synthetic_holdout_accuracy"] = report["synthetic_holdout"]["accuracy"]
    model_path = save_artifact(model, out / MODEL_FILE, extra={"demo": True})
    baseline_path = save_artifact(baseline, out / BASELINE_FILE, extra={"demo": True})
    report_path = out / REPORT_FILE
    report_path.write_text(json.dumps(report, indent=2))
    if progress is not None:
        progress(total, total)
    return DemoArtifacts(model_path, baseline_path, report_path, model, baseline, report)
