"""Rule kinds and their parameters: what each kind watches, which knobs it has, and the
validation that turns a manager's form (or stored JSON) into clean parameters.

Kinds evaluated when a diagnosis is written: ``health_status``, ``fault_probability``,
``anomaly``, ``degrading`` (the health trend heads for a level within a horizon).
Kinds evaluated by the periodic job: ``sensor_limit``, ``offline``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dashboard.alerts.errors import AlertsInputError
from dashboard.core.i18n import N_, _
from dashboard.core.models import ROLES
from dashboard.core.sensors import METRICS
from dashboard.core.status import LEVEL_RANK, STATUS_LABELS

DIAGNOSIS_KINDS = ("health_status", "fault_probability", "anomaly", "degrading")
PERIODIC_KINDS = ("sensor_limit", "offline")
RULE_KINDS = DIAGNOSIS_KINDS + PERIODIC_KINDS
KIND_LABELS = {
    "health_status": N_("Health status"),
    "fault_probability": N_("Fault probability"),
    "anomaly": N_("Anomaly (baseline)"),
    "degrading": N_("Degrading health trend"),
    "sensor_limit": N_("Sensor limit for a duration"),
    "offline": N_("Device silent"),
}
SEVERITIES = ("info", "warning", "critical")
SEVERITY_LABELS = {"info": N_("Info"), "warning": N_("Warning"), "critical": N_("Critical")}
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
# "learning" has no rank: a compressor still learning its baseline is neither good nor bad.
STATUS_RANK = LEVEL_RANK
SENSOR_METRICS = METRICS  # the metrics a sensor rule can watch
ANY_FAULT = "any"
NORMAL_LABEL = "normal"


class _CommonParams(BaseModel):
    """Knobs every rule has: hysteresis, escalation and whether to notify at all."""

    model_config = ConfigDict(extra="ignore")
    # Consecutive clear evaluations before an alert resolves itself (no flapping).
    clear_after: int = Field(3, ge=1, le=50)
    # Minutes without acknowledgement before the next level is notified; 0: never.
    escalate_after_minutes: int = Field(15, ge=0, le=7 * 24 * 60)
    # Recipients per level by role: level 0 managers, level 1 admins.
    escalation_roles: list[list[str]] = Field(default_factory=lambda: [["manager"], ["admin"]])
    # Reminders to the last level once every level has been told.
    max_renotify: int = Field(1, ge=0, le=10)
    notify: bool = True
    # Marks a rule created by ensure_default_rules, so it is not created twice.
    default_key: str | None = None

    @field_validator("escalation_roles")
    @classmethod
    def _known_roles(cls, levels: list[list[str]]) -> list[list[str]]:
        if not levels or len(levels) > 5:
            raise ValueError("between 1 and 5 escalation levels")
        for roles in levels:
            if not roles or any(role not in ROLES for role in roles):
                raise ValueError(f"each level lists roles among {', '.join(ROLES)}")
        return levels


class _DiagnosisParams(_CommonParams):
    # Diagnoses in a row that must meet the condition before the alert opens: one odd
    # clip (a door slam, a forklift passing) then shows in the app but alerts nobody.
    confirm_after: int = Field(1, ge=1, le=20)


class HealthStatusParams(_DiagnosisParams):
    level: Literal["watch", "warning", "critical"] = "warning"


class FaultProbabilityParams(_DiagnosisParams):
    fault: str = Field(ANY_FAULT, min_length=1, max_length=60)
    threshold: float = Field(0.8, gt=0.0, lt=1.0)


class AnomalyParams(_DiagnosisParams):
    # None: trust the baseline's own threshold (Diagnosis.is_anomaly).
    score_above: float | None = Field(None, ge=0.0)


class DegradingParams(_CommonParams):
    # Fires while the trend's projected time to ``level`` is under ``horizon_days``.
    level: Literal["warning", "critical"] = "warning"
    horizon_days: float = Field(14.0, gt=0.0, le=60.0)
    # Hysteresis in trend refreshes: a projection that wavers does not resolve at once.
    clear_after: int = Field(6, ge=1, le=50)


class SensorLimitParams(_CommonParams):
    clear_after: int = Field(2, ge=1, le=50)
    metric: Literal["temperature_c", "current_a", "pressure_bar", "vibration_rms_g",
                    "humidity_pct"] = "vibration_rms_g"
    op: Literal["above", "below"] = "above"
    limit: float = Field(0.45, ge=-1e6, le=1e6)
    minutes: int = Field(10, ge=1, le=24 * 60)


class OfflineParams(_CommonParams):
    clear_after: int = Field(2, ge=1, le=50)
    minutes: int = Field(10, ge=1, le=7 * 24 * 60)


PARAMS_MODELS: dict[str, type[_CommonParams]] = {
    "health_status": HealthStatusParams,
    "fault_probability": FaultProbabilityParams,
    "anomaly": AnomalyParams,
    "degrading": DegradingParams,
    "sensor_limit": SensorLimitParams,
    "offline": OfflineParams,
}
RuleParams = (HealthStatusParams | FaultProbabilityParams | AnomalyParams | DegradingParams
              | SensorLimitParams | OfflineParams)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "params"
        parts.append(f"{field}: {err['msg']}")
    return "; ".join(parts)


def parse_params(kind: str, raw: dict[str, Any] | None) -> RuleParams:
    """Clean parameters for ``kind``; AlertsInputError names every bad field."""
    model = PARAMS_MODELS.get(kind)
    if model is None:
        raise AlertsInputError("Unknown rule kind %(kind)s.", kind=repr(kind))
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        detail = _describe(exc)
        raise AlertsInputError("Invalid rule settings: %(detail)s", detail=detail) from exc


def normalize_params(kind: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON stored in AlertRule.params: validated, defaults filled in."""
    return parse_params(kind, raw).model_dump(exclude_none=True)


