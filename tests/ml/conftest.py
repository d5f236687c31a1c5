"""Fixtures of the ml test suite (real data, small synthetic data, the demo model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_helpers import SMALL_SR, require_shared, small_clip


@pytest.fixture(scope="session")
def cwru_dir() -> Path:
    return require_shared("cwru")


@pytest.fixture(scope="session")
def compressor_dir() -> Path:
    return require_shared("compressor")


@pytest.fixture(scope="session")
def demo_artifacts(tmp_path_factory: pytest.TempPathFactory):
    """The demo model and baseline, trained once per test session (~10 s)."""
    from ml.demo import train_demo_model

    return train_demo_model(tmp_path_factory.mktemp("demo"), n_per_class=40)


@pytest.fixture(scope="session")
def small_dataset():
    """(X, labels) of 3 classes x 16 one-second clips at 8 kHz."""
    import numpy as np

    from ml.features import extract_features

    labels = [lab for lab in ("normal", "bearing", "electrical_hum") for _ in range(16)]
    X = np.vstack([extract_features(small_clip(lab, i), SMALL_SR, SMALL_SR)
                   for i, lab in enumerate(labels)])
    return X, np.asarray(labels)


@pytest.fixture(scope="session")
def small_model(small_dataset):
    """A DiagnosisModel trained on the even rows of ``small_dataset`` (default settings)."""
    from ml.ensemble import DiagnosisModel

    X, labels = small_dataset
    return DiagnosisModel.train(X[::2], labels[::2], SMALL_SR, 1.0)
