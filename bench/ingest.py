"""Ingest benchmark: gunicorn + PostgreSQL on this machine, devices on loopback.

Measures readings/s accepted (single readings and batches of 50) and clips/s, with p50
and p99 latency, from 500 simulated devices. Prints figures beside the targets:
>= 20,000 readings/s in batches of 50, >= 1,500 single-reading posts/s, p99 < 100 ms at
2,000/s batched; >= 50 clips/s. The readings scenarios are sent by bench/blaster.py
(gevent) in its own process.

    .venv/bin/python bench/ingest.py [--seconds 15] [--devices 500]

The per-token device limit (SIGNALCRAFT_DEVICE_RATE_LIMIT) is raised for this
benchmark: it measures the server's capacity, not a real fleet's pace.

Uses its own database, created anew: BENCH_INGEST_URL (default bench_ingest on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import requests
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.database import fresh_database  # noqa: E402

DB_URL = os.environ.get("BENCH_INGEST_URL", "postgresql://postgres@127.0.0.1:5432/bench_ingest")


def provision(url: str, devices: int, instance: str) -> list[str]:
    from dashboard.accounts.provisioning import (
        add_compressor,
        get_or_create_org,
        get_or_create_site,
    )
    from dashboard.app import create_server
    from dashboard.core.database import session_scope
    from dashboard.fleet.device_tokens import issue_token

    server = create_server({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "b" * 32})
    tokens = []
    with session_scope(server) as s:
        org = get_or_create_org(s, "Bench")
        site = get_or_create_site(s, org, "Plant")
        for i in range(devices):
            tokens.append(issue_token(s, add_compressor(s, site, f"c{i:04d}")))
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, instance: str, port: int, app_root: Path = ROOT) -> subprocess.Popen:
    # The senders go back to back, far faster per token than a device's one call a
    # second: the per-token limit is raised (still counted, so its cost is measured).
    env = dict(os.environ, DATABASE_URL=url, SIGNALCRAFT_INSTANCE_PATH=instance,
               SECRET_KEY="b" * 32, LOG_LEVEL="WARNING",
               SIGNALCRAFT_DEVICE_RATE_LIMIT="1000000 per second")
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-k", "gthread", "--threads", "8",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "-c", str(app_root / "gunicorn.conf.py"), "wsgi:server"],
        cwd=app_root, env=env, start_new_session=True)
    for _ in range(120):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                wait_for_idle_workers(proc.pid, 2)
                return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def wait_for_idle_workers(master: int, workers: int, timeout: float = 60.0) -> None:
    """Until ``workers`` workers exist and none used CPU for half a second. /healthz
    answers once one worker is up; on a slow machine the other may still be importing
    the app when the senders connect, and a sender's keep-alive connection stays with
    the worker that took it: every connection went to one worker (one GIL, about one
    core) in some runs, and the figures halved."""
    deadline = time.monotonic() + timeout
    last: dict[int, float] = {}
    while time.monotonic() < deadline:
        try:
            now = {kid.pid: sum(kid.cpu_times()[:2]) for kid in psutil.Process(master).children()}
        except psutil.Error:  # a worker exited or was replaced meanwhile: look again
            now = {}
        if len(now) >= workers and now == last:
            return
        last = now
        time.sleep(0.5)


def run_load(threads: int, seconds: float,
             one_request: Callable[[requests.Session, int, int], tuple[bool, int]]) -> dict:
    """Closed loop: ``threads`` senders, each its own session, for ``seconds``."""
    latencies: list[float] = []
    counts = {"ok": 0, "err": 0, "items": 0}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def sender(idx: int) -> None:
        http = requests.Session()
        n = 0
        local: list[float] = []
        ok = err = items = 0
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            success, k = one_request(http, idx, n)
            local.append(time.perf_counter() - t0)
            n += 1
            if success:
                ok += 1
                items += k
            else:
                err += 1
        with lock:
            latencies.extend(local)
            counts["ok"] += ok
            counts["err"] += err
            counts["items"] += items

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    lat_ms = sorted(x * 1000 for x in latencies) or [0.0]
    return {"per_s": counts["items"] / elapsed, "req_s": counts["ok"] / elapsed,
            "p50": statistics.median(lat_ms), "p99": lat_ms[int(0.99 * (len(lat_ms) - 1))],
            "errors": counts["err"]}


def run_open_loop(rate: float, seconds: float, threads: int,
                  one_request: Callable[[requests.Session, int, int], tuple[bool, int]]) -> dict:
    """Open loop: requests start on a fixed schedule (``rate`` per second in total,
    spread over ``threads``), whatever the answers take; latency includes any wait for
    a late start, so an overloaded server shows as growing latency, not as a lower rate."""
    latencies: list[float] = []
    counts = {"ok": 0, "err": 0, "items": 0}
    lock = threading.Lock()
    begin = time.perf_counter() + 0.2
    per_thread = rate / threads

    def sender(idx: int) -> None:
        http = requests.Session()
        n = 0
        while True:
            due = begin + (n + idx / threads) / per_thread
            if due > begin + seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            success, k = one_request(http, idx, n)
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                counts["ok" if success else "err"] += 1
                counts["items"] += k if success else 0
            n += 1

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - begin
    lat_ms = sorted(x * 1000 for x in latencies) or [0.0]
    return {"per_s": counts["items"] / elapsed, "req_s": counts["ok"] / elapsed,
            "p50": statistics.median(lat_ms), "p99": lat_ms[int(0.99 * (len(lat_ms) - 1))],
            "errors": counts["err"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--senders", type=int, default=32,
                        help="concurrent senders of the readings scenarios (bench/blaster.py)")
    parser.add_argument("--app-root", default=str(ROOT),
                        help="serve the app from this tree (e.g. an export of an older "
                             "commit, for before/after figures)")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not add the figures to make bench's table")
    args = parser.parse_args()
    url = fresh_database(DB_URL)
    instance = tempfile.mkdtemp(prefix="bench-ingest-")
    tokens = provision(url, args.devices, instance)
    port = free_port()
    proc = start_gunicorn(url, instance, port, Path(args.app_root))
    base = f"http://127.0.0.1:{port}"
    seqs = [0] * len(tokens)
    seq_lock = threading.Lock()

    def next_seqs(device: int, k: int) -> range:
        with seq_lock:
            start = seqs[device]
            seqs[device] += k
        return range(start, start + k)

    def single(http: requests.Session, idx: int, n: int) -> tuple[bool, int]:
        device = (idx + n * args.threads) % len(tokens)
        [seq] = next_seqs(device, 1)
        r = http.post(f"{base}/api/esp32/data", json={"seq": seq, "metrics": {
            "temperature_c": 4.0, "current_a": 11.0, "pressure_bar": 7.5,
            "vibration_rms_g": 0.2, "humidity_pct": 60.0}},
            headers={"Authorization": f"Bearer {tokens[device]}"}, timeout=10)
        return r.status_code == 201, 1

    def batch(http: requests.Session, idx: int, n: int) -> tuple[bool, int]:
        device = (idx + n * args.threads) % len(tokens)
        body = [{"seq": s, "metrics": {"temperature_c": 4.0, "current_a": 11.0,
                                       "pressure_bar": 7.5, "vibration_rms_g": 0.2}}
                for s in next_seqs(device, 50)]
        r = http.post(f"{base}/api/esp32/data", json=body,
                      headers={"Authorization": f"Bearer {tokens[device]}"}, timeout=10)
        return r.status_code == 201 and r.json()["accepted"] == 50, 50

    t = np.arange(5 * 16000) / 16000
    buf = io.BytesIO()
    sf.write(buf, (0.2 * np.sin(2 * np.pi * 120 * t)).astype(np.float32), 16000,
             subtype="PCM_16", format="WAV")
    wav = buf.getvalue()

    def clip(http: requests.Session, idx: int, n: int) -> tuple[bool, int]:
        device = (idx + n * args.threads) % len(tokens)
        [seq] = next_seqs(device, 1)
        r = http.post(f"{base}/api/esp32/audio", data=wav,
                      headers={"Authorization": f"Bearer {tokens[device]}",
                               "Content-Type": "audio/wav", "X-Seq": str(seq)}, timeout=20)
        return r.status_code == 202, 1

    blast_seq = [10**9]

    def blast(batch_size: int, rate: float = 0.0) -> dict:
        """The readings scenarios from bench/blaster.py (gevent) in its own process."""
        cfg = Path(instance) / "blast.json"
        cfg.write_text(json.dumps({"base": base, "tokens": tokens, "batch": batch_size,
                                   "seconds": args.seconds, "concurrency": args.senders,
                                   "rate": rate, "first_seq": blast_seq[0]}))
        blast_seq[0] += 10**8
        out = subprocess.run([sys.executable, str(ROOT / "bench/blaster.py"), str(cfg)],
                             capture_output=True, text=True, timeout=args.seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"blaster failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        results = {
            "readings, single (max)": blast(1),
            "batches of 50 (max)": blast(50),
            "batches of 50 @ 2,000/s": blast(50, rate=40),
            "clips (max)": run_load(args.threads, args.seconds, clip),
            "clips @ 50/s": run_open_loop(50, args.seconds, 8, clip),
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    targets = {"readings, single (max)": ">= 1500/s", "batches of 50 (max)": ">= 20000/s",
               "batches of 50 @ 2,000/s": "p99 < 100 ms", "clips (max)": ">= 50/s",
               "clips @ 50/s": "keeps up"}
    print(f"\nIngest on gunicorn (2 gthread workers x 8) + PostgreSQL, {args.devices} devices, "
          f"{args.seconds:g} s each, loopback; (max): {args.threads} senders back to back; "
          f"@ rate: open loop at that offered rate")
    print(f"{'scenario':<26}{'items/s':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"  target")
    for name, r in results.items():
        print(f"{name:<26}{r['per_s']:>10.0f}{r['req_s']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}"
              f"{r['errors']:>8}  {targets[name]}")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
          f"(the machine is shared; {os.cpu_count()} cores)")
    if args.no_record:
        return
    from bench.results import record

    record("ingest", "readings, single posts (max)",
           results["readings, single (max)"]["per_s"], "readings/s", 1500, better="higher")
    record("ingest", "batches of 50 (max)", results["batches of 50 (max)"]["per_s"],
           "readings/s", 20000, better="higher")
    record("ingest", "batches of 50 @ 2,000/s open loop: p99",
           results["batches of 50 @ 2,000/s"]["p99"], "ms", 100)
    record("ingest", "clips (max)", results["clips (max)"]["per_s"], "clips/s", 50,
           better="higher")
    record("ingest", "clips @ 50/s open loop: p99", results["clips @ 50/s"]["p99"], "ms")
    record("ingest", "errors (all scenarios)", sum(r["errors"] for r in results.values()), "", 0)


if __name__ == "__main__":
    main()
