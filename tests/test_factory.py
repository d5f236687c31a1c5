"""The app factory, configuration and the public health endpoint."""

from dashboard.app import create_app
from dashboard.core.config import Settings


def test_settings_read_environment_with_defaults():
    s = Settings.from_env({"PORT": "9000", "SIGNALCRAFT_DEMO": "true", "DATABASE_URL": ""})
    assert s.PORT == 9000
    assert s.DEMO_MODE is True
    assert s.OFFLINE_AFTER_SECONDS == 120
    bad = Settings.from_env({"PORT": "not-a-number"})
    assert bad.PORT == 8050


def test_database_url_defaults_to_sqlite_in_instance_folder(tmp_path):
    s = Settings.from_env({})
    assert s.database_url(tmp_path) == f"sqlite:///{tmp_path / 'signalcraft.db'}"
    s = Settings.from_env({"DATABASE_URL": "postgres://u@h/db"})
    assert s.database_url(tmp_path) == "postgresql://u@h/db"


def test_create_app_applies_overrides_and_registers_pages(dash_app):
    server = dash_app.server
    assert server.config["TESTING"] is True
    assert server.config["SECRET_KEY"] == "test-secret"
    rules = {r.rule for r in server.url_map.iter_rules()}
    assert {"/healthz", "/login", "/logout", "/api/esp32/data"} <= rules
    paths = {p["path"] for p in __import__("dash").page_registry.values()}
    assert "/" in paths


def test_secret_key_is_generated_once_per_instance(tmp_path):
    cfg = {"INSTANCE_PATH": str(tmp_path / "inst"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    first = create_app(cfg).server.config["SECRET_KEY"]
    second = create_app(cfg).server.config["SECRET_KEY"]
    assert first == second and len(first) == 64


def test_healthz_answers_without_login(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_bootstrap_and_icons_are_served_locally(client, dash_app):
    css = client.get("/vendor/bootstrap/css/bootstrap.min.css")
    assert css.status_code == 200 and b"Bootstrap" in css.data[:400]
    icons = client.get("/vendor/fontawesome/css/all.min.css")
    assert icons.status_code == 200
    assert client.get("/vendor/fontawesome/webfonts/fa-solid-900.woff2").status_code == 200
    assert client.get("/vendor/bootstrap/../../../../etc/passwd").status_code == 404
    assert client.get("/vendor/other/css/x.css").status_code == 404
    # No stylesheet or script of the app points at another host.
    assert all(u.startswith("/") for u in dash_app.config.external_stylesheets)


def test_callback_answers_use_the_standard_json_encoder_and_stay_valid_json(dash_app):
    """The app sets plotly's JSON engine to the standard library's (issue 14: faster
    for component trees than orjson behind plotly's Python walk); NaN still becomes
    null and numpy arrays in figures still travel as base64."""
    import json

    import numpy as np
    import plotly.graph_objects as go
    import plotly.io as pio
    from dash import html
    from dash._utils import to_json

    assert pio.json.config.default_engine == "json"
    text = to_json({"grid": html.Div([html.Span("a", id="x")]), "nan": float("nan"),
                    "fig": go.Figure(go.Scatter(y=np.arange(3, dtype="float32")))})
    decoded = json.loads(text)
    assert decoded["nan"] is None and decoded["grid"]["props"]["children"][0]["props"]["id"] == "x"
    assert decoded["fig"]["data"][0]["y"]["dtype"] == "f4"
