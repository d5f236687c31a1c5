"""Locust users of the load test (``bench/load.py`` writes the config and runs this).

``DeviceUser``: one simulated ESP32 each. A batch of 10 one-second readings every
10 s to ``POST /api/esp32/data`` and a 5 s clip every 5 minutes to
``POST /api/esp32/audio``, as the device protocol in README.md says (Bearer token,
``X-Device-Id``, ``X-Seq``). First batches are spread over the first 10 s and first
clips over the first clip interval, as a real fleet's would be.

Dashboard users log in through the real form (GET /login for the CSRF token, POST the
credentials), open a page the way the browser does (the HTML, ``/_dash-layout``,
``/_dash-dependencies``, the pages router callback, the page's callbacks and the
alert badge) and hold the page's event stream (``/api/live/events``) open, reacting to
its events as ``assets/live.js`` does: a diagnosis that changes a card's status, a
device back online, a fleet change or a resync re-fetches the fleet view (at most every
3 s); news of the compressor on screen re-fetches its header (10 s) and charts (30 s);
an incident carries the alert badge's count and toast, so nothing is fetched for it.
Every event's delay from being stored to arriving here is recorded as ``event: <type>``.
``ViewerUser`` (90 %) keeps one page open; ``NavigatorUser`` (10 %) also opens another
page or changes the fleet filters every 5-15 s. Callback bodies are built from the
server's own ``/_dash-dependencies``, so they follow the app when callbacks change.

Reads its settings from the JSON file named by ``$LOAD_CONFIG``; on exit writes its
statistics and reading counters to ``$LOAD_OUT``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.socket
from locust import FastHttpUser, between, constant, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["LOAD_CONFIG"]).read())
DEVICES: list[dict[str, Any]] = CONFIG["devices"]
ACCOUNTS: list[dict[str, str]] = CONFIG["users"]
COMPRESSOR_IDS: list[int] = [d["id"] for d in DEVICES]
METRIC_RANGES: dict[str, list[float]] = CONFIG["metrics"]
BATCH = int(CONFIG.get("batch", 10))
READING_PERIOD = float(CONFIG.get("reading_period", 1.0))
CLIP_INTERVAL = float(CONFIG.get("clip_interval", 300.0))
with open(CONFIG["clip_path"], "rb") as _fh:
    WAV = _fh.read()

_device_index = itertools.count()
_account_index = itertools.count()
COUNTERS = {"batches_ok": 0, "batches_failed": 0, "readings_sent": 0, "readings_accepted": 0,
            "readings_duplicates": 0, "readings_in_failed_batches": 0,
            "readings_in_flight": 0,
            "clips_sent": 0, "clips_accepted": 0, "clips_duplicate": 0,
            "logins_ok": 0, "logins_failed": 0, "devices_started": 0, "dash_users_started": 0,
            "streams_opened": 0, "streams_dropped": 0, "events_received": 0}
_DEPENDENCIES: list[dict[str, Any]] = []


class DeviceUser(FastHttpUser):
    fixed_count = int(CONFIG.get("device_count", len(DEVICES)))

    def on_start(self) -> None:
        index = next(_device_index)
        COUNTERS["devices_started"] += 1
        self.device = DEVICES[index % len(DEVICES)]
        self.rng = random.Random(index)
        now = time.time()
        self.readings_seq = 0
        self.clip_seq = 0
        self.next_batch = now + self.rng.uniform(0, BATCH * READING_PERIOD)
        # Clips spread evenly over one interval across the fleet.
        self.next_clip = now + CLIP_INTERVAL * index / max(1, self.fixed_count)
        self.headers = {"Authorization": f"Bearer {self.device['token']}",
                        "X-Device-Id": str(self.device["id"])}

    def wait_time(self) -> float:
        return max(0.0, min(self.next_batch, self.next_clip) - time.time())

    def _readings(self, end: float) -> list[dict[str, Any]]:
        items = []
        for k in range(BATCH):
            ts = end - (BATCH - 1 - k) * READING_PERIOD
            metrics = {name: round(self.rng.uniform(low, high), 3)
                       for name, (low, high) in METRIC_RANGES.items()}
            items.append({"seq": self.readings_seq, "ts": int(ts * 1000), "metrics": metrics})
            self.readings_seq += 1
        return items

    def send_batch(self) -> None:
        body = self._readings(time.time())
        COUNTERS["readings_sent"] += len(body)
        COUNTERS["readings_in_flight"] += len(body)
        with self.client.post("/api/esp32/data", json=body, headers=self.headers,
                              name="device: readings batch (10)",
                              catch_response=True) as resp:
            COUNTERS["readings_in_flight"] -= len(body)
            if resp.status_code == 201:
                answer = resp.json()
                COUNTERS["batches_ok"] += 1
                COUNTERS["readings_accepted"] += answer.get("accepted", 0)
                COUNTERS["readings_duplicates"] += answer.get("duplicates", 0)
                if answer.get("accepted") != len(body):
                    resp.failure(f"accepted {answer.get('accepted')} of {len(body)}")
            else:
                COUNTERS["batches_failed"] += 1
                COUNTERS["readings_in_failed_batches"] += len(body)
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:120]}")

    def send_clip(self) -> None:
        headers = {**self.headers, "Content-Type": "audio/wav", "X-Seq": str(self.clip_seq),
                   "X-Timestamp": str(int(time.time() * 1000))}
        self.clip_seq += 1
        COUNTERS["clips_sent"] += 1
        with self.client.post("/api/esp32/audio", data=WAV, headers=headers,
                              name="device: clip 5 s", catch_response=True) as resp:
            if resp.status_code == 202:
                COUNTERS["clips_accepted"] += 1
                if resp.json().get("duplicate"):
                    COUNTERS["clips_duplicate"] += 1
            else:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:120]}")

    @task
    def tick(self) -> None:
        now = time.time()
        if now >= self.next_clip:
            self.next_clip += CLIP_INTERVAL
            self.send_clip()
        if now >= self.next_batch:
            self.next_batch += BATCH * READING_PERIOD
            self.send_batch()


def _outputs(output: str) -> list[dict[str, str]]:
    """The outputs of a callback-map key: "id.prop" or "..id.prop...id2.prop2.."."""
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    specs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        specs.append({"id": ident, "property": prop})
    return specs


def callback_body(output: str, values: dict[str, Any], triggered: str | None = None,
                  dependencies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON body the browser POSTs to /_dash-update-component for the callback that
    writes ``output`` ("id.property"), as tests/dash_client.py builds it."""
    for dep in dependencies if dependencies is not None else _DEPENDENCIES:
        outs = _outputs(dep["output"])
        if any(o["id"] == output.rsplit(".", 1)[0]
               and o["property"].split("@")[0] == output.rsplit(".", 1)[1] for o in outs):
            break
    else:
        raise KeyError(f"no callback writes {output}")

    def filled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"],
                 "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

    inputs = filled(dep["inputs"])
    return {"output": dep["output"], "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": inputs, "state": filled(dep["state"]),
            "changedPropIds": [triggered or f"{inputs[0]['id']}.{inputs[0]['property']}"]}


