"""What a rehearsal saw: one row per statement (locks, rewrites, rows, time), table sizes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releaseops.migrations.trace_records import Lock

# Modes that stop writes (SHARE and stronger) or reads too (ACCESS EXCLUSIVE) while held.
BLOCKING_MODES = frozenset(
    {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
)


@dataclass(frozen=True)
class TableSize:
    """A table's size before the rehearsal: rows (exact or planner estimate) and bytes."""

    rows: int
    bytes: int

    def describe(self) -> str:
        """`100,000 rows, 4.3 MiB`."""
        return f"{self.rows:,} rows, {self.bytes / 1048576:.1f} MiB"


@dataclass(frozen=True)
class RehearsedStatement:
    """One statement of a pending file, and what the server was seen doing while it ran.

    `locks` are the relation locks the statement took on relations that existed before the
    rehearsal (None: not observed); `rewritten` the tables whose storage was replaced (their
    rows copied), `rewritten_relations` every table or index that was, `scanned` the tables
    read by sequential scan (None: not observed). `blocking_lock_ms` is
    the longest a SHARE-class or ACCESS EXCLUSIVE lock it took stayed held, from the start of
    the statement to the commit of its transaction. `rehearsed` is False, with a `note`, for a
    statement that could not run here.
    """

    file: str
    line: int
    statement: str
    rehearsed: bool
    in_transaction: bool = True
    locks: tuple[Lock, ...] | None = None
    rewritten: tuple[str, ...] = ()
    rewritten_relations: tuple[str, ...] = ()
    scanned: tuple[str, ...] | None = None
    rows: int | None = None
    ms: float | None = None
    blocking_lock_ms: float | None = None
    sqlstate: str | None = None
    error: str | None = None
    note: str | None = None

    @property
    def where(self) -> str:
        """`0003_x.sql line 4`."""
        return f"{self.file} line {self.line}"

    def blocking_locks(self) -> list[Lock]:
        """The locks taken that stop writes or reads while held."""
        return [lock for lock in self.locks or () if lock.mode in BLOCKING_MODES]

    def as_dict(self) -> dict[str, Any]:
        """The JSON row: file, statement, locks, rewritten, rows, ms, blocking_lock_ms, ..."""
        locks = None
        if self.locks is not None:
            locks = [
                {"relation": lock.relation, "table": lock.table, "mode": lock.mode}
                for lock in self.locks
            ]
        return {
            "file": self.file,
            "line": self.line,
            "statement": self.statement,
            "rehearsed": self.rehearsed,
            "in_transaction": self.in_transaction,
            "locks": locks,
            "rewritten": list(self.rewritten),
            "rewritten_relations": list(self.rewritten_relations),
            "scanned": None if self.scanned is None else list(self.scanned),
            "rows": self.rows,
            "ms": None if self.ms is None else round(self.ms, 3),
            "blocking_lock_ms": (
                None if self.blocking_lock_ms is None else round(self.blocking_lock_ms, 3)
            ),
            "sqlstate": self.sqlstate,
            "error": self.error,
            "note": self.note,
        }

    def line_text(self) -> str:
        """One line for humans."""
        head = " ".join(self.statement.split())[:60]
        if not self.rehearsed:
            return f"{self.where}: {head} -- not rehearsed: {self.note}"
        if self.error:
            return f"{self.where}: {head} -- FAILED [{self.sqlstate}] {self.error}"
        locks = (
            "not observed"
            if self.locks is None
            else ", ".join(f"{lock.mode} {lock.relation}" for lock in self.blocking_locks())
            or "no blocking lock"
        )
        rewritten = f"; rewrote {', '.join(self.rewritten)}" if self.rewritten else ""
        held = f" held {self.blocking_lock_ms:.0f} ms" if self.blocking_lock_ms else ""
        return f"{self.where}: {head} -- {self.ms or 0:.0f} ms; {locks}{held}{rewritten}"


@dataclass(frozen=True)
class RehearsalReport:
    """Every pending statement as rehearsed, against a copy (committed) or rolled back."""

    database: str
    committed: bool
    note: str
    files: list[str]
    statements: list[RehearsedStatement]
    tables: dict[str, TableSize]

    def size_of(self, table: str) -> TableSize | None:
        """The size of `table` before the rehearsal, if it existed."""
        return self.tables.get(table)

    def lines(self) -> list[str]:
        """The note, one line per statement, then a summary."""
        failed = sum(1 for s in self.statements if s.error)
        skipped = sum(1 for s in self.statements if not s.rehearsed)
        summary = (
            f"rehearsed {len(self.statements) - skipped} of {len(self.statements)} statement(s) "
            f"of {len(self.files)} file(s): {failed} failed, {skipped} not rehearsed"
        )
        return [self.note, *(s.line_text() for s in self.statements), summary]

    def as_dict(self) -> dict[str, Any]:
        """The JSON report: {"statements": [...], "database", "mode", "note", "files", ...}."""
        return {
            "statements": [s.as_dict() for s in self.statements],
            "database": self.database,
            "mode": "committed" if self.committed else "rolled back",
            "note": self.note,
            "files": self.files,
            "tables": {
                name: {"rows": size.rows, "bytes": size.bytes}
                for name, size in sorted(self.tables.items())
            },
        }
