"""The ensemble, the DiagnosisModel and the recommended actions."""

from __future__ import annotations

import numpy as np
import pytest
from ml_helpers import SMALL_SR, small_clip
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from ml.ensemble import (
    ALL_MEMBERS,
    RECOMMENDED_ACTIONS,
    DiagnosisModel,
    SoftVoteEnsemble,
    _member_predict_proba,
    build_ensemble,
    level_relative_features,
    recommended_action,
)
from ml.features import CLASSIFIER_COLUMNS, FEATURE_NAMES, extract_features


def test_held_out_clips_are_classified(small_dataset, small_model) -> None:
    X, labels = small_dataset
    pred = [d.label for d in small_model.predict_clips(X[1::2])]
    assert np.mean(np.asarray(pred) == labels[1::2]) >= 0.95
    proba = small_model.predict_proba(X[1::2])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert small_model.classes == sorted(set(labels.tolist()))


def test_clip_diagnosis_fields(small_dataset, small_model) -> None:
    X, _ = small_dataset
    diag = small_model.predict_clips(X[:1])[0]
    assert set(diag.probabilities) == set(small_model.classes)
    assert diag.confidence == pytest.approx(max(diag.probabilities.values()), abs=1e-6)
    assert diag.label == max(diag.probabilities, key=diag.probabilities.get)


def test_fast_forest_path_equals_sklearn(small_dataset) -> None:
    X, labels = small_dataset
    vote = build_ensemble(calibration=None, members=ALL_MEMBERS).fit(X, labels)
    assert isinstance(vote, SoftVoteEnsemble)
    X32 = X.astype(np.float32)
    for _, member in vote.members_:
        if isinstance(member[-1], (RandomForestClassifier, ExtraTreesClassifier)):
            np.testing.assert_allclose(_member_predict_proba(member, X32),
                                       member.predict_proba(X32), atol=1e-12)
    expected = np.mean([m.predict_proba(X32) for _, m in vote.members_], axis=0)
    np.testing.assert_allclose(vote.predict_proba(X32), expected, atol=1e-12)


def test_diagnose_file_cuts_and_averages(small_model) -> None:
    y = np.concatenate([small_clip("bearing", 100 + i) for i in range(4)])  # 4 s
    result = small_model.diagnose_file(y, SMALL_SR)
    assert len(result.clips) == 4 and result.clip_starts == [0.0, 1.0, 2.0, 3.0]
    mean = np.mean([[c.probabilities[k] for k in small_model.classes] for c in result.clips],
                   axis=0)
    np.testing.assert_allclose([result.probabilities[k] for k in small_model.classes], mean,
                               atol=1e-5)
    assert result.label == "bearing"
    # a recording at another sample rate is resampled to the model's rate first
    y16 = np.repeat(y, 2)  # crude 16 kHz version, same content below 4 kHz
    assert small_model.diagnose_file(y16, 2 * SMALL_SR).label == "bearing"
    assert small_model.diagnose_clip(small_clip("electrical_hum", 7), SMALL_SR).label == \
        "electrical_hum"


def test_predict_rejects_wrong_width(small_model) -> None:
    with pytest.raises(ValueError):
        small_model.predict_proba(np.zeros((1, 5)))
    with pytest.raises(ValueError):
        DiagnosisModel.train(np.zeros((4, 3)), ["a"] * 4, SMALL_SR, 1.0)


def test_recommended_actions_cover_every_fault_class() -> None:
    for label in ("normal", "bearing", "ball", "inner_race", "outer_race", "valve_leak",
                  "belt_slip", "electrical_hum", "generic"):
        assert len(RECOMMENDED_ACTIONS[label]) > 30
    assert recommended_action("inner_race_014") == RECOMMENDED_ACTIONS["inner_race"]
    assert recommended_action("outer_race_007_at12") == RECOMMENDED_ACTIONS["outer_race"]
    assert recommended_action("ball_028") == RECOMMENDED_ACTIONS["ball"]
    assert recommended_action("gearbox_wear") == RECOMMENDED_ACTIONS["generic"]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fast_calibrated_path_equals_sklearn(small_dataset, n_classes: int) -> None:
    X, labels = small_dataset
    keep = np.isin(labels, ["normal", "bearing", "electrical_hum"][:n_classes])
    model = DiagnosisModel.train(X[keep][::2], labels[keep][::2], SMALL_SR, 1.0)
    assert type(model.pipeline).__name__ == "CalibratedClassifierCV"  # the default
    ours = model.predict_proba(X[keep])
    # the ensemble's own inputs (level-relative by default), not the raw columns
    reference = model.pipeline.predict_proba(model.model_inputs(X[keep]))
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-9)


def test_tiny_classes_train_or_fail_clearly(small_dataset) -> None:
    X, labels = small_dataset
    for per_class in (2, 3, 6):
        idx = np.concatenate([np.flatnonzero(labels == lab)[:per_class]
                              for lab in ("normal", "bearing")])
        model = DiagnosisModel.train(X[idx], labels[idx], SMALL_SR, 1.0)
        calibrated = type(model.pipeline).__name__ == "CalibratedClassifierCV"
        assert calibrated == (per_class >= 6)
        assert model.predict_proba(X[:2]).shape == (2, 2)
    with pytest.raises(ValueError, match="at least 2"):
        DiagnosisModel.train(X[[0, 1, 20]], labels[[0, 1, 20]], SMALL_SR, 1.0)


def test_level_relative_inputs_ignore_the_gain(small_model) -> None:
    clip = small_clip("bearing", 3)
    loud, quiet = (extract_features(g * clip, SMALL_SR, SMALL_SR)[None, :] for g in (1.0, 0.25))
    assert small_model.inputs == "level_relative"
    assert quiet[0, small_model.columns].tolist() != loud[0, small_model.columns].tolist()
    # 12 dB quieter: only the clip level moves, and the model does not see it
    np.testing.assert_allclose(small_model.model_inputs(quiet), small_model.model_inputs(loud),
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(small_model.predict_proba(quiet), small_model.predict_proba(loud),
                               atol=1e-6)
    rel = level_relative_features(np.vstack([loud, quiet]))
    moved = np.flatnonzero(~np.isclose(rel[0], rel[1], rtol=1e-4, atol=1e-3))
    assert [FEATURE_NAMES[i] for i in moved] == ["rms_db"]


def test_model_stored_before_inputs_existed_keeps_its_inputs(small_dataset, tmp_path) -> None:
    from ml.artifacts import load_artifact, save_artifact

    X, labels = small_dataset
    model = DiagnosisModel.train(X[::2], labels[::2], SMALL_SR, 1.0, inputs="as_recorded",
                                 members=ALL_MEMBERS, n_estimators=100)
    del model.__dict__["inputs"]  # what a round-3 pickle holds: no such attribute
    loaded = load_artifact(save_artifact(model, tmp_path / "old.joblib"), "DiagnosisModel")
    assert "inputs" not in loaded.__dict__ and loaded.inputs == "as_recorded"
    expected = loaded.pipeline.predict_proba(X[1::2][:, CLASSIFIER_COLUMNS].astype(np.float32))
    np.testing.assert_allclose(loaded.predict_proba(X[1::2]), expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="inputs"):
        DiagnosisModel.train(X, labels, SMALL_SR, 1.0, inputs="per_band")
    with pytest.raises(ValueError, match="members"):
        DiagnosisModel.train(X, labels, SMALL_SR, 1.0, members=("knn",))
