"""Labelled recordings on disk -> clip feature matrices, and leak-free splits.

A labelled folder is either

* a ``labels.csv`` with at least the columns ``file`` (path relative to the
  folder) and ``label``; other columns (load, rpm, ...) are kept as metadata, or
* one sub-folder per label holding audio files (searched recursively).

Splits never put pieces of the same stretch of recording on both sides:
``time_split`` keeps the first part of every recording for training and its
last part for testing (clips never overlap), ``split_by_recording`` keeps whole
recordings on one side.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.audio import DEVICE_SAMPLE_RATE, audio_info, load_audio, resample, split_clips
from ml.features import N_FEATURES, extract_features

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Recording:
    """One labelled audio file."""

    path: Path
    rel_path: str
    label: str
    sample_rate: int
    seconds: float
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class ClipSet:
    """Feature rows of clips, with their label, source recording and start time."""

    X: np.ndarray
    labels: np.ndarray
    recordings: np.ndarray
    starts: np.ndarray
    sample_rate: int
    clip_seconds: float

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, idx: np.ndarray) -> ClipSet:
        return ClipSet(self.X[idx], self.labels[idx], self.recordings[idx], self.starts[idx],
                       self.sample_rate, self.clip_seconds)


def load_labelled_folder(data_dir: str | Path, label_column: str = "label") -> list[Recording]:
    """List the labelled recordings of ``data_dir`` (``labels.csv`` or one folder per label)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no such data folder: {root}")
    csv_path = root / "labels.csv"
    rows: list[tuple[Path, str, dict[str, str]]] = []
    if csv_path.is_file():
        with csv_path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"file", label_column} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{csv_path} lacks column(s) {sorted(missing)}")
            for row in reader:
                path = root / row["file"]
                if not path.is_file():
                    raise FileNotFoundError(f"{csv_path} names a missing file: {row['file']}")
                meta = {k: v for k, v in row.items() if k not in ("file", label_column)}
                rows.append((path, row[label_column].strip(), meta))
    else:
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for path in sorted(sub.rglob("*")):
                if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                    rows.append((path, sub.name, {}))
    if not rows:
        raise ValueError(f"{root} holds no labelled audio (labels.csv or one folder per label)")
    out = []
    for path, label, meta in rows:
        sr, seconds = audio_info(path)
        out.append(Recording(path, path.relative_to(root).as_posix(), label, sr, seconds, meta))
    return out


def list_audio_files(data_dir: str | Path) -> list[Path]:
    """Every audio file under ``data_dir`` (recursively, sorted)."""
    root = Path(data_dir)
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def choose_analysis_rate(recordings: Sequence[Recording], default: int = DEVICE_SAMPLE_RATE) -> int:
    """The lowest sample rate in the set, capped at ``default``.

    Resampling everything to the lowest rate gives every class the same
    bandwidth, so no class can be recognised by its recording bandwidth alone
    (CWRU: the normal recording is 48 kHz, the faults 12 kHz).
    """
    return min([int(default)] + [r.sample_rate for r in recordings])


_NICE_CLIP_SECONDS = (5.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.125)


def choose_split(recordings: Sequence[Recording], default_clip: float = 5.0,
                 min_recordings_per_label: int = 5) -> tuple[float, str]:
    """Clip length and split strategy for a labelled set.

    * Many recordings per label (every label has ``min_recordings_per_label``):
      ``"recording"`` split; clip length ``default_clip`` or the shortest
      recording, whichever is shorter.
    * Few long recordings per label (CWRU): ``"time"`` split inside each
      recording; clip length such that the shortest recording gives about 20
      clips (picked from 5, 4, 2, 1, 0.5, 0.25, 0.125 s).
    """
    counts: dict[str, int] = {}
    for r in recordings:
        counts[r.label] = counts.get(r.label, 0) + 1
    shortest = min(r.seconds for r in recordings)
    if min(counts.values()) >= min_recordings_per_label:
        fitting = [c for c in _NICE_CLIP_SECONDS if c <= min(default_clip, shortest)]
        return (fitting[0] if fitting else shortest), "recording"
    target = shortest / 20.0
    fitting = [c for c in _NICE_CLIP_SECONDS if c <= min(default_clip, target)]
    return (fitting[0] if fitting else _NICE_CLIP_SECONDS[-1]), "time"


def clip_features(
    recordings: Sequence[Recording],
    analysis_sr: int,
    clip_seconds: float,
    progress: Progress | None = None,
) -> ClipSet:
    """Cut every recording into clips and compute one feature row per clip.

    Each recording is resampled once, as a whole, to ``analysis_sr``.
    """
    xs, labels, recs, starts = [], [], [], []
    for i, rec in enumerate(recordings):
        y, sr = load_audio(rec.path)
        y = resample(y, sr, analysis_sr)
        n = int(round(clip_seconds * analysis_sr))
        for j, clip in enumerate(split_clips(y, analysis_sr, clip_seconds)):
            xs.append(extract_features(clip, analysis_sr, analysis_sr))
            labels.append(rec.label)
            recs.append(rec.rel_path)
            starts.append(j * n / analysis_sr)
        if progress is not None:
            progress(i + 1, len(recordings))
    X = np.vstack(xs) if xs else np.empty((0, N_FEATURES), dtype=np.float32)
    return ClipSet(X, np.asarray(labels, dtype=object), np.asarray(recs, dtype=object),
                   np.asarray(starts, dtype=np.float64), int(analysis_sr), float(clip_seconds))


def time_split(clips: ClipSet, test_fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): the last ``test_fraction`` of each recording's clips is test.

    A recording with a single clip goes to training.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    train, test = [], []
    for rec in np.unique(clips.recordings):
        idx = np.flatnonzero(clips.recordings == rec)
        idx = idx[np.argsort(clips.starts[idx], kind="stable")]
        n_test = int(round(test_fraction * len(idx))) if len(idx) > 1 else 0
        n_test = min(max(n_test, 1 if len(idx) > 1 else 0), len(idx) - 1)
        cut = len(idx) - n_test
        train.extend(idx[:cut].tolist())
        test.extend(idx[cut:].tolist())
    return np.asarray(sorted(train), dtype=int), np.asarray(sorted(test), dtype=int)


def split_by_recording(clips: ClipSet, test_fraction: float = 0.3,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) keeping every recording whole, stratified by label.

    For each label a seeded shuffle of its recordings puts about
    ``test_fraction`` of them (at least one, when it has two or more) in test.
    """
    rng = np.random.default_rng(seed)
    test_recs: set[str] = set()
    for label in sorted(set(clips.labels.tolist())):
        recs = sorted(set(clips.recordings[clips.labels == label].tolist()))
        if len(recs) < 2:
            continue
        order = rng.permutation(len(recs))
        n_test = min(len(recs) - 1, max(1, int(round(test_fraction * len(recs)))))
        test_recs.update(recs[k] for k in order[:n_test])
    is_test = np.array([r in test_recs for r in clips.recordings], dtype=bool)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
