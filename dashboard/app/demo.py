"""The demo organisation that `make run` starts with: two sites, eight compressors,
an admin, and simulated devices posting through the real device API."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy.orm import Session

from dashboard.accounts.provisioning import (
    add_compressor,
    generate_password,
    get_or_create_org,
    get_or_create_site,
    upsert_user,
)
from dashboard.app.demo_history import DAYS, backfill_demo_history
from dashboard.core.blobs import BlobStore, audio_store
from dashboard.core.models import Compressor, Organization, User, utcnow
from dashboard.fleet.device_tokens import rotate_token, verify_token
from firmware.simulator import PROFILES, DeviceState, sensor_kit

DEMO_ORG = "SignalCraft Demo"
DEMO_FLEET = {
    "서울 냉동창고": [
        ("Freezer room A", "refrigeration"),
        ("Freezer room B", "refrigeration"),
        ("Chiller 1", "refrigeration"),
        ("Chiller 2", "refrigeration"),
        ("Blast freezer", "refrigeration"),
    ],
    "인천 공장": [
        ("Air compressor 1", "air"),
        ("Air compressor 2", "air"),
        ("Booster", "air"),
    ],
}
DEFAULT_ADMIN_EMAIL = "admin@signalcraft.local"


def seed_demo(session: Session, tokens_file: Path, devices: int = 8,
              history_days: int = DAYS, store: BlobStore | None = None) -> list[DeviceState]:
    """Create the demo fleet if missing, with ``history_days`` of history
    (``demo_history``, once; its recent clips go to ``store``, by default the app's audio
    store when there is an app context); return device states with valid tokens, kept in
    ``tokens_file`` (instance folder) so restarts reuse them."""
    org = get_or_create_org(session, DEMO_ORG)
    wanted = [(site, name, kind) for site, items in DEMO_FLEET.items() for name, kind in items]
    wanted = wanted[:devices] if devices <= len(wanted) else wanted + [
        ("서울 냉동창고", f"Compressor {i}", "refrigeration")
        for i in range(len(wanted) + 1, devices + 1)
    ]
    saved = _load_tokens(tokens_file)
    states: list[DeviceState] = []
    for index, (site_name, name, kind) in enumerate(wanted):
        site = get_or_create_site(session, org, site_name)
        compressor = session.scalar(
            sa.select(Compressor).where(Compressor.site_id == site.id, Compressor.name == name)
        ) or add_compressor(session, site, name, kind)
        token = saved.get(str(compressor.id))
        cred = verify_token(session, token) if token else None
        if cred is None or cred.compressor_id != compressor.id:
            token = rotate_token(session, compressor)
        saved[str(compressor.id)] = token
        states.append(DeviceState(token=token, name=name, profile=PROFILES[index % len(PROFILES)],
                                  seed=compressor.id, sensors=sensor_kit(index)))
    session.commit()
    if history_days:
        compressors = list(session.scalars(sa.select(Compressor).where(
            Compressor.org_id == org.id).order_by(Compressor.id)))
        if store is None and has_app_context():
            store = audio_store()
        backfill_demo_history(session, compressors, utcnow(), history_days, store)
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(json.dumps(saved, indent=1))
    tokens_file.chmod(0o600)
    return states


def ensure_admin(session: Session, email: str | None, password: str | None,
                 org_name: str = DEMO_ORG) -> tuple[User, str]:
    """The admin from the given credentials, or a generated password (returned so it
    can be printed): created or updated at every start."""
    org = session.scalar(sa.select(Organization).where(Organization.name == org_name)) \
        or get_or_create_org(session, org_name)
    password = password or generate_password()
    user = upsert_user(session, org, email or DEFAULT_ADMIN_EMAIL, password, role="admin",
                       name="Admin")
    session.commit()
    return user, password


def _load_tokens(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
        return {str(k): str(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}
