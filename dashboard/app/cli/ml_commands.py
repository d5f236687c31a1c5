"""``flask --app wsgi ml ...``: train, evaluate and score models, manage the registry,
export analysts' corrected labels; ``worker`` runs analysis in the foreground."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from dashboard.analysis.registry import (
    RegistryError,
    activate_version,
    load_version,
    register_model,
    rollback,
)
from dashboard.core.database import session_scope
from dashboard.core.models import Diagnosis, ModelVersion, Recording

ml_cli = AppGroup("ml", help="Train, evaluate and manage diagnosis models.")


@contextmanager
def progress_bar(label: str) -> Any:
    """A click progress bar fed by ml's ``progress(done, total)`` callbacks."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


def _model(app: Flask, model_id: int):
    with session_scope(app) as session:
        version = session.get(ModelVersion, model_id)
        if version is None:
            raise click.ClickException(f"no model version {model_id}")
        return load_version(app, version)


def _summary(metrics: dict[str, Any]) -> str:
    held = (metrics.get("held_out") or metrics.get("clips")
            or metrics.get("synthetic_holdout") or {})
    if not held:
        return "no held-out clips"
    return f"accuracy {held.get('accuracy', 0):.4f}, macro-F1 {held.get('macro_f1', 0):.4f}"


@ml_cli.command("train")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--clip-seconds", type=float, default=None,
              help="clip length; default suits 5 s device clips")
@click.option("--name", default=None, help="version name (default: the folder's name)")
@click.option("--no-activate", is_flag=True, help="register without activating")
def train(data_dir: Path, clip_seconds: float | None, name: str | None,
          no_activate: bool) -> None:
    """Train on DATA_DIR (labels.csv or one subfolder per label); prints the id last."""
    from ml.train import train_from_folder

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with progress_bar("features") as progress:
        try:
            model, report = train_from_folder(data_dir, clip_seconds, progress=progress)
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc
    with session_scope(app) as session:
        version = register_model(app, session, model, name or data_dir.name, report,
                                 created_by="cli", activate=not no_activate)
        version_id = version.id
    click.echo(f"classes: {', '.join(model.classes)}; clip {model.clip_seconds:g} s at "
               f"{model.sample_rate} Hz; split: {report.get('split')}")
    click.echo(f"held-out: {_summary(report)}")
    click.echo(f"registered model version {version_id}"
               f"{'' if no_activate else ' (active)'}")
    click.echo(version_id)


@ml_cli.command("evaluate")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "model_id", type=int, required=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              required=True)
def evaluate(data_dir: Path, model_id: int, json_out: Path) -> None:
    """Evaluate a model on a whole labelled folder; writes metrics as JSON."""
    from ml.train import evaluate_folder

    model = _model(current_app, model_id)
    with progress_bar("evaluating") as progress:
        try:
            metrics = evaluate_folder(model, data_dir, progress=progress)
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc
    json_out.write_text(json.dumps(metrics, indent=2, default=float))
    click.echo(f"clips: {_summary(metrics)}; written to {json_out}")


@ml_cli.command("score")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "model_id", type=int, required=True)
@click.option("--baseline", "baseline_dir", type=click.Path(exists=True, file_okay=False),
              default=None, help="folder of healthy recordings to learn a baseline from")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def score(data_dir: Path, model_id: int, baseline_dir: str | None, out: Path) -> None:
    """One JSON line per clip of every audio file under DATA_DIR."""
    from ml.train import score_folder

    model = _model(current_app, model_id)
    lines = 0
    with out.open("w") as fh, progress_bar("scoring") as progress:
        try:
            for row in score_folder(model, data_dir, baseline_dir, progress=progress):
                fh.write(json.dumps(row, default=float) + "\n")
                lines += 1
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{lines} clips scored into {out}")


