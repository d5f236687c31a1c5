"""Model versions: register a trained DiagnosisModel with its metrics, activate one,
roll back, and load the active one (cached per process, refusing an artifact made by an
incompatible scikit-learn or feature set).

Artifacts are written under ``instance/models/`` and copied to the blob store, so
every app server and analysis worker can fetch the same file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.core.blobs import audio_store
from dashboard.core.models import ModelVersion, utcnow
from ml.artifacts import library_versions, load_artifact, save_artifact
from ml.ensemble import DiagnosisModel

_cache_lock = threading.Lock()


class RegistryError(RuntimeError):
    pass


def _local_path(app: Flask, key: str) -> Path:
    return Path(app.instance_path) / key


def register_model(app: Flask, session: Session, model: DiagnosisModel, name: str,
                   metrics: dict[str, Any], created_by: str | None,
                   activate: bool = True) -> ModelVersion:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    key = f"models/{stamp}-{name.replace('/', '_')[:40]}.joblib"
    path = save_artifact(model, _local_path(app, key))
    audio_store(app).put(key, path.read_bytes())
    version = ModelVersion(
        kind="classifier", name=name, created_by=created_by,
        training_summary=_jsonable(model.training_summary), metrics=_jsonable(metrics),
        library_versions=library_versions(), classes=list(model.classes), artifact_path=key,
        active=False)
    session.add(version)
    session.flush()
    if activate:
        activate_version(session, version.id)
    return version


def activate_version(session: Session, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise RegistryError(f"no model version {version_id}")
    session.execute(sa.update(ModelVersion).values(active=False))
    version.active = True
    return version


def rollback(session: Session) -> ModelVersion:
    """Activate the newest version older than the active one."""
    active = session.scalar(sa.select(ModelVersion).where(ModelVersion.active.is_(True)))
    if active is None:
        raise RegistryError("no active model to roll back from")
    previous = session.scalar(sa.select(ModelVersion).where(ModelVersion.id < active.id)
                              .order_by(ModelVersion.id.desc()).limit(1))
    if previous is None:
        raise RegistryError("there is no earlier model version")
    return activate_version(session, previous.id)


def active_version(session: Session) -> ModelVersion | None:
    return session.scalar(sa.select(ModelVersion).where(ModelVersion.active.is_(True)))


def load_version(app: Flask, version: ModelVersion) -> DiagnosisModel:
    """The model of ``version``, loaded once per process."""
    cache: dict[int, DiagnosisModel] = app.extensions.setdefault("sc_models", {})
    with _cache_lock:
        if version.id in cache:
            return cache[version.id]
        path = _local_path(app, version.artifact_path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(audio_store(app).get(version.artifact_path))
        model = load_artifact(path, expected_kind="DiagnosisModel")
        cache[version.id] = model
        return model


def _jsonable(value: Any) -> Any:
    """Metrics and summaries hold numpy scalars and tuples; JSON columns want plain types."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value
