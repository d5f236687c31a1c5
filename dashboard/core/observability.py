"""Operations: structured JSON logs with request ids, Prometheus metrics, readiness, and
Sentry when SENTRY_DSN is set.

``/healthz`` says the process is alive; ``/readyz`` says it can do its job (database,
audio store, scheduler when enabled) and answers 503 otherwise, so a load balancer
stops sending traffic (error class names only). ``/metrics`` is Prometheus text; it needs
``Authorization: Bearer <METRICS_TOKEN>`` (refused without one outside the demo).
Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR so counters add up
across processes."""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from dashboard.core.database import engine_for
from dashboard.core.version import release

READINGS = Counter("signalcraft_readings_ingested_total", "Readings stored")
READING_DUPLICATES = Counter("signalcraft_reading_duplicates_total",
                             "Readings acknowledged but already stored")
CLIPS = Counter("signalcraft_clips_ingested_total", "Audio clips stored and queued")
REJECTED = Counter("signalcraft_ingest_rejected_total", "Device requests refused", ["error"])
ANALYSIS_SECONDS = Histogram("signalcraft_analysis_seconds", "Time to analyse one recording",
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LIVE_STREAMS = Gauge("signalcraft_live_streams", "Browser event streams open",
                     multiprocess_mode="livesum")
LIVE_EVENTS = Counter("signalcraft_live_events_sent_total", "Events written to browser streams")
ANALYSES = Counter("signalcraft_analyses_total", "Recordings analysed", ["outcome"])
JOB_RUNS = Counter("signalcraft_job_runs_total", "Scheduler job runs by job and outcome",
                   ["job", "outcome"])
JOB_SECONDS = Histogram("signalcraft_job_seconds", "Time one scheduler job run took", ["job"],
                        buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
REQUEST_SECONDS = Histogram("signalcraft_http_request_seconds", "HTTP request latency",
                            ["route", "method", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def timed_job(job: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` counted in JOB_RUNS (success or failure; the exception still reaches the
    scheduler, which logs it) and timed in JOB_SECONDS under the job's id."""

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = func(*args, **kwargs)
        except BaseException:
            JOB_RUNS.labels(job, "failure").inc()
            raise
        else:
            JOB_RUNS.labels(job, "success").inc()
            return result
        finally:
            JOB_SECONDS.labels(job).observe(time.perf_counter() - started)

    return run


def count_missed_job(event: Any) -> None:
    """An APScheduler listener: a run skipped (missed its time, or the previous run of
    the same job still going) is counted as outcome "missed"."""
    JOB_RUNS.labels(event.job_id, "missed").inc()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.request_id = g.get("request_id")
        except RuntimeError:  # outside a request or app context
            record.request_id = None
        return True


def configure_logging(level: str, json_logs: bool) -> None:
    root = logging.getLogger()
    if getattr(root, "_signalcraft_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    root.setLevel(level)
    root._signalcraft_configured = True  # type: ignore[attr-defined]
    for noisy in ("alembic", "apscheduler", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class QueueCollector:
    """Queue depth and lag, read from the database at scrape time."""

    def __init__(self, server: Flask) -> None:
        self.server = server

    def collect(self):
        depth = GaugeMetricFamily("signalcraft_analysis_queue_depth",
                                  "Recordings waiting for analysis", labels=["status"])
        lag = GaugeMetricFamily("signalcraft_analysis_queue_lag_seconds",
                                "Age of the oldest queued recording")
        from dashboard.core.models import Recording, utcnow

        try:
            with engine_for(self.server).connect() as conn:
                counts = dict(conn.execute(
                    sa.select(Recording.status, sa.func.count())
                    .where(Recording.status.in_(("queued", "analyzing", "failed")))
                    .group_by(Recording.status)).all())
                oldest = conn.execute(sa.select(sa.func.min(Recording.created_at))
                                      .where(Recording.status == "queued")).scalar()
        except sa.exc.SQLAlchemyError:
            return
        for status in ("queued", "analyzing", "failed"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth
        lag.add_metric([], 0.0 if oldest is None
                       else max(0.0, (utcnow() - oldest).total_seconds()))
        yield lag


class OperationsCollector:
    """This process's database pool, its resources (also under PROMETHEUS_MULTIPROC_DIR,
    where the default process collector is off), the release, and notification
    deliveries by status (read from the database at scrape time)."""

    def __init__(self, server: Flask) -> None:
        self.server = server

    def collect(self):
        import psutil  # pinned in requirements.txt

        pool = engine_for(self.server).pool
        gauges = GaugeMetricFamily("signalcraft_db_pool_connections",
                                   "Database pool connections of this process",
                                   labels=["state", "pid"])
        pid = str(os.getpid())
        for state, getter in (("size", "size"), ("checked_out", "checkedout"),
                              ("overflow", "overflow"), ("idle", "checkedin")):
            if hasattr(pool, getter):
                gauges.add_metric([state, pid], float(getattr(pool, getter)()))
        yield gauges
        proc = psutil.Process()
        cpu = proc.cpu_times()
        for name, doc, value in (
                ("signalcraft_process_resident_memory_bytes", "Resident memory",
                 proc.memory_info().rss),
                ("signalcraft_process_cpu_seconds", "CPU time used", cpu.user + cpu.system),
                ("signalcraft_process_open_fds", "Open file descriptors", proc.num_fds()),
                ("signalcraft_process_threads", "Threads", proc.num_threads())):
            family = GaugeMetricFamily(name, doc, labels=["pid"])
            family.add_metric([pid], float(value))
            yield family
        info = GaugeMetricFamily("signalcraft_build_info", "The running release",
                                 labels=["release"])
        info.add_metric([release()], 1.0)
        yield info
        from dashboard.core.models import NotificationDelivery

        try:
            with engine_for(self.server).connect() as conn:
                counts = dict(conn.execute(
                    sa.select(NotificationDelivery.status, sa.func.count())
                    .group_by(NotificationDelivery.status)).all())
        except sa.exc.SQLAlchemyError:
            return
        deliveries = GaugeMetricFamily("signalcraft_notification_deliveries",
                                       "Notification deliveries by status", labels=["status"])
        for status, n in sorted(counts.items()):
            deliveries.add_metric([status], float(n))
        yield deliveries


def readiness(server: Flask) -> tuple[dict[str, str], bool]:
    checks: dict[str, str] = {}
    try:
        with engine_for(server).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        server.extensions["sc_audio_store"].check()
        checks["audio_store"] = "ok"
    except Exception as exc:
        checks["audio_store"] = f"error: {exc.__class__.__name__}"  # no paths or hosts
    if server.config.get("SCHEDULER_ENABLED"):
        scheduler = server.extensions.get("sc_scheduler")
        checks["scheduler"] = "ok" if scheduler is not None and scheduler.running else "stopped"
    return checks, all(v == "ok" for v in checks.values())


_SECRET_KEY_NAME = re.compile(r"pass|token|secret|authori[sz]ation|cookie|session|api_?key|"
                              r"csrf|dsn|credential|hash", re.I)
_BEARER = re.compile(r"(Bearer\s+)[^\s\"']+", re.I)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return "[deep]"
    if isinstance(value, dict):
        return {k: "[removed]" if isinstance(k, str) and _SECRET_KEY_NAME.search(k)
                else _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(r"\1[removed]", value)
    return value


def scrub_event(event: dict, _hint: Any = None) -> dict:
    """Sentry events carry no secret: request bodies, cookies, query strings and
    credential headers go; any value under a secret-sounding key (frames' local
    variables included) is replaced; bearer tokens inside text are cut."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string"):
            request.pop(key, None)
    return _scrub(event)


def init_app(server: Flask) -> None:
    configure_logging(server.config.get("LOG_LEVEL", "INFO"), server.config.get("JSON_LOGS", False))
    dsn = server.config.get("SENTRY_DSN")
    if dsn:
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration

        sentry_sdk.init(dsn=dsn, integrations=[FlaskIntegration()],
                        traces_sample_rate=float(server.config.get("SENTRY_TRACES_SAMPLE_RATE")
                                                 or 0.0),
                        release=release(), environment=server.config.get("SENTRY_ENVIRONMENT")
                        or None, send_default_pii=False, before_send=scrub_event,
                        **server.config.get("SENTRY_OPTIONS", {}))

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    queue = QueueCollector(server)
    operations = OperationsCollector(server)

    @server.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
            else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @server.after_request
    def _observe(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        started = g.get("request_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(
                time.perf_counter() - started)
        return response

    @server.get("/readyz")
    def readyz() -> Any:
        checks, ok = readiness(server)
        return jsonify(status="ready" if ok else "not ready", checks=checks,
                       release=release()), 200 if ok else 503

    @server.get("/metrics")
    def metrics() -> Any:
        token = server.config.get("METRICS_TOKEN")
        if not token and not (server.config.get("DEMO_MODE") or server.config.get("TESTING")):
            # fleet-wide counters are not for anyone who asks (issue 17)
            return jsonify(error="unauthorized",
                           detail="set SIGNALCRAFT_METRICS_TOKEN to read metrics"), 401
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given, token):
                return jsonify(error="unauthorized", detail="metrics token required"), 401
        body = generate_latest(registry)
        extra = CollectorRegistry()
        extra.register(queue)
        extra.register(operations)
        body += generate_latest(extra)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