def validate_severity(severity: str | None) -> str:
    if severity not in SEVERITIES:
        raise AlertsInputError("Severity must be one of %(choices)s.",
                               choices=", ".join(SEVERITIES))
    return severity


def validate_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise AlertsInputError("A rule needs a name of 1 to 120 characters.")
    return name


def max_severity(first: str, second: str | None) -> str:
    if second is None:
        return first
    return first if SEVERITY_RANK.get(first, 0) >= SEVERITY_RANK.get(second, 0) else second


def describe_params(kind: str, params: dict[str, Any]) -> str:
    """A one-line summary of a rule's condition in the user's language, for the rules
    table."""
    try:
        p = parse_params(kind, params)
    except AlertsInputError:
        return _("(invalid settings)")
    condition = _describe_condition(p)
    if isinstance(p, _DiagnosisParams) and p.confirm_after > 1:
        return _("%(condition)s, %(count)s clips in a row", condition=condition,
                 count=p.confirm_after)
    return condition


def _describe_condition(p: RuleParams) -> str:
    if isinstance(p, HealthStatusParams):
        return _("status ≥ %(level)s", level=_(STATUS_LABELS.get(p.level, p.level)))
    if isinstance(p, FaultProbabilityParams):
        fault = _("any fault") if p.fault == ANY_FAULT else p.fault
        return f"P({fault}) > {p.threshold:.2f}"
    if isinstance(p, AnomalyParams):
        if p.score_above is None:
            return _("anomaly score above the baseline threshold")
        return _("anomaly score > %(score)s", score=format(p.score_above, "g"))
    if isinstance(p, DegradingParams):
        return _("projected to reach %(level)s within %(days)s days",
                 level=_(STATUS_LABELS.get(p.level, p.level)), days=format(p.horizon_days, "g"))
    if isinstance(p, SensorLimitParams):
        metric = SENSOR_METRICS[p.metric]
        sign = ">" if p.op == "above" else "<"
        return _("%(metric)s %(sign)s %(limit)s %(unit)s for %(minutes)s min",
                 metric=_(metric.label), sign=sign, limit=format(p.limit, "g"), unit=metric.unit,
                 minutes=p.minutes)
    assert isinstance(p, OfflineParams)
    return _("no data for %(minutes)s min", minutes=p.minutes)


def rule_name(name: str, params: dict[str, Any] | None) -> str:
    """A default rule's name is a catalogue key (translated); a manager's is their own."""
    return _(name) if (params or {}).get("default_key") else name
