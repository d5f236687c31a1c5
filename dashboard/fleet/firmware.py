"""Firmware releases and their rollout: an admin uploads a binary for a hardware model;
devices in the rollout (all, chosen sites or chosen devices) are offered the newest
release above the version they run."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.blobs import BlobStore
from dashboard.core.models import Compressor, FirmwareRelease, Site

VERSION_RE = re.compile(r"^\d{1,4}(\.\d{1,4}){0,3}$")
HW_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
ROLLOUTS = ("all", "sites", "devices")
MAX_FIRMWARE_BYTES = 4 * 1024 * 1024  # an ESP32 OTA slot of the default partition table


class FirmwareError(ValueError):
    pass


def parse_version(text: str) -> tuple[int, ...]:
    """'1.2.10' -> (1, 2, 10, 0); '1.2' == '1.2.0'. Raises FirmwareError when malformed."""
    text = (text or "").strip().lstrip("v")
    if not VERSION_RE.match(text):
        raise FirmwareError(f"version {text!r} is not like 1.2.3")
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def _check_rollout(session: Session, org_id: int, rollout: str, ids: list[int]) -> list[int]:
    if rollout not in ROLLOUTS:
        raise FirmwareError(f"rollout must be one of {', '.join(ROLLOUTS)}")
    if rollout == "all":
        return []
    ids = sorted({int(i) for i in ids})
    if not ids:
        raise FirmwareError(f"choose at least one {'site' if rollout == 'sites' else 'device'}")
    model = Site if rollout == "sites" else Compressor
    found = set(session.scalars(sa.select(model.id).where(model.org_id == org_id,
                                                          model.id.in_(ids))))
    if found != set(ids):
        raise FirmwareError("some of the chosen targets are not in this organisation")
    return ids


def create_release(session: Session, store: BlobStore, org_id: int, version: str,
                   hw_model: str, notes: str | None, data: bytes, rollout: str = "all",
                   rollout_ids: list[int] | None = None,
                   created_by: str | None = None) -> FirmwareRelease:
    parse_version(version)
    if not HW_RE.match(hw_model or ""):
        raise FirmwareError("hardware model: letters, digits, '.', '_' or '-' only")
    if not data:
        raise FirmwareError("the firmware binary is empty")
    if len(data) > MAX_FIRMWARE_BYTES:
        raise FirmwareError(f"the firmware binary exceeds {MAX_FIRMWARE_BYTES} bytes")
    ids = _check_rollout(session, org_id, rollout, rollout_ids or [])
    duplicate = session.scalar(sa.select(FirmwareRelease.id).where(
        FirmwareRelease.org_id == org_id, FirmwareRelease.hw_model == hw_model,
        FirmwareRelease.version == version.strip()))
    if duplicate is not None:
        raise FirmwareError(f"{hw_model} {version} already exists")
    digest = hashlib.sha256(data).hexdigest()
    key = f"firmware/org{org_id}/{hw_model}/{version.strip()}-{digest[:12]}.bin"
    store.put(key, data)
    release = FirmwareRelease(org_id=org_id, version=version.strip(), hw_model=hw_model,
                              sha256=digest, size=len(data), notes=notes, artifact_key=key,
                              rollout=rollout, rollout_ids=ids, created_by=created_by)
    session.add(release)
    session.flush()
    return release


def list_releases(session: Session, org_id: int) -> list[FirmwareRelease]:
    releases = session.scalars(
        sa.select(FirmwareRelease).where(FirmwareRelease.org_id == org_id)).all()
    return sorted(releases, key=lambda r: (r.hw_model, parse_version(r.version)), reverse=True)


def _release(session: Session, org_id: int, release_id: int) -> FirmwareRelease:
    release = session.get(FirmwareRelease, release_id)
    if release is None or release.org_id != org_id:
        raise FirmwareError("no such firmware release")
    return release


def update_rollout(session: Session, org_id: int, release_id: int, rollout: str,
                   ids: list[int]) -> FirmwareRelease:
    release = _release(session, org_id, release_id)
    release.rollout_ids = _check_rollout(session, org_id, rollout, ids)
    release.rollout = rollout
    return release


def delete_release(session: Session, store: BlobStore, org_id: int, release_id: int) -> None:
    release = _release(session, org_id, release_id)
    key = release.artifact_key
    session.delete(release)
    session.flush()
    store.delete(key)


def applies_to(release: FirmwareRelease, compressor: Compressor) -> bool:
    if release.org_id != compressor.org_id:
        return False
    if release.rollout == "sites":
        return compressor.site_id in (release.rollout_ids or [])
    if release.rollout == "devices":
        return compressor.id in (release.rollout_ids or [])
    return True


def release_for_device(session: Session, compressor: Compressor, running: str,
                       hw_model: str) -> FirmwareRelease | None:
    """The newest release above ``running`` for this device's hardware, or None."""
    current = parse_version(running)
    candidates = [
        r for r in session.scalars(sa.select(FirmwareRelease).where(
            FirmwareRelease.org_id == compressor.org_id, FirmwareRelease.hw_model == hw_model))
        if applies_to(r, compressor) and parse_version(r.version) > current
    ]
    return max(candidates, key=lambda r: parse_version(r.version), default=None)


def device_firmware_states(session: Session, org_id: int) -> list[dict]:
    rows = session.execute(
        sa.select(Compressor, Site.name).join(Site, Site.id == Compressor.site_id)
        .where(Compressor.org_id == org_id).order_by(Site.name, Compressor.name)).all()
    releases = list_releases(session, org_id)
    out = []
    for comp, site in rows:
        targets = [r for r in releases if r.hw_model == comp.hw_model and applies_to(r, comp)]
        target = max(targets, key=lambda r: parse_version(r.version), default=None)
        out.append({
            "compressor_id": comp.id, "compressor": comp.name, "site": site,
            "hw_model": comp.hw_model, "firmware_version": comp.firmware_version,
            "firmware_state": comp.firmware_state, "firmware_detail": comp.firmware_detail,
            "firmware_updated_at": comp.firmware_updated_at,
            "target_version": target.version if target else None,
        })
    return out
