"""Save and load trained objects (``DiagnosisModel``, ``Baseline``) with metadata.

File layout (one joblib file): a plain dict ``{"format", "format_version",
"metadata", "payload"}`` where ``payload`` holds the joblib-pickled object as
bytes. ``load_artifact`` reads the metadata first and refuses the artifact
(``IncompatibleArtifactError``) *before* unpickling the object when it was made
with a different scikit-learn major.minor version or a different feature set,
so an upgrade fails with a clear message instead of odd predictions.

Like every pickle, an artifact can run code when loaded: load only files your
own deployment wrote.
"""

from __future__ import annotations

import io
import os
import platform
import tempfile
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from ml.baseline import Baseline, baseline_summary
from ml.ensemble import DiagnosisModel
from ml.features import FEATURE_NAMES, FEATURE_SET_ID

FORMAT = "signalcraft-artifact"
FORMAT_VERSION = 1
KINDS = {"DiagnosisModel": DiagnosisModel, "Baseline": Baseline}
Artifact = DiagnosisModel | Baseline


class IncompatibleArtifactError(ValueError):
    """The artifact cannot be used with this code or these library versions."""


def _version(dist: str) -> str | None:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """Versions that matter for unpickling and for the feature values."""
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "librosa": _version("librosa"),
        "joblib": joblib.__version__,
    }


def _major_minor(version: str | None) -> str:
    parts = (version or "").split(".")
    return ".".join(parts[:2])


def artifact_metadata(obj: Artifact, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Metadata stored next to ``obj`` (plain types only)."""
    kind = type(obj).__name__
    if kind not in KINDS:
        raise TypeError(f"cannot save a {kind}; expected one of {sorted(KINDS)}")
    meta: dict[str, Any] = {
        "kind": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "feature_set_id": obj.feature_set_id,
        "feature_names": list(FEATURE_NAMES),
        "sample_rate": obj.sample_rate,
        "clip_seconds": obj.clip_seconds,
    }
    if isinstance(obj, DiagnosisModel):
        meta["feature_names"] = list(obj.feature_names)
        meta["classes"] = list(obj.classes)
        meta["normal_label"] = obj.normal_label
        meta["training_summary"] = obj.training_summary
    else:
        meta["baseline"] = baseline_summary(obj)
    if extra:
        meta["extra"] = extra
    return meta


def save_artifact(obj: Artifact, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``obj`` and its metadata to ``path`` (atomically); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    container = {"format": FORMAT, "format_version": FORMAT_VERSION,
                 "metadata": artifact_metadata(obj, extra), "payload": buffer.getvalue()}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        joblib.dump(container, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read_container(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no artifact at {path}")
    try:
        container = joblib.load(path)
    except Exception as exc:  # not a joblib file, truncated, ...
        raise IncompatibleArtifactError(f"{path} is not a readable artifact: {exc}") from exc
    if not isinstance(container, dict) or container.get("format") != FORMAT:
        raise IncompatibleArtifactError(f"{path} is not a SignalCraft artifact")
    if container.get("format_version") != FORMAT_VERSION:
        raise IncompatibleArtifactError(
            f"{path} has artifact format {container.get('format_version')}, this code reads "
            f"format {FORMAT_VERSION}; retrain it")
    return container


def read_artifact_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata of an artifact, without unpickling the stored object."""
    return dict(_read_container(path)["metadata"])


def check_compatible(meta: dict[str, Any], source: str = "artifact") -> None:
    """Raise ``IncompatibleArtifactError`` unless ``meta`` fits this code and environment."""
    saved = _major_minor(meta.get("versions", {}).get("sklearn"))
    current = _major_minor(sklearn.__version__)
    if saved != current:
        raise IncompatibleArtifactError(
            f"{source} was made with scikit-learn {meta.get('versions', {}).get('sklearn')} "
            f"but this is scikit-learn {sklearn.__version__} (major.minor {saved} != {current}); "
            "retrain the model (python -m ml train ...) or install the matching version")
    if meta.get("feature_set_id") != FEATURE_SET_ID or meta.get("feature_names") != FEATURE_NAMES:
        raise IncompatibleArtifactError(
            f"{source} was made with feature set {meta.get('feature_set_id')} but this code "
            f"computes {FEATURE_SET_ID}; the feature vector changed - retrain it")


def load_artifact(path: str | Path, expected_kind: str | None = None) -> Artifact:
    """Load a ``DiagnosisModel`` or ``Baseline`` saved by ``save_artifact``.

    Raises ``IncompatibleArtifactError`` for a different scikit-learn
    major.minor, a different feature set, a different kind than
    ``expected_kind`` ("DiagnosisModel" / "Baseline") or a foreign file.
    """
    container = _read_container(path)
    meta = container["metadata"]
    if expected_kind is not None and meta.get("kind") != expected_kind:
        raise IncompatibleArtifactError(f"{path} holds a {meta.get('kind')}, not a {expected_kind}")
    check_compatible(meta, source=str(path))
    obj = joblib.load(io.BytesIO(container["payload"]))
    if not isinstance(obj, KINDS.get(meta.get("kind", ""), ())):
        raise IncompatibleArtifactError(f"{path}: stored object does not match its metadata")
    return obj
