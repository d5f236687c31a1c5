"""Operator commands: ``flask --app wsgi <command>``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from dashboard.accounts.provisioning import (
    ProvisioningError,
    add_compressor,
    generate_password,
    get_or_create_org,
    get_or_create_site,
    upsert_user,
)
from dashboard.core.database import session_scope
from dashboard.core.migrations import upgrade

devices_cli = AppGroup("devices", help="Register devices and manage their tokens.")


def _tokens_file(app: Flask) -> Path:
    return Path(app.instance_path) / "demo_devices.json"


def register(server: Flask) -> None:
    from dashboard.app.cli.ml_commands import register as register_ml
    from dashboard.app.cli.ops_commands import register as register_ops
    from dashboard.app.cli.simulate import register as register_simulate

    server.cli.add_command(devices_cli)
    register_ml(server)
    register_simulate(server)
    register_ops(server)

    @server.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Apply database migrations (creates the schema on a new database)."""
        upgrade(current_app.config["SQLALCHEMY_URL"])
        click.echo("database is at the newest revision")

    @server.cli.command("webpush-keys")
    def webpush_keys() -> None:
        """Print a new VAPID key pair for Web Push (put both in the environment; a new
        pair makes every browser subscribe again)."""
        from dashboard.alerts.webpush import generate_vapid_keys

        public, private = generate_vapid_keys()
        click.echo(f"VAPID_PUBLIC_KEY={public}")
        click.echo(f"VAPID_PRIVATE_KEY={private}")

    @server.cli.command("pwa-icons")
    def pwa_icons() -> None:
        """Draw the installable app's icons into assets/icons/ (they are committed)."""
        from dashboard.app import ROOT
        from dashboard.app.pwa.icons import write_icons

        for path in write_icons(ROOT / "assets" / "icons"):
            click.echo(str(path.relative_to(ROOT)))

    @server.cli.command("readings-maintain")
    @click.option("--retention-days", type=int, default=None,
                  help="override SIGNALCRAFT_READING_RETENTION_DAYS (0 keeps everything)")
    def readings_maintain(retention_days: int | None) -> None:
        """Create the coming months' reading partitions and drop the expired ones (the
        scheduler does this every 6 hours; run it from cron where none runs)."""
        from dashboard.core.models import utcnow
        from dashboard.fleet.partitions import maintain

        days = (current_app.config["READING_RETENTION_DAYS"] if retention_days is None
                else retention_days)
        with session_scope(current_app) as session:
            report = maintain(session.connection(), utcnow(), days)
        click.echo(str(report))

    @server.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--org", "org_name", required=True, help="organisation (created when missing)")
    @click.option("--password", default=None,
                  help="omit to be prompted (or generate with --generate)")
    @click.option("--generate", is_flag=True, help="generate a password and print it")
    @click.option("--role", default="admin", show_default=True)
    def create_admin(email: str, org_name: str, password: str | None, generate: bool,
                     role: str) -> None:
        """Create a user (an admin by default), or reset an existing one's password."""
        if password is None:
            password = generate_password() if generate else click.prompt(
                "Password", hide_input=True, confirmation_prompt=True)
        with session_scope(current_app) as session:
            try:
                org = get_or_create_org(session, org_name)
                user = upsert_user(session, org, email, password, role=role)
            except ProvisioningError as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"{user.role} {user.email} in {org.name}")
        if generate:
            click.echo(f"password: {password}")

    @server.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo organisation and fleet (idempotent)."""
        from dashboard.app.demo import seed_demo

        with session_scope(current_app) as session:
            started = time.perf_counter()
            states = seed_demo(session, _tokens_file(current_app),
                               current_app.config["DEMO_DEVICES"])
            took = time.perf_counter() - started
        click.echo(f"demo fleet: {len(states)} compressors, history in {took:.1f} s")

    @server.cli.command("run-demo")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=None, help="default: PORT or 8050")
    @click.option("--no-simulator", is_flag=True, help="serve without simulated devices")
    def run_demo(host: str, port: int | None, no_simulator: bool) -> None:
        """Migrate, seed the demo, train the demo model if none is active, start analysis
    and the simulated devices, and serve (waitress)."""
        from waitress import serve

        from dashboard.app.demo import ensure_admin, seed_demo
        from firmware.simulator import Simulator

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        port = port or app.config["PORT"]
        upgrade(app.config["SQLALCHEMY_URL"])
        with session_scope(app) as session:
            # The admin first: the demo history's resolved incident is theirs.
            admin, password = ensure_admin(session, app.config["ADMIN_EMAIL"] or None,
                                           app.config["ADMIN_PASSWORD"] or None)
            email = admin.email
            started = time.perf_counter()
            states = seed_demo(session, _tokens_file(app), app.config["DEMO_DEVICES"])
            click.echo(f"demo fleet ready in {time.perf_counter() - started:.1f} s")
        from dashboard.app.cli.ml_commands import ensure_demo_model
        from dashboard.app.scheduler import start_scheduler

        ensure_demo_model(app, echo=click.echo, force=False)
        app.config["SCHEDULER_ENABLED"] = True  # /readyz then checks it too
        start_scheduler(app)
        url = f"http://{host}:{port}"
        if not no_simulator:
            sim_url = app.config["SIMULATOR_URL"] or f"http://127.0.0.1:{port}"
            Simulator(sim_url, states, reading_interval=2.0,
                      clip_interval=app.config["DEMO_CLIP_INTERVAL"]).start_background()
        shown = ("(from SIGNALCRAFT_ADMIN_PASSWORD)" if app.config["ADMIN_PASSWORD"]
                 else password)
        click.echo("")
        click.echo("  SignalCraft is running")
        click.echo(f"  Open:      {url}")
        click.echo(f"  Log in:    {email}")
        click.echo(f"  Password:  {shown}")
        click.echo(f"  Fleet:     {len(states)} simulated compressors posting readings and clips")
        click.echo("")
        sys.stdout.flush()
        # Each open tab holds a thread with its event stream: threads for a few dozen.
        serve(app, host=host, port=port, threads=int(os.environ.get("WAITRESS_THREADS", "32")),
              ident="signalcraft")

    @devices_cli.command("add")
    @click.option("--org", "org_name", required=True)
    @click.option("--site", "site_name", required=True)
    @click.option("--name", required=True)
    @click.option("--kind", default="refrigeration", show_default=True,
                  type=click.Choice(["refrigeration", "air", "other"]))
    def devices_add(org_name: str, site_name: str, name: str, kind: str) -> None:
        """Register a compressor and its device; the token is the last line printed."""
        from dashboard.fleet.device_tokens import issue_token

        with session_scope(current_app) as session:
            try:
                org = get_or_create_org(session, org_name)
                site = get_or_create_site(session, org, site_name)
                compressor = add_compressor(session, site, name, kind)
            except ProvisioningError as exc:
                raise click.ClickException(str(exc)) from exc
            token = issue_token(session, compressor)
            click.echo(f"compressor {compressor.id}: {org.name} / {site.name} / {compressor.name}")
            click.echo("device token (shown once; store it in the device's provisioning file):")
        click.echo(token)
