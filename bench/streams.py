"""Idle event streams per gunicorn worker class: what holding many open browser tabs
costs, and how fast one event reaches all of them (the "live at scale" issue asks to
measure gthread against gevent and choose).

    .venv/bin/python bench/streams.py [--streams 400] [--classes gthread,gevent]
        [--events 20] [--url postgresql://postgres@127.0.0.1:5432/bench_streams]

For each worker class, on a fresh PostgreSQL database with one organisation:
1. starts gunicorn (``gunicorn.conf.py``, 2 workers, scheduler off) and logs one user
   in through the real form;
2. opens ``--streams`` event streams (``GET /api/live/events``) with that session, all
   read by one selector thread here, and waits for each stream's ``ready``;
3. holds them idle for ``--idle`` s: CPU seconds and memory (RSS, USS) of the gunicorn
   process tree, beside the same tree measured before the streams were opened;
4. sends ``--events`` events through PostgreSQL NOTIFY, as any app server or worker does,
   one per second: the delay from NOTIFY to each stream receiving it (p50/p95/max over
   every stream and event), the CPU the fan-out cost;
5. then times plain requests (``GET /readyz`` and a device batch of 10 readings)
   with every stream open: p50/p95.

Figures go to stdout, ``--json`` (default bench/out/streams.json) and the summary of
``make bench`` (``bench.results.record``). Everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import psutil  # noqa: E402
import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.database import fresh_database  # noqa: E402
from bench.load import free_port, percentile, server_env, start, stop, tree, wait_for  # noqa: E402
from bench.results import record  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_streams"
OUT = ROOT / "bench" / "out"
PASSWORD = "streams-bench-password-1"


def provision(url: str, instance: str, devices: int = 10) -> dict[str, Any]:
    from dashboard.accounts.provisioning import (
        add_compressor,
        get_or_create_org,
        get_or_create_site,
        upsert_user,
    )
    from dashboard.app import create_server
    from dashboard.core.database import session_scope
    from dashboard.fleet.device_tokens import issue_token

    server = create_server({"DATABASE_URL": url, "INSTANCE_PATH": instance,
                            "SECRET_KEY": "b" * 32})
    with session_scope(server) as s:
        org = get_or_create_org(s, "Streams Org")
        site = get_or_create_site(s, org, "Plant 1")
        tokens = [issue_token(s, add_compressor(s, site, f"Compressor {i + 1}"))
                  for i in range(devices)]
        upsert_user(s, org, "viewer@streams.example", PASSWORD, role="viewer")
        s.flush()
        org_id = org.id
    server.extensions["sc_engine"].dispose()
    return {"org_id": org_id, "tokens": tokens}


def login(base: str) -> str:
    http = requests.Session()
    form = http.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    resp = http.post(f"{base}/login", timeout=30, allow_redirects=False, data={
        "email": "viewer@streams.example", "password": PASSWORD,
        "csrf_token": token.group(1) if token else ""})
    if resp.status_code != 302:
        raise RuntimeError(f"login answered {resp.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


class Streams(threading.Thread):
    """``count`` open event streams read by one selector; records when each stream saw
    ``ready`` and when it saw each ``fleet`` event (by the event's ``mark``)."""

    def __init__(self, host: str, port: int, cookie: str, count: int) -> None:
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.ready: dict[int, float] = {}
        self.seen: dict[str, list[float]] = {}
        self.failed: list[str] = []
        self.closed = 0
        self.stop_flag = threading.Event()
        request = (f"GET /api/live/events HTTP/1.0\r\nHost: {host}:{port}\r\n"
                   f"Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n").encode()
        self.buffers: dict[int, bytes] = {}
        for n in range(count):
            sock = socket.create_connection((host, port), timeout=30)
            sock.sendall(request)
            sock.setblocking(False)
            self.buffers[n] = b""
            self.sel.register(sock, selectors.EVENT_READ, n)

    def run(self) -> None:
        while not self.stop_flag.is_set():
            for key, _ in self.sel.select(timeout=0.2):
                n, sock = key.data, key.fileobj
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    self.failed.append(f"{n}: {exc}")
                    chunk = b""
                now = time.time()
                if not chunk:
                    self.sel.unregister(sock)
                    sock.close()
                    self.closed += 1
                    continue
                buf = self.buffers[n] + chunk
                *messages, self.buffers[n] = buf.split(b"\n\n")
                for msg in messages:
                    if b"event: ready" in msg:
                        self.ready.setdefault(n, now)
                    elif b"event: fleet" in msg:
                        found = re.search(rb'"mark":"([^"]+)"', msg)
                        if found:
                            self.seen.setdefault(found.group(1).decode(), []).append(now)
                    elif b" 200 " not in msg and msg.startswith(b"HTTP/"):
                        self.failed.append(f"{n}: {msg[:60]!r}")

    def close(self) -> None:
        self.stop_flag.set()
        self.join(timeout=5)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


def tree_figures(proc) -> dict[str, float]:
    cpu = rss = uss = 0.0
    for p in tree(proc):
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            info = p.memory_full_info()
            rss += info.rss
            uss += info.uss
        except psutil.NoSuchProcess:
            pass
    return {"cpu_s": cpu, "rss_mb": rss / 2**20, "uss_mb": uss / 2**20}


def timed_requests(base: str, token: str, seconds: float, out: dict[str, list[float]]) -> None:
    http = requests.Session()
    end, seq = time.time() + seconds, 0
    while time.time() < end:
        t0 = time.perf_counter()
        http.get(f"{base}/readyz", timeout=30)
        out["readyz"].append((time.perf_counter() - t0) * 1000)
        seq += 10
        body = {"readings": [{"seq": seq + i, "metrics": {"current_a": 3.0}}
                             for i in range(10)]}
        t0 = time.perf_counter()
        resp = http.post(f"{base}/api/esp32/data", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"})
        out["batch"].append((time.perf_counter() - t0) * 1000)
        if resp.status_code >= 400:
            out.setdefault("errors", []).append(resp.status_code)
        time.sleep(0.2)


def measure(worker_class: str, args: Any, fleet: dict[str, Any], instance: str,
            work: Path) -> dict[str, Any]:
    from dashboard.core.events import CHANNEL, Event

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # gthread: a thread per stream (gunicorn.conf.py's 256 per worker is above the tabs
    # one worker holds here); gevent: a greenlet per stream, worker_connections 1000.
    threads = max(256, args.streams) if worker_class == "gthread" else 0
    env = server_env(args.url, instance, port, workers=2, threads=threads,
                     worker_class=worker_class)
    proc = start([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "wsgi:server"],
                 env, work / f"gunicorn-{worker_class}.log")
    result: dict[str, Any] = {"worker_class": worker_class, "streams": args.streams}
    streams = None
    try:
        wait_for(lambda: _ok(f"{base}/readyz"), f"gunicorn ({worker_class})")
        cookie = login(base)
        time.sleep(2)
        before = tree_figures(proc)
        time.sleep(args.idle)
        no_streams = tree_figures(proc)
        result["idle_cpu_without_streams"] = (no_streams["cpu_s"] - before["cpu_s"]) / args.idle

        t0 = time.perf_counter()
        streams = Streams("127.0.0.1", port, cookie, args.streams)
        streams.start()
        wait_for(lambda: len(streams.ready) + len(streams.failed) >= args.streams,
                 "every stream's ready", seconds=120)
        result["open_all_s"] = time.perf_counter() - t0
        result["streams_ready"] = len(streams.ready)
        time.sleep(2)
        held = tree_figures(proc)
        time.sleep(args.idle)
        idle = tree_figures(proc)
        result["idle_cpu_with_streams"] = (idle["cpu_s"] - held["cpu_s"]) / args.idle
        result["rss_mb_without"], result["rss_mb_with"] = no_streams["rss_mb"], idle["rss_mb"]
        result["uss_kb_per_stream"] = ((idle["uss_mb"] - no_streams["uss_mb"]) * 1024
                                       / max(1, args.streams))

        engine = sa.create_engine(args.url)
        sent: dict[str, float] = {}
        cpu0 = tree_figures(proc)["cpu_s"]
        with engine.connect() as conn:
            for n in range(args.events):
                mark = f"m{n}"
                event = Event("fleet", fleet["org_id"], {"mark": mark, "compressors": []})
                sent[mark] = time.time()
                conn.execute(sa.text("SELECT pg_notify(:c, :p)"),
                             {"c": CHANNEL, "p": event.payload()})
                conn.commit()
                time.sleep(1.0)
        time.sleep(1)
        # CPU of the fan-out only: the idle streams' own cost taken off.
        spent = tree_figures(proc)["cpu_s"] - cpu0
        idle_cost = result["idle_cpu_with_streams"] * (args.events + 1)
        result["fanout_cpu_s_per_event"] = max(0.0, spent - idle_cost) / args.events
        engine.dispose()
        timings: dict[str, list[float]] = {"readyz": [], "batch": []}
        timed_requests(base, fleet["tokens"][0], args.idle, timings)
        delays = [(t - sent[m]) * 1000 for m, ts in streams.seen.items() for t in ts]
        expected = args.events * len(streams.ready)
        result["delivered"], result["expected"] = len(delays), expected
        result["delay_ms"] = {"p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95),
                              "max": max(delays) if delays else float("nan")}
        for name, values in timings.items():
            if name == "errors":
                result["request_errors"] = len(values)
                continue
            result[f"{name}_ms"] = {"p50": statistics.median(values) if values else 0.0,
                                    "p95": percentile(values, 0.95), "n": len(values)}
        result["stream_failures"] = streams.failed[:5] + [f"closed {streams.closed}"]
    finally:
        if streams is not None:
            streams.close()
        stop(proc)
    return result


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def print_table(results: list[dict[str, Any]]) -> None:
    rows = [
        ("streams ready / asked", lambda r: f"{r['streams_ready']} / {r['streams']}"),
        ("time to open all", lambda r: f"{r['open_all_s']:.1f} s"),
        ("memory (RSS) without / with streams",
         lambda r: f"{r['rss_mb_without']:.0f} / {r['rss_mb_with']:.0f} MB"),
        ("memory per idle stream (USS)", lambda r: f"{r['uss_kb_per_stream']:.0f} kB"),
        ("CPU idle, without / with streams",
         lambda r: f"{r['idle_cpu_without_streams']:.3f} / {r['idle_cpu_with_streams']:.3f} cores"),
        ("CPU per event fanned out", lambda r: f"{r['fanout_cpu_s_per_event'] * 1000:.0f} ms"),
        ("event delivered (NOTIFY -> every stream)",
         lambda r: f"{r['delivered']} / {r['expected']}"),
        ("event delay p50 / p95 / max", lambda r: "{p50:.0f} / {p95:.0f} / {max:.0f} ms".format(
            **r["delay_ms"])),
        ("GET /readyz p50 / p95, streams open", lambda r: "{p50:.1f} / {p95:.1f} ms".format(
            **r["readyz_ms"])),
        ("device batch p50 / p95, streams open", lambda r: "{p50:.1f} / {p95:.1f} ms".format(
            **r["batch_ms"])),
    ]
    names = [r["worker_class"] for r in results]
    print("\n| measure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, fn in rows:
        print(f"| {label} | " + " | ".join(fn(r) for r in results) + " |")
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=400)
    parser.add_argument("--classes", default="gthread,gevent")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of each idle window")
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--json", default=str(OUT / "streams.json"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    instance = str(work / "instance")
    fresh_database(args.url)
    fleet = provision(args.url, instance)
    results = []
    for worker_class in args.classes.split(","):
        print(f"{worker_class}: {args.streams} streams ...", flush=True)
        results.append(measure(worker_class, args, fleet, instance, work))
    print_table(results)
    Path(args.json).write_text(json.dumps(results, indent=2))
    for r in results:
        bench = f"streams ({r['worker_class']}, {r['streams']} idle)"
        record(bench, "memory per idle stream (USS)", round(r["uss_kb_per_stream"]), "kB")
        record(bench, "CPU while idle with streams", round(r["idle_cpu_with_streams"], 3),
               "cores")
        record(bench, "event NOTIFY -> every stream, p95", round(r["delay_ms"]["p95"]), "ms",
               1000)
        record(bench, "device batch with streams open, p95", round(r["batch_ms"]["p95"], 1),
               "ms", 250)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
