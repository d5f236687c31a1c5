"""Device ingestion: the HTTP API the ESP32 devices (and the simulator) speak."""

from __future__ import annotations

from flask import Flask


def init_app(server: Flask) -> None:
    from dashboard.core.blobs import init_store
    from ingestion import firmware_api  # noqa: F401  (adds the OTA routes to bp)
    from ingestion.api import bp
    from ingestion.openapi import bp as openapi_bp

    init_store(server)
    server.register_blueprint(bp)
    server.register_blueprint(openapi_bp)