@ml_cli.command("list")
def list_versions() -> None:
    """Registered model versions, newest first."""
    with session_scope(current_app) as session:
        for v in session.scalars(sa.select(ModelVersion).order_by(ModelVersion.id.desc())):
            acc = _summary(v.metrics or {})
            click.echo(f"{'*' if v.active else ' '} {v.id:>4}  {v.created_at:%Y-%m-%d %H:%M}  "
                       f"{v.name:<30} {', '.join(v.classes)}  ({acc})")


@ml_cli.command("activate")
@click.argument("model_id", type=int)
def activate(model_id: int) -> None:
    """Make MODEL_ID the model every new clip is diagnosed with."""
    with session_scope(current_app) as session:
        try:
            activate_version(session, model_id)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"model version {model_id} is active")


@ml_cli.command("rollback")
def rollback_command() -> None:
    """Activate the version before the active one."""
    with session_scope(current_app) as session:
        try:
            version = rollback(session)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"model version {version.id} is active")


@ml_cli.command("train-demo")
def train_demo() -> None:
    """Train the demo model (bundled compressor clips + synthetic faults) and activate it."""
    ensure_demo_model(current_app._get_current_object(), echo=click.echo)  # type: ignore[attr-defined]


def ensure_demo_model(app: Flask, echo: Callable[[str], None] = print,
                      force: bool = True) -> int:
    """Train and register the demo model unless one is active (``force=False``)."""
    from dashboard.analysis.registry import active_version
    from ml.demo import train_demo_model

    with session_scope(app) as session:
        current = active_version(session)
        if current is not None and not force:
            return current.id
    echo("training the demo model (bundled compressor clips + synthetic faults)...")
    started = time.perf_counter()
    artifacts = train_demo_model(Path(app.instance_path) / "demo-model")
    with session_scope(app) as session:
        version = register_model(app, session, artifacts.model, "demo", artifacts.report,
                                 created_by="demo")
        echo(f"demo model version {version.id} trained in {time.perf_counter() - started:.0f} s "
             f"({_summary(artifacts.report)})")
        return version.id


@ml_cli.command("export-labels")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--org", "org_id", type=int, default=None, help="only this organisation")
def export_labels(out_dir: Path, org_id: int | None) -> None:
    """Write analysts' reviewed clips as a training folder (audio + labels.csv)."""
    from dashboard.core.blobs import audio_store

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with session_scope(app) as session:
        query = (sa.select(Diagnosis, Recording)
                 .join(Recording, Recording.id == Diagnosis.recording_id)
                 .where(Diagnosis.reviewed_at.is_not(None)))
        if org_id is not None:
            query = query.where(Diagnosis.org_id == org_id)
        for diag, rec in session.execute(query):
            label = diag.analyst_label or (diag.label if diag.analyst_valid else None)
            if not label:
                continue
            name = f"rec{rec.id}.wav"
            (out_dir / name).write_bytes(audio_store(app).get(rec.audio_key))
            rows.append(f"{name},{label},{diag.compressor_id},{diag.label}")
    (out_dir / "labels.csv").write_text("file,label,compressor_id,model_label\n"
                                        + "".join(r + "\n" for r in rows))
    click.echo(f"{len(rows)} reviewed clips exported to {out_dir}")


def register(server: Flask) -> None:
    server.cli.add_command(ml_cli)

    @server.cli.command("worker")
    # An idle worker looks for new clips twice a second: one indexed query, and a clip
    # waits at most half a second for its diagnosis to start.
    @click.option("--interval", type=float, default=0.5, show_default=True)
    @click.option("--batch", type=int, default=8, show_default=True)
    def worker(interval: float, batch: int) -> None:
        """Run analysis in the foreground (scale analysis workers separately), and the
        periodic jobs (alerts, partitions) in the background."""
        from dashboard.analysis.queue import run_analysis_batch, worker_id
        from dashboard.app.scheduler import start_scheduler, warm_up

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        warm_up(app)
        start_scheduler(app, analysis=False)
        me = worker_id()
        click.echo(f"analysis worker {me} started")
        while True:
            if run_analysis_batch(app, me, batch) == 0:
                time.sleep(interval)
