"""Backup and restore: a populated database (PostgreSQL with its month partitions, and
SQLite) and clip store are backed up, wiped, restored, and compared row for row
count and file for file checksum; damage is refused before anything is touched."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import sqlalchemy as sa

from dashboard.core.blobs import audio_store
from dashboard.core.database import engine_for, session_scope
from dashboard.core.migrations import upgrade
from dashboard.core.models import Compressor
from dashboard.operations.backup import row_counts
from tests import test_ingest_audio
from tests.conftest import TEST_DATABASE_URL, World, _make_app, create_database_if_missing, missing
from tests.factories import add_diagnosis, add_readings, add_recording

moto_s3 = test_ingest_audio.moto_s3  # the fixture: a moto S3 server on 127.0.0.1


def _side_database(suffix: str) -> str:
    """A database of its own beside TEST_DATABASE_URL (a restore replaces its schema)."""
    url = sa.engine.make_url(TEST_DATABASE_URL)
    name = f"{url.database}_{suffix}"
    out = url.set(database=name).render_as_string(hide_password=False)
    try:
        create_database_if_missing(out)
    except sa.exc.OperationalError as exc:
        missing(f"PostgreSQL not reachable at {TEST_DATABASE_URL}: {exc.__class__.__name__}")
    engine = sa.create_engine(out)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    upgrade(out)
    return out


def _populate(server) -> None:
    world = World(server)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with session_scope(server) as session:
        comp_id = world.compressors["A"][0]
        # Two months of readings: on PostgreSQL they land in different partitions.
        add_readings(session, comp_id, now - dt.timedelta(days=40), 300, step_s=3600 * 3)
        for seq in range(3):
            rec = add_recording(server, session, comp_id, now - dt.timedelta(minutes=seq),
                                seq=seq)
            add_diagnosis(session, comp_id, rec.ts, recording_id=rec.id)
    audio_store(server).put("models/20261201-demo.joblib", b"model bytes " * 100)


def _store_checksums(server) -> dict[str, str]:
    store = audio_store(server)
    return {k: hashlib.sha256(store.get(k)).hexdigest() for k in store.keys()}


def _backup(server, folder: Path, *extra: str) -> Path:
    result = server.test_cli_runner().invoke(args=["backup", "--to", str(folder), *extra])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.is_file() and path.parent == folder
    return path


def _restore(server, archive: Path):
    return server.test_cli_runner().invoke(args=["restore", str(archive), "--yes"])


def _wipe_store(server) -> None:
    shutil.rmtree(audio_store(server).root)


def test_postgres_backup_wipe_restore_gives_back_every_row_and_file(tmp_path):
    url = _side_database("backup")
    server = _make_app(tmp_path, url).server
    _populate(server)
    engine = engine_for(server)
    counts = row_counts(engine)
    assert counts["reading"] == 300 and counts["recording"] == 3 and counts["diagnosis"] == 3
    checksums = _store_checksums(server)
    assert len(checksums) == 4

    archive = _backup(server, tmp_path / "backups")
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    assert manifest["database"]["kind"] == "postgresql"
    assert manifest["database"]["revision"] is not None
    assert manifest["database"]["row_counts"] == counts
    assert (archive.parent / f"{archive.name}.sha256").read_text().split()[0] == \
        hashlib.sha256(archive.read_bytes()).hexdigest()

    # Wipe: no tables, no clips.
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    _wipe_store(server)
    assert _store_checksums(server) == {}

    result = _restore(server, archive)
    assert result.exit_code == 0, result.output
    assert row_counts(engine) == counts
    assert _store_checksums(server) == checksums
    with engine.connect() as conn:
        # The month partitions and the server-side ingest function came back too.
        parts = conn.execute(sa.text(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
            "WHERE c.relname = 'reading'")).scalar()
        assert parts >= 3
        assert conn.execute(sa.text(
            "SELECT count(*) FROM pg_proc WHERE proname = 'sc_ingest_readings'")).scalar() == 1
    # The restored app still takes device data.
    with session_scope(server) as session:
        comp = session.scalars(sa.select(Compressor)).first()
        assert comp is not None
    engine.dispose()


def test_sqlite_backup_wipe_restore_gives_back_every_row_and_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade(url)
    server = _make_app(tmp_path, url).server
    _populate(server)
    engine = engine_for(server)
    counts = row_counts(engine)
    checksums = _store_checksums(server)

    archive = _backup(server, tmp_path / "backups")
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    assert manifest["database"]["member"] == "database.sqlite3"

    engine.dispose()
    (tmp_path / "live.db").unlink()
    for side in tmp_path.glob("live.db-*"):
        side.unlink()
    _wipe_store(server)

    result = _restore(server, archive)
    assert result.exit_code == 0, result.output
    assert row_counts(engine) == counts
    assert _store_checksums(server) == checksums


def test_keep_leaves_only_the_newest_archives(app, tmp_path, monkeypatch):
    import dashboard.operations.backup as backup

    stamps = iter(dt.datetime(2026, 12, 1, h, tzinfo=dt.UTC) for h in range(4))
    real = backup.create_archive
    monkeypatch.setattr(backup, "create_archive",
                        lambda *a, **k: real(*a, now=next(stamps), **k))
    folder = tmp_path / "backups"
    paths = [_backup(app, folder, "--keep", "2") for _ in range(4)]
    assert [p.name for p in backup.list_archives(folder)] == [p.name for p in paths[-2:]]
    assert sorted(p.name for p in folder.glob("*.sha256")) == \
        sorted(f"{p.name}.sha256" for p in paths[-2:])


def test_a_damaged_archive_is_refused_before_anything_is_replaced(app, tmp_path):
    World(app)
    archive = _backup(app, tmp_path / "backups")
    counts = row_counts(engine_for(app))
    data = bytearray(archive.read_bytes())
    data[600] ^= 0xFF  # inside the first member's contents
    archive.write_bytes(bytes(data))
    result = _restore(app, archive)
    assert result.exit_code != 0 and "damaged" in result.output
    assert row_counts(engine_for(app)) == counts


def test_restore_without_yes_changes_nothing(app, tmp_path):
    archive = _backup(app, tmp_path / "backups")
    result = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code != 0 and "--yes" in result.output


def test_backup_to_s3_and_restore_from_it(app, tmp_path, moto_s3):
    import boto3

    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket="backups")
    app.config["S3_ENDPOINT_URL"] = moto_s3
    World(app)
    counts = row_counts(engine_for(app))
    runner = app.test_cli_runner()
    locations = []
    for _ in range(2):
        result = runner.invoke(args=["backup", "--to", "s3://backups/nightly", "--keep", "1"])
        assert result.exit_code == 0, result.output
        locations.append(result.output.strip().splitlines()[-1])
    assert locations[-1].startswith("s3://backups/nightly/signalcraft-")
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=moto_s3).list_objects_v2(
        Bucket="backups")["Contents"]]
    assert len([k for k in keys if k.endswith(".tar")]) == 1
    result = runner.invoke(args=["restore", locations[-1], "--yes"])
    assert result.exit_code == 0, result.output
    assert row_counts(engine_for(app)) == counts
