"""WSGI entry point: ``gunicorn wsgi:server`` or ``flask --app wsgi <command>``."""

from dashboard import create_app

app = create_app()
server = app.server
