"""Schema migrations: status (read-only), apply and baseline under the runner's advisory lock.

Files are `migrations/postgres/NNNN_snake_case_name.sql`; see docs/migrations.md for the rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import BaselineRefused, ConfigurationError, InvalidMigrationFile
from releaseops.migrations import blockers
from releaseops.migrations import files as migration_files
from releaseops.migrations import history as migration_history
from releaseops.migrations import lock as migration_lock
from releaseops.migrations.execute import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_STATEMENT_TIMEOUT,
    AppliedFile,
    Timeouts,
    check_duration,
    run_in_transaction,
    run_without_transaction,
)
from releaseops.migrations.files import DEFAULT_DIR, MigrationFile
from releaseops.migrations.refusal import refusal
from releaseops.migrations.retries import (
    DEFAULT_LOCK_RETRIES,
    DEFAULT_LOCK_RETRY_DELAY_S,
    LockRetry,
    Sleep,
)
from releaseops.migrations.state import (
    MigrationStatus,
    VersionState,
    build,
    refuse_unfinished_restore,
    status,
    status_on,
)

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_LOCK_RETRIES",
    "DEFAULT_LOCK_RETRY_DELAY_S",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_LOCK_WAIT_S",
    "DEFAULT_STATEMENT_TIMEOUT",
    "ApplyReport",
    "AppliedFile",
    "BaselineReport",
    "MigrationStatus",
    "VersionState",
    "apply",
    "baseline",
    "status",
    "status_on",
]

DEFAULT_LOCK_WAIT_S = 60.0
APPLICATION_NAME = "releaseops-migrations"


@dataclass(frozen=True)
class ApplyReport:
    """What apply() did (or, for a dry run, would do)."""

    applied: list[str]
    files: list[AppliedFile] = field(default_factory=list)
    would_apply: list[str] = field(default_factory=list)
    dry_run: bool = False
    before: MigrationStatus | None = None
    after: MigrationStatus | None = None

    def lines(self) -> list[str]:
        """Predictable output: `applied 0003_fts.sql in 41 ms`, then a summary."""
        if self.dry_run:
            out = [f"would apply {name}" for name in self.would_apply]
            return out or [self.summary()]
        return [*(f.line() for f in self.files), self.summary()]

    def summary(self) -> str:
        """The last line: what was done in total, or that there was nothing to do."""
        if self.dry_run and self.would_apply:
            return f"dry run: {len(self.would_apply)} migration(s) would be applied"
        if not self.files:
            return self._nothing()
        total = sum(f.execution_ms for f in self.files)
        return f"done: applied {len(self.files)} migration(s) in {total} ms"

    def _nothing(self) -> str:
        count = len(self.before.applied) if self.before else 0
        return f"nothing to apply: {count} migration(s) applied, database is up to date"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able report."""
        final = self.after or self.before
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "would_apply": self.would_apply,
            "files": [vars(f) for f in self.files],
            "status": final.as_dict() if final else None,
        }


