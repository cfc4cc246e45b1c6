"""The `schema_migrations` table: create it, read it, record one applied version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from releaseops.dburl import mask
from releaseops.errors import ConnectionLost, ForeignMigrationTable, MigrationError

TABLE = "schema_migrations"
# The columns the checklist's psql queries and every consumer rely on come first; the rest
# is forensics: who applied it, how, and the exact text (so a later edit can be shown as a diff).
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version      text PRIMARY KEY,
    checksum     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    file_name    text,
    execution_ms integer,
    applied_by   text NOT NULL DEFAULT current_user,
    mode         text NOT NULL DEFAULT 'transaction',
    content      text
)
"""
OPTIONAL_COLUMNS = ("file_name", "execution_ms", "applied_by", "mode", "content")
REQUIRED_COLUMNS = ("version", "checksum", "applied_at")
# SQLSTATEs of a session the server ended: admin_shutdown, crash_shutdown, cannot_connect_now;
# class 08 is "connection exception". psycopg gives None when the socket just closed.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}


@dataclass(frozen=True)
class AppliedRow:
    """One row of schema_migrations."""

    version: str
    checksum: str
    applied_at: datetime | None
    file_name: str | None = None
    execution_ms: int | None = None
    applied_by: str | None = None
    mode: str | None = None
    content: str | None = None


def exists(conn: psycopg.Connection[Any]) -> bool:
    """True when schema_migrations is visible on the search_path."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()
    return bool(row and row[0])


def columns(conn: psycopg.Connection[Any]) -> set[str]:
    """Column names of the visible schema_migrations table."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped",
        (TABLE,),
    ).fetchall()
    return {r[0] for r in rows}


def is_connection_loss(exc: BaseException, conn: psycopg.Connection[Any] | None = None) -> bool:
    """True when `exc` (raised while using `conn`) means the connection to the server is gone."""
    if conn is not None and conn.closed and isinstance(exc, psycopg.Error):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _SESSION_ENDED


@contextmanager
def database_errors(action: str) -> Iterator[None]:
    """Turn a stray psycopg error into a MigrationError naming `action`, password masked.

    A connection that broke becomes ConnectionLost (exit code 3), not a migration error.
    """
    try:
        yield
    except psycopg.Error as exc:
        message = mask(str(exc).strip()) or type(exc).__name__
        if is_connection_loss(exc):
            raise ConnectionLost.during(f"{action}: {message}") from exc
        raise MigrationError(f"{action} failed: {message} [SQLSTATE {exc.sqlstate}]") from exc


def refuse_foreign(conn: psycopg.Connection[Any]) -> None:
    """Refuse a schema_migrations that another tool made (it lacks our required columns)."""
    if not exists(conn):
        return
    have = columns(conn)
    missing = [c for c in REQUIRED_COLUMNS if c not in have]
    if missing:
        raise ForeignMigrationTable.found(sorted(have), missing)


def ensure(conn: psycopg.Connection[Any]) -> None:
    """Create the table on first run; add forensics columns an older table lacks.

    A table made by another tool (dbmate's has only `version`) is refused, never changed.
    """
    refuse_foreign(conn)
    have = columns(conn) if exists(conn) else set()
    if all(c in have for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)):
        return  # nothing to write, so a rerun also works on a read-only database
    conn.execute(CREATE_TABLE)
    have = columns(conn)
    extra = {
        "file_name": "text",
        "execution_ms": "integer",
        "applied_by": "text",
        "mode": "text",
        "content": "text",
    }
    for column in OPTIONAL_COLUMNS:
        if column not in have:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    sql.Identifier(TABLE), sql.Identifier(column), sql.SQL(extra[column])
                )
            )


def read(conn: psycopg.Connection[Any]) -> dict[str, AppliedRow]:
    """Every recorded version (empty when the table does not exist yet); never writes.

    A table made by another tool raises ForeignMigrationTable (one line, exit code 11).
    """
    if not exists(conn):
        return {}
    refuse_foreign(conn)
    have = columns(conn)
    wanted = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in have]
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in wanted), sql.Identifier(TABLE)
    )
    rows: dict[str, AppliedRow] = {}
    for values in conn.execute(query).fetchall():
        data = dict(zip(wanted, values, strict=True))
        data["version"] = str(data["version"])
        data["checksum"] = str(data["checksum"])
        rows[data["version"]] = AppliedRow(**data)
    return rows


def record(
    conn: psycopg.Connection[Any],
    *,
    version: str,
    checksum: str,
    file_name: str,
    execution_ms: int | None,
    mode: str,
    content: str | None,
) -> None:
    """Insert the row for one applied (or baselined) version."""
    conn.execute(
        "INSERT INTO schema_migrations "
        "(version, checksum, file_name, execution_ms, mode, content) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (version, checksum, file_name, execution_ms, mode, content),
    )
