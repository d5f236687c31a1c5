"""Helpers shared by the ml tests (imported by name: tests/ml is on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def shared_data_dir() -> Path:
    """/work/shared/data next to the repository, or $SIGNALCRAFT_SHARED_DATA."""
    env = os.environ.get("SIGNALCRAFT_SHARED_DATA")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    # a clone elsewhere on a machine of this workplace still finds the shared folder
    workplace = Path("/work/shared/data")
    return beside if beside.is_dir() or not workplace.is_dir() else workplace


def require_shared(sub: str) -> Path:
    """The shared data sub-folder; skip (or fail when CI=true) when it is absent."""
    path = shared_data_dir() / sub
    if not path.is_dir():
        msg = (f"real data folder {path} is absent; set SIGNALCRAFT_SHARED_DATA to the "
               "folder holding cwru/ and compressor/ to run this test")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


SMALL_SR = 8_000


def small_clip(label: str, seed: int, seconds: float = 1.0) -> np.ndarray:
    """A short synthetic clip of a machine-like background with one condition."""
    from ml.synthetic import make_fault, mix_at_snr

    rng = np.random.default_rng(seed)
    n = int(seconds * SMALL_SR)
    t = np.arange(n) / SMALL_SR
    base = 0.05 * rng.standard_normal(n) + 0.1 * np.sin(2 * np.pi * 25 * t + rng.uniform(0, 6))
    if label == "normal":
        return base.astype(np.float32)
    return mix_at_snr(base, make_fault(label, n, SMALL_SR, rng), 5.0)


