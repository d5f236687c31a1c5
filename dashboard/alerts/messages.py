"""Generated alert texts (titles, details, automatic comments) are stored as a message
key with its values, never as a sentence in two languages, and translated when shown
(``shown``), in the viewer's language or a recipient's (``in_language``).

``keyed(N_("Status %(status)s ..."), translate=("status",), status="warning")`` stores
``{"msg": ..., "params": ..., "tr": [...]}``; the names in ``tr`` are catalogue keys
themselves (a status label, a metric name, a default rule's name) and are translated
too. Anything else (a person's comment) is shown as it was written."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dashboard.core.i18n import _, in_language

_PREFIX = '{"msg":'


def keyed(msgid: str, translate: Iterable[str] = (), **params: object) -> str:
    return json.dumps({"msg": msgid, "params": params, "tr": list(translate)},
                      ensure_ascii=False, separators=(",", ":"))


def is_keyed(text: str | None) -> bool:
    return bool(text) and text.startswith(_PREFIX)


def shown(text: str | None, language: str | None = None) -> str:
    """The text in the current language (or ``language``)."""
    if not text:
        return ""
    if not is_keyed(text):
        return text
    if language is not None:
        with in_language(language):
            return shown(text)
    try:
        data = json.loads(text)
        params = dict(data.get("params") or {})
        for name in data.get("tr") or ():
            if isinstance(params.get(name), str):
                params[name] = _(params[name])
        return _(data["msg"], **params)
    except (ValueError, KeyError, TypeError):
        return text
