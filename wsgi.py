"""WSGI entry point: ``gunicorn wsgi:server`` or ``flask --app wsgi <command>``."""

from dashboard.app import create_app

app = create_app()
server = app.server
