"""UI language: English source strings through Flask-Babel, Korean in the catalogue
``dashboard/translations/ko/LC_MESSAGES/messages.po``.

Write ``_("Fleet health")`` (or ``lazy_gettext`` at import time); the language comes
from the logged-in user's profile (switched in the navbar), else from a ``?lang=`` or
the ``sc_lang`` cookie on the account pages, else the browser's Accept-Language, else
Korean. Outside a request (jobs, notifications) wrap the work in
``in_language(code)``. Extract and update the catalogue with

    pybabel extract -F babel.cfg -o dashboard/translations/messages.pot .
    pybabel update -i dashboard/translations/messages.pot -d dashboard/translations

The compiled ``.mo`` is built from the ``.po`` when the app starts (it is not kept in
git), so editing the catalogue needs no extra step."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, force_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user

from dashboard.core.paths import DEVICE_API_PREFIX

LANGUAGES = ("ko", "en")
DEFAULT_LANGUAGE = "ko"
LANGUAGE_COOKIE = "sc_lang"
# A user's time zone until they choose another in their profile.
DEFAULT_TIME_ZONE = "Asia/Seoul"
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"

_ = gettext
__all__ = ["DEFAULT_TIME_ZONE", "LANGUAGES", "N_", "UserMessageError", "_", "current_language",
           "gettext", "in_language", "init_app", "lazy_gettext", "ngettext"]


class UserMessageError(ValueError):
    """A refusal a person should read: an English catalogue message (``%(name)s``
    placeholders) and its values. ``str()`` is the English text (logs);
    ``localized()`` is the user's language."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params

    def localized(self) -> str:
        return gettext(self.message, **self.params)


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it: label tables and stored
    keys keep English; ``_(label)`` translates where it is shown."""
    return message


def current_language() -> str:
    """The language of this request's user (see the module docstring)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if current_user and current_user.is_authenticated:
        lang = getattr(current_user, "language", None)
        if lang in LANGUAGES:
            return lang
    for lang in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if lang in LANGUAGES:
            return lang
    default = current_app.config.get("DEFAULT_LANGUAGE")
    return (request.accept_languages.best_match(LANGUAGES)
            or (default if default in LANGUAGES else DEFAULT_LANGUAGE))


@contextmanager
def in_language(language: str | None) -> Iterator[None]:
    """Translate in ``language`` inside the block (a notification for one recipient)."""
    with force_locale(language if language in LANGUAGES else DEFAULT_LANGUAGE):
        yield


def compile_catalogues(root: Path = TRANSLATIONS) -> None:
    """Write each ``messages.mo`` that is missing or older than its ``.po``; atomically,
    since several workers may start at once."""
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)


def init_app(server: Flask) -> None:
    compile_catalogues()
    server.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    server.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(server, locale_selector=current_language)
    server.add_template_global(current_language, "current_language")

    @server.after_request
    def remember_language(response):
        # ?lang= on a page before login sticks for the next pages (login -> register)
        if request.path.startswith(DEVICE_API_PREFIX):
            return response
        lang = request.args.get("lang")
        if lang in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != lang:
            response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                                httponly=True, secure=server.config.get("SESSION_COOKIE_SECURE",
                                                                       False))
        return response
