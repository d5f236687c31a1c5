"""The one place background jobs start: analysis of queued recordings, the readings'
partitions and retention, and, when the alerts engine is installed, its periodic jobs.
Several processes may each run a scheduler: work is claimed in the database (the
partition job under a lock), so nothing is done twice."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from dashboard.alerts import register_jobs
from dashboard.analysis.queue import run_analysis_batch, worker_id
from dashboard.analysis.registry import active_version, load_version
from dashboard.core.database import session_scope
from dashboard.core.observability import count_missed_job, timed_job
from dashboard.fleet.activity import OFFLINE_CHECK_SECONDS, publish_gone_offline
from dashboard.fleet.partitions import run_maintenance

log = logging.getLogger("signalcraft.scheduler")


def warm_up(app: Flask) -> None:
    """Load the active model and compile the feature code (numba) now, not on the
    first clip."""
    from ml.analysis import warm_up as warm_ml

    try:
        with session_scope(app) as session:
            version = active_version(session)
            model = load_version(app, version) if version is not None else None
        warm_ml(model)
    except Exception:  # a broken model must not stop the server; analysis logs it later
        log.exception("warm-up failed")


def instrument_jobs(scheduler: BackgroundScheduler) -> None:
    """Every job added so far counted and timed in /metrics under its id (runs by
    outcome, a duration histogram); skipped runs counted too. Call before start()."""
    for job in scheduler.get_jobs():
        job.modify(func=timed_job(job.id, job.func))
    scheduler.add_listener(count_missed_job, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)


def start_scheduler(app: Flask, analysis: bool = True) -> BackgroundScheduler:
    """Start the background jobs in this process. ``analysis=False`` leaves out the
    analysis job (``flask worker`` analyses in its own loop) but keeps the periodic
    ones, so a deployment whose web servers run no scheduler still evaluates and
    delivers alerts and manages partitions wherever a worker runs."""
    if "sc_scheduler" in app.extensions:
        return app.extensions["sc_scheduler"]
    scheduler = BackgroundScheduler(
        daemon=True, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    me = worker_id()
    if analysis:
        scheduler.add_job(run_analysis_batch, "interval",
                          seconds=app.config.get("ANALYSIS_INTERVAL_SECONDS", 5),
                          args=[app, me], id="analysis", name="analyse queued recordings")
    # Partitions for the coming months, and retention: at start, then every 6 hours.
    scheduler.add_job(run_maintenance, "interval", hours=6, args=[app], id="partitions",
                      name="reading partitions and retention",
                      next_run_time=dt.datetime.now(dt.UTC))
    # Devices that fell silent: told to open pages (nothing else writes when they do).
    scheduler.add_job(publish_gone_offline, "interval", seconds=OFFLINE_CHECK_SECONDS,
                      args=[app], id="live-offline", name="tell pages of devices gone offline")
    register_jobs(scheduler, app)
    instrument_jobs(scheduler)
    if analysis:
        threading.Thread(target=warm_up, args=(app,), name="signalcraft-warmup",
                         daemon=True).start()
    scheduler.start()
    app.extensions["sc_scheduler"] = scheduler
    log.info("scheduler started as %s", me)
    return scheduler
