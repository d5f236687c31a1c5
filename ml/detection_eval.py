"""Anomaly-detection evaluations behind ml/README.md (re-exported by ``ml.evaluation``).

* ``detection_benchmark``: real compressor clips (``shared/data/compressor``),
  SYNTHETIC faults (``ml.synthetic``, all kinds) mixed into healthy test clips at
  several SNRs, baselines learned from *earlier* healthy clips of the same
  recording day (``detection_splits``), new method beside the plain log-mel
  Mahalanobis reference and the ``features-1`` default.
* ``cwru_anomaly``: CWRU bearing data as anomaly detection: a baseline from the
  first part of the healthy recording, its last part as healthy test, the real
  faults at 0 HP and 1 HP as anomalies.

The compressor data is one day (2026-03-02): "other recording days" cannot be
evaluated with it. What separates baseline from test is time: the earliest clips
of each operating state against later ones.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from ml.audio import DEVICE_SAMPLE_RATE, load_audio, resample, split_clips
from ml.baseline import Baseline
from ml.dataset import choose_analysis_rate, load_labelled_folder
from ml.drift import DriftPolicy
from ml.features import extract_features_batch
from ml.synthetic import FAULT_GENERATORS, FaultGenerator, mix_at_snr

COMPARED_METHODS = ("families", "families_tail", "logmel_mahalanobis", "mahalanobis")
"""The round-2 default, the tail-calibrated default (round 4), the plain reference, the
``features-1`` default."""
STREAMED_METHODS = ("families", "families_tail")
"""Methods also run with ``Baseline.update`` (rows ``<method>+update``)."""
METHOD_LABELS = {"families": "families (round 2)", "families_tail": "tail-calibrated (default)",
                 "logmel_mahalanobis": "plain log-mel Mahalanobis",
                 "mahalanobis": "features-1 subspace",
                 "families+update": "families + drift update",
                 "families_tail+update": "tail-calibrated + update"}
REPORTED_SPLITS = ("chronological", "held_out_minute", "blocked")
DEVELOPMENT = {"split": "blocked and early (first quarter -> second quarter)", "seed": 1}
"""What the design was chosen on (ml/README.md): never the reported seeds."""
BENCH_POLICY = DriftPolicy(admit_every=2, refit_every=5)
"""The drift policy in the streaming rows: the recordings span minutes, not days, so
every second qualifying clip instead of one per ``min_interval_s``."""
_SESSION = re.compile(r"(\d{8}_\d{6})")


def _session(path: Path) -> str:
    m = _SESSION.search(path.name)
    return m.group(1) if m else path.name


def detection_splits(sessions: dict[str, list[str]]) -> dict[str, dict[str, np.ndarray]]:
    """Baseline masks per state (rows in time order) for every split.

    ``chronological``: first half of each state is the baseline, the second half the
    test (the deployment case: a baseline from the first clips). ``held_out_minute``:
    the last recording session (one per minute, from the file name) with at least 10
    clips, and anything after it, is the test; every earlier session the baseline.
    ``blocked``: alternating 10 s blocks (5 clips), so the baseline spans the whole
    stretch. ``early``: the first quarter is the baseline, the second quarter the test
    (the rest unused) - a development split inside the chronological baseline part.
    """
    out: dict[str, dict[str, np.ndarray]] = {s: {} for s in (*REPORTED_SPLITS, "early")}
    for state, names in sessions.items():
        n = len(names)
        idx = np.arange(n)
        out["chronological"][state] = idx < n // 2
        out["blocked"][state] = (idx // 5) % 2 == 0
        out["early"][state] = idx < n // 4
        order = list(dict.fromkeys(names))
        big = [s for s in order if names.count(s) >= 10]
        last = big[-1] if big else order[-1]
        first_test = names.index(last)
        out["held_out_minute"][state] = idx < first_test
    return out


def _test_mask(split: str, state_n: int, base: np.ndarray) -> np.ndarray:
    if split == "early":
        return (~base) & (np.arange(state_n) < state_n // 2)
    return ~base


def _auc(healthy: np.ndarray, faulty: np.ndarray) -> float:
    y = np.r_[np.zeros(len(healthy)), np.ones(len(faulty))]
    return round(float(roc_auc_score(y, np.r_[healthy, faulty])), 4)


def _rates(healthy: np.ndarray, faulty: dict[str, np.ndarray],
           threshold: float | np.ndarray) -> dict[str, Any]:
    per_kind = {k: {"auc": _auc(healthy, f),
                    "detected": round(float(np.mean(f > threshold)), 4)} for k, f in faulty.items()}
    joined = np.concatenate(list(faulty.values()))
    return {"auc": _auc(healthy, joined), "min_auc": min(v["auc"] for v in per_kind.values()),
            "false_alarm_rate": round(float(np.mean(healthy > threshold)), 4),
            "detection_rate": round(float(np.mean(joined > threshold)), 4),
            "n_test_healthy": int(len(healthy)), "per_kind": per_kind}


def _streaming(baseline: Baseline, healthy: np.ndarray,
               faulty: dict[str, np.ndarray]) -> dict[str, Any]:
    """Test clips in time order; each scored by the baseline as it is at that clip, then
    the healthy one is offered to ``Baseline.update`` (faulty versions never are)."""
    h = np.empty(len(healthy))
    f = {k: np.empty(len(v)) for k, v in faulty.items()}
    thresholds = np.empty(len(healthy))
    for i in range(len(healthy)):
        thresholds[i] = baseline.threshold
        h[i] = baseline.score(healthy[i:i + 1])[0]
        for k, v in faulty.items():
            f[k][i] = baseline.score(v[i:i + 1])[0]
        baseline.update(healthy[i:i + 1])
    # scores relative to the threshold in force at each clip
    out = _rates(h / thresholds, {k: v / thresholds for k, v in f.items()}, 1.0)
    out.update(n_admitted=baseline.n_admitted, n_refits=baseline.n_refits)
    return out


def load_compressor(compressor_dir: str | Path, states: Sequence[str] = ("run", "rest"),
                    sr: int = DEVICE_SAMPLE_RATE) -> tuple[list[np.ndarray], dict[str, list[str]]]:
    """The healthy clips of ``states`` (in time order, resampled) and their sessions."""
    root = Path(compressor_dir)
    clips: list[np.ndarray] = []
    sessions: dict[str, list[str]] = {}
    for state in states:
        files = sorted((root / state).glob("*.wav"))
        clips += [resample(*load_audio(p), sr) for p in files]
        sessions[state] = [_session(p) for p in files]
    return clips, sessions


def features_cache(cache_dir: str | Path | None, key: str, compute: Any) -> np.ndarray:
    """``compute()`` as float64, stored as ``cache_dir/key.npy`` (with the feature-set id
    and clip count in the name) and read back from there next time."""
    if cache_dir is None:
        return np.asarray(compute(), dtype=np.float64)
    from ml.features import FEATURE_SET_ID

    path = Path(cache_dir) / f"{FEATURE_SET_ID}_{key}.npy"
    if path.is_file():
        return np.load(path)
    X = np.asarray(compute(), dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, X)
    return X


def detection_benchmark(compressor_dir: str | Path, snrs: Sequence[float] = (10.0, 15.0, 20.0),
                        seeds: Sequence[int] = (101, 102),
                        methods: Sequence[str] = COMPARED_METHODS,
                        splits: Sequence[str] = REPORTED_SPLITS,
                        states: Sequence[str] = ("run", "rest"), streaming: bool = True,
                        sr: int = DEVICE_SAMPLE_RATE,
                        cache_dir: str | Path | None = None,
                        kinds: Mapping[str, FaultGenerator] | None = None) -> dict[str, Any]:
    """Detection of SYNTHETIC faults mixed into real compressor clips.

    For every seed, every healthy clip is scored as recorded and once per fault kind
    and SNR with that fault mixed in (a new random draw per clip: frequencies,
    resonances, times). Per split a ``Baseline`` of each method learns from the
    split's baseline clips; the test clips give ROC AUC healthy-vs-faulty, the false
    alarm rate on healthy test clips and the detection rate at the baseline's own
    threshold, per fault kind. ``streaming`` adds ``STREAMED_METHODS`` with
    ``Baseline.update`` run over the test clips in time order (``_streaming``) on the
    chronological and held-out-minute splits. ``summary`` averages over seeds.
    ``cache_dir``: keep the feature rows there (``features_cache``) so that a re-run
    with another scoring only pays for the baselines. ``kinds``: the fault generators
    (default ``FAULT_GENERATORS``; ``ml.unseen_faults`` for kinds kept out of design).
    """
    kinds = FAULT_GENERATORS if kinds is None else kinds
    started = time.perf_counter()
    clips, sessions = load_compressor(compressor_dir, states, sr)
    counts = {s: len(v) for s, v in sessions.items()}
    offsets = np.cumsum([0] + [counts[s] for s in states])
    X = features_cache(cache_dir, f"healthy_{'-'.join(states)}_{sr}",
                       lambda: extract_features_batch(clips, sr))
    masks = detection_splits(sessions)
    per_seed: dict[int, Any] = {}
    for seed in seeds:
        faulty: dict[float, dict[str, np.ndarray]] = {}
        for snr in snrs:
            rng = np.random.default_rng([int(seed), int(round(10 * snr))])
            faulty[snr] = {}
            for kind, generator in kinds.items():  # the draws keep their order, cached or not
                mixed = [mix_at_snr(c, generator(len(c), sr, rng), snr) for c in clips]
                faulty[snr][kind] = features_cache(
                    cache_dir, f"{kind}_{seed}_{snr:g}_{'-'.join(states)}_{sr}",
                    lambda m=mixed: extract_features_batch(m, sr))
        per_seed[seed] = {}
        for split in splits:
            base_idx = np.concatenate([offsets[i] + np.flatnonzero(masks[split][s])
                                       for i, s in enumerate(states)])
            test_idx = np.concatenate([
                offsets[i] + np.flatnonzero(_test_mask(split, counts[s], masks[split][s]))
                for i, s in enumerate(states)])
            res: dict[str, Any] = {}
            for method in methods:
                baseline = Baseline(method=method, sample_rate=sr).fit(X[base_idx])
                healthy = baseline.score(X[test_idx])
                res[method] = {f"{snr:g}": _rates(healthy, {k: baseline.score(F[test_idx])
                                                           for k, F in faulty[snr].items()},
                                                  baseline.threshold)
                               for snr in snrs}
            if streaming and split in ("chronological", "held_out_minute"):
                for method in STREAMED_METHODS:
                    res[f"{method}+update"] = {}
                    for snr in snrs:
                        baseline = Baseline(method=method, sample_rate=sr,
                                            policy=BENCH_POLICY).fit(X[base_idx])
                        res[f"{method}+update"][f"{snr:g}"] = _streaming(
                            baseline, X[test_idx],
                            {k: F[test_idx] for k, F in faulty[snr].items()})
            per_seed[seed][split] = res
            per_seed[seed][split]["n_baseline"] = int(len(base_idx))
    return {"snrs": list(snrs), "seeds": list(seeds), "sample_rate": sr,
            "clips_per_state": counts, "clip_seconds": round(len(clips[0]) / sr, 3),
            "development": DEVELOPMENT, "per_seed": per_seed,
            "summary": _summarise(per_seed), "seconds": round(time.perf_counter() - started, 1)}


def _summarise(per_seed: dict[int, Any]) -> dict[str, Any]:
    """Mean over seeds of every figure (split -> method -> snr -> figures)."""
    seeds = list(per_seed)
    first = per_seed[seeds[0]]
    out: dict[str, Any] = {}
    for split, methods in first.items():
        out[split] = {}
        for method, by_snr in methods.items():
            if not isinstance(by_snr, dict):
                continue
            out[split][method] = {}
            for snr, r in by_snr.items():
                rows = [per_seed[s][split][method][snr] for s in seeds]
                mean = {k: round(float(np.mean([x[k] for x in rows])), 4)
                        for k in ("auc", "min_auc", "false_alarm_rate", "detection_rate")}
                mean["per_kind"] = {kind: {m: round(float(np.mean(
                    [x["per_kind"][kind][m] for x in rows])), 4) for m in ("auc", "detected")}
                    for kind in r["per_kind"]}
                mean["n_test_healthy"] = r["n_test_healthy"]
                out[split][method][snr] = mean
    return out


def cwru_anomaly(cwru_dir: str | Path, clip_seconds: float = 0.25,
                 baseline_fraction: float = 0.7, normalise_level: bool = False,
                 methods: Sequence[str] = COMPARED_METHODS) -> dict[str, Any]:
    """CWRU as anomaly detection (module docstring), per motor load of the faults.

    Non-overlapping ``clip_seconds`` clips at the common analysis rate (12 kHz); the
    first ``baseline_fraction`` of ``Normal_0`` is the baseline, the rest the healthy
    test (CWRU has a single 5 s healthy recording, so only a handful of healthy test
    clips: the false-alarm rate is coarse). The fault recordings are far louder than
    the healthy one, so level alone separates them; ``normalise_level`` scales every
    clip to the same RMS first (a sensor at an unknown distance or gain), leaving only
    the shape of the signal.
    """
    recordings = load_labelled_folder(cwru_dir)
    sr = choose_analysis_rate(recordings)
    normal = [r for r in recordings if r.label == "normal"]
    if not normal:
        raise ValueError("no healthy recording")

    def rows(rec: Any) -> np.ndarray:
        y, rate = load_audio(rec.path)
        pieces = split_clips(resample(y, rate, sr), sr, clip_seconds)
        if normalise_level:
            pieces = [0.1 * p / max(float(np.sqrt(np.mean(p * p))), 1e-12) for p in pieces]
        return extract_features_batch(pieces, sr).astype(np.float64)

    healthy = rows(normal[0])
    cut = int(round(baseline_fraction * len(healthy)))
    faults: dict[str, list[np.ndarray]] = {}
    for rec in recordings:
        if rec.label != "normal":
            faults.setdefault(str(rec.meta.get("load_hp")), []).append(rows(rec))
    out: dict[str, Any] = {"sample_rate": sr, "clip_seconds": clip_seconds,
                           "normalise_level": normalise_level,
                           "n_baseline": cut, "n_test_healthy": len(healthy) - cut,
                           "methods": {}}
    for method in methods:
        baseline = Baseline(method=method, sample_rate=sr).fit(healthy[:cut])
        h = baseline.score(healthy[cut:])
        out["methods"][method] = {}
        for load, blocks in sorted(faults.items()):
            f = baseline.score(np.vstack(blocks))
            out["methods"][method][f"{load}hp"] = {
                "auc": _auc(h, f),
                "false_alarm_rate": round(float(np.mean(h > baseline.threshold)), 4),
                "detection_rate": round(float(np.mean(f > baseline.threshold)), 4),
                "n_faulty": int(len(f))}
    return out
