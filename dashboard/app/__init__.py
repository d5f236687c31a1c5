"""SignalCraft application factory: a Flask server with a Dash (Pages) app on top."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import dash
import plotly.io as pio
from flask import Flask, jsonify

from dashboard.accounts import auth
from dashboard.app import pwa, vendor
from dashboard.core import i18n, observability
from dashboard.core.config import Settings, check_secret_key
from dashboard.core.database import init_db

ROOT = Path(__file__).resolve().parents[2]


def _secret_key(instance_path: Path) -> str:
    """A stable key per installation: generated once into the instance folder, so
    sessions survive restarts and all workers of one host agree."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def create_server(config: dict[str, Any] | None = None) -> Flask:
    settings = Settings.from_env().apply(config)
    instance = Path(settings.INSTANCE_PATH or ROOT / "instance")
    server = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "dashboard" / "app" / "templates"),
    )
    check_secret_key(settings.SECRET_KEY, demo=settings.DEMO_MODE,
                     testing=bool(settings.TESTING), shared_database=bool(settings.DATABASE_URL)
                     and not settings.DATABASE_URL.startswith("sqlite"))
    server.config.update(settings.flask_config())
    server.config["SECRET_KEY"] = settings.SECRET_KEY or _secret_key(instance)
    server.config["SQLALCHEMY_URL"] = settings.database_url(instance)
    # Firmware uploads arrive base64-encoded through dcc.Upload (4 MB -> ~5.4 MB); the
    # device API sets its own, tighter limit per request.
    server.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    observability.init_app(server)
    i18n.init_app(server)

    init_db(server, server.config["SQLALCHEMY_URL"])
    auth.init_app(server)
    from dashboard.accounts.web import init_app as init_accounts; init_accounts(server)  # noqa: E702, I001
    vendor.init_app(server)
    pwa.init_app(server)
    from dashboard.app import media

    media.init_app(server)

    from ingestion import init_app as init_ingestion

    init_ingestion(server)
    from dashboard.app.analysis_api import init_app as init_analysis_api

    init_analysis_api(server)
    from dashboard.app import read_api

    read_api.init_app(server)
    from dashboard.app import live

    live.init_app(server)

    @server.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    from dashboard.app.cli import register as register_cli

    register_cli(server)
    return server


def create_app(config: dict[str, Any] | None = None) -> dash.Dash:
    server = create_server(config)
    # Dash answers callbacks through plotly's JSON encoder. With orjson installed plotly
    # first walks the whole answer in Python (clean_to_json_compatible): a fleet grid of
    # 1,000 tiles took 52 ms of CPU that way and 33 ms through the standard library's C
    # encoder, the same JSON (a quarter of a web worker's CPU under bench/load.py).
    # Figures are unaffected: their arrays are base64 before either encoder runs.
    pio.json.config.default_engine = "json"
    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        external_stylesheets=[vendor.BOOTSTRAP_CSS, vendor.ICONS_CSS],
        suppress_callback_exceptions=True,
        # gzip/brotli (flask-compress) for pages, callbacks and CSV exports: the fleet
        # refresh of 500 compressors shrinks several times over a phone's connection.
        compress=True,
        title="SignalCraft",
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = pwa.INDEX_STRING  # the web manifest and app icons on every page
    from dashboard.app.shell import shell_layout

    app.layout = shell_layout
    from callbacks import register_all

    register_all(app)
    from dashboard.app import callback_requests

    callback_requests.init_app(app)
    server.config["DASH_APP"] = app
    if server.config.get("SCHEDULER_ENABLED") and not server.config.get("TESTING"):
        from dashboard.app.scheduler import start_scheduler

        start_scheduler(server)
    return app


__all__ = ["create_app", "create_server"]
