"""A benchmark's own PostgreSQL database, dropped and created anew, then migrated."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def fresh_database(url: str) -> str:
    """Drop and re-create the database ``url`` names (only ``bench_*`` ones, or a
    test database's ``test_*_x`` siblings), migrate it to head and return ``url``."""
    name = make_url(url).database or ""
    if not (name.startswith("bench_") or (name.startswith("test_") and name.count("_") >= 2)):
        raise SystemExit(f"refusing to drop {name!r}: benchmarks use bench_* databases only")
    admin = make_url(url).set(database="postgres")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    from dashboard.core.migrations import upgrade

    upgrade(url)
    return url
