"""The demo model, its bundled clips and the device simulator's clips."""

from __future__ import annotations

import numpy as np
import pytest

from ml.analysis import analyze_clip
from ml.artifacts import load_artifact
from ml.demo import DEMO_CLASSES, DEMO_CLIPS_DIR, demo_clip


def test_bundled_clips_are_small_and_documented() -> None:
    wavs = list(DEMO_CLIPS_DIR.rglob("*.wav"))
    assert len(wavs) >= 10
    assert sum(p.stat().st_size for p in wavs) <= 4 * 1024 * 1024
    readme = (DEMO_CLIPS_DIR / "README.md").read_text()
    assert "2026-03-02" in readme and "licence" in readme


def test_demo_clip_shape_and_determinism() -> None:
    y, sr = demo_clip("valve_leak", rng_seed=3)
    assert sr == 16_000 and y.dtype == np.float32 and len(y) == 5 * 16_000
    np.testing.assert_array_equal(y, demo_clip("valve_leak", rng_seed=3)[0])
    assert not np.array_equal(y, demo_clip("valve_leak", rng_seed=4)[0])
    assert not np.array_equal(demo_clip("normal", 3)[0], demo_clip("belt_slip", 3)[0])
    with pytest.raises(ValueError):
        demo_clip("gearbox", 0)


def test_demo_model_trains_and_diagnoses(demo_artifacts) -> None:
    assert demo_artifacts.report["seconds"] < 60
    assert demo_artifacts.report["synthetic_holdout"]["accuracy"] >= 0.95
    model = load_artifact(demo_artifacts.model_path, expected_kind="DiagnosisModel")
    baseline = load_artifact(demo_artifacts.baseline_path, expected_kind="Baseline")
    assert sorted(model.classes) == sorted(DEMO_CLASSES)
    assert model.sample_rate == 16_000 and model.clip_seconds == 5.0
    correct = 0
    for seed in range(3):
        for label in DEMO_CLASSES:
            result = analyze_clip(*demo_clip(label, rng_seed=10_000 + seed), model, baseline)
            correct += result["label"] == label
            if label != "normal":
                assert result["status"] != "healthy"
    assert correct >= 14  # of 15
    healthy = [analyze_clip(*demo_clip("normal", rng_seed=20_000 + s), model, baseline)
               for s in range(5)]
    assert sum(r["status"] == "healthy" for r in healthy) >= 4


def test_demo_clips_survive_a_16_bit_wav_round_trip(demo_artifacts) -> None:
    import io

    import soundfile as sf

    from ml.audio import load_audio

    model, baseline = demo_artifacts.model, demo_artifacts.baseline
    for label in DEMO_CLASSES:
        y, sr = demo_clip(label, rng_seed=31_337)
        assert np.abs(y).max() <= 1.0  # full scale, like the device's ADC
        buf = io.BytesIO()
        sf.write(buf, y, sr, subtype="PCM_16", format="WAV")  # what the simulator posts
        decoded, rate = load_audio(buf.getvalue())
        assert analyze_clip(decoded, rate, model, baseline)["label"] == label


def test_demo_clip_severity_scales_the_fault_smoothly() -> None:
    seed = 41
    healthy, _ = demo_clip("normal", rng_seed=seed, state="rest")
    zero, _ = demo_clip("bearing", rng_seed=seed, state="rest", severity=0.0)
    np.testing.assert_array_equal(zero, healthy)  # severity 0 is the healthy clip
    np.testing.assert_array_equal(demo_clip("bearing", rng_seed=seed, state="rest")[0],
                                  demo_clip("bearing", rng_seed=seed, state="rest",
                                            severity=1.0)[0])
    power = [float(np.mean((demo_clip("bearing", rng_seed=seed, state="rest",
                                      severity=s)[0] - healthy) ** 2))
             for s in (0.1, 0.3, 1.0)]
    # amplitude ~ severity (the rest state is far from full scale, so nothing clips)
    assert power[1] / power[0] == pytest.approx(9.0, rel=0.05)
    assert power[2] / power[1] == pytest.approx(100 / 9, rel=0.05)
    with pytest.raises(ValueError):
        demo_clip("bearing", rng_seed=seed, severity=1.5)


def test_demo_clip_makes_the_other_synthetic_kinds_too() -> None:
    for kind in ("impulsive_knock", "mains_hum", "intermittent"):
        y, sr = demo_clip(kind, rng_seed=5)
        assert len(y) == 5 * sr and not np.array_equal(y, demo_clip("normal", rng_seed=5)[0])
