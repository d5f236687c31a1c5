"""Rule kinds and their parameters: what each kind watches, which knobs it has, and the
validation that turns a manager's form (or stored JSON) into clean parameters.

Kinds evaluated when a diagnosis is written: ``health_status``, ``fault_probability``,
``anomaly``. Kinds evaluated by the periodic job: ``sensor_limit``, ``offline``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dashboard.alerts.errors import AlertsInputError
from dashboard.core.models import ROLES

DIAGNOSIS_KINDS = ("health_status", "fault_probability", "anomaly")
PERIODIC_KINDS = ("sensor_limit", "offline")
RULE_KINDS = DIAGNOSIS_KINDS + PERIODIC_KINDS
KIND_LABELS = {
    "health_status": ("Health status", "설비 상태"),
    "fault_probability": ("Fault probability", "고장 확률"),
    "anomaly": ("Anomaly (baseline)", "이상 감지 (기준선)"),
    "sensor_limit": ("Sensor limit for a duration", "센서 한계 지속"),
    "offline": ("Device silent", "장치 무응답"),
}
SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
# "learning" has no rank: a compressor still learning its baseline is neither good nor bad.
STATUS_RANK = {"healthy": 0, "watch": 1, "warning": 2, "critical": 3}
SENSOR_METRICS = {
    "temperature_c": ("Temperature", "온도", "°C"),
    "current_a": ("Motor current", "모터 전류", "A"),
    "pressure_bar": ("Pressure", "압력", "bar"),
    "vibration_rms_g": ("Vibration RMS", "진동 RMS", "g"),
    "humidity_pct": ("Humidity", "습도", "%"),
}
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


class HealthStatusParams(_CommonParams):
    level: Literal["watch", "warning", "critical"] = "warning"


class FaultProbabilityParams(_CommonParams):
    fault: str = Field(ANY_FAULT, min_length=1, max_length=60)
    threshold: float = Field(0.8, gt=0.0, lt=1.0)


class AnomalyParams(_CommonParams):
    # None: trust the baseline's own threshold (Diagnosis.is_anomaly).
    score_above: float | None = Field(None, ge=0.0)


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
    "sensor_limit": SensorLimitParams,
    "offline": OfflineParams,
}
RuleParams = (HealthStatusParams | FaultProbabilityParams | AnomalyParams | SensorLimitParams
              | OfflineParams)


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
        raise AlertsInputError(f"Unknown rule kind {kind!r}.",
                               f"알 수 없는 규칙 종류입니다: {kind!r}")
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        detail = _describe(exc)
        raise AlertsInputError(f"Invalid rule settings: {detail}",
                               f"규칙 설정이 올바르지 않습니다: {detail}") from exc


def normalize_params(kind: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON stored in AlertRule.params: validated, defaults filled in."""
    return parse_params(kind, raw).model_dump(exclude_none=True)


def validate_severity(severity: str | None) -> str:
    if severity not in SEVERITIES:
        raise AlertsInputError(f"Severity must be one of {', '.join(SEVERITIES)}.",
                               f"심각도는 {', '.join(SEVERITIES)} 중 하나여야 합니다.")
    return severity


def validate_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise AlertsInputError("A rule needs a name of 1 to 120 characters.",
                               "규칙 이름은 1~120자여야 합니다.")
    return name


def max_severity(first: str, second: str | None) -> str:
    if second is None:
        return first
    return first if SEVERITY_RANK.get(first, 0) >= SEVERITY_RANK.get(second, 0) else second


def describe_params(kind: str, params: dict[str, Any]) -> tuple[str, str]:
    """A one-line summary of a rule's condition, (English, Korean), for the rules table."""
    try:
        p = parse_params(kind, params)
    except AlertsInputError:
        return ("(invalid settings)", "(잘못된 설정)")
    if isinstance(p, HealthStatusParams):
        return (f"status ≥ {p.level}", f"상태 ≥ {p.level}")
    if isinstance(p, FaultProbabilityParams):
        fault_en = "any fault" if p.fault == ANY_FAULT else p.fault
        fault_ko = "모든 고장" if p.fault == ANY_FAULT else p.fault
        return (f"P({fault_en}) > {p.threshold:.2f}", f"P({fault_ko}) > {p.threshold:.2f}")
    if isinstance(p, AnomalyParams):
        if p.score_above is None:
            return ("anomaly score above the baseline threshold", "이상 점수 > 기준선 임계값")
        return (f"anomaly score > {p.score_above:g}", f"이상 점수 > {p.score_above:g}")
    if isinstance(p, SensorLimitParams):
        en, ko, unit = SENSOR_METRICS[p.metric]
        sign = ">" if p.op == "above" else "<"
        return (f"{en} {sign} {p.limit:g} {unit} for {p.minutes} min",
                f"{ko} {sign} {p.limit:g} {unit}, {p.minutes}분 지속")
    assert isinstance(p, OfflineParams)
    return (f"no data for {p.minutes} min", f"{p.minutes}분 동안 수신 없음")
