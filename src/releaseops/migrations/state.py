"""The migration state report: every version of a database against a directory, one state each."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.rows import tuple_row

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import RestoreUnfinished
from releaseops.migrations import files as migration_files
from releaseops.migrations import history as migration_history
from releaseops.migrations.files import MigrationFile, version_key
from releaseops.migrations.history import AppliedRow
from releaseops.pg import restoremark

State = Literal["applied", "pending", "mismatch", "missing", "future", "out_of_order"]
STATES: tuple[State, ...] = ("applied", "pending", "mismatch", "missing", "future", "out_of_order")
SHORT = 12
DIFF_LINES = 40


def short(digest: str | None) -> str:
    """The first 12 hex digits of a checksum, for humans."""
    return (digest or "?")[:SHORT]


@dataclass(frozen=True)
class VersionState:
    """One version's state, with what the file and the database each say about it."""

    version: str
    name: str
    state: State
    file_checksum: str | None = None
    stored_checksum: str | None = None
    applied_at: str | None = None
    execution_ms: int | None = None
    diff: list[str] = field(default_factory=list)
    stored_name: str | None = None

    def explain(self) -> str:
        """One line in an operator's words; empty for a plain applied version."""
        if self.state == "mismatch":
            renamed = (
                f", applied as {self.stored_name}"
                if self.stored_name and self.stored_name != self.name
                else ""
            )
            return (
                f"{self.name} was edited after it was applied (stored sha256 "
                f"{short(self.stored_checksum)}..., "
                f"file now {short(self.file_checksum)}...{renamed})"
            )
        if self.state == "missing":
            return f"{self.name} was applied (version {self.version}) but its file is gone"
        if self.state == "future":
            return (
                f"{self.name} (version {self.version}) is applied but newer than every file: "
                f"the database is ahead of this code"
            )
        if self.state == "out_of_order":
            return f"{self.name} is pending but older than the newest applied version"
        if self.state == "pending":
            return f"{self.name} is pending"
        return ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "version": self.version,
            "name": self.name,
            "state": self.state,
            "file_checksum": self.file_checksum,
            "stored_checksum": self.stored_checksum,
            "applied_at": self.applied_at,
            "execution_ms": self.execution_ms,
            "diff": self.diff,
            "stored_name": self.stored_name,
        }


