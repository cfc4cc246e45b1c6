"""What the tracer records per statement: relations, locks, rewrites, scans, and the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TABLE_KINDS = frozenset({"r", "p", "m"})
COMMITTED = "committed"
FAILED = "rolled back after an error"
LEFT_OPEN = "left open for inspection, then rolled back"


@dataclass(frozen=True)
class Relation:
    """A user table or index that existed before the migration."""

    oid: int
    name: str
    kind: str
    table: str

    @property
    def is_table(self) -> bool:
        """True for tables, partitioned tables and materialized views."""
        return self.kind in TABLE_KINDS


@dataclass(frozen=True, order=True)
class Lock:
    """A relation lock held by the migration's backend; `table` owns `relation` (or is it)."""

    relation: str
    table: str
    mode: str

    def __str__(self) -> str:
        shown = self.relation if self.relation == self.table else f"{self.relation} ({self.table})"
        return f"{self.mode} {shown}"


@dataclass(frozen=True)
class StatementRecord:
    """What one statement did, read from the server before its transaction ended.

    `index` is 1-based in file order and `line` is where the statement starts. `locks` are all
    relation locks the transaction held right after the statement, `acquired` the ones this
    statement added. `rewritten` and `dropped` name pre-existing relations whose storage changed
    or that are gone; `scans` counts sequential scans per pre-existing table. `rowcount` is -1
    when the statement reports none; `sqlstate` and `error` are set when it failed. `locks`,
    `acquired` and `scans` are `None` when they could not be read: after a failure, and for a
    statement run in autocommit. `started` is the `time.monotonic()` at which it was sent.
    """

    index: int
    line: int
    sql: str
    in_transaction: bool
    rowcount: int
    duration_ms: float
    started: float
    notices: tuple[str, ...]
    sqlstate: str | None
    error: str | None
    locks: frozenset[Lock] | None
    acquired: frozenset[Lock] | None
    rewritten: frozenset[str]
    dropped: frozenset[str]
    scans: Mapping[str, int] | None

    def describe(self) -> str:
        """A few lines quoting everything observed for this statement."""
        head = self.sql.splitlines()[0][:80]
        where = "in transaction" if self.in_transaction else "autocommit"
        lines = [f"statement {self.index} (line {self.line}, {where}): {head}"]
        if self.sqlstate:
            lines.append(f"  error [{self.sqlstate}] {self.error}")
        locks = "not observed" if self.locks is None else ", ".join(map(str, sorted(self.locks)))
        lines.append(f"  locks held: {locks or 'none'}")
        lines.append(f"  rewritten: {', '.join(sorted(self.rewritten)) or 'none'}")
        if self.dropped:
            lines.append(f"  dropped: {', '.join(sorted(self.dropped))}")
        scans = self.scans
        shown = (
            "not observed" if scans is None else ", ".join(f"{t} x{n}" for t, n in scans.items())
        )
        lines.append(f"  seq scans: {shown or 'none'}")
        lines.append(f"  rows: {self.rowcount}; {self.duration_ms:.1f} ms")
        lines.extend(f"  notice: {text}" for text in self.notices)
        return "\n".join(lines)


@dataclass(frozen=True)
class Observation:
    """Every statement's record, the relations that existed before, and whether it committed."""

    name: str
    transactional: bool
    relations: Mapping[int, Relation]
    statements: tuple[StatementRecord, ...]
    outcome: str

    @property
    def committed(self) -> bool:
        """True when the migration's work was committed."""
        return self.outcome == COMMITTED

    @property
    def failure(self) -> StatementRecord | None:
        """The statement that failed, if one did."""
        return next((s for s in self.statements if s.sqlstate), None)

    def describe(self) -> str:
        """Everything observed, statement by statement, for failure messages."""
        mode = "one transaction" if self.transactional else "no-transaction"
        body = "\n".join(s.describe() for s in self.statements)
        return f"observed {self.name} ({mode}, {self.outcome}):\n{body}"
