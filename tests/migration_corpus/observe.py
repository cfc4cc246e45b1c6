"""Watch PostgreSQL apply a migration the way the runner does, through the library's tracer.

`observing()` (and its committing shorthand `observe()`) runs the whole text in one
transaction, or for a `no-transaction` migration each statement in its own, and records each
statement with `releaseops.migrations.trace.Tracer` (locks, rewrites, scans, rows, notices,
errors). A statement PostgreSQL refuses inside a transaction block (SQLSTATE 25001:
`CONCURRENTLY`, `VACUUM`) is run again in autocommit, where its locks and scans are not observed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from releaseops.dburl import DatabaseUrl
from releaseops.migrations.files import Statement, split_statements
from releaseops.migrations.trace import Tracer
from releaseops.migrations.trace_records import (
    COMMITTED,
    FAILED,
    LEFT_OPEN,
    Observation,
    StatementRecord,
)

ACTIVE_SQL_TRANSACTION = "25001"

Runner = Callable[[Statement, int, bool], StatementRecord]
Applied = tuple[list[StatementRecord], str]


def _one_transaction(
    conn: psycopg.Connection[Any], statements: Iterable[Statement], run: Runner, *, commit: bool
) -> Applied:
    """All statements in one transaction; stop at the first failure and roll back."""
    records: list[StatementRecord] = []
    conn.execute("BEGIN")
    for index, stmt in enumerate(statements, start=1):
        records.append(run(stmt, index, True))
        if records[-1].sqlstate:
            conn.execute("ROLLBACK")
            return records, FAILED
    if not commit:
        return records, LEFT_OPEN
    try:
        conn.execute("COMMIT")
    except psycopg.Error as exc:
        return records, f"COMMIT failed: [{exc.sqlstate}] {str(exc).strip()}"
    return records, COMMITTED


def _each_alone(
    conn: psycopg.Connection[Any], statements: Iterable[Statement], run: Runner, *, commit: bool
) -> Applied:
    """Each statement in its own transaction, or in autocommit when PostgreSQL demands it."""
    if not commit:
        raise ValueError("a no-transaction migration commits statement by statement")
    records: list[StatementRecord] = []
    for index, stmt in enumerate(statements, start=1):
        conn.execute("BEGIN")
        record = run(stmt, index, True)
        if record.sqlstate:
            conn.execute("ROLLBACK")
        if record.sqlstate == ACTIVE_SQL_TRANSACTION:
            record = run(stmt, index, False)
        elif not record.sqlstate:
            conn.execute("COMMIT")
        records.append(record)
        if record.sqlstate:
            return records, FAILED
    return records, COMMITTED


@contextmanager
def observing(
    url: DatabaseUrl, text: str, *, transactional: bool, name: str = "<sql>", commit: bool = True
) -> Iterator[tuple[Observation, psycopg.Connection[Any]]]:
    """Apply `text` and yield what the server did, with the connection that did it.

    With `commit=False` (transactional migrations only) the migration's transaction is still
    open while the block runs, so its result can be inspected, and is rolled back afterwards:
    the database is left as it was.
    """
    with url.connect(autocommit=True) as conn:
        tracer = Tracer(conn)

        def run(stmt: Statement, index: int, inside: bool) -> StatementRecord:
            return tracer.run(stmt, index, in_transaction=inside)

        apply = _one_transaction if transactional else _each_alone
        records, outcome = apply(conn, split_statements(text, name), run, commit=commit)
        try:
            yield Observation(name, transactional, tracer.relations, tuple(records), outcome), conn
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")


def observe(
    url: DatabaseUrl, text: str, *, transactional: bool, name: str = "<sql>"
) -> Observation:
    """Apply (and commit) `text` at `url`; return what the server was seen doing."""
    with observing(url, text, transactional=transactional, name=name) as (observation, _):
        return observation


def run_script(url: DatabaseUrl, text: str, *, transactional: bool, name: str = "<sql>") -> None:
    """Apply `text` without observing it (setup, prerequisites); errors propagate."""
    statements = split_statements(text, name)
    with url.connect(autocommit=True) as conn:
        if transactional:
            with conn.transaction():
                for stmt in statements:
                    conn.execute(stmt.sql.encode(), prepare=False)
            return
        for stmt in statements:
            conn.execute(stmt.sql.encode(), prepare=False)
