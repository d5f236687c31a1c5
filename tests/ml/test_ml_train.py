"""Training, evaluating and scoring folders, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from ml_helpers import SMALL_SR, small_clip

from ml.__main__ import main
from ml.artifacts import load_artifact
from ml.train import classification_metrics, evaluate_folder, score_folder, train_from_folder

LABELS = ("normal", "bearing", "valve_leak")


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    """3 labels x 2 recordings of 6 s at 8 kHz, plus a healthy folder and an unlabelled one."""
    root = tmp_path_factory.mktemp("folders")
    data = root / "data"
    rows = ["file,label"]
    for k, label in enumerate(LABELS):
        for rec in range(2):
            y = np.concatenate([small_clip(label, 1000 * k + 10 * rec + i) for i in range(6)])
            name = f"{label}_{rec}.wav"
            data.mkdir(exist_ok=True)
            sf.write(data / name, y, SMALL_SR, subtype="FLOAT")
            rows.append(f"{name},{label}")
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    healthy = root / "healthy"
    healthy.mkdir()
    for i in range(3):
        y = np.concatenate([small_clip("normal", 5000 + 10 * i + j) for j in range(4)])
        sf.write(healthy / f"h{i}.wav", y, SMALL_SR, subtype="FLOAT")
    unlabelled = root / "incoming" / "dev1"
    unlabelled.mkdir(parents=True)
    sf.write(unlabelled / "a.wav", np.concatenate([small_clip("bearing", 9000 + j)
                                                   for j in range(3)]), SMALL_SR)
    return root


@pytest.fixture(scope="module")
def trained(labelled_folder):
    progress = []
    model, report = train_from_folder(labelled_folder / "data", clip_seconds=1.0,
                                      progress=lambda d, t: progress.append((d, t)))
    return model, report, progress


def test_train_report(trained) -> None:
    model, report, progress = trained
    assert progress[-1] == (6, 6)
    assert report["split"] == "time" and report["sample_rate"] == SMALL_SR
    assert report["train"]["n_clips"] + report["test"]["n_clips"] == 36
    held = report["held_out"]
    assert held["accuracy"] >= 0.9 and held["macro_f1"] >= 0.9
    assert set(held["per_class"]) == set(LABELS)
    matrix = np.array(held["confusion_matrix"]["matrix"])
    assert matrix.sum() == report["test"]["n_clips"] and np.trace(matrix) >= 0.9 * matrix.sum()
    assert model.clip_seconds == 1.0 and sorted(model.classes) == sorted(LABELS)


def test_evaluate_folder(trained, labelled_folder) -> None:
    model, _, _ = trained
    metrics = evaluate_folder(model, labelled_folder / "data")
    assert metrics["clips"]["n"] == 36 and metrics["files"]["n"] == 6
    assert metrics["clips"]["accuracy"] >= 0.9 and metrics["files"]["accuracy"] == 1.0
    assert metrics["labels_unknown_to_model"] == []


def test_score_folder_with_and_without_baseline(trained, labelled_folder) -> None:
    model, _, _ = trained
    rows = list(score_folder(model, labelled_folder / "incoming",
                             baseline_dir=labelled_folder / "healthy"))
    assert [r["start_s"] for r in rows] == [0.0, 1.0, 2.0]
    assert all(r["file"] == "dev1/a.wav" for r in rows)
    assert sum(r["label"] == "bearing" for r in rows) >= 2
    assert all(r["is_anomaly"] for r in rows)
    assert all(r["status"] in ("watch", "warning", "critical") for r in rows)
    assert set(rows[0]) == {"file", "start_s", "label", "probabilities", "confidence",
                            "anomaly_score", "is_anomaly", "health_score", "status"}
    plain = next(score_folder(model, labelled_folder / "incoming"))
    assert plain["anomaly_score"] is None and plain["is_anomaly"] is None


def test_classification_metrics_by_hand() -> None:
    m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert m["accuracy"] == 0.75
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert m["confusion_matrix"] == {"labels": ["a", "b"], "matrix": [[1, 1], [0, 2]]}


def test_command_line(labelled_folder, tmp_path, capsys) -> None:
    model_path = tmp_path / "m.joblib"
    assert main(["train", str(labelled_folder / "data"), "--out", str(model_path),
                 "--clip-seconds", "1", "--no-refit"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"]["held_out"]["accuracy"] >= 0.9
    assert load_artifact(model_path).clip_seconds == 1.0
    assert main(["evaluate", str(model_path), str(labelled_folder / "data")]) == 0
    assert json.loads(capsys.readouterr().out)["files"]["accuracy"] == 1.0
    base_path = tmp_path / "b.joblib"
    assert main(["baseline", str(model_path), str(labelled_folder / "healthy"),
                 "--out", str(base_path)]) == 0
    capsys.readouterr()
    assert main(["score", str(model_path), str(labelled_folder / "incoming"),
                 "--baseline-dir", str(base_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3 and all(line["is_anomaly"] for line in lines)
