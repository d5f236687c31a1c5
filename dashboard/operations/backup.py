"""Backups and restores: the database plus the blob store (clips, firmware binaries,
model artifacts) in one timestamped tar archive with a SHA-256 manifest.

PostgreSQL is dumped with ``pg_dump --format=custom`` (one consistent snapshot of
every table, partitions and the ``sc_ingest_readings`` function included); SQLite
with its online backup API, which copies a consistent image while the app writes.
The database is dumped *before* the blobs are copied: clips are written to the store
before their row, so every blob the dump refers to is already there.

Layout of ``signalcraft-YYYYmmddTHHMMSSZ.tar``::

    manifest.json          format, created_at, version, database kind and revision,
                           row counts per table, sha256 and size of every other member
    database.pgdump        (PostgreSQL) or database.sqlite3 (SQLite)
    blobs/<key>            one member per stored object

Beside it ``<archive>.sha256`` holds the archive's own checksum (``sha256sum -c``).
``--to`` may be a folder or ``s3://bucket/prefix``; retention keeps the newest N."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa

from dashboard.core.blobs import BlobStore
from dashboard.core.database import Base
from dashboard.core.version import VERSION

FORMAT = 1
PREFIX = "signalcraft-"
SUFFIX = ".tar"
MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """Something an operator must fix; the message says what."""


@dataclass
class BackupResult:
    location: str  # a path or an s3:// URL
    manifest: dict[str, Any]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for pg_dump/pg_restore (no driver suffix) and the
    environment carrying its password, so it never shows on a command line."""
    parsed = sa.engine.make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    target = parsed.set(drivername="postgresql", password=None)
    return target.render_as_string(hide_password=False), env


def row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per table of the models (the partitions of a table count with it)."""
    names = set(sa.inspect(engine).get_table_names())
    out: dict[str, int] = {}
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Counting a big table may outlast the app's statement timeout.
            conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        for table in Base.metadata.sorted_tables:
            if table.name in names:
                out[table.name] = conn.execute(
                    sa.select(sa.func.count()).select_from(table)).scalar_one()
    return out


def alembic_revision(engine: sa.Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError:
        return None


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def dump_database(url: str, out_dir: Path) -> str:
    """Write the database into ``out_dir``; returns the member's file name."""
    if url.startswith("sqlite"):
        target = out_dir / "database.sqlite3"
        src = sqlite3.connect(_sqlite_path(url))
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)  # the online backup API: a consistent copy while others write
        finally:
            dst.close()
            src.close()
        return target.name
    if not url.startswith("postgresql"):
        raise BackupError(f"cannot back up a {url.split(':', 1)[0]} database")
    target = out_dir / "database.pgdump"
    uri, env = libpq_target(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
          f"--file={target}", f"--dbname={uri}"], env)
    return target.name


