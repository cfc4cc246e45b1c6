"""Run one migration file: its statements, timeouts, lock retries, its schema_migrations row."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from releaseops.errors import (
    ConfigurationError,
    ConnectionLost,
    InvalidIndexLeft,
    MigrationBlocked,
    MigrationFailed,
    ReleaseOpsError,
)
from releaseops.migrations import history as migration_history
from releaseops.migrations.files import MigrationFile, Statement, line_of
from releaseops.migrations.retries import LockRetry, with_retries

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
# Production-safe: a DDL statement that cannot get its lock within 5 s gives up instead of
# queueing, because every later query on that table would queue behind it and stall traffic.
DEFAULT_LOCK_TIMEOUT = "5s"
DEFAULT_STATEMENT_TIMEOUT = "15min"
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
_DURATION = re.compile(r"^\d+(?:\.\d+)?\s*(?:ms|s|min|h)?$")


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
    attempts: int = 1

    def line(self) -> str:
        """E.g. `applied 0003_fts.sql in 41 ms`."""
        mode = "" if self.transactional else " (no transaction)"
        retried = f" after {self.attempts - 1} lock retry(ies)" if self.attempts > 1 else ""
        return f"applied {self.name} in {self.execution_ms} ms{mode}{retried}"


def check_duration(name: str, value: str) -> None:
    """Refuse a timeout that is not a PostgreSQL duration (5s, 500ms, 2min)."""
    if not _DURATION.match(value.strip()):
        raise ConfigurationError(f"{name}={value!r} is not a duration such as 5s, 500ms or 2min")


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


def _where(migration: MigrationFile, stmt: Statement | None, exc: psycopg.Error) -> int | None:
    """The line of the failure: PostgreSQL's error position inside the statement, if given."""
    position = exc.diag.statement_position
    if stmt and position and position.isdigit():
        return line_of(migration.text, stmt.offset + int(position) - 1)
    return stmt.line if stmt else None


def _failure(
    conn: psycopg.Connection[Any],
    migration: MigrationFile,
    stmt: Statement | None,
    exc: psycopg.Error,
    timeouts: Timeouts,
    left: list[str],
) -> ReleaseOpsError:
    """The error for `exc`: file, line, PostgreSQL's message; a lost connection is exit 3."""
    diag = exc.diag
    line = _where(migration, stmt, exc)
    where = f"{migration.name} line {line}" if line else migration.name
    pg_message = " ".join((diag.message_primary or str(exc) or type(exc).__name__).split())
    kept = _what_stays(migration, left)
    if migration_history.is_connection_loss(exc, conn):
        outcome = "the server rolls back an unfinished transaction; run --status to see"
        return ConnectionLost.during(f"{where}: {pg_message}; {outcome} what stays")
    detail = f" ({diag.message_detail})" if diag.message_detail else ""
    if diag.message_hint:
        detail += f" (hint: {diag.message_hint})"
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
            f"session holds ({pg_message}); {kept}",
            **kwargs,
        )
    if sqlstate == QUERY_CANCELED:
        pg_message += f" (statement_timeout={timeouts.statement_timeout})"
    return MigrationFailed(f"{where}: {pg_message}{detail} [SQLSTATE {sqlstate}]; {kept}", **kwargs)


def _transaction_once(
    conn: psycopg.Connection[Any], migration: MigrationFile, timeouts: Timeouts
) -> int:
    """One attempt at the whole file and its row in one transaction; the elapsed ms."""
    current: Statement | None = None
    started = time.perf_counter()
    try:
        with conn.transaction():
            _set_timeouts(conn, timeouts, local=True)
            for current in migration.statements():
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
        raise _failure(conn, migration, current, exc, timeouts, []) from exc
    return elapsed


def run_in_transaction(
    conn: psycopg.Connection[Any],
    migration: MigrationFile,
    timeouts: Timeouts,
    retry: LockRetry | None = None,
) -> AppliedFile:
    """Apply a file and record its row in one transaction; on error nothing of it stays.

    A statement blocked past lock_timeout rolls the file back; the whole file is tried again.
    """
    timeouts = timeouts.for_file(migration)
    retry = retry or LockRetry(retries=0)
    kept = _what_stays(migration, [])
    elapsed, attempts = with_retries(
        lambda: _transaction_once(conn, migration, timeouts), retry, timeouts, kept
    )
    return AppliedFile(
        migration.name, migration.version, elapsed, transactional=True, attempts=attempts
    )


def _statement_once(
    conn: psycopg.Connection[Any],
    migration: MigrationFile,
    stmt: Statement,
    timeouts: Timeouts,
    before: dict[str, str],
) -> None:
    try:
        conn.execute(stmt.sql.encode(), prepare=False)
    except psycopg.Error as exc:
        lost = migration_history.is_connection_loss(exc, conn)
        left = [] if lost else _new_invalid(conn, migration, before)
        raise _failure(conn, migration, stmt, exc, timeouts, left) from exc


def _record_alone(
    conn: psycopg.Connection[Any], migration: MigrationFile, before: dict[str, str], elapsed: int
) -> None:
    """Record a no-transaction file, unless it left an INVALID index behind."""
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


def run_without_transaction(
    conn: psycopg.Connection[Any],
    migration: MigrationFile,
    timeouts: Timeouts,
    retry: LockRetry | None = None,
) -> AppliedFile:
    """Apply a `no-transaction` file statement by statement; record it only after success.

    A statement blocked past lock_timeout is tried again on its own (earlier ones stay).
    """
    timeouts = timeouts.for_file(migration)
    retry = retry or LockRetry(retries=0)
    before = invalid_indexes(conn)
    kept = _what_stays(migration, [])
    attempts = 1
    started = time.perf_counter()
    try:
        _set_timeouts(conn, timeouts, local=False)
        for stmt in migration.statements():

            def once(stmt: Statement = stmt) -> None:
                _statement_once(conn, migration, stmt, timeouts, before)

            attempts = max(attempts, with_retries(once, retry, timeouts, kept)[1])
    finally:
        if not conn.closed:
            conn.execute("RESET lock_timeout; RESET statement_timeout")
    elapsed = round((time.perf_counter() - started) * 1000)
    _record_alone(conn, migration, before, elapsed)
    return AppliedFile(
        migration.name, migration.version, elapsed, transactional=False, attempts=attempts
    )


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