NAVIGATING = float(CONFIG.get("navigating_share", 0.1))
_NAVIGATORS = max(1, round(len(ACCOUNTS) * NAVIGATING)) if ACCOUNTS else 0
THROTTLE_S = {"fleet": 3.0, "header": 10.0, "charts": 30.0, "badge": 2.0}


class DashboardUser(FastHttpUser):
    abstract = True
    wait_time = between(5, 15)

    def on_start(self) -> None:
        COUNTERS["dash_users_started"] += 1
        self.account = ACCOUNTS[next(_account_index) % len(ACCOUNTS)]
        self.rng = random.Random(self.account["email"])
        self.logged_in = False
        self.page = "/"
        self.cid = ""
        self.view = "auto"
        self.last_run: dict[str, float] = {}
        self.pending: set[str] = set()
        self.stream_greenlet = None
        self.login()
        if self.logged_in:
            self.first_page()
            self.stream_greenlet = gevent.spawn(self.stream_forever)

    def on_stop(self) -> None:
        if self.stream_greenlet is not None:
            self.stream_greenlet.kill(block=False)

    def first_page(self) -> None:
        """Which page this user keeps open: the fleet for most, a compressor or the
        history for some (as plant managers and analysts would)."""
        pick = self.rng.random()
        if pick < 0.6:
            self.fleet()
        elif pick < 0.9:
            self.compressor()
        else:
            self.history()

    def login(self) -> None:
        resp = self.client.get("/login", name="login: GET /login form")
        found = re.search(r'name="csrf_token" value="([^"]+)"', resp.text or "")
        if not found:
            COUNTERS["logins_failed"] += 1
            return
        with self.client.post("/login", data={"email": self.account["email"],
                                              "password": self.account["password"],
                                              "csrf_token": found.group(1)},
                              name="login: POST /login (+ redirect to /)",
                              catch_response=True) as resp:
            # Success redirects to the fleet page (followed here: this locust's
            # allow_redirects=False is broken); a refusal re-renders the form, 4xx.
            if resp.status_code == 200 and 'name="password"' not in (resp.text or ""):
                self.logged_in = True
                COUNTERS["logins_ok"] += 1
            else:
                COUNTERS["logins_failed"] += 1
                resp.failure(f"login answered {resp.status_code}")

    def callback(self, name: str, output: str, values: dict[str, Any],
                 triggered: str | None = None) -> None:
        body = json.dumps(callback_body(output, values, triggered))
        with self.client.post("/_dash-update-component", data=body, name=name,
                              headers={"Content-Type": "application/json"},
                              catch_response=True) as resp:
            if resp.status_code == 204:  # PreventUpdate: nothing to change
                return
            if resp.status_code != 200 or b'"response"' not in (resp.content or b""):
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:120]}")

    def open_page(self, path: str, name: str) -> None:
        """A full page load: the HTML, the app layout and callback graph, the router."""
        self.client.get(path, name=f"page: GET {name}")
        self.client.get("/_dash-layout", name="page: GET /_dash-layout")
        resp = self.client.get("/_dash-dependencies", name="page: GET /_dash-dependencies")
        if resp.status_code == 200 and not _DEPENDENCIES:
            _DEPENDENCIES.extend(resp.json())
        if _DEPENDENCIES:
            self.callback("cb: pages router (page content)", "_pages_content.children",
                          {"_pages_location.pathname": path, "_pages_location.search": ""})
            self.badge()

    # ---------------------------------------------------------------- what pages fetch
    def badge(self) -> None:
        self.callback("cb: alerts badge", "alerts-badge-count.children",
                      {"alerts-badge-live.data": 1})

    def fleet_refresh(self, name: str = "cb: fleet refresh", statuses: list | None = None
                      ) -> None:
        self.callback(name, "health-grid.children",
                      {"health-live.data": int(time.time() * 1000),
                       "health-view.value": self.view, "health-status.value": statuses or []},
                      triggered="health-live.data")

    def compressor_values(self) -> dict[str, Any]:
        return {"compressor-id.data": self.cid, "compressor-live.value": True,
                "compressor-range.value": "24h", "compressor-interval.n_intervals": 0}

    def fleet(self) -> None:
        self.page = "/"
        self.open_page("/", "/")
        self.fleet_refresh()

    def compressor(self) -> None:
        self.cid = str(self.rng.choice(COMPRESSOR_IDS))
        self.page = "compressor"
        self.open_page(f"/compressor/{self.cid}", "/compressor/[id]")
        values = self.compressor_values()
        self.callback("cb: compressor header", "compressor-header.children", values)
        self.callback("cb: compressor sensors 24 h", "compressor-sensors.figure", values)
        self.callback("cb: compressor health timeline", "compressor-timeline.figure", values)

    def history(self) -> None:
        self.page = "history"
        self.open_page("/history", "/history")
        self.callback("cb: history grid block", "history-grid.getRowsResponse",
                      {"history-grid.getRowsRequest": {"startRow": 0, "endRow": 100,
                                                       "sortModel": [], "filterModel": {}}})

    # ---------------------------------------------------------------- the stream
    def throttled(self, key: str, action) -> None:
        """Run now, or once the key's gap since its last run has passed (live.js)."""
        gap = THROTTLE_S[key]
        wait = self.last_run.get(key, 0.0) + gap - time.time()
        if wait <= 0:
            self.last_run[key] = time.time()
            gevent.spawn(action)
        elif key not in self.pending:
            self.pending.add(key)

            def later() -> None:
                gevent.sleep(wait)
                self.pending.discard(key)
                self.last_run[key] = time.time()
                action()

            gevent.spawn(later)

    def react(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "resync":  # incidents carry the badge and toast themselves (live.js)
            self.throttled("badge", self.badge)
        if self.page == "/":
            if (kind == "diagnosis" and data.get("status") != data.get("previous_status")) \
                    or kind in ("status", "fleet", "resync") \
                    or (kind == "readings" and data.get("online")):
                self.throttled("fleet", self.fleet_refresh)
        elif self.page == "compressor":
            cid = int(self.cid)
            mine = (kind == "resync" or data.get("compressor") == cid
                    or cid in (data.get("compressors") or ()))
            if mine:
                values = self.compressor_values()
                self.throttled("header", lambda: self.callback(
                    "cb: compressor header", "compressor-header.children",
                    {**values, "compressor-live-header.data": 1},
                    "compressor-live-header.data"))
                if kind in ("diagnosis", "readings", "resync"):
                    self.throttled("charts", lambda: self.callback(
                        "cb: compressor sensors 24 h", "compressor-sensors.figure",
                        {**values, "compressor-live-charts.data": 1},
                        "compressor-live-charts.data"))

    def stream_forever(self) -> None:
        while True:
            try:
                self.stream_once()
            except (OSError, ValueError) as exc:
                COUNTERS["streams_dropped"] += 1
                events.request.fire(request_type="SSE", name="stream: (re)connect",
                                    response_time=0, response_length=0, exception=exc,
                                    context={})
            gevent.sleep(3.0)  # retry: 3000

    def stream_once(self) -> None:
        url = urlsplit(self.host)
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar)
        sock = gevent.socket.create_connection((url.hostname, url.port or 80), timeout=60)
        try:
            # HTTP/1.0: the body comes unchunked and ends when the server closes it.
            sock.sendall((f"GET /api/live/events HTTP/1.0\r\nHost: {url.netloc}\r\n"
                          f"Accept: text/event-stream\r\nCookie: {cookies}\r\n\r\n").encode())
            reader = sock.makefile("rb")
            status = reader.readline()
            if b" 200 " not in status:
                raise ValueError(f"stream answered {status[:60]!r}")
            while reader.readline() not in (b"\r\n", b"\n", b""):
                pass
            COUNTERS["streams_opened"] += 1
            kind, data = "message", ""
            for raw in reader:
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        self.on_message(kind, data)
                    kind, data = "message", ""
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
        finally:
            sock.close()

    def on_message(self, kind: str, raw: str) -> None:
        if kind in ("heartbeat", "ready"):
            return
        data = json.loads(raw)
        COUNTERS["events_received"] += 1
        at = data.get("at")
        if isinstance(at, (int, float)):
            events.request.fire(request_type="SSE", name=f"event: {kind}",
                                response_time=max(0.0, (time.time() - at) * 1000),
                                response_length=len(raw), exception=None, context={})
        self.react(kind, data)


