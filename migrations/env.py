"""Alembic environment: the target metadata is the models' metadata; the URL is
given by dashboard.core.migrations (config attribute) or read from the environment."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from dashboard.core import models  # noqa: F401  (registers the tables)
from dashboard.core.database import Base
from dashboard.fleet.partitions import include_name

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from pathlib import Path

    from dashboard.core.config import Settings

    settings = Settings.from_env()
    instance = Path(settings.INSTANCE_PATH or Path(__file__).resolve().parents[1] / "instance")
    return settings.database_url(instance)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
