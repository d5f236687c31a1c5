"""The rules every organisation starts with, so alerts work before anyone configures
them. Their names are catalogue keys (English), translated where shown
(``rules.rule_name``). Each carries ``params.default_key``: calling
ensure_default_rules again (at every
start, or lazily from the alerts page) adds only the ones missing, and a default a
manager disabled or edited stays as they left it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.alerts.rules import normalize_params
from dashboard.core.i18n import N_
from dashboard.core.models import AlertRule

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"key": "offline", "name": N_("Device silent"), "kind": "offline",
     "severity": "warning", "params": {"minutes": 10}},
    {"key": "health", "name": N_("Health warning"), "kind": "health_status",
     # Raised to critical when the diagnosis status itself is critical. Two clips in a
     # row: a healthy clip scored odd now and then (~2-3 % of them on the demo fleet)
     # must not page anyone; a fault is still caught one clip later.
     "severity": "warning", "params": {"level": "warning", "confirm_after": 2}},
    {"key": "fault", "name": N_("Likely fault"), "kind": "fault_probability",
     "severity": "warning", "params": {"fault": "any", "threshold": 0.8}},
    {"key": "degrading", "name": N_("Health degrading"), "kind": "degrading",
     # Before the level is crossed: the trend reaches warning within two weeks.
     "severity": "warning", "params": {"level": "warning", "horizon_days": 14}},
    {"key": "anomaly", "name": N_("Unusual sound"), "kind": "anomaly",
     # Info: a single odd clip shows in the app but wakes nobody up.
     "severity": "info", "params": {}},
    {"key": "vibration", "name": N_("High vibration"), "kind": "sensor_limit",
     "severity": "warning",
     "params": {"metric": "vibration_rms_g", "op": "above", "limit": 0.45, "minutes": 10}},
)


def ensure_default_rules(session: Session, org_id: int) -> list[AlertRule]:
    """Add the organisation's missing default rules (flushes, does not commit); returns
    the rules added."""
    present = {
        (rule.params or {}).get("default_key")
        for rule in session.scalars(sa.select(AlertRule).where(AlertRule.org_id == org_id))
    }
    added = []
    for spec in DEFAULT_RULES:
        if spec["key"] in present:
            continue
        params = normalize_params(spec["kind"], {**spec["params"], "default_key": spec["key"]})
        rule = AlertRule(org_id=org_id, name=spec["name"], kind=spec["kind"], params=params,
                         severity=spec["severity"], enabled=True)
        session.add(rule)
        added.append(rule)
    if added:
        session.flush()
    return added
