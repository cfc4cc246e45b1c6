"""Schema migrations: status (read-only), apply and baseline under the runner's advisory lock.

Files are `migrations/postgres/NNNN_snake_case_name.sql`; see docs/migrations.md for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    BaselineRefused,
    ChecksumMismatch,
    ConfigurationError,
    DatabaseAheadOfCode,
    InvalidMigrationFile,
    MigrationFileMissing,
    MigrationsRefused,
    OutOfOrderMigration,
)
from releaseops.migrations import files as migration_files
from releaseops.migrations import history as migration_history
from releaseops.migrations import lock as migration_lock
from releaseops.migrations.execute import (
    AppliedFile,
    Timeouts,
    run_in_transaction,
    run_without_transaction,
)
from releaseops.migrations.files import MigrationFile
from releaseops.migrations.state import MigrationStatus, VersionState, build, status

__all__ = [
    "DEFAULT_DIR",
    "ApplyReport",
    "AppliedFile",
    "BaselineReport",
    "MigrationStatus",
    "VersionState",
    "apply",
    "baseline",
    "status",
]


def _default_dir() -> Path:
    """<repo>/migrations/postgres from a source checkout; else relative to the working directory."""
    checkout = Path(__file__).resolve().parents[3] / "migrations" / "postgres"
    return checkout if checkout.is_dir() else Path.cwd() / "migrations" / "postgres"


DEFAULT_DIR = _default_dir()
DEFAULT_LOCK_WAIT_S = 60.0
# Production-safe: a DDL statement that cannot get its lock within 5 s gives up instead of
# queueing, because every later query on that table would queue behind it and stall traffic.
DEFAULT_LOCK_TIMEOUT = "5s"
DEFAULT_STATEMENT_TIMEOUT = "15min"
APPLICATION_NAME = "releaseops-migrations"
_DURATION = re.compile(r"^\d+(?:\.\d+)?\s*(?:ms|s|min|h)?$")


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


def _refusal(current: MigrationStatus, *, allow_out_of_order: bool) -> MigrationsRefused | None:
    checks: list[tuple[list[str], type[MigrationsRefused], str]] = [
        (
            current.mismatched,
            ChecksumMismatch,
            "Restore the applied text (see the diff in --status) and put the change in a new file",
        ),
        (current.missing, MigrationFileMissing, "Restore the deleted file(s) from version control"),
        (
            current.future,
            DatabaseAheadOfCode,
            "Deploy the code that has these files, or restore the pre-release backup",
        ),
    ]
    if not allow_out_of_order:
        checks.append(
            (
                current.out_of_order,
                OutOfOrderMigration,
                "Renumber the file after the newest applied version, or pass --allow-out-of-order",
            )
        )
    for names, kind, remedy in checks:
        if names:
            problems = [v.explain() for v in current.versions if v.state != "applied"]
            problems = [p for p in problems if not p.endswith(" is pending")]
            return kind(
                f"refusing to apply migrations: {'; '.join(problems)}. {remedy}",
                problems=problems,
            )
    return None


def _check_duration(name: str, value: str) -> None:
    if not _DURATION.match(value.strip()):
        raise ConfigurationError(f"{name}={value!r} is not a duration such as 5s, 500ms or 2min")


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
    refused = _refusal(current, allow_out_of_order=allow_out_of_order)
    if refused:
        raise refused
    names = [f.name for f in _to_run(current, files)]
    return ApplyReport(applied=[], would_apply=names, dry_run=True, before=current)


def _connect(db: DatabaseUrl | str) -> psycopg.Connection[Any]:
    return dburl.parse(db).connect(autocommit=True, application_name=APPLICATION_NAME)


def apply(
    db: DatabaseUrl | str,
    directory: Path = DEFAULT_DIR,
    *,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT,
    progress: Callable[[AppliedFile], None] | None = None,
) -> ApplyReport:
    """Apply pending files in version order, each with its schema_migrations row.

    `progress` is called after each file, so a caller can show it before a later file fails.
    """
    _check_duration("lock_timeout", lock_timeout)
    _check_duration("statement_timeout", statement_timeout)
    files = migration_files.discover(directory)
    if dry_run:
        return _dry_run(db, directory, files, allow_out_of_order=allow_out_of_order)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    with (
        migration_history.database_errors("applying migrations"),
        _connect(db) as conn,
        migration_lock.held(conn, lock_wait_s),
    ):
        migration_history.ensure(conn)
        # Read the history only once the lock is ours: a runner that waited sees what the
        # previous one applied and skips it.
        current = build(files, migration_history.read(conn))
        refused = _refusal(current, allow_out_of_order=allow_out_of_order)
        if refused:
            raise refused
        done: list[AppliedFile] = []
        for migration in _to_run(current, files):
            run = run_in_transaction if migration.transactional else run_without_transaction
            done.append(run(conn, migration, timeouts))
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
