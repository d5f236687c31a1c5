"""Run every benchmark, then print one table of every headline figure beside its target.

    .venv/bin/python bench/run_all.py [--quick] [--only analysis,load ...]

Clears the results file (``$BENCH_RESULTS``, default bench/out/results.jsonl), runs each
bench script in turn as a subprocess (its own output streams through as it goes; a
failing benchmark stops the run with a message naming it), then prints the summary
table from the figures each script recorded with ``bench.results.record``.
``--quick`` passes smaller sizes to the benchmarks that have them (a smoke run; its
figures are not the ones to quote). ``make bench`` runs this; ``make bench
BENCH_ARGS=--quick`` the quick version.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import read_results, results_path, summary_table  # noqa: E402

# name -> (script, extra arguments for --quick)
BENCHES: dict[str, tuple[str, list[str]]] = {
    "analysis": ("bench/analysis.py", ["--repeats", "50", "--throughput-clips", "100"]),
    "detection": ("bench/detection.py", []),
    "ingest": ("bench/ingest.py", ["--seconds", "5", "--devices", "100"]),
    "ingest_path": ("bench/ingest_path.py", ["--calls", "200"]),
    "pages": ("bench/pages.py", ["--runs", "3"]),
    "streams": ("bench/streams.py", ["--streams", "100", "--events", "5", "--idle", "5"]),
    "load": ("bench/load.py", ["--devices", "100", "--users", "20", "--duration", "60",
                               "--clip-interval", "60", "--drain", "60"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--only", default="", help="comma-separated subset of: "
                        + ", ".join(BENCHES))
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_RESULTS=str(path), PYTHONUNBUFFERED="1")
    timings = []
    for name in names:
        script, quick = BENCHES[name]
        cmd = [sys.executable, script, *(quick if args.quick else [])]
        print(f"\n== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(cmd, cwd=ROOT, env=env)
        timings.append((name, time.perf_counter() - started))
        if code != 0:
            print(f"\nbenchmark {name!r} ({script}) FAILED with exit status {code}; "
                  f"stopping. Figures recorded so far are in {path}.", file=sys.stderr)
            rows = read_results(path)
            if rows:
                print("\n" + summary_table(rows))
            return code
    rows = read_results(path)
    print("\n== summary: " + ", ".join(f"{n} {s:.0f} s" for n, s in timings)
          + (" (--quick: smoke sizes, not the figures to quote)" if args.quick else ""))
    print(summary_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