def restore_database(url: str, member: Path, engine: sa.Engine) -> None:
    """Replace the database's contents with the dump (the app must be stopped)."""
    engine.dispose()
    if url.startswith("sqlite"):
        if member.name != "database.sqlite3":
            raise BackupError("this archive holds a PostgreSQL dump: restore it into "
                              "PostgreSQL (DATABASE_URL), or use migrate-to-postgres")
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(member)
        dst = sqlite3.connect(path)
        try:
            with dst:
                src.backup(dst)  # page by page into the live file, its WAL included
        finally:
            dst.close()
            src.close()
        return
    if member.name != "database.pgdump":
        raise BackupError("this archive holds an SQLite database: to move it into "
                          "PostgreSQL use `flask --app wsgi migrate-to-postgres`")
    with engine.begin() as conn:
        conn.execute(sa.text("SET lock_timeout = '10s'"))
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    uri, env = libpq_target(url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={uri}", str(member)], env)


def _run(args: list[str], env: dict[str, str]) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (apt-get install postgresql-client)")
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{args[0]} failed: {proc.stderr.strip()[-2000:]}")


def _archive_name(now: dt.datetime) -> str:
    return f"{PREFIX}{now:%Y%m%dT%H%M%S}Z{SUFFIX}"


def create_archive(url: str, engine: sa.Engine, store: BlobStore, work: Path,
                   now: dt.datetime | None = None,
                   progress: Callable[[str], None] = lambda _m: None) -> Path:
    """Build the archive in ``work`` and return its path."""
    now = now or dt.datetime.now(dt.UTC)
    staging = work / "staging"
    staging.mkdir(parents=True)
    progress("dumping the database")
    counts = row_counts(engine)
    db_member = dump_database(url, staging)
    files: dict[str, dict[str, Any]] = {
        db_member: {"sha256": sha256_file(staging / db_member),
                    "size": (staging / db_member).stat().st_size}}
    archive = work / _archive_name(now)
    with tarfile.open(archive, "w") as tar:
        tar.add(staging / db_member, arcname=db_member)
        progress("copying the blob store")
        for key in store.keys():
            data = store.get(key)
            name = f"blobs/{key}"
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
        manifest = {
            "format": FORMAT, "created_at": now.isoformat(), "version": VERSION,
            "database": {"kind": "sqlite" if url.startswith("sqlite") else "postgresql",
                         "member": db_member, "revision": alembic_revision(engine),
                         "row_counts": counts},
            "files": files,
        }
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        info.mtime = int(now.timestamp())
        tar.addfile(info, io.BytesIO(body))
    shutil.rmtree(staging)
    _write_checksum(archive)
    return archive


def _write_checksum(archive: Path) -> Path:
    side = archive.with_name(archive.name + ".sha256")
    side.write_text(f"{sha256_file(archive)}  {archive.name}\n")
    return side


def backup(url: str, engine: sa.Engine, store: BlobStore, to: str, keep: int | None = None,
           endpoint_url: str | None = None,
           progress: Callable[[str], None] = lambda _m: None) -> BackupResult:
    """Back up into a folder or ``s3://bucket/prefix``; keep the newest ``keep``."""
    if to.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="signalcraft-backup-") as tmp:
            archive = create_archive(url, engine, store, Path(tmp), progress=progress)
            manifest = read_manifest(archive)
            location = _s3(to, endpoint_url).upload(archive, keep)
            return BackupResult(location, manifest)
    folder = Path(to[len("file://"):] if to.startswith("file://") else to)
    folder.mkdir(parents=True, exist_ok=True)
    # Built in a hidden folder beside its final place, then renamed: a half-written
    # archive never carries a name that looks done, and it is never copied twice.
    with tempfile.TemporaryDirectory(prefix=".signalcraft-backup-", dir=folder) as tmp:
        archive = create_archive(url, engine, store, Path(tmp), progress=progress)
        manifest = read_manifest(archive)
        final = folder / archive.name
        os.replace(archive.with_name(archive.name + ".sha256"),
                   folder / f"{archive.name}.sha256")
        os.replace(archive, final)
    if keep:
        prune_folder(folder, keep)
    return BackupResult(str(final), manifest)


def list_archives(folder: Path) -> list[Path]:
    """The folder's archives, oldest first (their names sort by time)."""
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune_folder(folder: Path, keep: int) -> list[Path]:
    removed = []
    for old in list_archives(folder)[:-keep] if keep > 0 else []:
        old.unlink()
        old.with_name(old.name + ".sha256").unlink(missing_ok=True)
        removed.append(old)
    return removed


def read_manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r") as tar:
        try:
            member = tar.extractfile(MANIFEST)
        except KeyError as exc:
            raise BackupError(f"{archive.name} has no {MANIFEST}: not a SignalCraft backup") \
                from exc
        assert member is not None
        return json.loads(member.read())


