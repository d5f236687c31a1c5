"""``flask --app wsgi simulate``: act as N devices against a server, over HTTP, with the
same protocol as the firmware (readings, clips, sequence numbers, retries, firmware
checks). Devices are registered in this app's database (created when missing) and their
tokens kept in the instance folder, so a restart reuses them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app

from dashboard.accounts.provisioning import add_compressor, get_or_create_org, get_or_create_site
from dashboard.core.database import session_scope
from dashboard.core.models import Compressor
from dashboard.fleet.device_tokens import rotate_token, verify_token
from firmware.simulator import PROFILES, DeviceState, Simulator, sensor_kit


def provision_devices(app: Flask, org_name: str, site_name: str, count: int,
                      profile: str) -> list[DeviceState]:
    tokens_file = Path(app.instance_path) / "simulated_devices.json"
    try:
        saved = json.loads(tokens_file.read_text())
    except (OSError, ValueError):
        saved = {}
    states = []
    with session_scope(app) as session:
        org = get_or_create_org(session, org_name)
        site = get_or_create_site(session, org, site_name)
        for i in range(1, count + 1):
            name = f"sim-{i:04d}"
            comp = session.scalar(sa.select(Compressor).where(
                Compressor.site_id == site.id, Compressor.name == name)) \
                or add_compressor(session, site, name)
            token = saved.get(str(comp.id))
            cred = verify_token(session, token) if token else None
            if cred is None or cred.compressor_id != comp.id:
                token = rotate_token(session, comp)
            saved[str(comp.id)] = token
            chosen = PROFILES[(i - 1) % len(PROFILES)] if profile == "mixed" else profile
            states.append(DeviceState(token=token, name=name, profile=chosen, seed=comp.id,
                                      sensors=sensor_kit(i - 1)))
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(saved))
    tokens_file.chmod(0o600)
    return states


def register(server: Flask) -> None:
    @server.cli.command("simulate")
    @click.option("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8050")
    @click.option("--devices", "count", type=click.IntRange(1, 5000), default=8, show_default=True)
    @click.option("--org", "org_name", default="Simulated", show_default=True)
    @click.option("--site", "site_name", default="Simulated site", show_default=True)
    @click.option("--profile", type=click.Choice(["mixed", *sorted(set(PROFILES))]),
                  default="mixed", show_default=True,
                  help="condition of the devices (mixed: a few develop faults)")
    @click.option("--interval", type=float, default=2.0, show_default=True,
                  help="seconds between readings")
    @click.option("--batch", type=int, default=1, show_default=True,
                  help="readings per request (devices buffer and send in batches)")
    @click.option("--clip-interval", type=float, default=300.0, show_default=True,
                  help="seconds between a device's 5 s clips (0: no clips)")
    @click.option("--firmware-interval", type=float, default=3600.0, show_default=True)
    @click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
                  help="devices are split over this many sending threads")
    @click.option("--duration", type=float, default=None, help="stop after this many seconds")
    def simulate(url: str, count: int, org_name: str, site_name: str, profile: str,
                 interval: float, batch: int, clip_interval: float, firmware_interval: float,
                 threads: int, duration: float | None) -> None:
        """Act as COUNT devices posting to URL until stopped (Ctrl-C) or --duration."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        states = provision_devices(app, org_name, site_name, count, profile)
        groups = [states[i::threads] for i in range(threads)]
        sims = [Simulator(url, group, reading_interval=interval, batch_every=batch,
                          clip_interval=clip_interval or None,
                          firmware_interval=firmware_interval or None)
                for group in groups if group]
        click.echo(f"simulating {len(states)} devices of {org_name} / {site_name} -> {url}")
        workers = [threading.Thread(target=s.run, args=(duration,), daemon=True) for s in sims]
        started = time.time()
        for w in workers:
            w.start()
        try:
            while any(w.is_alive() for w in workers):
                time.sleep(1.0)
        except KeyboardInterrupt:
            for s in sims:
                s.stop()
        elapsed = time.time() - started
        sent = sum(s.sent for s in sims)
        clips = sum(s.clips for s in sims)
        errors = sum(s.errors for s in sims)
        click.echo(f"sent {sent} readings and {clips} clips in {elapsed:.0f} s; {errors} errors")
