"""A compressor's status, defined once: the health levels and their score cut-offs come
from the diagnosis engine (``ml.baseline``); the server adds ``learning`` (no baseline
yet) and ``offline`` (silent for longer than ``SIGNALCRAFT_OFFLINE_AFTER``). Their order,
rank, labels (catalogue keys) and colours are here; every page, figure and rule imports
them from this module."""

from __future__ import annotations

import datetime as dt
import math

from dashboard.core.i18n import N_
from ml.baseline import HEALTH_LEVELS, LEVEL_CUTOFFS, health_level

LEARNING, OFFLINE = "learning", "offline"
# What a diagnosis or a compressor row stores.
STORED_STATUSES = (LEARNING, *HEALTH_LEVELS)
# Worst first, as the fleet page sorts and counts them.
STATUS_ORDER = ("critical", "warning", "watch", "healthy", LEARNING, OFFLINE)
# How bad a health level is (learning has no rank: neither good nor bad).
LEVEL_RANK = {level: rank for rank, level in enumerate(HEALTH_LEVELS)}
# (level, lowest score, highest score) for the shaded bands of the health charts.
HEALTH_BANDS = tuple(
    (level, LEVEL_CUTOFFS.get(level, 0.0),
     100.0 if i == 0 else LEVEL_CUTOFFS[HEALTH_LEVELS[i - 1]])
    for i, level in enumerate(HEALTH_LEVELS)
)
STATUS_LABELS = {
    "healthy": N_("Healthy"), "watch": N_("Watch"), "warning": N_("Warning"),
    "critical": N_("Critical"), LEARNING: N_("Learning"), OFFLINE: N_("Offline"),
}
STATUS_COLORS = {
    "healthy": "#198754", "watch": "#0dcaf0", "warning": "#ffc107", "critical": "#dc3545",
    LEARNING: "#adb5bd", OFFLINE: "#343a40",
}
# Bootstrap colour names for badges.
STATUS_BADGE = {
    "healthy": "success", "watch": "info", "warning": "warning", "critical": "danger",
    LEARNING: "secondary", OFFLINE: "dark",
}
DEFAULT_OFFLINE_AFTER_S = 120


def score_status(score: float | None) -> str:
    """The level of a health score; ``learning`` when there is none."""
    if score is None or not math.isfinite(score):
        return LEARNING
    return health_level(score)


def is_offline(last_seen_at: dt.datetime | None, now: dt.datetime,
               offline_after_s: int = DEFAULT_OFFLINE_AFTER_S) -> bool:
    return last_seen_at is None or (now - last_seen_at).total_seconds() > offline_after_s


def effective_status(stored: str, last_seen_at: dt.datetime | None, now: dt.datetime,
                     offline_after_s: int = DEFAULT_OFFLINE_AFTER_S) -> str:
    """A device that has not been heard from recently is offline, whatever it last said."""
    return OFFLINE if is_offline(last_seen_at, now, offline_after_s) else stored
