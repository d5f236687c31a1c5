"""Headline figures of the benchmarks, collected for one summary table.

Each bench script calls ``record(...)`` next to where it prints a figure; the figure
is appended as one JSON line to ``$BENCH_RESULTS`` (default ``bench/out/results.jsonl``).
``bench/run_all.py`` clears that file, runs every benchmark and prints the table
(``summary_table``): benchmark, figure, measured value, target, met or missed.

A target is met when the value is <= target (``better="lower"``) or >= target
(``better="higher"``); ``target=None`` records a figure to report without a target.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATH = ROOT / "bench" / "out" / "results.jsonl"  # bench/out/ is git-ignored


def results_path() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or DEFAULT_PATH)


def verdict(value: float, target: float | None, better: str) -> str:
    if target is None:
        return "-"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missed"
    ok = value <= target if better == "lower" else value >= target
    return "met" if ok else "MISSED"


def record(bench: str, figure: str, value: float, unit: str = "", target: float | None = None,
           better: str = "lower", note: str = "") -> dict[str, Any]:
    """Append one measured figure (and its target) to the results file."""
    if better not in ("lower", "higher"):
        raise ValueError("better must be 'lower' or 'higher'")
    row = {"bench": bench, "figure": figure, "value": float(value), "unit": unit,
           "target": None if target is None else float(target), "better": better,
           "met": verdict(float(value), target, better), "note": note}
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    return row


def read_results(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or results_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    if unit == "%":
        return text + " %"
    return f"{text} {unit}".rstrip()


def summary_table(rows: list[dict[str, Any]]) -> str:
    """One table: benchmark, figure, measured value, target, met/missed."""
    header = ("benchmark", "figure", "measured", "target", "")
    lines = []
    for r in rows:
        sign = "<=" if r["better"] == "lower" else ">="
        target = "-" if r["target"] is None else f"{sign} {_fmt(r['target'], r['unit'])}"
        lines.append((r["bench"], r["figure"] + (f" ({r['note']})" if r.get("note") else ""),
                      _fmt(r["value"], r["unit"]), target, r["met"]))
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(5)]
    out = []
    for i, line in enumerate([header, *lines]):
        out.append(f"{line[0]:<{widths[0]}}  {line[1]:<{widths[1]}}  {line[2]:>{widths[2]}}  "
                   f"{line[3]:<{widths[3]}}  {line[4]}".rstrip())
        if i == 0:
            out.append("-" * len(out[0]))
    met = sum(r["met"] == "met" for r in rows)
    missed = sum(r["met"] in ("MISSED", "missed") for r in rows)
    out.append(f"\n{len(rows)} figures: {met} targets met, {missed} missed, "
               f"{len(rows) - met - missed} without a target")
    return "\n".join(out)
