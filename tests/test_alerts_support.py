"""Shared pieces of the test_alerts_* files (no tests here): a fixed clock, rows the
engine reads (diagnoses, readings, rules), and an environment fixture that runs a test
on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from dashboard.alerts.rules import normalize_params
from dashboard.core.database import session_scope
from dashboard.core.models import Alert, AlertEvent, AlertRule, Compressor, Diagnosis, Reading, User

T0 = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)  # Monday 10:00 in Seoul


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@dataclass
class Env:
    server: Any
    world: Any

    def org(self, key: str = "A") -> int:
        return self.world.org_ids[key]

    def comp(self, key: str = "A", n: int = 0) -> int:
        return self.world.compressors[key][n]

    def user_id(self, who: str) -> int:
        with session_scope(self.server) as s:
            return s.scalar(sa.select(User.id).where(User.email == self.world.users[who]))


# Test files import these fixtures by their function names (env_fixture, ...); tests ask
# for them by the fixture names (env, sqlite_env), so the two never shadow each other.
@pytest.fixture(name="env",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env_fixture(request: pytest.FixtureRequest) -> Env:
    if request.param == "sqlite":
        return Env(request.getfixturevalue("app"), request.getfixturevalue("world"))
    pg_app = request.getfixturevalue("pg_dash_app")
    return Env(pg_app.server, request.getfixturevalue("pg_world"))


@pytest.fixture(name="sqlite_env")
def sqlite_env_fixture(app: Any, world: Any) -> Env:
    return Env(app, world)


def add_rule(session: Any, org_id: int, kind: str, params: dict | None = None,
             severity: str = "warning", name: str | None = None, **scope: Any) -> AlertRule:
    rule = AlertRule(org_id=org_id, name=name or f"{kind} rule", kind=kind,
                     params=normalize_params(kind, params or {}), severity=severity,
                     enabled=True, **scope)
    session.add(rule)
    session.flush()
    return rule


def diagnosis(session: Any, compressor_id: int, ts: dt.datetime, status: str = "healthy",
              label: str = "normal", probabilities: dict | None = None,
              is_anomaly: bool | None = False, anomaly_score: float | None = 0.1) -> Diagnosis:
    comp = session.get(Compressor, compressor_id)
    row = Diagnosis(org_id=comp.org_id, compressor_id=compressor_id, ts=ts, label=label,
                    probabilities=probabilities or {"normal": 0.9, "bearing": 0.1},
                    confidence=0.9, anomaly_score=anomaly_score, is_anomaly=is_anomaly,
                    health_score={"healthy": 90, "watch": 70, "warning": 45,
                                  "critical": 20}.get(status, 80), status=status)
    session.add(row)
    session.flush()
    return row


def readings(session: Any, compressor_id: int, start: dt.datetime, values: list[float],
             metric: str = "vibration_rms_g", step_s: int = 60) -> None:
    seq0 = (session.scalar(sa.select(sa.func.max(Reading.seq))
                           .where(Reading.compressor_id == compressor_id)) or 0) + 1
    for i, value in enumerate(values):
        session.add(Reading(compressor_id=compressor_id, seq=seq0 + i,
                            ts=start + dt.timedelta(seconds=step_s * i), **{metric: value}))
    session.flush()


def alerts_of(session: Any, compressor_id: int) -> list[Alert]:
    return list(session.scalars(sa.select(Alert).where(Alert.compressor_id == compressor_id)
                                .order_by(Alert.id)))


def event_kinds(session: Any, alert_id: int) -> list[str]:
    return list(session.scalars(sa.select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id)
                                .order_by(AlertEvent.ts, AlertEvent.id)))


def _dep(spec: dict, values: dict[str, Any]) -> Any:
    if spec["id"].startswith("{"):
        pattern = json.loads(spec["id"])
        return [{"id": {"index": index, "type": pattern["type"]}, "property": spec["property"],
                 "value": value} for index, value in values.get(pattern["type"], [])]
    return {"id": spec["id"], "property": spec["property"],
            "value": values.get(f"{spec['id']}.{spec['property']}")}


def call_callback(client: Any, dash_app: Any, output_marker: str, values: dict[str, Any],
                  changed: list[str]) -> Any:
    """POST to Dash's callback endpoint exactly as the browser would: the callback whose
    outputs contain ``output_marker``, inputs and states from ``values`` ("id.prop" ->
    value; a pattern type -> [(index, value), ...]), ``changed`` the triggering props."""
    key = next(k for k in dash_app.callback_map if output_marker in k)
    spec = dash_app.callback_map[key]
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]
    body = {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": [_dep(d, values) for d in spec["inputs"]],
            "state": [_dep(d, values) for d in spec["state"]],
            "changedPropIds": changed}
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def pattern_prop(type_: str, index: int, prop: str = "n_clicks") -> str:
    return json.dumps({"index": index, "type": type_}, separators=(",", ":")) + "." + prop
