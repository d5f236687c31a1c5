"""Engine and sessions. One engine per app, one session per request (kept in ``g``),
closed at teardown. Background jobs use ``session_scope(app)``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from dashboard.core.sealed import attach_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, connect_timeout: int = 10, statement_timeout_ms: int = 60000
                ) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the health page read while the simulator writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # A database that does not answer fails a request in seconds rather than hanging a
    # worker; a runaway query is cancelled by the server (0 disables either).
    options = f"-c statement_timeout={int(statement_timeout_ms)}"
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                            connect_args={"connect_timeout": int(connect_timeout),
                                          "options": options})


def init_db(app: Flask, url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, app.config.get("DB_CONNECT_TIMEOUT", 10),
                         app.config.get("DB_STATEMENT_TIMEOUT_MS", 60000))
    app.extensions["sc_engine"] = engine
    attach_key(engine, app.config["SECRET_KEY"])  # sealed columns (Kakao tokens)
    from dashboard.core.events import hub_for

    hub = hub_for(url, app.config.get("EVENTS_BACKEND", "auto") or "auto")
    app.extensions["sc_events"] = hub
    # Every session carries the hub: events it publishes go out when it commits.
    app.extensions["sc_sessionmaker"] = sessionmaker(engine, expire_on_commit=False,
                                                     info={"sc_hub": hub})

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("sc_session", None)
        if session is not None:
            session.close()


def ingest_engine(app: Flask) -> sa.Engine:
    """PostgreSQL connections for the device hot path: autocommit (a batch is one
    statement, its own transaction: no BEGIN/COMMIT round trips) and no ping on
    checkout (a dead connection fails the call with 503 and is replaced)."""
    url = app.config["SQLALCHEMY_URL"]
    with _INGEST_LOCK:  # one pool per process and database, whatever the app objects
        engine = _INGEST_ENGINES.get(url)
        if engine is None:
            # Mostly a fixed pool: under a burst, calls wait their turn for a connection
            # rather than each open (and close) a server backend, which costs more than
            # the call; a wait past pool_timeout answers 503 (ingestion/api.py).
            engine = sa.create_engine(url, pool_size=10, max_overflow=5, pool_timeout=15,
                                      isolation_level="AUTOCOMMIT", pool_pre_ping=False)
            _INGEST_ENGINES[url] = engine
    return engine


_INGEST_ENGINES: dict[str, sa.Engine] = {}
_INGEST_LOCK = threading.Lock()


def events_hub(app: Flask | None = None):
    """The process's event hub for this app's database (dashboard.core.events)."""
    return (app or current_app).extensions["sc_events"]


def engine_for(app: Flask) -> sa.Engine:
    return app.extensions["sc_engine"]


def db_session() -> Session:
    """The current request's (or app context's) session."""
    if "sc_session" not in g:
        g.sc_session = current_app.extensions["sc_sessionmaker"]()
    return g.sc_session


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session for background work, committed on success, rolled back on error."""
    session: Session = app.extensions["sc_sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
