"""Backup manifests: the sidecar JSON next to each dump, and the database facts it records.

Since manifest version 2 a manifest also carries the dump's own fingerprint (read in the very
snapshot pg_dump dumps), the snapshot's time and the server's identity (`system_identifier`,
`server_version`), so a restore can later be proven equal to what was dumped, on the server it
came from. Version 1 manifests are still read: their new fields are None.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

from releaseops.backup import fingerprint
from releaseops.backup.fingerprint import Fingerprint
from releaseops.backup.safefiles import SafeDir
from releaseops.dburl import DatabaseUrl, mask
from releaseops.errors import BackupFailed, FingerprintError

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_VERSION = 2
MIGRATIONS_TABLE = "schema_migrations"
BACKUP_WORKERS = 1
CANCEL_INTERVAL_S = 0.2

# Ordinary and partitioned tables outside the system schemas; partition parents hold no rows of
# their own, so only leaves ('r') are counted.
_TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
# schema_migrations on the search path; with an empty one (a fingerprint session), the only
# table of that name in a user schema, public first.
_MIGRATIONS_TABLE_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = coalesce(to_regclass(%s), (
    SELECT c2.oid FROM pg_class c2 JOIN pg_namespace n2 ON n2.oid = c2.relnamespace
    WHERE c2.relname = %s AND c2.relkind IN ('r', 'p')
      AND n2.nspname !~ '^pg_' AND n2.nspname <> 'information_schema'
    ORDER BY n2.nspname <> 'public', n2.nspname LIMIT 1))
"""


