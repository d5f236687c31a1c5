"""Organisations, sites, compressors and users: the provisioning operations the CLI,
the demo and (later) the settings page share."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.accounts.auth import hash_password
from dashboard.core.models import ROLES, Compressor, Organization, Site, User, utcnow

MIN_PASSWORD_LENGTH = 10


class ProvisioningError(ValueError):
    pass


def get_or_create_org(session: Session, name: str) -> Organization:
    name = name.strip()
    if not name:
        raise ProvisioningError("organisation name is empty")
    org = session.scalar(sa.select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    return org


def get_or_create_site(session: Session, org: Organization, name: str) -> Site:
    name = name.strip()
    if not name:
        raise ProvisioningError("site name is empty")
    site = session.scalar(sa.select(Site).where(Site.org_id == org.id, Site.name == name))
    if site is None:
        site = Site(org_id=org.id, name=name)
        session.add(site)
        session.flush()
    return site


def add_compressor(session: Session, site: Site, name: str,
                   kind: str = "refrigeration") -> Compressor:
    name = name.strip()
    if not name:
        raise ProvisioningError("compressor name is empty")
    exists = session.scalar(
        sa.select(Compressor).where(Compressor.site_id == site.id, Compressor.name == name)
    )
    if exists is not None:
        raise ProvisioningError(f"site {site.name!r} already has a compressor named {name!r}")
    compressor = Compressor(org_id=site.org_id, site_id=site.id, name=name, kind=kind,
                            status="learning", last_metrics={})
    session.add(compressor)
    session.flush()
    return compressor


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ProvisioningError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def upsert_user(session: Session, org: Organization, email: str, password: str,
                role: str = "viewer", name: str = "") -> User:
    """Create the user, or update the password, role and organisation of an existing one."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise ProvisioningError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise ProvisioningError(f"role must be one of {', '.join(ROLES)}")
    check_password_strength(password)
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, org_id=org.id, name=name or email.split("@")[0],
                    email_verified_at=utcnow(), terms_accepted_at=utcnow(),
                    privacy_accepted_at=utcnow())
        session.add(user)
    else:
        user.session_version = (user.session_version or 1) + 1  # old sessions end
    user.org_id = org.id
    user.password_hash = hash_password(password)
    user.role = role
    user.active = True
    user.pending = False
    session.flush()
    return user
