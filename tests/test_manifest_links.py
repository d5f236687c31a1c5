"""The web manifest (the installable app) is linked from every HTML page: each account
page before login (login included), every Dash page after it, and the message and
offline pages. Pages are enumerated, so a new one without the link fails here."""

from __future__ import annotations

import re

import dash

from tests.test_access_control import _fill

LINK = re.compile(r'<link rel="manifest" href="/manifest\.webmanifest">')


def _html_pages(client, paths):
    for path in paths:
        resp = client.get(path)
        if resp.mimetype == "text/html" and resp.status_code not in (301, 302, 303):
            yield path, resp


def test_every_page_before_login_links_the_manifest(app):
    client = app.test_client()
    paths = {_fill(r.rule) for r in app.url_map.iter_rules()
             if "GET" in r.methods and not r.rule.startswith(("/_dash", "/api/", "/assets",
                                                              "/vendor", "/static"))}
    seen = 0
    for path, resp in _html_pages(client, sorted(paths | {"/login", "/register"})):
        assert LINK.search(resp.get_data(as_text=True)), path
        seen += 1
    assert seen >= 6  # login, register, forgot-password, reset, invite, offline...


def test_every_dash_page_links_the_manifest(dash_app, app, world):
    client = world.login(app.test_client(), "A-admin")
    paths = [p["path"] for p in dash.page_registry.values() if "<" not in p["path"]]
    paths.append(f"/compressor/{world.compressors['A'][0]}")
    assert len(paths) >= 5
    for path, resp in _html_pages(client, paths):
        assert LINK.search(resp.get_data(as_text=True)), path
    # A page that does not exist still renders the shell, and with it the link.
    resp = client.get("/no-such-page")
    assert LINK.search(resp.get_data(as_text=True))
