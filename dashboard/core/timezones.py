"""Times as a person reads them: in their own time zone (their profile's, or
``DEFAULT_TIME_ZONE``); stored times are always UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.core.i18n import DEFAULT_TIME_ZONE

__all__ = ["DEFAULT_TIME_ZONE", "local_text", "zone"]


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_text(ts: dt.datetime | None, tz: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ts is None:
        return "—"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(zone(tz)).strftime(fmt)
