"""A light load generator for the readings endpoint (gevent + geventhttpclient, both
installed with locust), run by bench/ingest.py in its own process so that Python
``requests`` (~1 ms of CPU a call) does not eat the cores it measures.

    .venv/bin/python bench/blaster.py CONFIG.json

CONFIG: {"base", "tokens": [...], "batch": 1|50, "seconds", "concurrency",
"first_seq": n, "rate": 0 (closed loop) or requests/s (open loop)}. Each sender
greenlet owns a slice of the devices and its own seqs, so every reading is new.
Prints one JSON line: readings and requests per second, p50/p99 latency, errors.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from geventhttpclient import URL, HTTPClient  # noqa: E402

METRICS = {"temperature_c": 4.0, "current_a": 11.0, "pressure_bar": 7.5,
           "vibration_rms_g": 0.2, "humidity_pct": 60.0}


def main() -> None:
    cfg = json.loads(open(sys.argv[1]).read())
    url = URL(cfg["base"])
    tokens: list[str] = cfg["tokens"]
    batch = int(cfg["batch"])
    conc = int(cfg["concurrency"])
    rate = float(cfg.get("rate", 0))
    seconds = float(cfg["seconds"])
    first_seq = int(cfg.get("first_seq", 0))
    lat: list[float] = []
    counts = {"ok": 0, "err": 0, "items": 0}
    begin = time.perf_counter() + 0.2
    stop = begin + seconds

    def sender(idx: int) -> None:
        http = HTTPClient(url.host, url.port, concurrency=1, connection_timeout=10,
                          network_timeout=20)
        mine = tokens[idx::conc] or tokens[:1]
        seq = first_seq
        n = 0
        while True:
            if rate:
                due = begin + (n + idx / conc) / (rate / conc)
                if due > stop:
                    break
                delay = due - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                started = due
            else:
                started = time.perf_counter()
                if started > stop:
                    break
            token = mine[n % len(mine)]
            if n % len(mine) == 0 and n:
                seq += batch
            items = [{"seq": seq + k, "metrics": METRICS} for k in range(batch)]
            body = json.dumps(items[0] if batch == 1 else items)
            n += 1
            try:
                resp = http.post("/api/esp32/data", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                resp.read()
                ok = resp.status_code == 201
            except Exception:
                ok = False
            lat.append(time.perf_counter() - started)
            counts["ok" if ok else "err"] += 1
            counts["items"] += batch if ok else 0
        http.close()

    jobs = [gevent.spawn(sender, i) for i in range(conc)]
    gevent.joinall(jobs)
    elapsed = max(1e-9, time.perf_counter() - begin)
    ms = sorted(x * 1000 for x in lat) or [0.0]
    print(json.dumps({"per_s": counts["items"] / elapsed, "req_s": counts["ok"] / elapsed,
                      "p50": ms[len(ms) // 2], "p99": ms[int(0.99 * (len(ms) - 1))],
                      "errors": counts["err"]}))


if __name__ == "__main__":
    main()
