"""Watch PostgreSQL apply a migration: the locks, rewrites, scans, notices and errors it shows.

`observing()` (and its committing shorthand `observe()`) runs each statement the way the
migration runner does: the whole text in one transaction, or for a `no-transaction` migration
each statement in its own. After each statement, before anything commits, it asks the server
what the statement did to the tables and indexes that existed before the migration:

- locks: `pg_locks` rows of its own backend, as (relation, mode); a lock on an index also
  counts for its table, since planning any query on a table locks every index of it;
- rewrites: relations whose `pg_relation_filenode()` changed (new storage: the data was copied);
- scans: sequential scans per table from `pg_stat_get_xact_numscans()` (this transaction only);
- rows affected, duration, notices, and the SQLSTATE of a failure.

A statement PostgreSQL refuses inside a transaction block (SQLSTATE 25001: `CONCURRENTLY`,
`VACUUM`) is run again in autocommit. There its locks and scans cannot be read and are `None`
("not observed"); rewrites still are, from the catalog before and after.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import psycopg

from releaseops.dburl import DatabaseUrl
from tests.migration_corpus.records import (
    COMMITTED,
    FAILED,
    LEFT_OPEN,
    Lock,
    Observation,
    Relation,
    Statement,
    StatementRecord,
    split,
)

ACTIVE_SQL_TRANSACTION = "25001"

_USER_RELATIONS = """
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
"""
_NAME = "n.nspname || '.' || c.relname"
_TABLE = f"coalesce(tn.nspname || '.' || t.relname, {_NAME})"
_RELATIONS = f"SELECT c.oid::bigint, {_NAME}, c.relkind::text, {_TABLE} {_USER_RELATIONS}"
_STORAGE = f"SELECT c.oid::bigint, {_NAME}, pg_relation_filenode(c.oid) {_USER_RELATIONS}"
_SCANS = "SELECT oid::bigint, pg_stat_get_xact_numscans(oid) FROM pg_class WHERE oid = ANY(%s)"
_LOCKS = f"""
SELECT l.relation::bigint, l.mode, {_NAME}, {_TABLE}
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


@dataclass
class _Notices:
    """Collects the server's notices for the statement being run."""

    messages: list[str] = field(default_factory=list)

    def __call__(self, diag: psycopg.errors.Diagnostic) -> None:
        self.messages.append(f"{diag.severity}: {diag.message_primary}")

    def take(self) -> tuple[str, ...]:
        taken, self.messages = tuple(self.messages), []
        return taken


def relations(conn: psycopg.Connection[Any]) -> dict[int, Relation]:
    """Every user table and index now in the database, by oid."""
    rows = conn.execute(_RELATIONS).fetchall()
    return {oid: Relation(oid, name, kind, table) for oid, name, kind, table in rows}


def _storage(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, int | None]]:
    """oid -> (name, relfilenode) of every user table and index now visible."""
    return {oid: (name, node) for oid, name, node in conn.execute(_STORAGE).fetchall()}


def _scans(conn: psycopg.Connection[Any], rels: Mapping[int, Relation]) -> dict[int, int]:
    tables = [oid for oid, rel in rels.items() if rel.is_table]
    return dict(conn.execute(_SCANS, [tables]).fetchall())


def _locks(conn: psycopg.Connection[Any], rels: Mapping[int, Relation]) -> frozenset[Lock]:
    """Locks on relations that existed before (by oid, or by name once rebuilt)."""
    known = {rel.name for rel in rels.values()}
    locks = set()
    for oid, mode, name, table in conn.execute(_LOCKS).fetchall():
        if oid in rels:
            locks.add(Lock(rels[oid].name, rels[oid].table, mode))
        elif name in known:
            locks.add(Lock(name, table, mode))
    return frozenset(locks)


@dataclass(frozen=True)
class _Probe:
    """The server state read just before a statement, to compare with the state after it."""

    storage: dict[int, tuple[str, int | None]]
    scans: dict[int, int] | None
    locks: frozenset[Lock] | None

    @classmethod
    def read(
        cls, conn: psycopg.Connection[Any], rels: Mapping[int, Relation], *, deep: bool
    ) -> _Probe:
        if not deep:
            return cls(_storage(conn), None, None)
        return cls(_storage(conn), _scans(conn, rels), _locks(conn, rels))


