"""Running SignalCraft: backups and restores, moving an embedded database into
PostgreSQL, and the platform operator's view across organisations."""
