"""UI text is English msgids with a complete Korean catalogue, and a page speaks one
language: every string marked for translation has its Korean, and the pages (Dash
layouts and the server-rendered account pages) show no Korean in English and no
untranslated catalogue text, nor both languages side by side, in Korean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dash
import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from plotly.utils import PlotlyJSONEncoder

from dashboard.core.database import session_scope
from dashboard.core.models import User

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "dashboard" / "translations" / "ko" / "LC_MESSAGES" / "messages.po"
# The refusals people read carry their catalogue message as the first argument.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None,
            "AccountError": None, "AlertsInputError": None, "UserMessageError": None,
            "WavError": (3,)}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Words that stay Latin in Korean text: the product, units, formats and proper names.
LATIN_OK = {"SignalCraft", "Kakao", "KakaoTalk", "CSV", "WAV", "RMS", "SMS", "LMS", "HTTP",
            "Email", "English", "API", "UTC", "ESP32", "Hz", "kHz", "dB"}
# The language switch names each language in itself.
SWITCH_LABELS = {"한", "한국어", "EN", "English"}
TEXT_PROPS = ("children", "placeholder", "label", "title", "headerName", "text")


def catalogue():
    with PO.open("rb") as fh:
        return read_po(fh, locale="ko")


def source_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    for folder in ("dashboard", "callbacks", "pages", "ingestion"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map, keywords=KEYWORDS, options_map={}):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def test_every_ui_string_has_its_korean():
    cat = catalogue()
    missing = [f"{where}: {msgid!r}" for msgid, where in source_messages().items()
               if not (cat.get(msgid) and cat.get(msgid).string)]
    assert not missing, "missing from messages.po:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders():
    bad = []
    for message in catalogue():
        if not message.id or not message.string:
            continue
        names = set(re.findall(r"%\((\w+)\)s", message.id))
        if names != set(re.findall(r"%\((\w+)\)s", message.string)) and names - set(
                re.findall(r"%\((\w+)\)s", message.string)):
            bad.append(message.id)
    assert not bad, bad


def test_no_text_is_written_in_two_languages_in_the_source():
    """The old pair form is gone: no tr("English", "한국어") and no "English · 한국어"."""
    offenders = []
    for folder in ("dashboard", "callbacks", "pages", "ingestion"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if re.search(r"(?<![\w.])tr\(", text):
                offenders.append(f"{path}: tr(")
            for line in text.splitlines():
                if re.search(r"[A-Za-z]{3,}[^\"']* · [^\"']*" + HANGUL.pattern, line) and (
                        "mail" not in path.name):
                    offenders.append(f"{path}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def _strings(node, out):
    if isinstance(node, dict):
        props = node.get("props", node)
        for key in TEXT_PROPS:
            value = props.get(key) if isinstance(props, dict) else None
            if isinstance(value, str):
                out.append(value)
        for value in (props.values() if isinstance(props, dict) else ()):
            if isinstance(value, (dict, list)):
                _strings(value, out)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                out.append(item)
            else:
                _strings(item, out)
    return out


def _layout_texts(server, path, email):
    from flask_login import login_user

    from dashboard.app.shell import navbar
    from dashboard.core.database import db_session

    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    with server.test_request_context(path):
        login_user(db_session().query(User).filter_by(email=email).one())
        layout = [navbar(), page["layout"]()]
        return _strings(json.loads(json.dumps(layout, cls=PlotlyJSONEncoder)), [])


def _set_language(server, email, language):
    with session_scope(server) as s:
        s.execute(sa.update(User).where(User.email == email).values(language=language))


def _check_english(texts, where):
    wrong = [t for t in texts if HANGUL.search(t) and t.strip() not in SWITCH_LABELS]
    assert not wrong, f"Korean in the English {where}: {wrong}"


def _check_korean(texts, where, english_msgids):
    untranslated = [t for t in texts if t.strip() in english_msgids]
    def words(text):  # Latin words, leaving out data such as email addresses and links
        text = re.sub(r"\S+@\S+|https?://\S+", " ", text)
        return set(re.findall(r"[A-Za-z]{4,}", text)) - LATIN_OK

    mixed = [t for t in texts if HANGUL.search(t) and words(t)]
    assert not untranslated, f"English catalogue text in the Korean {where}: {untranslated}"
    assert not mixed, f"two languages in one text of the Korean {where}: {mixed}"


@pytest.fixture
def translated_msgids():
    cat = catalogue()
    # (short single words such as "admin" can also be data: a user called admin)
    return {m.id for m in cat if m.id and m.string and m.string != m.id
            and (" " in m.id or len(m.id) > 5) and HANGUL.search(m.string)}


def test_every_page_speaks_one_language(dash_app, world, translated_msgids):
    server = dash_app.server
    email = world.users["A-admin"]
    pages = [p["path"] for p in dash.page_registry.values()
             if "<" not in p["path"] and p.get("nav_order") is not None]
    assert len(pages) >= 5
    for path in pages:
        _set_language(server, email, "en")
        _check_english(_layout_texts(server, path, email), path)
        _set_language(server, email, "ko")
        _check_korean(_layout_texts(server, path, email), path, translated_msgids)


@pytest.mark.parametrize("path", ["/login", "/register", "/forgot-password"])
def test_account_pages_speak_one_language(client, path, translated_msgids):
    english = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    korean = client.get(path, headers={"Accept-Language": "ko"}).get_data(as_text=True)

    def visible(html):
        html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
        texts = re.findall(r">([^<>]+)<", html) + re.findall(r'placeholder="([^"]+)"', html)
        return [t.strip() for t in texts if t.strip()]

    _check_english(visible(english), path)
    _check_korean(visible(korean), path, translated_msgids)
    assert 'lang="ko"' in korean and 'lang="en"' in english
