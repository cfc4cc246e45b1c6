"""The steps of a rehearsal: run one file committed (on a copy) or under a savepoint."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from releaseops.dburl import DatabaseUrl
from releaseops.migrations import files as migration_files
from releaseops.migrations import history as migration_history
from releaseops.migrations import lockwatch
from releaseops.migrations.execute import Timeouts
from releaseops.migrations.files import MigrationFile
from releaseops.migrations.rehearse_report import BLOCKING_MODES, RehearsedStatement
from releaseops.migrations.trace import Tracer
from releaseops.migrations.trace_records import StatementRecord

ACTIVE_SQL_TRANSACTION = "25001"
SAVEPOINT = "releaseops_rehearsal"


@dataclass
class Rehearsal:
    """One rehearsal in progress: the connection, its tracer and the rows recorded so far."""

    conn: psycopg.Connection[Any]
    target: DatabaseUrl
    tracer: Tracer
    timeouts: Timeouts
    committed: bool
    rows: list[RehearsedStatement] = field(default_factory=list)
    stopped: bool = False

    def record(
        self, migration: MigrationFile, rec: StatementRecord, held_until: float | None
    ) -> RehearsedStatement:
        """The row for one traced statement; `held_until` is when its transaction ended."""
        tables = {rel.name: rel.table for rel in self.tracer.relations.values()}
        relations = tuple(sorted(rec.rewritten))
        rewritten = tuple(sorted({tables.get(r, r) for r in relations}))
        locks = None if rec.acquired is None else tuple(sorted(rec.acquired))
        row = RehearsedStatement(
            file=migration.name,
            line=rec.line,
            statement=rec.sql,
            rehearsed=True,
            in_transaction=rec.in_transaction,
            locks=locks,
            rewritten=rewritten,
            rewritten_relations=relations,
            scanned=None if rec.scans is None else tuple(sorted(rec.scans)),
            rows=rec.rowcount if rec.rowcount >= 0 else None,
            ms=rec.duration_ms,
            sqlstate=rec.sqlstate,
            error=rec.error,
        )
        if held_until is not None and row.blocking_locks():
            row = _with(row, blocking_lock_ms=(held_until - rec.started) * 1000)
        elif locks is not None:
            row = _with(row, blocking_lock_ms=0.0)
        return row

    def skip(self, migration: MigrationFile, stmt: migration_files.Statement, note: str) -> None:
        """Record a statement that did not run here."""
        self.rows.append(
            RehearsedStatement(migration.name, stmt.line, stmt.sql, rehearsed=False, note=note)
        )


def _with(row: RehearsedStatement, **changes: Any) -> RehearsedStatement:
    values = {**row.__dict__, **changes}
    return RehearsedStatement(**values)


def _set_timeouts(conn: psycopg.Connection[Any], timeouts: Timeouts) -> None:
    conn.execute(
        "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
        (timeouts.lock_timeout, timeouts.statement_timeout),
    )


class _Failed(Exception):
    """A statement failed: roll its file back and stop."""


def committed_file(run: Rehearsal, migration: MigrationFile) -> None:
    """Apply one transactional file and its schema_migrations row, as the runner does."""
    records: list[StatementRecord] = []
    timeouts = run.timeouts.for_file(migration)
    started = time.perf_counter()
    try:
        with run.conn.transaction():
            _set_timeouts(run.conn, timeouts)
            for index, stmt in enumerate(migration.statements(), start=1):
                records.append(run.tracer.run(stmt, index, in_transaction=True))
                if records[-1].sqlstate:
                    raise _Failed
            migration_history.record(
                run.conn,
                version=migration.version,
                checksum=migration.checksum,
                file_name=migration.name,
                execution_ms=round((time.perf_counter() - started) * 1000),
                mode="rehearsal",
                content=migration.text,
            )
    except _Failed:
        run.stopped = True
    ended = time.monotonic()
    run.rows.extend(run.record(migration, rec, ended) for rec in records)


def committed_alone(run: Rehearsal, migration: MigrationFile) -> None:
    """Apply a no-transaction file statement by statement, sampling each one's locks."""
    for index, stmt in enumerate(migration.statements(), start=1):
        pid = run.conn.info.backend_pid
        with lockwatch.watching(run.target, pid, run.tracer.relations) as log:
            rec = run.tracer.run(stmt, index, in_transaction=False)
        seen = log.locks()
        row = run.record(migration, rec, None)
        if seen is not None:
            blocking = [lock for lock in seen if lock.mode in BLOCKING_MODES]
            longest = max((log.held_ms(lock) for lock in blocking), default=0.0)
            row = _with(row, locks=tuple(sorted(seen)), blocking_lock_ms=longest)
        run.rows.append(row)
        if rec.sqlstate:
            run.stopped = True
            return
    migration_history.record(
        run.conn,
        version=migration.version,
        checksum=migration.checksum,
        file_name=migration.name,
        execution_ms=None,
        mode="rehearsal",
        content=migration.text,
    )


NOT_IN_TRANSACTION = (
    "cannot run inside a transaction block, and this rehearsal runs in one that it rolls back"
)
NOT_REACHED = "not reached: an earlier statement failed"


def rolled_back_file(run: Rehearsal, migration: MigrationFile) -> None:
    """Run one file inside the rehearsal's transaction, each statement under a savepoint."""
    _set_timeouts(run.conn, run.timeouts.for_file(migration))
    done: list[tuple[migration_files.Statement, StatementRecord | None, str]] = []
    for index, stmt in enumerate(migration.statements(), start=1):
        if run.stopped:
            done.append((stmt, None, NOT_REACHED))
            continue
        run.conn.execute(f"SAVEPOINT {SAVEPOINT}")
        rec = run.tracer.run(stmt, index, in_transaction=True)
        if rec.sqlstate:
            run.conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        else:
            run.conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        if rec.sqlstate == ACTIVE_SQL_TRANSACTION:
            done.append((stmt, None, NOT_IN_TRANSACTION))
            continue
        run.stopped = run.stopped or bool(rec.sqlstate)
        done.append((stmt, rec, ""))
    file_end = time.monotonic()
    for stmt, traced, note in done:
        if traced is None:
            run.skip(migration, stmt, note)
            continue
        own_end = traced.started + traced.duration_ms / 1000
        run.rows.append(
            run.record(migration, traced, file_end if migration.transactional else own_end)
        )
