"""The navbar's language switch: stored on the user, the page reloads with the
choice in its query string (other parameters kept), and the layout follows it."""

import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.dash_client import call_callback, output_of, page_layout, text_of


def _language(server, email):
    with session_scope(server) as s:
        return s.scalar(sa.select(User.language).where(User.email == email))


def test_switching_language_is_remembered_and_reloads_the_page(client, world, dash_app):
    email = world.users["A-viewer"]
    assert _language(dash_app.server, email) == "ko"
    assert "설비 상태" in text_of(page_layout(dash_app.server, "/", email))
    world.login(client, "A-viewer")
    resp = call_callback(client, dash_app, "nav-lang-reload.search",
                         {"nav-lang-en.n_clicks": 1, "nav-lang-reload.search": "?compressor=3"},
                         triggered="nav-lang-en.n_clicks")
    assert output_of(resp, "nav-lang-reload", "search") == "?compressor=3&lang=en"
    assert _language(dash_app.server, email) == "en"
    assert "Fleet health" in text_of(page_layout(dash_app.server, "/", email))
    back = call_callback(client, dash_app, "nav-lang-reload.search",
                         {"nav-lang-ko.n_clicks": 1, "nav-lang-reload.search": "?lang=en"},
                         triggered="nav-lang-ko.n_clicks")
    assert output_of(back, "nav-lang-reload", "search") == "?lang=ko"
    assert _language(dash_app.server, email) == "ko"