@dataclass(frozen=True)
class BaselineReport:
    """The versions baseline() recorded as applied without running them."""

    version: str
    recorded: list[str]

    def lines(self) -> list[str]:
        """One line per recorded file, then a summary."""
        out = [f"baselined {name} (recorded as applied, not run)" for name in self.recorded]
        out.append(f"done: database adopted at version {self.version}")
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-able report."""
        return {"version": self.version, "recorded": self.recorded}


def _to_run(current: MigrationStatus, files: list[MigrationFile]) -> list[MigrationFile]:
    wanted = set(current.pending) | set(current.out_of_order)
    chosen = [f for f in files if f.name in wanted]
    for migration in chosen:
        if not migration.statements():
            raise InvalidMigrationFile(
                f"{migration.name} has no SQL statement; write the migration or delete the file",
                path=migration.path,
            )
    return chosen


def _dry_run(
    db: DatabaseUrl | str, directory: Path, files: list[MigrationFile], *, allow_out_of_order: bool
) -> ApplyReport:
    """What apply() would run, refused the same way; reads only, takes no lock."""
    current = status(db, directory)
    refused = refusal(current, allow_out_of_order=allow_out_of_order)
    if refused:
        raise refused
    names = [f.name for f in _to_run(current, files)]
    return ApplyReport(applied=[], would_apply=names, dry_run=True, before=current)


def _connect(db: DatabaseUrl | str) -> psycopg.Connection[Any]:
    return dburl.parse(db).connect(autocommit=True, application_name=APPLICATION_NAME)


def _lock_retry(lock_retries: int, lock_retry_delay_s: float, sleep: Sleep) -> LockRetry:
    if lock_retries < 0 or lock_retry_delay_s < 0:
        raise ConfigurationError(
            f"lock_retries={lock_retries} and lock_retry_delay_s={lock_retry_delay_s:g} must not "
            f"be negative"
        )
    return LockRetry(lock_retries, lock_retry_delay_s, sleep, blockers.BlockerWatch())


def apply(
    db: DatabaseUrl | str,
    directory: Path = DEFAULT_DIR,
    *,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT,
    lock_retries: int = DEFAULT_LOCK_RETRIES,
    lock_retry_delay_s: float = DEFAULT_LOCK_RETRY_DELAY_S,
    sleep: Sleep = time.sleep,
    progress: Callable[[AppliedFile], None] | None = None,
) -> ApplyReport:
    """Apply pending files in version order, each with its schema_migrations row.

    A statement blocked past `lock_timeout` is tried again `lock_retries` times, pausing
    `lock_retry_delay_s` doubled each time; then LockRetriesExhausted (exit code 13) names the
    session that held the lock. `progress` is called after each file, so a caller can show it
    before a later file fails.
    """
    check_duration("lock_timeout", lock_timeout)
    check_duration("statement_timeout", statement_timeout)
    retry = _lock_retry(lock_retries, lock_retry_delay_s, sleep)
    files = migration_files.discover(directory)
    if dry_run:
        return _dry_run(db, directory, files, allow_out_of_order=allow_out_of_order)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    target = dburl.parse(db)
    interval = blockers.interval_for(blockers.seconds(lock_timeout))
    with (
        migration_history.database_errors("applying migrations"),
        _connect(target) as conn,
        migration_lock.held(conn, lock_wait_s),
        blockers.watching(target, conn.info.backend_pid, interval_s=interval) as watch,
    ):
        retry = LockRetry(retry.retries, retry.delay_s, retry.sleep, watch)
        return _apply_locked(
            conn, files, timeouts, retry, allow_out_of_order=allow_out_of_order, progress=progress
        )


def _apply_locked(
    conn: psycopg.Connection[Any],
    files: list[MigrationFile],
    timeouts: Timeouts,
    retry: LockRetry,
    *,
    allow_out_of_order: bool,
    progress: Callable[[AppliedFile], None] | None,
) -> ApplyReport:
    """Apply what is pending, holding the runner's lock."""
    refuse_unfinished_restore(conn, "to migrate it")
    migration_history.ensure(conn)
    # Read the history only once the lock is ours: a runner that waited sees what the
    # previous one applied and skips it.
    current = build(files, migration_history.read(conn))
    refused = refusal(current, allow_out_of_order=allow_out_of_order)
    if refused:
        raise refused
    done: list[AppliedFile] = []
    for migration in _to_run(current, files):
        run = run_in_transaction if migration.transactional else run_without_transaction
        done.append(run(conn, migration, timeouts, retry))
        if progress is not None:
            progress(done[-1])
    after = build(files, migration_history.read(conn))
    return ApplyReport(applied=[f.name for f in done], files=done, before=current, after=after)


def baseline(
    db: DatabaseUrl | str,
    directory: Path = DEFAULT_DIR,
    version: str = "",
    *,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
) -> BaselineReport:
    """Adopt an existing database: record files up to `version` as applied without running them."""
    files = migration_files.discover(directory)
    wanted = [f for f in files if version.isdigit() and int(f.version) == int(version)]
    if not wanted:
        known = ", ".join(f.version for f in files) or "none"
        raise BaselineRefused(
            f"no migration file has version {version!r} (files: {known}); "
            f"pass the version of the newest file whose changes the database already has",
            problems=[f"unknown version {version!r}"],
        )
    chosen = [f for f in files if int(f.version) <= int(version)]
    with (
        migration_history.database_errors("baseline"),
        _connect(db) as conn,
        migration_lock.held(conn, lock_wait_s),
    ):
        refuse_unfinished_restore(conn, "to baseline it")
        migration_history.ensure(conn)
        rows = migration_history.read(conn)
        if rows:
            raise BaselineRefused(
                f"schema_migrations already records {len(rows)} version(s); baseline only "
                f"adopts a database with no migration history. Use --status to see it",
                problems=[f"{len(rows)} version(s) already recorded"],
            )
        with conn.transaction():
            for migration in chosen:
                migration_history.record(
                    conn,
                    version=migration.version,
                    checksum=migration.checksum,
                    file_name=migration.name,
                    execution_ms=None,
                    mode="baseline",
                    content=migration.text,
                )
    return BaselineReport(version=wanted[0].version, recorded=[f.name for f in chosen])
