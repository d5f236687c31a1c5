"""A user's own preferences, written from the navbar (the language for now)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dashboard.core.i18n import LANGUAGES
from dashboard.core.models import User


def save_language(session: Session, user_id: int, language: str) -> bool:
    """Store ``language`` ("ko" or "en") on the user; False when it is not one."""
    if language not in LANGUAGES:
        return False
    user = session.get(User, user_id)
    if user is None:
        return False
    user.language = language
    session.commit()
    return True