@dataclass(frozen=True)
class Manifest:
    """What a backup recorded about itself and about the database at the moment it was taken."""

    file: str
    format: str
    sha256: str
    size: int
    dbname: str
    server: str
    server_version: str
    pg_dump_version: str
    compress: int | None
    started_at: str
    finished_at: str
    migrations_present: bool
    migrations: list[dict[str, str | None]]
    row_counts: dict[str, int]
    files: dict[str, str] = field(default_factory=dict)
    read_through_passed: bool = False
    toc_entries: int = 0
    manifest_version: int = MANIFEST_VERSION
    # Version 2: when the snapshot was taken, which server it came from, and what it held.
    snapshot_at: str | None = None
    system_identifier: str | None = None
    system_identifier_note: str | None = None
    fingerprint: dict[str, Any] | None = None

    @property
    def server_major(self) -> int:
        """The major version of the server the dump was taken from."""
        head = self.server_version.split()[0] if self.server_version else "0"
        return int(head.split(".")[0]) if head.split(".")[0].isdigit() else 0

    @property
    def created_at(self) -> datetime:
        """The start of the dump (the moment its snapshot was taken), timezone-aware UTC."""
        return datetime.fromisoformat(self.started_at)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, as written to the sidecar file."""
        data = asdict(self)
        if not self.migrations_present:
            data["migrations_note"] = f"no {MIGRATIONS_TABLE} table in the database at backup time"
        return data

    def dump_fingerprint(self) -> Fingerprint | None:
        """The fingerprint of the dumped snapshot; None in a manifest older than version 2."""
        if self.fingerprint is None:
            return None
        return Fingerprint.from_dict(self.fingerprint, source=f"the manifest of {self.file}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Rebuild from sidecar data; unknown keys are ignored, missing ones raise KeyError."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def sidecar(dump: Path) -> Path:
    """The manifest path that belongs to `dump` (file or directory)."""
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


def load(dump: Path) -> Manifest:
    """Read the manifest of `dump`; OSError, ValueError or KeyError when absent or malformed."""
    data = json.loads(sidecar(dump).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the manifest is not a JSON object")
    return Manifest.from_dict(data)


def write(dump: Path, manifest: Manifest, *, directory: SafeDir | None = None) -> Path:
    """Write the sidecar atomically (held temporary, fsync, rename), readable by the owner only.

    Files are created relative to `directory` (the dump's, opened and checked by the caller),
    or to the dump's parent, opened here and refused if others can write into it.
    """
    final = sidecar(dump)
    data = (json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n").encode()
    if directory is not None:
        return directory.write_atomically(final.name, data)
    with SafeDir.open(final.parent) as opened:
        return opened.write_atomically(final.name, data)


def tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """User tables as (schema, name), sorted; extension-owned tables are left out."""
    return [(str(s), str(n)) for s, n in conn.execute(_TABLES_SQL).fetchall()]


def qualified(schema: str, name: str) -> str:
    """The `schema.table` key used in manifests and comparisons."""
    return f"{schema}.{name}"


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Exact row count of every user table, keyed `schema.table`."""
    counts: dict[str, int] = {}
    for schema, name in tables(conn):
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
        row = conn.execute(query).fetchone()
        counts[qualified(schema, name)] = int(row[0]) if row else 0
    return counts


def migrations(conn: psycopg.Connection[Any]) -> list[dict[str, str | None]] | None:
    """The schema_migrations rows (version, checksum) by version; None when the table is absent."""
    found = conn.execute(_MIGRATIONS_TABLE_SQL, (MIGRATIONS_TABLE, MIGRATIONS_TABLE)).fetchone()
    if found is None or found[0] is None:
        return None
    rows = conn.execute(
        sql.SQL("SELECT version::text, checksum::text FROM {} ORDER BY version").format(
            sql.Identifier(str(found[0]), str(found[1]))
        )
    ).fetchall()
    return [{"version": v, "checksum": c} for v, c in rows]


@dataclass(frozen=True)
class Facts:
    """What was read inside the exported snapshot while pg_dump dumped it."""

    migrations: list[dict[str, str | None]] | None
    fingerprint: Fingerprint
    snapshot_at: str
    system_identifier: str | None
    system_identifier_note: str | None

    @property
    def row_counts(self) -> dict[str, int]:
        """Exact row count of every table, from the fingerprint's count of the same snapshot."""
        return self.fingerprint.row_counts()


class Snapshot:
    """An exported snapshot: pg_dump dumps exactly what the manifest's fingerprint describes.

    The facts (schema_migrations rows, server identity, the fingerprint with every table's row
    count and digest) are read in a thread inside the exporting transaction while pg_dump runs,
    under the fingerprint's pinned settings.
    """

    def __init__(self, url: DatabaseUrl, *, workers: int = BACKUP_WORKERS) -> None:
        self.url = url
        self.workers = workers
        self.snapshot_id = ""
        self.snapshot_at = ""
        self.server_version = ""
        self.server_major = 0
        self._conn: psycopg.Connection[Any] | None = None
        self._thread: threading.Thread | None = None
        self._facts: Facts | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Snapshot:
        conn = fingerprint.connect(self.url)
        self._conn = conn
        try:
            row = conn.execute("SELECT pg_export_snapshot(), statement_timestamp()").fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise BackupFailed(
                f"backup not taken: {self.url.masked()} refused to export a snapshot: "
                f"{mask(str(exc)).strip()}"
            ) from exc
        assert row is not None
        self.snapshot_id = str(row[0])
        self.snapshot_at = row[1].astimezone(UTC).isoformat()
        self.server_version = str(conn.info.parameter_status("server_version") or "")
        self.server_major = conn.info.server_version // 10000
        self._thread = threading.Thread(target=self._collect, name="backup-facts", daemon=True)
        self._thread.start()
        return self

    def _collect(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            # A savepoint: a failing query here must not abort the transaction whose snapshot
            # pg_dump is importing (pg_dump then reports the real cause itself).
            with conn.transaction():
                rows = migrations(conn)
                identifier, note = system_identifier(conn)
                found = fingerprint.read(
                    conn,
                    self.url,
                    fingerprint.Options(),
                    snapshot=self.snapshot_id,
                    workers=self.workers,
                )
            self._facts = Facts(rows, found, self.snapshot_at, identifier, note)
        except BaseException as exc:  # re-raised in the caller's thread by facts()
            self._error = exc

    def facts(self) -> Facts:
        """Wait for the facts read in the snapshot."""
        assert self._thread is not None
        self._thread.join()
        if isinstance(self._error, psycopg.Error | FingerprintError):
            raise BackupFailed(
                f"backup not taken: reading schema_migrations and the fingerprint of "
                f"{self.url.masked()} failed: {mask(str(self._error)).strip()}"
            ) from self._error
        if self._error is not None:
            raise self._error
        assert self._facts is not None
        return self._facts

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is None:
            return
        if exc_type is not None and self._thread is not None:
            # Failing or interrupted: a query waiting on a lock must not hold us up. A cancel
            # that lands between two queries is lost, so cancel until the thread has ended.
            while self._thread.is_alive():
                with contextlib.suppress(psycopg.Error):
                    self._conn.cancel()
                self._thread.join(timeout=CANCEL_INTERVAL_S)
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(psycopg.Error):
            self._conn.rollback()
        self._conn.close()


def system_identifier(conn: psycopg.Connection[Any]) -> tuple[str | None, str | None]:
    """The cluster's system_identifier (pg_control_system), or None and why it is missing."""
    try:
        with conn.transaction():
            row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
    except psycopg.errors.InsufficientPrivilege as exc:
        return None, (
            f"system_identifier not recorded: the backup role may not call pg_control_system() "
            f"({mask(str(exc)).strip()}); GRANT EXECUTE ON FUNCTION pg_control_system() to it "
            f"so rollbacks can prove the dump came from this server"
        )
    return (str(row[0]) if row else None), None
