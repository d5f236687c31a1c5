"""Who is looking: the logged-in user of this request and their time zone, for the
callbacks of every page."""

from __future__ import annotations

from flask_login import current_user

from dashboard.core.i18n import DEFAULT_TIME_ZONE
from dashboard.core.models import User


def me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def user_zone_name() -> str:
    """The user's own time zone (their profile), in which every page shows times."""
    return getattr(current_user, "timezone", None) or DEFAULT_TIME_ZONE
