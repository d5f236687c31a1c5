"""The installable app (PWA): the web manifest, the service worker at the site's root
(so its scope is the whole app), the offline page, and the head tags every page links
(Dash pages through ``INDEX_STRING``, the account pages through base.html)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Flask, Response, render_template

from dashboard.core.i18n import _, current_language

HERE = Path(__file__).resolve().parent
THEME_COLOR = "#212529"  # the navbar's dark
BACKGROUND_COLOR = "#f8f9fa"

# Linked from every page's <head> (base.html has the same lines).
HEAD_TAGS = f"""
        <link rel="manifest" href="/manifest.webmanifest">
        <meta name="theme-color" content="{THEME_COLOR}">
        <meta name="mobile-web-app-capable" content="yes">
        <meta name="apple-mobile-web-app-capable" content="yes">
        <meta name="apple-mobile-web-app-title" content="SignalCraft">
        <meta name="apple-mobile-web-app-status-bar-style" content="black-translucent">
        <link rel="apple-touch-icon" href="/assets/icons/apple-touch-icon.png">
"""

INDEX_STRING = """<!DOCTYPE html>
<html>
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}""" + HEAD_TAGS + """        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def manifest() -> dict:
    return {
        "id": "/",
        "name": "SignalCraft",
        "short_name": "SignalCraft",
        "description": _("Compressor condition monitoring"),
        "lang": current_language(),
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "categories": ["business", "productivity", "utilities"],
        "icons": [
            {"src": "/assets/icons/icon-192.png", "sizes": "192x192", "type": "image/png",
             "purpose": "any"},
            {"src": "/assets/icons/icon-512.png", "sizes": "512x512", "type": "image/png",
             "purpose": "any"},
            {"src": "/assets/icons/icon-maskable-512.png", "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": _("Alerts"), "url": "/alerts",
             "icons": [{"src": "/assets/icons/icon-192.png", "sizes": "192x192"}]},
        ],
    }


def service_worker_source() -> str:
    """sw.js with a version from its own text and the cached files, so a new release
    replaces the old cache."""
    source = (HERE / "sw.js").read_text()
    digest = hashlib.sha256(source.encode())
    for name in ("signalcraft.css", "accounts.css"):
        path = HERE.parents[2] / "assets" / name
        if path.exists():
            digest.update(path.read_bytes())
    return source.replace("{{VERSION}}", digest.hexdigest()[:12])


def init_app(server: Flask) -> None:
    bp = Blueprint("pwa", __name__)
    sw = service_worker_source()

    @bp.get("/manifest.webmanifest")
    def web_manifest() -> Response:
        return Response(json.dumps(manifest(), ensure_ascii=False),
                        mimetype="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})

    @bp.get("/sw.js")
    def service_worker() -> Response:
        # no-cache: browsers must see a new worker when we release one
        return Response(sw, mimetype="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    @bp.get("/offline")
    def offline() -> str:
        return render_template("offline.html")

    server.register_blueprint(bp)
