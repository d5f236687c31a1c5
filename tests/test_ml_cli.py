"""The ml CLI and the model registry: train registers and activates a version (its id
printed last), evaluate and score write their files, rollback returns to the previous
version, and an artifact from another scikit-learn is refused."""

import json

import pytest
import soundfile as sf

from dashboard.analysis.registry import active_version, load_version
from dashboard.core.database import session_scope
from dashboard.core.models import ModelVersion
from ml.demo import demo_clip


@pytest.fixture
def labelled_dir(tmp_path):
    root = tmp_path / "data"
    for k, label in enumerate(("normal", "belt_slip")):
        (root / label).mkdir(parents=True)
        for i in range(6):
            # distinct seeds per label: twins sharing one background would teach nothing
            samples, rate = demo_clip(label, rng_seed=1000 * k + i, snr_db=6)
            sf.write(root / label / f"{label}_{i}.wav", samples, rate)
    return root


def test_train_evaluate_score_and_rollback(app, labelled_dir, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ml", "train", str(labelled_dir), "--clip-seconds", "2.5"])
    assert result.exit_code == 0, result.output
    first = int(result.output.strip().splitlines()[-1])
    assert "held-out: accuracy" in result.output
    with session_scope(app) as s:
        version = s.get(ModelVersion, first)
        assert version.active and version.classes == ["belt_slip", "normal"]
        assert version.library_versions["sklearn"] and version.metrics["held_out"]["accuracy"] > 0.8
        assert load_version(app, version).clip_seconds == 2.5

    out = tmp_path / "eval.json"
    result = runner.invoke(args=["ml", "evaluate", str(labelled_dir), "--model", str(first),
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix"} <= set(metrics["clips"])

    scored = tmp_path / "scores.jsonl"
    result = runner.invoke(args=["ml", "score", str(labelled_dir), "--model", str(first),
                                 "--baseline", str(labelled_dir / "normal"), "--out", str(scored)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in scored.read_text().splitlines()]
    assert len(rows) == 12 * 2  # 12 files of 5 s, two 2.5 s clips each
    assert {"file", "start_s", "label", "probabilities", "anomaly_score", "is_anomaly",
            "health_score", "status"} <= set(rows[0])
    assert rows[0]["file"].count("/") == 1

    assert runner.invoke(args=["ml", "rollback"]).exit_code != 0  # nothing earlier
    second = int(runner.invoke(args=["ml", "train", str(labelled_dir)]).output.split()[-1])
    with session_scope(app) as s:
        assert active_version(s).id == second
    assert runner.invoke(args=["ml", "rollback"]).exit_code == 0
    with session_scope(app) as s:
        assert active_version(s).id == first
    assert "belt_slip" in runner.invoke(args=["ml", "list"]).output


def test_train_refuses_a_folder_without_labels(app, tmp_path):
    (tmp_path / "empty").mkdir()
    result = app.test_cli_runner().invoke(args=["ml", "train", str(tmp_path / "empty")])
    assert result.exit_code != 0


def test_registry_refuses_an_artifact_from_another_sklearn(app, labelled_dir, monkeypatch):
    from ml.artifacts import IncompatibleArtifactError

    runner = app.test_cli_runner()
    model_id = int(runner.invoke(args=["ml", "train", str(labelled_dir)]).output.split()[-1])
    monkeypatch.setattr("sklearn.__version__", "0.1.0")
    app.extensions.pop("sc_models", None)
    with session_scope(app) as s:
        with pytest.raises(IncompatibleArtifactError, match="scikit-learn"):
            load_version(app, s.get(ModelVersion, model_id))


def test_worker_also_runs_the_periodic_jobs(app, monkeypatch):
    """A deployment whose web servers run no scheduler relies on `flask worker` for
    the alert and partition jobs; the worker's own loop does the analysis."""

    class Stop(Exception):
        pass

    def stop(_seconds):
        raise Stop

    monkeypatch.setattr("dashboard.app.cli.ml_commands.time.sleep", stop)
    result = app.test_cli_runner().invoke(args=["worker", "--interval", "0"])
    assert isinstance(result.exception, Stop), result.output  # one idle pass, then out
    scheduler = app.extensions["sc_scheduler"]
    try:
        jobs = {job.id for job in scheduler.get_jobs()}
        assert {"partitions", "alerts-evaluate", "alerts-deliver"} <= jobs
        assert "analysis" not in jobs
    finally:
        scheduler.shutdown(wait=False)
