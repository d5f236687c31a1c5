"""The sensor metrics a device may send: one definition of their names, units,
plausible ranges and labels, used by the device API, the rollups, the charts, the
fleet cards and the alert rules. Labels are English catalogue keys (``_(label)``)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.core.i18n import N_


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # full name, e.g. on chart axes and in alert rules
    short: str  # on the fleet cards
    unit: str
    low: float  # physically plausible range: outside it a reading is refused
    high: float


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("temperature_c", N_("Temperature"), N_("Temp"), "°C", -60.0, 200.0),
    Metric("current_a", N_("Motor current"), N_("Current"), "A", 0.0, 1000.0),
    Metric("pressure_bar", N_("Pressure"), N_("Pressure"), "bar", -1.0, 100.0),
    Metric("vibration_rms_g", N_("Vibration RMS"), N_("Vibration"), "g", 0.0, 50.0),
    Metric("humidity_pct", N_("Humidity"), N_("Humidity"), "%", 0.0, 100.0),
)}
METRIC_KEYS = tuple(METRICS)
