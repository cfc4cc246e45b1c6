"""Trace statements: the locks, rewrites, scans, rows, notices and errors each one shows.

A `Tracer` runs statements on one connection. Around each statement run inside a transaction,
before anything commits, it asks the server what the statement did to the tables and indexes
that existed when the tracer started:

- locks: `pg_locks` rows of its own backend, as (relation, mode); a lock on an index also
  counts for its table, since planning any query on a table locks every index of it;
- rewrites: relations whose `pg_relation_filenode()` changed (new storage: the data was copied);
- scans: sequential scans per table from `pg_stat_get_xact_numscans()` (this transaction only);
- rows affected, duration, notices, and the SQLSTATE of a failure.

A statement run in autocommit (what PostgreSQL refuses inside a transaction block) shows no
locks or scans (`None`: not observed); its rewrites still are, from the catalog before and after.
The migration corpus (tests/migration_corpus) proves these readings on PostgreSQL 15.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import psycopg

from releaseops.migrations.files import Statement
from releaseops.migrations.trace_records import Lock, Relation, StatementRecord

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
WHERE l.pid = %s AND l.locktype = 'relation' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


@dataclass
class Notices:
    """Collects the server's notices for the statement being run."""

    messages: list[str] = field(default_factory=list)

    def __call__(self, diag: psycopg.errors.Diagnostic) -> None:
        """Keep one notice (psycopg calls this for each)."""
        self.messages.append(f"{diag.severity}: {diag.message_primary}")

    def take(self) -> tuple[str, ...]:
        """The notices since the last call."""
        taken, self.messages = tuple(self.messages), []
        return taken


def relations(conn: psycopg.Connection[Any]) -> dict[int, Relation]:
    """Every user table and index now in the database, by oid."""
    rows = conn.execute(_RELATIONS).fetchall()
    return {oid: Relation(oid, name, kind, table) for oid, name, kind, table in rows}


def _storage(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, int | None]]:
    """The (name, relfilenode) of every user table and index now visible, by oid."""
    return {oid: (name, node) for oid, name, node in conn.execute(_STORAGE).fetchall()}


def _scans(conn: psycopg.Connection[Any], rels: Mapping[int, Relation]) -> dict[int, int]:
    tables = [oid for oid, rel in rels.items() if rel.is_table]
    return dict(conn.execute(_SCANS, [tables]).fetchall())


def locks_of(
    conn: psycopg.Connection[Any], rels: Mapping[int, Relation], pid: int
) -> frozenset[Lock]:
    """Locks backend `pid` holds on relations of `rels` (by oid, or by name once rebuilt)."""
    known = {rel.name for rel in rels.values()}
    locks = set()
    for oid, mode, name, table in conn.execute(_LOCKS, (pid,)).fetchall():
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
        locks = locks_of(conn, rels, conn.info.backend_pid)
        return cls(_storage(conn), _scans(conn, rels), locks)


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


def _execute(conn: psycopg.Connection[Any], sql: str) -> tuple[int, str | None, str | None]:
    """(rowcount, SQLSTATE, first line of the error) of one statement."""
    try:
        return conn.execute(sql.encode(), prepare=False).rowcount, None, None
    except psycopg.Error as exc:
        if conn.closed:
            raise
        return -1, exc.sqlstate or "?????", str(exc).strip().splitlines()[0]


class Tracer:
    """Runs statements on `conn` and records what each did to the relations seen at start."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.notices = Notices()
        conn.add_notice_handler(self.notices)
        self.relations: Mapping[int, Relation] = MappingProxyType(relations(conn))

    def run(self, stmt: Statement, index: int, *, in_transaction: bool) -> StatementRecord:
        """Execute one statement and read what it did before anything commits."""
        conn, rels = self.conn, self.relations
        before = _Probe.read(conn, rels, deep=in_transaction)
        self.notices.take()
        started = time.monotonic()
        rowcount, sqlstate, error = _execute(conn, stmt.sql)
        duration_ms = (time.monotonic() - started) * 1000
        said = self.notices.take()
        after = None if sqlstate else _Probe.read(conn, rels, deep=in_transaction)
        rewritten, dropped = _storage_changes(before, after, rels) if after else ((), ())
        scans = _scan_changes(before, after, rels) if after else None
        locks = after.locks if after else None
        acquired = locks - before.locks if locks is not None and before.locks is not None else None
        return StatementRecord(
            index=index,
            line=stmt.line,
            sql=stmt.sql,
            in_transaction=in_transaction,
            rowcount=rowcount,
            duration_ms=duration_ms,
            started=started,
            notices=said,
            sqlstate=sqlstate,
            error=error,
            locks=locks,
            acquired=acquired,
            rewritten=frozenset(rewritten),
            dropped=frozenset(dropped),
            scans=MappingProxyType(scans) if scans is not None else None,
        )
