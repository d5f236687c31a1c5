"""Operations commands: backup, restore, migrate-to-postgres."""

from __future__ import annotations

import click
from flask import Flask, current_app

from dashboard.core.blobs import audio_store
from dashboard.core.database import engine_for


def register(server: Flask) -> None:
    @server.cli.command("backup")
    @click.option("--to", "to", required=True,
                  help="a folder, or s3://bucket/prefix (S3_ENDPOINT_URL and AWS_* apply)")
    @click.option("--keep", type=click.IntRange(min=1), default=None,
                  help="keep only the newest N archives there")
    def backup_command(to: str, keep: int | None) -> None:
        """Back up the database, clips, firmware and model artifacts into one
        timestamped archive with a SHA-256 manifest; its path is the last line."""
        from dashboard.operations.backup import BackupError, backup

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            result = backup(app.config["SQLALCHEMY_URL"], engine_for(app), audio_store(app),
                            to, keep=keep, endpoint_url=app.config.get("S3_ENDPOINT_URL"),
                            progress=lambda m: click.echo(m, err=True))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        rows = sum(result.manifest["database"]["row_counts"].values())
        blobs = sum(1 for n in result.manifest["files"] if n.startswith("blobs/"))
        click.echo(f"{rows} rows, {blobs} stored files")
        click.echo(result.location)

    @server.cli.command("restore")
    @click.argument("archive")
    @click.option("--yes", is_flag=True,
                  help="really replace this database and put the archive's files back")
    def restore_command(archive: str, yes: bool) -> None:
        """Replace the database with a backup and put its files back into the store
        (stop the app servers and workers first). The archive is checked first."""
        from dashboard.operations.backup import BackupError, restore

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if not yes:
            raise click.ClickException(
                "restore replaces everything in this database: add --yes to go ahead")
        try:
            report = restore(archive, app.config["SQLALCHEMY_URL"], engine_for(app),
                             audio_store(app), endpoint_url=app.config.get("S3_ENDPOINT_URL"),
                             progress=lambda m: click.echo(m, err=True))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"restored {sum(report.row_counts.values())} rows and {report.blobs} "
                   f"stored files from the backup of {report.manifest['created_at']} "
                   f"(revision {report.manifest['database']['revision']})")

    @server.cli.command("migrate-to-postgres")
    @click.argument("database_url")
    @click.option("--batch", type=click.IntRange(min=1), default=2000, show_default=True,
                  help="rows per transaction")
    def migrate_to_postgres(database_url: str, batch: int) -> None:
        """Copy the embedded SQLite database into PostgreSQL (migrated first), table by
        table in batches; run it again after an interruption: rows already there are
        skipped. Verified by counts. Stop the app first, then set DATABASE_URL."""
        from dashboard.operations.to_postgres import MigrationError, PostgresMigration

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            migration = PostgresMigration(engine_for(app), database_url, batch=batch)
            plans = migration.prepare()
            for plan in plans:
                with click.progressbar(length=plan.total, label=f"{plan.table.name:<22}",
                                       show_pos=True) as bar:
                    for done in migration.copy(plan):
                        bar.update(done)
            report = migration.finish(plans)
        except MigrationError as exc:
            raise click.ClickException(str(exc)) from exc
        for name, (source, target) in report.counts.items():
            if source or target:
                note = f" (+{report.copied.get(name, 0)} copied now)"
                click.echo(f"  {name:<22} {source:>10} -> {target:>10}{note}")
        if report.mismatched:
            raise click.ClickException(
                "counts differ (source, PostgreSQL): "
                + ", ".join(f"{t} {s}/{d}" for t, (s, d) in report.mismatched.items())
                + ". Rows that clash with rows already in PostgreSQL on a unique key "
                "(e.g. the same user email) are not copied: resolve them and run again.")
        total = sum(s for s, _ in report.counts.values())
        click.echo(f"verified: {total} rows in {len(report.counts)} tables match; "
                   "now set DATABASE_URL to the new database and start the app")
