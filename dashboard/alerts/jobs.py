"""The two scheduler jobs: evaluate the clock-driven rules (every 30 s) and send due
notifications (every 10 s). Both are safe to run in several processes at once: alerts
fold through a unique index, escalation and delivery claim rows with compare-and-set."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask

from dashboard.alerts.defaults import ensure_default_rules
from dashboard.alerts.delivery import deliver_pending
from dashboard.alerts.engine import evaluate_periodic
from dashboard.core.database import session_scope
from dashboard.core.models import Organization, utcnow

log = logging.getLogger("signalcraft.alerts.jobs")

EVALUATE_EVERY_S = 30
DELIVER_EVERY_S = 10


def run_periodic_evaluation(app: Flask) -> int:
    with session_scope(app) as session:
        # Lazily: an organisation created without ensure_default_rules still gets them.
        for org_id in session.scalars(sa.select(Organization.id)):
            ensure_default_rules(session, org_id)
        return len(evaluate_periodic(session, None, utcnow(),
                                     app.config["OFFLINE_AFTER_SECONDS"]))


def run_delivery(app: Flask) -> int:
    return deliver_pending(app, utcnow())


def register_jobs(scheduler: Any, app: Flask) -> None:
    """Add the alert jobs to an APScheduler BackgroundScheduler. ``app`` is the Flask
    server (``dash_app.server``); a Dash app is accepted too."""
    server = getattr(app, "server", app)
    scheduler.add_job(run_periodic_evaluation, "interval", seconds=EVALUATE_EVERY_S,
                      args=[server], id="alerts-evaluate", replace_existing=True,
                      max_instances=1, coalesce=True)
    scheduler.add_job(run_delivery, "interval", seconds=DELIVER_EVERY_S, args=[server],
                      id="alerts-deliver", replace_existing=True, max_instances=1,
                      coalesce=True)