@dataclass(frozen=True)
class MigrationStatus:
    """Where a database stands against a migrations directory.

    The lists hold migration file names (`0002_questions.sql`). For `missing` and `future`
    versions no file exists: the name is the file name recorded in schema_migrations, or
    `<version>` alone when the row has none. Every version appears in exactly one list;
    `applied` holds only versions whose file is unchanged.
    """

    applied: list[str]
    pending: list[str]
    mismatched: list[str]
    missing: list[str]
    future: list[str]
    out_of_order: list[str]
    versions: list[VersionState] = field(default_factory=list)
    table_exists: bool = True

    @property
    def is_clean(self) -> bool:
        """True when every file is applied unchanged and the database has nothing extra."""
        return not (
            self.pending or self.mismatched or self.missing or self.future or self.out_of_order
        )

    @property
    def has_pending(self) -> bool:
        """True when some file is not applied yet (pending or out of order)."""
        return bool(self.pending or self.out_of_order)

    @property
    def has_conflicts(self) -> bool:
        """True when the database and the files disagree (mismatch, missing or future)."""
        return bool(self.mismatched or self.missing or self.future)

    def counts(self) -> dict[str, int]:
        """How many versions are in each state."""
        return {state: sum(v.state == state for v in self.versions) for state in STATES}

    def explain(self) -> str:
        """One line per problem, in the words an operator would use; empty when clean."""
        return "\n".join(v.explain() for v in self.versions if v.state != "applied")

    def lines(self) -> list[str]:
        """The full listing: one line per version, diffs of edited files, then the counts."""
        out: list[str] = []
        for v in self.versions:
            label = "mismatch" if v.state == "mismatch" else v.state.replace("_", " ")
            detail = {"applied": f"applied {v.applied_at or ''}", "pending": ""}.get(
                v.state, v.explain()
            )
            out.append(f"{label:<13} {v.name:<40} {detail}".rstrip())
            out.extend(f"    {d}" for d in v.diff)
        counts = self.counts()
        out.append(", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()))
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-able report for evidence and /health."""
        return {
            "is_clean": self.is_clean,
            "table_exists": self.table_exists,
            "applied": self.applied,
            "pending": self.pending,
            "mismatched": self.mismatched,
            "missing": self.missing,
            "future": self.future,
            "out_of_order": self.out_of_order,
            "counts": self.counts(),
            "versions": [v.as_dict() for v in self.versions],
        }


def _number(version: str) -> int | None:
    return int(version) if version.isdigit() else None


def _diff(name: str, row: AppliedRow, file: MigrationFile) -> list[str]:
    if row.content is None:
        return ["(the applied text was not recorded, so no diff can be shown)"]
    lines = list(
        difflib.unified_diff(
            row.content.splitlines(),
            file.text.splitlines(),
            fromfile=f"{name} (applied)",
            tofile=f"{name} (file now)",
            lineterm="",
            n=1,
        )
    )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... ({len(lines) - DIFF_LINES} more diff lines)"]
    return lines


def _applied_state(file: MigrationFile, row: AppliedRow) -> VersionState:
    stamp = row.applied_at.isoformat() if row.applied_at else None
    edited = row.checksum != file.checksum
    return VersionState(
        version=file.version,
        name=file.name,
        state="mismatch" if edited else "applied",
        file_checksum=file.checksum,
        stored_checksum=row.checksum,
        applied_at=stamp,
        execution_ms=row.execution_ms,
        diff=_diff(file.name, row, file) if edited else [],
        stored_name=row.file_name,
    )


def compare(files: list[MigrationFile], rows: dict[str, AppliedRow]) -> list[VersionState]:
    """Give each version in files or rows exactly one state."""
    by_number = {_number(v) if _number(v) is not None else v: r for v, r in rows.items()}
    newest_file = max((int(f.version) for f in files), default=-1)
    newest_applied = max((n for n in by_number if isinstance(n, int)), default=-1)
    states: list[VersionState] = []
    for file in files:
        row = by_number.pop(int(file.version), None)
        if row is not None:
            states.append(_applied_state(file, row))
        else:
            late = int(file.version) < newest_applied
            states.append(
                VersionState(
                    version=file.version,
                    name=file.name,
                    state="out_of_order" if late else "pending",
                    file_checksum=file.checksum,
                )
            )
    for key, row in by_number.items():
        ahead = isinstance(key, int) and key > newest_file
        states.append(
            VersionState(
                version=row.version,
                name=row.file_name or row.version,
                state="future" if ahead else "missing",
                stored_checksum=row.checksum,
                stored_name=row.file_name,
                applied_at=row.applied_at.isoformat() if row.applied_at else None,
                execution_ms=row.execution_ms,
            )
        )
    return sorted(states, key=lambda s: version_key(s.version))


def build(
    files: list[MigrationFile], rows: dict[str, AppliedRow], *, table_exists: bool = True
) -> MigrationStatus:
    """The MigrationStatus of `files` against recorded `rows`."""
    versions = compare(files, rows)

    def names(state: State) -> list[str]:
        return [v.name for v in versions if v.state == state]

    return MigrationStatus(
        applied=names("applied"),
        pending=names("pending"),
        mismatched=names("mismatch"),
        missing=names("missing"),
        future=names("future"),
        out_of_order=names("out_of_order"),
        versions=versions,
        table_exists=table_exists,
    )


def status(db: DatabaseUrl | str, directory: Path) -> MigrationStatus:
    """Read-only: the state of every migration version of `db` against `directory`."""
    files = migration_files.discover(directory)
    target = dburl.parse(db)
    with migration_history.database_errors("reading schema_migrations"):
        rows, table_exists = _read(target)
    return build(files, rows, table_exists=table_exists)


def refuse_unfinished_restore(conn: psycopg.Connection[Any], what: str) -> None:
    """RestoreUnfinished when a restore that did not finish marked this database."""
    found = restoremark.read(conn)
    if found is not None:
        raise RestoreUnfinished.refusing(conn.info.dbname, found.describe(), what)


def status_on(conn: psycopg.Connection[Any], directory: Path) -> MigrationStatus:
    """Read-only: status() over a connection the caller holds, without a session of its own.

    For a service's /health, which is asked often: each new session costs the server a backend
    start. Reads in a transaction (a savepoint inside an open one), with tuple rows whatever
    the connection's row factory.
    """
    files = migration_files.discover(directory)
    factory = conn.row_factory
    conn.row_factory = tuple_row
    try:
        with migration_history.database_errors("reading schema_migrations"):
            rows, table_exists = _read_on(conn)
    finally:
        conn.row_factory = factory
    return build(files, rows, table_exists=table_exists)


def _read(db: DatabaseUrl) -> tuple[dict[str, AppliedRow], bool]:
    with db.connect(autocommit=True) as conn:
        conn.read_only = True
        return _read_on(conn)


def _read_on(conn: psycopg.Connection[Any]) -> tuple[dict[str, AppliedRow], bool]:
    with conn.transaction():
        # A half restored schema_migrations would report a state that is not the schema's.
        refuse_unfinished_restore(conn, "to report its migration state")
        table_exists = migration_history.exists(conn)
        rows = migration_history.read(conn)
    return rows, table_exists
