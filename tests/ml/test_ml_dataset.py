"""Labelled folders, analysis rate and leak-free splits."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from ml.dataset import (
    choose_analysis_rate,
    choose_split,
    clip_features,
    load_labelled_folder,
    split_by_recording,
    time_split,
)


def _write(path, seconds: float, sr: int, freq: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), sr)


def test_labels_csv_layout_with_extra_columns(tmp_path) -> None:
    _write(tmp_path / "a.wav", 2.0, 12_000, 300)
    _write(tmp_path / "sub" / "b.wav", 1.0, 48_000, 600)
    (tmp_path / "labels.csv").write_text("file,label,load_hp\na.wav,ball,0\nsub/b.wav,normal,1\n")
    recs = load_labelled_folder(tmp_path)
    assert [(r.rel_path, r.label, r.sample_rate) for r in recs] == [
        ("a.wav", "ball", 12_000), ("sub/b.wav", "normal", 48_000)]
    assert recs[0].meta == {"load_hp": "0"} and recs[0].seconds == pytest.approx(2.0)
    # lowest rate wins (no class recognisable by bandwidth), capped at 16 kHz
    assert choose_analysis_rate(recs) == 12_000
    assert choose_analysis_rate(recs[1:]) == 16_000


def test_folder_per_label_layout(tmp_path) -> None:
    for label in ("run", "rest"):
        for i in range(2):
            _write(tmp_path / label / f"{i}.wav", 1.0, 16_000, 200)
    (tmp_path / "notes.txt").write_text("ignored")
    recs = load_labelled_folder(tmp_path)
    assert sorted({r.label for r in recs}) == ["rest", "run"] and len(recs) == 4


def test_bad_folders_are_reported(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        load_labelled_folder(tmp_path / "missing")
    with pytest.raises(ValueError):
        load_labelled_folder(tmp_path)
    (tmp_path / "labels.csv").write_text("name,label\nx.wav,a\n")
    with pytest.raises(ValueError, match="file"):
        load_labelled_folder(tmp_path)


def _two_recordings(tmp_path):
    _write(tmp_path / "long_a.wav", 10.0, 8_000, 300)
    _write(tmp_path / "long_b.wav", 10.0, 8_000, 900)
    (tmp_path / "labels.csv").write_text("file,label\nlong_a.wav,a\nlong_b.wav,b\n")
    return load_labelled_folder(tmp_path)


def test_time_split_keeps_train_before_test_in_every_recording(tmp_path) -> None:
    recs = _two_recordings(tmp_path)
    clips = clip_features(recs, 8_000, 0.5)
    assert len(clips) == 40
    train, test = time_split(clips, test_fraction=0.3)
    assert len(set(train) & set(test)) == 0 and len(train) + len(test) == len(clips)
    for rec in ("long_a.wav", "long_b.wav"):
        tr = clips.starts[train][clips.recordings[train] == rec]
        te = clips.starts[test][clips.recordings[test] == rec]
        assert len(te) == 6 and len(tr) == 14
        assert tr.max() + clips.clip_seconds <= te.min()  # no overlap, train first


def test_split_by_recording_never_shares_a_recording(tmp_path) -> None:
    for label in ("x", "y"):
        for i in range(5):
            _write(tmp_path / label / f"{i}.wav", 2.0, 8_000, 200 + 100 * i)
    recs = load_labelled_folder(tmp_path)
    clips = clip_features(recs, 8_000, 1.0)
    train, test = split_by_recording(clips, 0.4, seed=1)
    assert set(clips.recordings[train]).isdisjoint(set(clips.recordings[test]))
    assert set(clips.labels[test]) == {"x", "y"}
    assert choose_split(recs) == (2.0, "recording")


def test_choose_split_for_few_long_recordings(tmp_path) -> None:
    recs = _two_recordings(tmp_path)
    assert choose_split(recs) == (0.5, "time")  # ~20 clips from the shortest recording
