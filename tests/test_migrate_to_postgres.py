"""migrate-to-postgres: a demo installation on SQLite with two months of history moves
into a migrated PostgreSQL with every row, its readings in their month partitions,
sequences past the copied ids; an interrupted run is finished by running it again;
the copied device tokens and logins keep working on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.accounts.audit import record_audit
from dashboard.accounts.provisioning import get_or_create_org, upsert_user
from dashboard.core.database import engine_for, session_scope
from dashboard.core.migrations import upgrade
from dashboard.core.models import Alert, ModelVersion, Organization, Reading, User
from dashboard.operations.backup import row_counts
from tests.conftest import PASSWORD, World, _make_app
from tests.factories import add_diagnoses, add_readings, add_recording
from tests.test_backup import _side_database


@pytest.fixture(scope="module")
def _demo_template(tmp_path_factory):
    """One seeded demo installation with extra history, built once; each test gets a
    copy of its folder (database and clip store) to move."""
    folder = tmp_path_factory.mktemp("demo-template")
    server, world = _build_demo_with_history(folder)
    counts = server.config["_DEMO_COUNTS"]
    engine_for(server).dispose()
    return folder, world, counts


@pytest.fixture
def demo_with_history(_demo_template, tmp_path):
    folder, world, counts = _demo_template
    copy = tmp_path / "installation"
    shutil.copytree(folder, copy)
    server = _make_app(copy, f"sqlite:///{copy / 'embedded.db'}").server
    server.config["_DEMO_COUNTS"] = counts
    return server, world


def _build_demo_with_history(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    upgrade(url)
    server = _make_app(tmp_path, url).server
    assert server.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    world = World(server)
    server.config["_DEMO_COUNTS"] = row_counts(engine_for(server))  # the demo's own history
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with session_scope(server) as session:
        comp = world.compressors["A"][0]
        org = world.org_ids["A"]
        add_readings(session, comp, now - dt.timedelta(days=45), 2500, step_s=1500)
        add_diagnoses(session, comp, org, now, 300)
        for seq in range(3):
            add_recording(server, session, comp, now - dt.timedelta(minutes=seq), seq=seq)
        session.add(ModelVersion(name="demo", artifact_path="models/demo.joblib", active=True))
        session.add(Alert(org_id=org, compressor_id=comp, severity="warning", title="Hot"))
        user = session.scalar(sa.select(User).where(User.email == world.users["A-admin"]))
        for n in range(5):
            record_audit(session, user, "settings.changed", target=f"thing {n}")
    return server, world


def _migrate(server, target: str, *extra: str):
    return server.test_cli_runner().invoke(
        args=["migrate-to-postgres", target, "--batch", "500", *extra])


def test_demo_database_with_history_moves_into_postgres_completely(tmp_path,
                                                                  demo_with_history):
    server, world = demo_with_history
    target = _side_database("migrate")
    source_counts = row_counts(engine_for(server))
    demo = server.config["_DEMO_COUNTS"]
    assert demo["reading"] > 1000  # seed-demo's 30 days of history are part of the copy
    assert source_counts["reading"] - demo["reading"] == 2500
    assert source_counts["diagnosis"] - demo["diagnosis"] == 300

    result = _migrate(server, target)
    assert result.exit_code == 0, result.output
    assert "verified" in result.output.strip().splitlines()[-1]
    pg = sa.create_engine(target)
    assert row_counts(pg) == source_counts
    with pg.connect() as conn:
        # Every reading sits in its month's partition, none in the default one.
        assert conn.execute(sa.text("SELECT count(*) FROM reading_default")).scalar() == 0
        months = conn.execute(sa.text(
            "SELECT count(DISTINCT tableoid) FROM reading")).scalar()
        assert months >= 2
        # Timestamps keep their instant (UTC) across the move.
        src_first = engine_for(server).connect().execute(
            sa.select(sa.func.min(Reading.ts))).scalar()
        assert conn.execute(sa.select(sa.func.min(Reading.ts))).scalar() == src_first

    # The same data served from PostgreSQL: logins, device tokens, new ids.
    pg_app = _make_app(tmp_path / "pg", target).server
    client = pg_app.test_client()
    world.login(client, "A-admin")
    comp = world.compressors["B"][0]
    resp = client.post("/api/esp32/data", json={"seq": 1, "metrics": {"current_a": 3.0}},
                       headers={"Authorization": f"Bearer {world.tokens[comp]}"})
    assert resp.status_code == 201, resp.data
    with session_scope(pg_app) as session:
        session.add(Organization(name="Created after the move"))  # the sequence moved on
    engine_for(pg_app).dispose()
    pg.dispose()


def test_an_interrupted_migration_is_finished_by_running_it_again(demo_with_history):
    server, world = demo_with_history
    target = _side_database("migrate")
    assert _migrate(server, target).exit_code == 0
    pg = sa.create_engine(target)
    # As if the first run had stopped part-way through the readings and everything after.
    with pg.begin() as conn:
        conn.execute(sa.text("DELETE FROM reading WHERE compressor_id = :c AND seq >= 1000"),
                     {"c": world.compressors["A"][0]})
        conn.execute(sa.text("DELETE FROM audit_log"))
    result = _migrate(server, target)
    assert result.exit_code == 0, result.output
    assert "reading" in result.output and "+1500 copied now" in result.output
    assert row_counts(pg) == row_counts(engine_for(server))
    pg.dispose()


def test_refuses_a_target_that_is_not_postgres_and_a_source_that_is(tmp_path, pg_dash_app,
                                                                   demo_with_history):
    server, world = demo_with_history
    result = _migrate(server, f"sqlite:///{tmp_path / 'other.db'}")
    assert result.exit_code != 0 and "postgresql://" in result.output
    result = pg_dash_app.server.test_cli_runner().invoke(
        args=["migrate-to-postgres", "postgresql://postgres@127.0.0.1/x"])
    assert result.exit_code != 0 and "nothing to migrate" in result.output


def test_a_postgres_holding_another_installations_data_is_refused(demo_with_history):
    server, world = demo_with_history
    target = _side_database("migrate")
    pg = sa.create_engine(target)
    with Session(pg) as session, session.begin():
        org = get_or_create_org(session, "Elsewhere")
        upsert_user(session, org, world.users["A-viewer"], PASSWORD)
    result = _migrate(server, target)
    assert result.exit_code != 0 and "already holds other data" in result.output, result.output
    with pg.connect() as conn:  # nothing was mixed in
        assert conn.execute(sa.text("SELECT count(*) FROM compressor")).scalar() == 0
    pg.dispose()
