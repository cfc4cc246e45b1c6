"""Backup manifests: the sidecar JSON next to each dump, and the database facts it records."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

from releaseops.dburl import DatabaseUrl, mask
from releaseops.errors import BackupFailed

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_VERSION = 1
MIGRATIONS_TABLE = "schema_migrations"

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


def write(dump: Path, manifest: Manifest) -> Path:
    """Write the sidecar atomically (temporary name, fsync, rename), readable by the owner only."""
    final = sidecar(dump)
    temp = final.with_name(f".{final.name}.partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(manifest.as_dict(), out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return final


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
    row = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
    if row is None or row[0] is None:
        return None
    rows = conn.execute(
        sql.SQL("SELECT version::text, checksum::text FROM {} ORDER BY version").format(
            sql.Identifier(MIGRATIONS_TABLE)
        )
    ).fetchall()
    return [{"version": v, "checksum": c} for v, c in rows]


Facts = tuple[list[dict[str, str | None]] | None, dict[str, int]]


class Snapshot:
    """An exported snapshot: pg_dump dumps exactly what the manifest's counts describe.

    The facts (schema_migrations rows, row counts) are read in a thread inside the exporting
    transaction while pg_dump runs, so they cost no extra wall time on a two-core machine.
    """

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self.snapshot_id = ""
        self.server_version = ""
        self.server_major = 0
        self._conn: psycopg.Connection[Any] | None = None
        self._thread: threading.Thread | None = None
        self._facts: Facts | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Snapshot:
        conn = self.url.connect()
        self._conn = conn
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise BackupFailed(
                f"backup not taken: {self.url.masked()} refused to export a snapshot: "
                f"{mask(str(exc)).strip()}"
            ) from exc
        assert row is not None
        self.snapshot_id = str(row[0])
        self.server_version = str(conn.info.parameter_status("server_version") or "")
        self.server_major = conn.info.server_version // 10000
        self._thread = threading.Thread(target=self._collect, name="backup-facts", daemon=True)
        self._thread.start()
        return self

    def _collect(self) -> None:
        assert self._conn is not None
        try:
            # A savepoint: a failing query here must not abort the transaction whose snapshot
            # pg_dump is importing (pg_dump then reports the real cause itself).
            with self._conn.transaction():
                self._facts = (migrations(self._conn), row_counts(self._conn))
        except BaseException as exc:  # re-raised in the caller's thread by facts()
            self._error = exc

    def facts(self) -> Facts:
        """Wait for the facts read in the snapshot: (schema_migrations rows or None, counts)."""
        assert self._thread is not None
        self._thread.join()
        if isinstance(self._error, psycopg.Error):
            raise BackupFailed(
                f"backup not taken: reading schema_migrations and row counts from "
                f"{self.url.masked()} failed: {mask(str(self._error)).strip()}. The backup role "
                f"needs SELECT on every table it dumps."
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
        if exc_type is not None and self._thread is not None and self._thread.is_alive():
            # Failing or interrupted: a count(*) waiting on a lock must not hold us up.
            with contextlib.suppress(psycopg.Error):
                self._conn.cancel()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(psycopg.Error):
            self._conn.rollback()
        self._conn.close()
