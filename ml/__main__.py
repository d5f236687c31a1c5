"""Command line: ``python -m ml {train,evaluate,score,baseline,demo,reproduce} ...``.

Examples::

    python -m ml train ../shared/data/cwru --out instance/models/cwru.joblib
    python -m ml evaluate instance/models/cwru.joblib ../shared/data/cwru
    python -m ml score instance/models/demo_model.joblib some/folder --baseline-dir healthy/
    python -m ml baseline instance/models/demo_model.joblib healthy/ --out base.joblib
    python -m ml demo instance/models
    python -m ml reproduce --shared ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _progress_bar(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def _dump(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _load_model(path: str) -> Any:
    from ml.artifacts import load_artifact
    return load_artifact(path, expected_kind="DiagnosisModel")


def cmd_train(args: argparse.Namespace) -> int:
    from ml.artifacts import save_artifact
    from ml.train import train_from_folder

    model, report = train_from_folder(args.data_dir, clip_seconds=args.clip_seconds,
                                      progress=_progress_bar("features"), split=args.split,
                                      label_column=args.label_column,
                                      refit_on_all=not args.no_refit)
    path = save_artifact(model, args.out, extra={"report": report})
    _dump({"model": str(path), "report": report})
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ml.train import evaluate_folder

    _dump(evaluate_folder(_load_model(args.model), args.data_dir,
                          progress=_progress_bar("features"), label_column=args.label_column))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from ml.train import score_folder

    for row in score_folder(_load_model(args.model), args.data_dir,
                            baseline_dir=args.baseline_dir):
        print(json.dumps(row))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from ml.artifacts import save_artifact
    from ml.baseline import baseline_summary
    from ml.train import fit_baseline_from_folder

    model = _load_model(args.model)
    baseline = fit_baseline_from_folder(args.data_dir, model.sample_rate, model.clip_seconds,
                                        progress=_progress_bar("features"))
    path = save_artifact(baseline, args.out)
    _dump({"baseline": str(path), **baseline_summary(baseline)})
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ml.demo import train_demo_model

    result = train_demo_model(args.out_dir, progress=_progress_bar("demo"))
    _dump({"model": str(result.model_path), "baseline": str(result.baseline_path),
           "report": str(result.report_path), "seconds": result.report["seconds"],
           "synthetic_holdout_accuracy": result.report["synthetic_holdout"]["accuracy"]})
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ml import evaluation

    shared = Path(args.shared)
    out: dict[str, Any] = {}
    if (shared / "cwru").is_dir():
        report = evaluation.cwru_time_split(shared / "cwru")
        out["cwru_time_split"] = {k: report[k] for k in
                                  ("sample_rate", "clip_seconds", "train", "test", "held_out")}
        out["cwru_cross_load"] = {
            "default": evaluation.cwru_cross_loads(shared / "cwru", clip_seconds=0.25),
            # the ensemble before round 4, for the before/after table in ml/README.md
            "round3": evaluation.cwru_cross_loads(shared / "cwru", clip_seconds=0.25,
                                                  baseline=False, inputs="as_recorded",
                                                  members=("rf", "et", "svc", "hgb"),
                                                  n_estimators=100),
        }
        out["cwru_anomaly"] = evaluation.cwru_anomaly(shared / "cwru")
        out["cwru_calibration"] = evaluation.cwru_calibration(shared / "cwru")
    out["demo_calibration"] = evaluation.demo_calibration()
    if (shared / "compressor").is_dir():
        out["detection"] = evaluation.detection_benchmark(shared / "compressor")["summary"]
    _dump(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model on a labelled folder")
    p.add_argument("data_dir")
    p.add_argument("--out", required=True, help="where to save the model artifact")
    p.add_argument("--clip-seconds", type=float, default=None)
    p.add_argument("--split", choices=("time", "recording"), default=None)
    p.add_argument("--label-column", default="label")
    p.add_argument("--no-refit", action="store_true",
                   help="keep the model trained on the training part only")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a model on a labelled folder")
    p.add_argument("model")
    p.add_argument("data_dir")
    p.add_argument("--label-column", default="label")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("score", help="diagnose every clip of a folder (JSON lines)")
    p.add_argument("model")
    p.add_argument("data_dir")
    p.add_argument("--baseline-dir", default=None,
                   help="folder of healthy recordings, or a saved baseline artifact")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("baseline", help="learn a baseline from healthy recordings")
    p.add_argument("model", help="model artifact (gives sample rate and clip length)")
    p.add_argument("data_dir")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_baseline)

    p = sub.add_parser("demo", help="train and save the demo model and baseline")
    p.add_argument("out_dir")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("reproduce", help="recompute the figures of ml/README.md")
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    p.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
