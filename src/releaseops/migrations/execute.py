"""Run one migration file: its statements, timeouts, its schema_migrations row, its errors."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from releaseops.errors import InvalidIndexLeft, MigrationBlocked, MigrationFailed
from releaseops.migrations import history as migration_history
from releaseops.migrations.files import MigrationFile, Statement, line_of

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
INVALID_INDEXES = """
SELECT format('%I.%I', n.nspname, c.relname), format('%I.%I', tn.nspname, t.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1
"""


@dataclass(frozen=True)
class Timeouts:
    """The lock_timeout and statement_timeout a migration runs under (PostgreSQL durations)."""

    lock_timeout: str
    statement_timeout: str

    def for_file(self, migration: MigrationFile) -> Timeouts:
        """The file's own `-- releaseops:lock-timeout/statement-timeout` win over the defaults."""
        return Timeouts(
            lock_timeout=migration.directives.get("lock-timeout", self.lock_timeout),
            statement_timeout=migration.directives.get("statement-timeout", self.statement_timeout),
        )


@dataclass(frozen=True)
class AppliedFile:
    """One file that was applied, and how long it took."""

    name: str
    version: str
    execution_ms: int
    transactional: bool

    def line(self) -> str:
        """E.g. `applied 0003_fts.sql in 41 ms`."""
        mode = "" if self.transactional else " (no transaction)"
        return f"applied {self.name} in {self.execution_ms} ms{mode}"


def _set_timeouts(conn: psycopg.Connection[Any], timeouts: Timeouts, *, local: bool) -> None:
    conn.execute(
        "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)",
        (timeouts.lock_timeout, local, timeouts.statement_timeout, local),
    )


def invalid_indexes(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """INVALID indexes of the database: qualified index name -> its table."""
    return {str(r[0]): str(r[1]) for r in conn.execute(INVALID_INDEXES).fetchall()}


def _what_stays(migration: MigrationFile, left: list[str]) -> str:
    """What a failure leaves behind, in the operator's words."""
    if migration.transactional:
        kept = "the migration was rolled back and not recorded"
    else:
        kept = (
            "no-transaction file: statements before that line stay committed and the file "
            "is not recorded; make it safe to re-run (IF NOT EXISTS) before running again"
        )
    if left:
        kept += f"; INVALID index left behind: {', '.join(left)} (DROP INDEX CONCURRENTLY it)"
    return kept


def _failure(
    migration: MigrationFile,
    stmt: Statement | None,
    exc: psycopg.Error,
    timeouts: Timeouts,
    left: list[str],
) -> MigrationFailed:
    """The MigrationFailed for `exc`: file, line (PostgreSQL's position when it gives one)."""
    diag = exc.diag
    line = stmt.line if stmt else None
    if stmt and diag.statement_position and diag.statement_position.isdigit():
        line = line_of(migration.text, stmt.offset + int(diag.statement_position) - 1)
    pg_message = diag.message_primary or str(exc).strip() or type(exc).__name__
    detail = f" ({diag.message_detail})" if diag.message_detail else ""
    if diag.message_hint:
        detail += f" (hint: {diag.message_hint})"
    where = f"{migration.name} line {line}" if line else migration.name
    kept = _what_stays(migration, left)
    sqlstate = diag.sqlstate
    kwargs: dict[str, Any] = {
        "file_name": migration.name,
        "line": line,
        "sqlstate": sqlstate,
        "pg_message": pg_message,
    }
    if sqlstate == LOCK_NOT_AVAILABLE:
        return MigrationBlocked(
            f"{where}: waited longer than lock_timeout={timeouts.lock_timeout} for a lock another "
            f"session holds ({pg_message}); {kept}. Run again when the blocking session is done, "
            f"or raise --lock-timeout",
            **kwargs,
        )
    if sqlstate == QUERY_CANCELED:
        pg_message += f" (statement_timeout={timeouts.statement_timeout})"
    return MigrationFailed(f"{where}: {pg_message}{detail} [SQLSTATE {sqlstate}]; {kept}", **kwargs)


def _named_in(migration: MigrationFile, index: str) -> bool:
    bare = index.rsplit(".", 1)[-1].strip('"')
    return re.search(rf"\b{re.escape(bare)}\b", migration.text, re.IGNORECASE) is not None


def _new_invalid(
    conn: psycopg.Connection[Any], migration: MigrationFile, before: dict[str, str]
) -> list[str]:
    after = invalid_indexes(conn)
    return [
        f"{name} on {table}"
        for name, table in after.items()
        if name not in before or _named_in(migration, name)
    ]


def run_in_transaction(
    conn: psycopg.Connection[Any], migration: MigrationFile, timeouts: Timeouts
) -> AppliedFile:
    """Apply a file and record its row in one transaction; on error nothing of it stays."""
    timeouts = timeouts.for_file(migration)
    statements = migration.statements()
    current: Statement | None = None
    started = time.perf_counter()
    try:
        with conn.transaction():
            _set_timeouts(conn, timeouts, local=True)
            for current in statements:
                conn.execute(current.sql.encode(), prepare=False)
            elapsed = round((time.perf_counter() - started) * 1000)
            current = None
            migration_history.record(
                conn,
                version=migration.version,
                checksum=migration.checksum,
                file_name=migration.name,
                execution_ms=elapsed,
                mode="transaction",
                content=migration.text,
            )
    except psycopg.Error as exc:
        raise _failure(migration, current, exc, timeouts, []) from exc
    return AppliedFile(migration.name, migration.version, elapsed, transactional=True)


def run_without_transaction(
    conn: psycopg.Connection[Any], migration: MigrationFile, timeouts: Timeouts
) -> AppliedFile:
    """Apply a `no-transaction` file statement by statement; record it only after success."""
    timeouts = timeouts.for_file(migration)
    statements = migration.statements()
    before = invalid_indexes(conn)
    current: Statement | None = None
    started = time.perf_counter()
    try:
        _set_timeouts(conn, timeouts, local=False)
        for current in statements:
            conn.execute(current.sql.encode(), prepare=False)
    except psycopg.Error as exc:
        left = _new_invalid(conn, migration, before) if not conn.closed else []
        raise _failure(migration, current, exc, timeouts, left) from exc
    finally:
        if not conn.closed:
            conn.execute("RESET lock_timeout; RESET statement_timeout")
    elapsed = round((time.perf_counter() - started) * 1000)
    left = _new_invalid(conn, migration, before)
    if left:
        raise InvalidIndexLeft(
            f"{migration.name}: finished but left INVALID index(es) {', '.join(left)}: a "
            f"CREATE INDEX CONCURRENTLY failed earlier or was skipped by IF NOT EXISTS. "
            f"Not recorded; DROP INDEX CONCURRENTLY them, then run again",
            file_name=migration.name,
            indexes=left,
        )
    migration_history.record(
        conn,
        version=migration.version,
        checksum=migration.checksum,
        file_name=migration.name,
        execution_ms=elapsed,
        mode="no-transaction",
        content=migration.text,
    )
    return AppliedFile(migration.name, migration.version, elapsed, transactional=False)
