"""What an admin changes about the fleet in Settings: sites, compressors (one device
each) and their device tokens. Every function takes the acting admin, checks the
target belongs to the admin's organisation, writes an audit row and flushes; the
caller commits. A new token is returned once and never stored in clear."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.provisioning import ProvisioningError, add_compressor
from dashboard.accounts.users import AccountError, require_admin
from dashboard.core.events import publish
from dashboard.core.i18n import N_
from dashboard.core.models import Compressor, DeviceCredential, Site, User
from dashboard.fleet.device_tokens import issue_token, revoke_tokens, rotate_token

KINDS = ("refrigeration", "air", "other")
NAME_LIMIT = 200


NAME_MESSAGES = {
    "site": (N_("Please enter the site name."), N_("The site name is too long.")),
    "compressor": (N_("Please enter the compressor name."),
                   N_("The compressor name is too long.")),
}


def _name(value: str | None, what: str) -> str:
    name = (value or "").strip()
    missing, too_long = NAME_MESSAGES[what]
    if not name:
        raise AccountError(missing)
    if len(name) > NAME_LIMIT:
        raise AccountError(too_long)
    return name


def _site(session: Session, actor: User, site_id: Any) -> Site:
    require_admin(actor)
    try:
        site = session.get(Site, int(site_id))
    except (TypeError, ValueError):
        site = None
    if site is None or site.org_id != actor.org_id:
        raise AccountError("No such site in your organisation.")
    return site


def _compressor(session: Session, actor: User, compressor_id: Any) -> Compressor:
    require_admin(actor)
    try:
        comp = session.get(Compressor, int(compressor_id))
    except (TypeError, ValueError):
        comp = None
    if comp is None or comp.org_id != actor.org_id:
        raise AccountError("No such compressor in your organisation.")
    return comp


# ------------------------------------------------------------------ sites
def list_sites(session: Session, org_id: int) -> list[dict[str, Any]]:
    counts = sa.select(Compressor.site_id, sa.func.count().label("n")) \
        .group_by(Compressor.site_id).subquery()
    rows = session.execute(
        sa.select(Site, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.site_id == Site.id)
        .where(Site.org_id == org_id).order_by(Site.name)
    ).all()
    return [{"id": s.id, "name": s.name, "location": s.location or "", "compressors": n}
            for s, n in rows]


def _site_name_free(session: Session, org_id: int, name: str, except_id: int | None = None) -> None:
    clash = session.scalar(sa.select(Site.id).where(Site.org_id == org_id, Site.name == name))
    if clash is not None and clash != except_id:
        raise AccountError("A site with this name exists.")


def add_site(session: Session, actor: User, name: str) -> Site:
    require_admin(actor)
    name = _name(name, "site")
    _site_name_free(session, actor.org_id, name)
    site = Site(org_id=actor.org_id, name=name)
    session.add(site)
    session.flush()
    record_audit(session, actor, "site.add", name)
    return site


def rename_site(session: Session, actor: User, site_id: Any, name: str) -> Site:
    site = _site(session, actor, site_id)
    name = _name(name, "site")
    if name == site.name:
        return site
    _site_name_free(session, actor.org_id, name, site.id)
    record_audit(session, actor, "site.rename", name, {"from": site.name})
    site.name = name
    session.flush()
    return site


def remove_site(session: Session, actor: User, site_id: Any) -> str:
    """Only an empty site: removing compressors (and their history) is a separate,
    deliberate step per compressor."""
    site = _site(session, actor, site_id)
    has = session.scalar(sa.select(sa.func.count()).select_from(Compressor)
                         .where(Compressor.site_id == site.id))
    if has:
        raise AccountError("Remove or move this site's compressors first.")
    name = site.name
    session.delete(site)
    record_audit(session, actor, "site.remove", name)
    session.flush()
    return name


# ------------------------------------------------------------------ compressors
def list_devices(session: Session, org_id: int) -> list[dict[str, Any]]:
    live = sa.select(DeviceCredential.compressor_id,
                     sa.func.count().label("tokens"),
                     sa.func.max(DeviceCredential.last_used_at).label("last_used")) \
        .where(DeviceCredential.revoked_at.is_(None)) \
        .group_by(DeviceCredential.compressor_id).subquery()
    rows = session.execute(
        sa.select(Compressor, Site.name, live.c.tokens, live.c.last_used)
        .join(Site, Site.id == Compressor.site_id)
        .outerjoin(live, live.c.compressor_id == Compressor.id)
        .where(Compressor.org_id == org_id).order_by(Site.name, Compressor.name)
    ).all()
    return [{"id": c.id, "name": c.name, "site": site, "site_id": c.site_id, "kind": c.kind,
             "hw_model": c.hw_model, "tokens": int(tokens or 0), "token_last_used": last_used,
             "last_seen_at": c.last_seen_at} for c, site, tokens, last_used in rows]


def add_device(session: Session, actor: User, site_id: Any, name: str,
               kind: str = "refrigeration") -> Compressor:
    site = _site(session, actor, site_id)
    name = _name(name, "compressor")
    if kind not in KINDS:
        raise AccountError("Unknown compressor kind.")
    try:
        comp = add_compressor(session, site, name, kind)
    except ProvisioningError as exc:
        raise AccountError("This site already has a compressor with this name.") from exc
    record_audit(session, actor, "compressor.add", f"{site.name} / {name}")
    publish(session, "fleet", comp.org_id, change="added", compressor=comp.id)
    return comp


def rename_device(session: Session, actor: User, compressor_id: Any, name: str) -> Compressor:
    comp = _compressor(session, actor, compressor_id)
    name = _name(name, "compressor")
    if name == comp.name:
        return comp
    clash = session.scalar(sa.select(Compressor.id).where(Compressor.site_id == comp.site_id,
                                                          Compressor.name == name))
    if clash is not None:
        raise AccountError("This site already has a compressor with this name.")
    record_audit(session, actor, "compressor.rename", name, {"from": comp.name, "id": comp.id})
    comp.name = name
    publish(session, "fleet", comp.org_id, change="renamed", compressor=comp.id)
    session.flush()
    return comp


def remove_device(session: Session, actor: User, compressor_id: Any) -> str:
    """Deletes the compressor with its readings, recordings and diagnoses (cascade);
    its tokens stop working with it."""
    comp = _compressor(session, actor, compressor_id)
    name = comp.name
    record_audit(session, actor, "compressor.remove", name, {"id": comp.id})
    publish(session, "fleet", comp.org_id, change="removed", compressor=comp.id)
    publish(session, "token_revoked", comp.org_id, compressor=comp.id)
    session.delete(comp)
    session.flush()
    return name


TOKEN_OPS = ("issue", "rotate", "revoke")


def device_token(session: Session, actor: User, compressor_id: Any, op: str) -> str | None:
    """issue: a new token (older ones stay valid); rotate: a new token, the others
    revoked; revoke: every token revoked. Returns the new token (to show once) or None."""
    comp = _compressor(session, actor, compressor_id)
    if op not in TOKEN_OPS:
        raise AccountError("Unknown token operation.")
    token: str | None = None
    if op == "issue":
        token = issue_token(session, comp)
    elif op == "rotate":
        token = rotate_token(session, comp)
    else:
        revoked = revoke_tokens(session, comp)
        record_audit(session, actor, "token.revoke", comp.name, {"id": comp.id,
                                                                  "revoked": revoked})
        session.flush()
        return None
    record_audit(session, actor, f"token.{op}", comp.name, {"id": comp.id})
    session.flush()
    return token
