"""Korean and English UI text. Each call site gives both texts: ``tr("Fleet health",
"설비 상태")``; the user's language (stored on the user, switched in the navbar)
picks one. Korean is the default for new users."""

from __future__ import annotations

from flask import has_request_context
from flask_login import current_user

LANGUAGES = ("ko", "en")


def current_language() -> str:
    if has_request_context() and current_user.is_authenticated:
        lang = getattr(current_user, "language", None)
        if lang in LANGUAGES:
            return lang
    return "ko"


def tr(en: str, ko: str) -> str:
    return ko if current_language() == "ko" else en
