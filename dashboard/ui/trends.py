"""The health trend in words, for the fleet card and the compressor page (the numbers
come from ``ml.trend``; see docs/alerts.md, "Trends")."""

from __future__ import annotations

from dashboard.core.i18n import N_, _
from ml.trend import HealthTrend, Projection, trend_from_dict

SOON = {"warning": N_("Warning in ~%(days)s days"), "critical": N_("Critical in ~%(days)s days")}
WITHIN_A_DAY = {"warning": N_("Warning within a day"),
                "critical": N_("Critical within a day")}


def projection_text(projection: Projection | None) -> str:
    """"Warning in ~6 days" (the central estimate), or "" without a projection."""
    if projection is None:
        return ""
    if projection.days < 1:
        return _(WITHIN_A_DAY[projection.level])
    return _(SOON[projection.level], days=f"{projection.days:.0f}")


def projection_band_text(projection: Projection | None) -> str:
    if projection is None:
        return ""
    if projection.latest is None:
        return _("between %(earliest)s days and not foreseeable",
                 earliest=f"{projection.earliest:.1f}")
    return _("between %(earliest)s and %(latest)s days",
             earliest=f"{projection.earliest:.1f}", latest=f"{projection.latest:.1f}")


def trend_summary(trend: HealthTrend) -> str:
    """One line for the compressor page."""
    if trend.slope_per_day is None:
        return _("Not enough history for a trend yet.")
    rate = _("%(rate)s points/day", rate=f"{trend.slope_per_day:+.1f}")
    if not trend.declining:
        return _("Smoothed health %(health)s, steady (%(rate)s).",
                 health=f"{trend.smoothed:.0f}", rate=rate)
    projection = trend.next_projection
    if projection is None:
        return _("Smoothed health %(health)s, falling (%(rate)s).",
                 health=f"{trend.smoothed:.0f}", rate=rate)
    return _("Smoothed health %(health)s, falling (%(rate)s): %(soon)s (%(band)s).",
             health=f"{trend.smoothed:.0f}", rate=rate, soon=projection_text(projection),
             band=projection_band_text(projection))


def card_projection(stored: dict | None) -> str:
    """The fleet card's line from the trend kept on the compressor row."""
    return projection_text(trend_from_dict(stored).next_projection)
