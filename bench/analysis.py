"""Speed of the diagnosis of one 5 s, 16 kHz clip (prints the figures; not a test).

    .venv/bin/python bench/analysis.py [--model M --baseline B] [--repeats 200]

1. warm diagnosis (features + ensemble + baseline), median ms on one core;
2. the same features by separate librosa calls, each computing its own
   spectrogram (the naive way), beside ours (one STFT), and the ratio;
3. clips/s with 2 worker processes;
4. time of the first diagnosis in a fresh process after ``warm_up``.

Without --model/--baseline the demo model is trained into a temporary folder.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/numba-cache")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

SR = 16_000


def naive_librosa_features(y: np.ndarray, sr: int) -> np.ndarray:
    """The feature families of ml.features, each librosa call making its own spectrogram."""
    import librosa
    from scipy.signal import butter, hilbert, sosfiltfilt
    from scipy.stats import kurtosis, skew

    parts = []
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_fft=1024, hop_length=512, n_mels=40)
    delta = librosa.feature.delta(mfcc)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=40), top_db=None)
    for block in (mfcc, delta, mel):
        parts += [block.mean(axis=1), block.std(axis=1)]
    kw: dict[str, Any] = {"y": y, "sr": sr, "n_fft": 1024, "hop_length": 512}
    for feat in (librosa.feature.spectral_centroid(**kw),
                 librosa.feature.spectral_bandwidth(**kw),
                 librosa.feature.spectral_rolloff(**kw, roll_percent=0.85),
                 librosa.feature.spectral_rolloff(**kw, roll_percent=0.95),
                 librosa.feature.spectral_flatness(y=y, n_fft=1024, hop_length=512),
                 librosa.feature.spectral_contrast(**kw, fmin=100.0, n_bands=6),
                 librosa.feature.zero_crossing_rate(y, frame_length=1024, hop_length=512),
                 librosa.feature.rms(y=y, frame_length=1024, hop_length=512)):
        parts += [feat.mean(axis=1), feat.std(axis=1)]
    parts.append(np.array([kurtosis(y), skew(y), np.abs(y).max() / np.sqrt(np.mean(y ** 2))]))
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    parts.append(np.array([np.argmax(spectrum[20 * len(y) // sr:1000 * len(y) // sr])]))
    sos = butter(4, [0.25, 0.9], btype="band", output="sos")
    env = np.abs(hilbert(sosfiltfilt(sos, y))) ** 2
    ses = np.abs(np.fft.rfft(env - env.mean())) ** 2
    parts.append(np.add.reduceat(ses[: 500 * len(y) // sr], np.arange(0, 500 * len(y) // sr, 100)))
    return np.concatenate([np.ravel(p) for p in parts]).astype(np.float32)


def _median_ms(fn: Any, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU (this process) milliseconds per call."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000.0 * statistics.median(wall), 1000.0 * statistics.median(cpu)


_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, baseline_path: str) -> None:
    from ml.analysis import warm_up
    from ml.artifacts import load_artifact

    _WORKER["model"] = load_artifact(model_path)
    _WORKER["baseline"] = load_artifact(baseline_path)
    _WORKER["clips"] = _clips(8)
    warm_up(_WORKER["model"], _WORKER["baseline"])


def _diagnose(i: int) -> str:
    from ml.analysis import analyze_clip

    clip = _WORKER["clips"][i % len(_WORKER["clips"])]
    return analyze_clip(clip, SR, _WORKER["model"], _WORKER["baseline"])["label"]


def _clips(n: int) -> list[np.ndarray]:
    from ml.demo import DEMO_CLASSES, demo_clip

    return [demo_clip(DEMO_CLASSES[i % len(DEMO_CLASSES)], rng_seed=i)[0] for i in range(n)]


FRESH = """
import sys, time
t0 = time.perf_counter()
from ml.analysis import analyze_clip, warm_up
from ml.artifacts import load_artifact
from ml.demo import demo_clip
model = load_artifact(sys.argv[1]); baseline = load_artifact(sys.argv[2])
t1 = time.perf_counter()
warm_up(model, baseline)
t2 = time.perf_counter()
y, sr = demo_clip("bearing", rng_seed=12345)
t3 = time.perf_counter()
result = analyze_clip(y, sr, model, baseline)
t4 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t4 - t3:.4f} {result['label']}")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--baseline")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--throughput-clips", type=int, default=400)
    args = parser.parse_args()

    from ml.analysis import analyze_clip, warm_up
    from ml.artifacts import load_artifact
    from ml.features import extract_features

    tmp = None
    if args.model and args.baseline:
        model_path, baseline_path = args.model, args.baseline
    else:
        from ml.demo import train_demo_model
        tmp = tempfile.TemporaryDirectory()
        t0 = time.perf_counter()
        demo = train_demo_model(tmp.name)
        print(f"demo model trained in {time.perf_counter() - t0:.1f} s "
              f"(synthetic hold-out accuracy {demo.report['synthetic_holdout']['accuracy']:.3f})")
        model_path, baseline_path = str(demo.model_path), str(demo.baseline_path)
    model = load_artifact(model_path)
    baseline = load_artifact(baseline_path)
    warm_up(model, baseline)
    clips = _clips(10)
    clip = clips[1]

    i = iter(range(10**9))
    ours_ms = _median_ms(lambda: extract_features(clips[next(i) % 10], SR), args.repeats)
    naive_librosa_features(clip, SR)  # numba compilation / caches
    naive_ms = _median_ms(lambda: naive_librosa_features(clips[next(i) % 10], SR),
                          max(20, args.repeats // 4))
    X = extract_features(clip, SR)[None, :]
    ensemble_ms = _median_ms(lambda: model.predict_proba(X), args.repeats)
    baseline_ms = _median_ms(lambda: baseline.score(X), args.repeats)
    full_ms = _median_ms(lambda: analyze_clip(clips[next(i) % 10], SR, model, baseline),
                         args.repeats)
    load = os.getloadavg()[0]
    print(f"\none 5 s 16 kHz clip, one core, medians over {args.repeats} runs "
          f"(load average {load:.1f} on {os.cpu_count()} cores); wall / CPU ms:")
    rows = [("features, one STFT (ml.features)", ours_ms),
            ("features, separate librosa calls", naive_ms),
            ("ensemble predict_proba", ensemble_ms),
            ("baseline score", baseline_ms),
            ("full diagnosis (analyze_clip)", full_ms)]
    for name, (wall, cpu) in rows:
        print(f"  {name:36s} {wall:7.2f} / {cpu:6.2f}")
    print(f"  naive / ours (CPU) = {naive_ms[1] / ours_ms[1]:.1f}x;  full diagnosis target "
          "<= 40 ms")
    from bench.results import record

    record("analysis", "one 5 s clip, full diagnosis (median wall)", full_ms[0], "ms", 40)

    ctx = mp.get_context("spawn")
    with ctx.Pool(2, initializer=_init_worker, initargs=(model_path, baseline_path)) as pool:
        pool.map(_diagnose, range(20), chunksize=1)  # every worker warm
        t0 = time.perf_counter()
        pool.map(_diagnose, range(args.throughput_clips), chunksize=8)
        elapsed = time.perf_counter() - t0
    print(f"  throughput, 2 processes: {args.throughput_clips / elapsed:.1f} clips/s "
          f"(target >= 50; load average {os.getloadavg()[0]:.1f})")
    record("analysis", "throughput, 2 processes", args.throughput_clips / elapsed, "clips/s", 50,
           better="higher")

    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", FRESH, model_path, baseline_path], env=env,
                         capture_output=True, text=True, check=True, cwd=REPO).stdout.split()
    print(f"  fresh process: imports + load {float(out[0]):.2f} s, warm_up {float(out[1]):.2f} s,"
          f" first diagnosis {1000 * float(out[2]):.1f} ms (target <= 2 s)")
    record("analysis", "fresh process: first diagnosis", 1000 * float(out[2]), "ms", 2000)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
