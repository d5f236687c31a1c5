"""Saving and loading models and baselines, and refusing incompatible ones."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import sklearn

from ml.artifacts import (
    IncompatibleArtifactError,
    load_artifact,
    read_artifact_metadata,
    save_artifact,
)
from ml.baseline import Baseline
from ml.ensemble import DiagnosisModel
from ml.features import FEATURE_NAMES, FEATURE_SET_ID


def test_model_round_trip_and_metadata(tmp_path, small_dataset, small_model) -> None:
    X, _ = small_dataset
    path = save_artifact(small_model, tmp_path / "models" / "m.joblib", extra={"note": "t"})
    loaded = load_artifact(path, expected_kind="DiagnosisModel")
    assert isinstance(loaded, DiagnosisModel)
    np.testing.assert_array_equal(loaded.predict_proba(X), small_model.predict_proba(X))
    meta = read_artifact_metadata(path)
    assert meta["kind"] == "DiagnosisModel"
    assert meta["versions"]["sklearn"] == sklearn.__version__
    assert set(meta["versions"]) >= {"sklearn", "numpy", "librosa", "python"}
    assert meta["feature_names"] == FEATURE_NAMES and meta["feature_set_id"] == FEATURE_SET_ID
    assert meta["classes"] == small_model.classes
    assert meta["clip_seconds"] == 1.0 and meta["sample_rate"] == small_model.sample_rate
    assert meta["created"] and meta["extra"] == {"note": "t"}


def test_baseline_round_trip(tmp_path, small_dataset) -> None:
    X, _ = small_dataset
    baseline = Baseline(sample_rate=8000, clip_seconds=1.0).fit(X[:16])
    path = save_artifact(baseline, tmp_path / "b.joblib")
    loaded = load_artifact(path, expected_kind="Baseline")
    np.testing.assert_array_equal(loaded.score(X), baseline.score(X))
    assert read_artifact_metadata(path)["baseline"]["threshold"] == baseline.threshold
    with pytest.raises(IncompatibleArtifactError, match="not a DiagnosisModel"):
        load_artifact(path, expected_kind="DiagnosisModel")


def _tamper(path, **changes) -> None:
    container = joblib.load(path)
    for key, value in changes.items():
        if key == "sklearn":
            container["metadata"]["versions"]["sklearn"] = value
        else:
            container["metadata"][key] = value
    joblib.dump(container, path)


def test_refuses_other_sklearn_minor_version(tmp_path, small_model) -> None:
    path = save_artifact(small_model, tmp_path / "m.joblib")
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    _tamper(path, sklearn=f"{major}.{minor + 1}.0")
    with pytest.raises(IncompatibleArtifactError, match="scikit-learn"):
        load_artifact(path)
    _tamper(path, sklearn=f"{major}.{minor}.99")  # a patch release is fine
    assert isinstance(load_artifact(path), DiagnosisModel)


def test_refuses_other_feature_set(tmp_path, small_model) -> None:
    path = save_artifact(small_model, tmp_path / "m.joblib")
    _tamper(path, feature_set_id="signalcraft-features-0:deadbeef")
    with pytest.raises(IncompatibleArtifactError, match="feature set"):
        load_artifact(path)
    path2 = save_artifact(small_model, tmp_path / "m2.joblib")
    _tamper(path2, feature_names=FEATURE_NAMES[:-1])
    with pytest.raises(IncompatibleArtifactError, match="feature"):
        load_artifact(path2)


def test_refuses_foreign_files(tmp_path) -> None:
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"garbage")
    with pytest.raises(IncompatibleArtifactError):
        load_artifact(junk)
    other = tmp_path / "other.joblib"
    joblib.dump({"some": "dict"}, other)
    with pytest.raises(IncompatibleArtifactError, match="not a SignalCraft artifact"):
        load_artifact(other)
    with pytest.raises(FileNotFoundError):
        load_artifact(tmp_path / "missing.joblib")
    with pytest.raises(TypeError):
        save_artifact({"not": "a model"}, tmp_path / "x.joblib")  # type: ignore[arg-type]