def verify_archive(archive: Path, dest: Path) -> dict[str, Any]:
    """Unpack into ``dest`` and check every member against the manifest (and the
    archive against its ``.sha256`` when it is there). Raises BackupError."""
    side = archive.with_name(archive.name + ".sha256")
    if side.exists():
        expected = side.read_text().split()[0]
        if sha256_file(archive) != expected:
            raise BackupError(f"{archive.name} does not match its .sha256: damaged")
    manifest = read_manifest(archive)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    files = manifest["files"]
    seen: set[str] = set()
    with tarfile.open(archive, "r") as tar:
        for member in tar:
            if member.name == MANIFEST:
                continue
            if member.name not in files or not member.isfile():
                raise BackupError(f"{member.name} is in the archive but not its manifest")
            target = dest / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            digest = hashlib.sha256()
            with open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != files[member.name]["sha256"]:
                raise BackupError(f"{member.name} does not match its checksum: damaged")
            seen.add(member.name)
    absent = set(files) - seen
    if absent:
        raise BackupError(f"{len(absent)} files of the manifest are missing, e.g. "
                          f"{sorted(absent)[0]}")
    return manifest


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    blobs: int
    row_counts: dict[str, int]


def restore(archive_ref: str, url: str, engine: sa.Engine, store: BlobStore,
            endpoint_url: str | None = None,
            progress: Callable[[str], None] = lambda _m: None) -> RestoreReport:
    """Check the whole archive first, then replace the database and put every blob
    back. Blobs in the store that the archive lacks are left in place."""
    with tempfile.TemporaryDirectory(prefix="signalcraft-restore-") as tmp:
        work = Path(tmp)
        with _local_archive(archive_ref, work, endpoint_url) as archive:
            progress("checking the archive")
            unpacked = work / "unpacked"
            manifest = verify_archive(archive, unpacked)
        db = manifest["database"]
        progress("restoring the database")
        restore_database(url, unpacked / db["member"], engine)
        progress("restoring the blob store")
        blobs = 0
        for name in manifest["files"]:
            if name.startswith("blobs/"):
                store.put(name[len("blobs/"):], (unpacked / name).read_bytes())
                blobs += 1
        counts = row_counts(engine)
        expected = db["row_counts"]
        wrong = {t: (n, counts.get(t)) for t, n in expected.items() if counts.get(t) != n}
        if wrong:
            raise BackupError(f"row counts differ after the restore (expected, found): {wrong}")
        return RestoreReport(manifest, blobs, counts)


@contextmanager
def _local_archive(ref: str, work: Path, endpoint_url: str | None) -> Iterator[Path]:
    if ref.startswith("s3://"):
        yield _s3(ref.rsplit("/", 1)[0] + "/", endpoint_url).download(ref, work)
        return
    path = Path(ref)
    if not path.is_file():
        raise BackupError(f"{ref}: no such archive")
    yield path


class _S3Target:
    """Archives as objects under ``s3://bucket/prefix/`` (boto3 is a dependency)."""

    def __init__(self, url: str, endpoint_url: str | None) -> None:
        import boto3

        parsed = urlparse(url)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def upload(self, archive: Path, keep: int | None) -> str:
        key = self._key(archive.name)
        self.client.upload_file(str(archive), self.bucket, key)
        side = archive.with_name(archive.name + ".sha256")
        self.client.upload_file(str(side), self.bucket, key + ".sha256")
        if keep:
            names = sorted(self._names())
            for old in names[:-keep]:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": [
                    {"Key": self._key(old)}, {"Key": self._key(old) + ".sha256"}]})
        return f"s3://{self.bucket}/{key}"

    def _names(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                name = item["Key"][len(start):]
                if "/" not in name and name.startswith(PREFIX) and name.endswith(SUFFIX):
                    out.append(name)
        return out

    def download(self, ref: str, work: Path) -> Path:
        parsed = urlparse(ref)
        name = parsed.path.rsplit("/", 1)[-1]
        target = work / name
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(parsed.netloc, parsed.path.lstrip("/"), str(target))
        except ClientError as exc:
            raise BackupError(f"{ref}: {exc}") from exc
        try:
            self.client.download_file(parsed.netloc, parsed.path.lstrip("/") + ".sha256",
                                      str(target) + ".sha256")
        except ClientError:
            pass  # an archive without its checksum file is still checked member by member
        return target


def _s3(url: str, endpoint_url: str | None) -> _S3Target:
    return _S3Target(url, endpoint_url)