def _storage_changes(
    before: _Probe, after: _Probe, rels: Mapping[int, Relation]
) -> tuple[frozenset[str], frozenset[str]]:
    """(rewritten, dropped) pre-existing relations between two probes.

    An index that a statement drops and recreates under the same name (ALTER COLUMN TYPE does)
    counts as rewritten when its storage changed; a reused index keeps its relfilenode.
    """
    known = {rel.name for rel in rels.values()}
    by_name = dict(after.storage.values())
    rewritten, dropped = set(), set()
    for oid, (name, node) in before.storage.items():
        if oid not in rels and name not in known:
            continue
        shown = rels[oid].name if oid in rels else name
        if oid in after.storage:
            if after.storage[oid][1] != node:
                rewritten.add(shown)
        elif name in by_name:
            if by_name[name] != node:
                rewritten.add(shown)
        else:
            dropped.add(shown)
    return frozenset(rewritten), frozenset(dropped)


def _scan_changes(
    before: _Probe, after: _Probe, rels: Mapping[int, Relation]
) -> dict[str, int] | None:
    """Sequential scans per pre-existing table between two probes."""
    if before.scans is None or after.scans is None:
        return None
    deltas = {oid: after.scans.get(oid, 0) - n for oid, n in before.scans.items()}
    return {rels[oid].name: n for oid, n in sorted(deltas.items()) if n > 0}


def _execute(conn: psycopg.Connection[Any], stmt: Statement) -> tuple[int, str | None, str | None]:
    """(rowcount, SQLSTATE, first line of the error) of one statement."""
    try:
        return conn.execute(stmt.sql.encode(), prepare=False).rowcount, None, None
    except psycopg.Error as exc:
        return -1, exc.sqlstate or "?????", str(exc).strip().splitlines()[0]


def _run(
    conn: psycopg.Connection[Any],
    stmt: Statement,
    rels: Mapping[int, Relation],
    notices: _Notices,
    *,
    index: int,
    in_transaction: bool,
) -> StatementRecord:
    """Execute one statement and read what it did before anything commits."""
    before = _Probe.read(conn, rels, deep=in_transaction)
    notices.take()
    started = time.perf_counter()
    rowcount, sqlstate, error = _execute(conn, stmt)
    duration_ms = (time.perf_counter() - started) * 1000
    said = notices.take()
    after = None if sqlstate else _Probe.read(conn, rels, deep=in_transaction)
    rewritten, dropped = _storage_changes(before, after, rels) if after else ((), ())
    scans = _scan_changes(before, after, rels) if after else None
    locks = after.locks if after else None
    return StatementRecord(
        index=index,
        line=stmt.line,
        sql=stmt.sql,
        in_transaction=in_transaction,
        rowcount=rowcount,
        duration_ms=duration_ms,
        notices=said,
        sqlstate=sqlstate,
        error=error,
        locks=locks,
        acquired=locks - before.locks if locks is not None and before.locks is not None else None,
        rewritten=frozenset(rewritten),
        dropped=frozenset(dropped),
        scans=MappingProxyType(scans) if scans is not None else None,
    )


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
        notices = _Notices()
        conn.add_notice_handler(notices)
        rels = MappingProxyType(relations(conn))

        def run(stmt: Statement, index: int, inside: bool) -> StatementRecord:
            return _run(conn, stmt, rels, notices, index=index, in_transaction=inside)

        apply = _one_transaction if transactional else _each_alone
        records, outcome = apply(conn, split(text), run, commit=commit)
        try:
            yield Observation(name, transactional, rels, tuple(records), outcome), conn
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
    statements = split(text)
    with url.connect(autocommit=True) as conn:
        if transactional:
            with conn.transaction():
                for stmt in statements:
                    conn.execute(stmt.sql.encode(), prepare=False)
            return
        for stmt in statements:
            conn.execute(stmt.sql.encode(), prepare=False)
