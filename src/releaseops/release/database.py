"""The target database as a resource the checks ask: who it is, its migrations, its schema head."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DatabaseUnreachable
from releaseops.migrations import files
from releaseops.pg import identity
from releaseops.pg.identity import ServerIdentity

_NEWEST = "SELECT version::text, applied_at FROM schema_migrations ORDER BY applied_at DESC LIMIT 1"


@dataclass(frozen=True)
class AppliedMigration:
    """The newest row of schema_migrations."""

    version: str
    applied_at: datetime


def schema_head(directory: Path) -> str | None:
    """The newest migration version of a directory of NNNN_name.sql files (the code's schema)."""
    found = files.discover(directory)
    return max((m.version for m in found), key=files.version_key, default=None)


class Database:
    """The database at `url`, asked directly (never through a service)."""

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url

    def identity(self) -> ServerIdentity:
        """Server system identifier, version and database name, as the server says."""
        return identity.probe(self.url)

    def newest_migration(self) -> AppliedMigration | None:
        """The most recently applied migration; None when schema_migrations is absent or empty."""
        try:
            with self.url.connect() as conn:
                if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
                    return None
                row = conn.execute(_NEWEST).fetchone()
        except psycopg.Error as exc:
            raise DatabaseUnreachable(
                f"cannot read schema_migrations on {self.url.masked()}: "
                f"{dburl.mask(str(exc)).strip()}"
            ) from None
        return AppliedMigration(str(row[0]), row[1]) if row else None
