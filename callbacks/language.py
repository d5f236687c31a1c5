"""The navbar's 한 / EN switch: remember the language on the user, then reload the
page so the layout, built per request in that language, follows."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import dash
from dash import Input, Output, State, ctx
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.guard import guarded
from dashboard.accounts.preferences import save_language
from dashboard.core.database import db_session


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("nav-lang-reload", "search"),
        Input("nav-lang-ko", "n_clicks"),
        Input("nav-lang-en", "n_clicks"),
        State("nav-lang-reload", "search"),
        prevent_initial_call=True,
    )
    @guarded("viewer")
    def switch_language(_ko: int | None, _en: int | None, search: str | None) -> str:
        language = {"nav-lang-ko": "ko", "nav-lang-en": "en"}.get(str(ctx.triggered_id))
        if language is None or not save_language(db_session(), current_user.id, language):
            raise PreventUpdate
        # A search string that differs from the current one makes the Location
        # component (refresh=True) load the page again; other parameters stay.
        params = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if k != "lang"]
        return "?" + urlencode([*params, ("lang", language)])
