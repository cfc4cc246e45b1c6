"""Rehearse the pending migrations on a copy and record what each statement did.

`run(db, directory, confirm_copy=...)` applies the pending files statement by statement
through the tracer (`trace.Tracer`), recording per statement the locks taken, the tables
rewritten (new relfilenode), rows affected, duration, and how long a SHARE-class or ACCESS
EXCLUSIVE lock stayed held until its transaction committed. `gate()` (rehearse_gate) then
decides whether that is acceptable for tables of the sizes seen.

- With `confirm_copy` naming the target database (a throwaway copy, e.g. the drill database
  restored from the pre-deploy backup), the files are applied as the runner applies them:
  under the runner's advisory lock, each file in its own transaction with its
  schema_migrations row, no-transaction files statement by statement (their locks sampled
  from a second session). The copy stays migrated.
- Otherwise everything runs inside one transaction that is always rolled back, and the
  report says so: the database keeps its schema, data and schema_migrations. Statements
  PostgreSQL refuses inside a transaction block (CONCURRENTLY, VACUUM) are reported as not
  rehearsed. The locks are real while it runs: point it at a copy, or keep lock_timeout short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError
from releaseops.migrations import files as migration_files
from releaseops.migrations import history as migration_history
from releaseops.migrations import lock as migration_lock
from releaseops.migrations.execute import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_STATEMENT_TIMEOUT,
    Timeouts,
    check_duration,
)
from releaseops.migrations.files import DEFAULT_DIR, MigrationFile
from releaseops.migrations.refusal import refusal
from releaseops.migrations.rehearse_gate import (
    DEFAULT_LOCK_BUDGET_MS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    RehearsalVerdict,
    gate,
)
from releaseops.migrations.rehearse_report import (
    RehearsalReport,
    RehearsedStatement,
    TableSize,
)
from releaseops.migrations.rehearse_steps import (
    NOT_REACHED,
    Rehearsal,
    committed_alone,
    committed_file,
    rolled_back_file,
)
from releaseops.migrations.state import build
from releaseops.migrations.trace import Tracer

__all__ = [
    "DEFAULT_LOCK_BUDGET_MS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "RehearsalReport",
    "RehearsalVerdict",
    "RehearsedStatement",
    "gate",
    "run",
]

APPLICATION_NAME = "releaseops-rehearsal"
DEFAULT_LOCK_WAIT_S = 60.0
_TABLES = """
SELECT n.nspname, c.relname, c.reltuples::bigint, pg_table_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
"""


def table_sizes(conn: psycopg.Connection[Any]) -> dict[str, TableSize]:
    """Rows and bytes of every user table; rows counted exactly where statistics are missing."""
    sizes: dict[str, TableSize] = {}
    for schema, name, estimate, size in conn.execute(_TABLES).fetchall():
        rows = int(estimate)
        if rows < 0:  # never analyzed (a fresh restore): count
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            row = conn.execute(query).fetchone()
            rows = int(row[0]) if row else 0
        sizes[f"{schema}.{name}"] = TableSize(rows, int(size))
    return sizes


def _pending(
    conn: psycopg.Connection[Any], files: list[MigrationFile], *, allow_out_of_order: bool
) -> list[MigrationFile]:
    """The files apply would run now, refused the same way apply refuses."""
    current = build(files, migration_history.read(conn))
    refused = refusal(current, allow_out_of_order=allow_out_of_order)
    if refused:
        raise refused
    wanted = set(current.pending) | (set(current.out_of_order) if allow_out_of_order else set())
    return [f for f in files if f.name in wanted]


def _confirmed(target: DatabaseUrl, confirm_copy: str | None) -> bool:
    """True when the caller declared the target a throwaway copy, by its exact name."""
    if confirm_copy is None:
        return False
    if confirm_copy != target.dbname:
        raise ConfigurationError(
            f"confirm_copy={confirm_copy!r} does not name the target database "
            f"{target.dbname!r}; pass the name of the throwaway copy to migrate, or leave it "
            f"out to rehearse in a transaction that is rolled back"
        )
    return True


def _note(target: DatabaseUrl, *, committed: bool) -> str:
    if committed:
        return (
            f"applied to {target.masked()}, declared a throwaway copy: each file was committed "
            f"with its schema_migrations row, as the runner does"
        )
    return (
        f"rehearsed on {target.masked()} inside one transaction that was rolled back, because "
        f"it is not declared a throwaway copy: its schema, data and schema_migrations are "
        f"unchanged; the locks were real while it ran; statements that cannot run inside a "
        f"transaction were not rehearsed"
    )


def _start(
    conn: psycopg.Connection[Any],
    target: DatabaseUrl,
    files: list[MigrationFile],
    timeouts: Timeouts,
    *,
    allow_out_of_order: bool,
    committed: bool,
) -> tuple[list[MigrationFile], Rehearsal, dict[str, TableSize]]:
    """The files to rehearse, a rehearsal ready to run them, and the table sizes before."""
    todo = _pending(conn, files, allow_out_of_order=allow_out_of_order)
    sizes = table_sizes(conn)
    return todo, Rehearsal(conn, target, Tracer(conn), timeouts, committed=committed), sizes


def _run_rolled_back(run: Rehearsal, todo: list[MigrationFile]) -> None:
    run.conn.execute("BEGIN")
    try:
        for migration in todo:
            rolled_back_file(run, migration)
    finally:
        if not run.conn.closed:
            run.conn.execute("ROLLBACK")


def _run_committed(run: Rehearsal, todo: list[MigrationFile]) -> None:
    for migration in todo:
        if run.stopped:
            for stmt in migration.statements():
                run.skip(migration, stmt, NOT_REACHED)
        elif migration.transactional:
            committed_file(run, migration)
        else:
            committed_alone(run, migration)


def run(
    db: DatabaseUrl | str,
    directory: Path = DEFAULT_DIR,
    *,
    confirm_copy: str | None = None,
    allow_out_of_order: bool = False,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
) -> RehearsalReport:
    """Rehearse the pending files of `directory` on `db`; see the module docstring.

    `confirm_copy` must be the target's database name to keep the migrations (a throwaway
    copy); without it the rehearsal is rolled back. A failing statement stops the rehearsal
    (it is in the report, with its SQLSTATE); refusals (edited or missing files, another
    tool's schema_migrations) raise as apply's do.
    """
    check_duration("lock_timeout", lock_timeout)
    check_duration("statement_timeout", statement_timeout)
    target = dburl.parse(db)
    committed = _confirmed(target, confirm_copy)
    files = migration_files.discover(directory)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    allow = allow_out_of_order
    with (
        migration_history.database_errors("rehearsing migrations"),
        target.connect(autocommit=True, application_name=APPLICATION_NAME) as conn,
    ):
        if committed:
            with migration_lock.held(conn, lock_wait_s):
                migration_history.ensure(conn)
                todo, rehearsal, sizes = _start(
                    conn, target, files, timeouts, allow_out_of_order=allow, committed=True
                )
                _run_committed(rehearsal, todo)
        else:
            todo, rehearsal, sizes = _start(
                conn, target, files, timeouts, allow_out_of_order=allow, committed=False
            )
            _run_rolled_back(rehearsal, todo)
    return RehearsalReport(
        database=target.masked(),
        committed=committed,
        note=_note(target, committed=committed),
        files=[m.name for m in todo],
        statements=rehearsal.rows,
        tables=sizes,
    )
