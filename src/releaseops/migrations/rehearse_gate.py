"""Judge a rehearsal: blocking locks held too long, or rewrites, on tables above a size.

A statement fails the gate when it
- failed on the copy (it would fail in production too);
- rewrote a table larger than `max_rows` rows or `max_bytes` bytes;
- held a SHARE-class or ACCESS EXCLUSIVE lock on such a table for longer than
  `lock_budget_ms`, from the start of the statement to the commit of its transaction.
A statement that was not rehearsed, or whose locks could not be observed, is *not verified*:
the verdict then does not pass either. The defaults suit an OLTP service: 10,000 rows or
64 MiB, and one second of blocked traffic; the release record may set others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from releaseops.migrations.rehearse_report import (
    RehearsalReport,
    RehearsedStatement,
    TableSize,
)

DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_LOCK_BUDGET_MS = 1000.0


@dataclass(frozen=True)
class RehearsalVerdict:
    """What the gate found: failures and not-verified statements, and the limits it used."""

    failures: list[str]
    not_verified: list[str]
    limits: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True only when nothing failed and every statement was verified."""
        return not self.failures and not self.not_verified

    def limits_shown(self) -> str:
        """The limits in words: "1,000,000 rows or 100 MiB, 5,000 ms of blocking locks"."""
        limits = _Limits(
            int(self.limits["max_rows"]),
            int(self.limits["max_bytes"]),
            self.limits["lock_budget_ms"],
        )
        return f"{limits.shown()}, {limits.lock_budget_ms:,.0f} ms of blocking locks"

    def explain(self) -> str:
        """One line per problem, failures first; empty when it passed."""
        return "\n".join([*self.failures, *(f"not verified: {n}" for n in self.not_verified)])

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "passed": self.passed,
            "failures": self.failures,
            "not_verified": self.not_verified,
            "limits": self.limits,
        }


@dataclass(frozen=True)
class _Limits:
    max_rows: int
    max_bytes: int
    lock_budget_ms: float

    def large(self, size: TableSize | None) -> bool:
        return size is not None and (size.rows > self.max_rows or size.bytes > self.max_bytes)

    def shown(self) -> str:
        return f"{self.max_rows:,} rows or {self.max_bytes / 1048576:.0f} MiB"


def _head(statement: RehearsedStatement) -> str:
    return " ".join(statement.statement.split())[:60]


def _problems(
    statement: RehearsedStatement, report: RehearsalReport, limits: _Limits
) -> tuple[list[str], list[str]]:
    """(failures, not verified) of one statement."""
    where = f"{statement.where} ({_head(statement)})"
    if not statement.rehearsed:
        return [], [f"{where}: {statement.note}"]
    if statement.error:
        return [f"{where} failed on the copy: [{statement.sqlstate}] {statement.error}"], []
    failures = [
        f"{where} rewrites {table} ({size.describe()}, over {limits.shown()}) under ACCESS "
        f"EXCLUSIVE"
        for table in statement.rewritten
        if limits.large(size := report.size_of(table)) and size is not None
    ]
    if statement.locks is None:
        return failures, [f"{where}: its locks could not be observed"]
    held = statement.blocking_lock_ms or 0.0
    if held > limits.lock_budget_ms:
        for lock in statement.blocking_locks():
            size = report.size_of(lock.table)
            if limits.large(size) and size is not None:
                failures.append(
                    f"{where} holds {lock.mode} on {lock.table} ({size.describe()}) for "
                    f"{held:,.0f} ms, over the {limits.lock_budget_ms:,.0f} ms budget"
                )
    return failures, []


def gate(
    report: RehearsalReport,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lock_budget_ms: float = DEFAULT_LOCK_BUDGET_MS,
) -> RehearsalVerdict:
    """Fail statements that rewrite, or block too long, a table over `max_rows`/`max_bytes`."""
    limits = _Limits(max_rows, max_bytes, lock_budget_ms)
    failures: list[str] = []
    not_verified: list[str] = []
    for statement in report.statements:
        failed, unverified = _problems(statement, report, limits)
        failures.extend(dict.fromkeys(failed))
        not_verified.extend(unverified)
    numbers = {"max_rows": max_rows, "max_bytes": max_bytes, "lock_budget_ms": lock_budget_ms}
    return RehearsalVerdict(failures, not_verified, {k: float(v) for k, v in numbers.items()})