class ViewerUser(DashboardUser):
    """Keeps one page open on its stream; acts only on events."""
    fixed_count = len(ACCOUNTS) - _NAVIGATORS
    wait_time = constant(3600)

    @task
    def idle(self) -> None:
        pass


class NavigatorUser(DashboardUser):
    """Also navigates and filters every 5-15 s."""
    fixed_count = _NAVIGATORS

    @task(4)
    def go_fleet(self) -> None:
        self.fleet()

    @task(2)
    def filter_fleet(self) -> None:
        if self.page != "/":
            return self.fleet()
        self.view = self.rng.choice(["auto", "tiles", "cards"])
        statuses = self.rng.choice([[], ["offline"], ["learning", "healthy"], ["warning"]])
        if self.view == "cards" and not statuses:
            statuses = ["warning"]  # full cards of a whole 1,000-device fleet: nobody reads those
        self.fleet_refresh("cb: fleet filter", statuses)

    @task(3)
    def go_compressor(self) -> None:
        self.compressor()

    @task(1)
    def go_history(self) -> None:
        self.history()


WARMUP_S = float(CONFIG.get("warmup_s", 120.0))
_STARTED = time.time()
_TIMED: dict[str, list[tuple[float, float]]] = {"device: ": [], "event: ": []}


@events.request.add_listener
def _timed(name: str, response_time: float, **_kwargs: Any) -> None:
    """Device calls and events with the time they ended, for the steady-state figures
    (everything after the first WARMUP_S seconds: 1,200 users starting at once, 200
    log-ins among them, are a burst no real morning has)."""
    for prefix, samples in _TIMED.items():
        if name.startswith(prefix):
            samples.append((time.time(), response_time))


