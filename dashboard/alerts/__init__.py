"""Alerts: rules, lifecycle and notification delivery (docs/alerts.md).

The public surface the rest of the application calls:

- ``evaluate_diagnosis(session, diagnosis, now)`` right after a Diagnosis is written
- ``evaluate_periodic(session, org_id | None, now)`` every ~30 s (offline, sensor
  duration, auto-resolve, escalation)
- ``deliver_pending(app, now)`` every ~10 s (sends due notifications)
- ``register_jobs(scheduler, app)`` adds those two periodic jobs
- ``ensure_default_rules(session, org_id)`` when an organisation is created or seeded
- ``acknowledge_incident`` / ``resolve_incident`` for people (one fault episode with all
  its signals); ``acknowledge_alert`` / ``resolve_alert`` for one signal
"""

from dashboard.alerts.actions import (
    acknowledge_alert,
    acknowledge_incident,
    resolve_alert,
    resolve_incident,
)
from dashboard.alerts.defaults import ensure_default_rules
from dashboard.alerts.delivery import deliver_pending
from dashboard.alerts.engine import evaluate_diagnosis, evaluate_periodic
from dashboard.alerts.errors import AlertsInputError
from dashboard.alerts.jobs import register_jobs

__all__ = [
    "AlertsInputError",
    "acknowledge_alert",
    "acknowledge_incident",
    "deliver_pending",
    "ensure_default_rules",
    "evaluate_diagnosis",
    "evaluate_periodic",
    "register_jobs",
    "resolve_alert",
    "resolve_incident",
]