def steady(prefix: str) -> dict[str, Any]:
    times = sorted(ms for t, ms in _TIMED[prefix] if t >= _STARTED + WARMUP_S)

    def pct(q: float) -> float:
        return float(times[min(len(times) - 1, int(q * len(times)))]) if times else 0.0

    return {"count": len(times), "after_s": WARMUP_S, "p50_ms": pct(0.5), "p95_ms": pct(0.95),
            "p99_ms": pct(0.99), "max_ms": float(times[-1]) if times else 0.0}


@events.quitting.add_listener
def _write_summary(environment: Any, **_kwargs: Any) -> None:
    out = os.environ.get("LOAD_OUT")
    if not out:
        return
    stats = environment.stats

    def entry(e: Any) -> dict[str, Any]:
        return {"name": e.name, "method": e.method, "requests": e.num_requests,
                "failures": e.num_failures, "avg_ms": e.avg_response_time,
                "max_ms": e.max_response_time,
                "p50_ms": e.get_response_time_percentile(0.5) if e.num_requests else 0,
                "p95_ms": e.get_response_time_percentile(0.95) if e.num_requests else 0,
                "p99_ms": e.get_response_time_percentile(0.99) if e.num_requests else 0,
                "first": e.start_time, "last": e.last_request_timestamp}

    def merged(prefix: str) -> dict[str, Any]:
        """Percentiles over every entry whose name starts with ``prefix``."""
        counts: dict[int, int] = {}
        for e in stats.entries.values():
            if e.name.startswith(prefix):
                for ms, n in e.response_times.items():
                    counts[ms] = counts.get(ms, 0) + n
        total = sum(counts.values())

        def pct(q: float) -> float:
            if not total:
                return 0.0
            running = 0
            for ms in sorted(counts):
                running += counts[ms]
                if running >= q * total:
                    return float(ms)
            return float(max(counts))

        return {"count": total, "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                "max_ms": float(max(counts, default=0))}

    summary = {
        "events_all": merged("event: "),
        "device_all": merged("device: "),
        "events_steady": steady("event: "),
        "device_steady": steady("device: "),
        "entries": [entry(e) for e in sorted(stats.entries.values(), key=lambda e: e.name)],
        "total": entry(stats.total),
        "start": stats.total.start_time, "end": stats.total.last_request_timestamp,
        "errors": [{"name": e.name, "method": e.method, "error": str(e.error),
                    "occurrences": e.occurrences} for e in stats.errors.values()],
        "counters": COUNTERS,
    }
    with open(out, "w") as fh:
        json.dump(summary, fh, indent=1)
