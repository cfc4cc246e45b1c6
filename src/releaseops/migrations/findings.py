"""The lint's rules (id, level, safe recipe), its findings and the report over a directory.

Levels, and what each does at the gate:

- ERROR: the file cannot be applied as written (naming, parse, directive, CONCURRENTLY inside a
  transaction), or the release's files must be rearranged (split-unit). Always fails; cannot be
  allowed.
- BLOCKING: a lock that stops reads or writes for as long as a scan, rewrite or index build
  takes, on a table that already has rows. Fails unless allowed.
- DESTRUCTIVE: loses data, or changes what the release still running sees. Fails unless
  allowed (`-- releaseops:allow <rule> <reason>` or `-- releaseops:destructive <reason>`).
- WARN: worth a look, never fails (a `--strict` caller may choose to fail on it).
- ADVICE: style that costs later (serial, int keys, timestamp); never fails.

A BLOCKING or DESTRUCTIVE finding on a table whose existence the lint cannot tell (created by an
earlier file while the pending files are unknown) is reported as WARN, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Level = Literal["ERROR", "BLOCKING", "DESTRUCTIVE", "WARN", "ADVICE"]
Severity = Literal["FAIL", "WARN", "ADVICE", "ALLOWED"]
GATING: tuple[Level, ...] = ("ERROR", "BLOCKING", "DESTRUCTIVE")


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id (used by `-- releaseops:allow`), level and safe recipe."""

    id: str
    level: Level
    recipe: str


_RULES = [
    Rule(
        "volatile-default",
        "BLOCKING",
        "add the column without a default (or with a constant or now()), SET DEFAULT the "
        "expression for new rows, then backfill old rows in batches",
    ),
    Rule(
        "stored-generated-column",
        "BLOCKING",
        "add a plain nullable column, fill new rows with a trigger and old rows in batches, or "
        "compute the value in a view or an expression index",
    ),
    Rule(
        "add-column-not-null-no-default",
        "BLOCKING",
        "give it a constant DEFAULT (no rewrite since PostgreSQL 11), or add it nullable, "
        "backfill, then follow the set-not-null recipe",
    ),
    Rule(
        "set-not-null",
        "BLOCKING",
        "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c in a later "
        "migration; then SET NOT NULL, which PostgreSQL 12+ proves from c without a scan",
    ),
    Rule(
        "constraint-not-valid-missing",
        "BLOCKING",
        "add it NOT VALID, then VALIDATE CONSTRAINT in a separate migration (SHARE UPDATE "
        "EXCLUSIVE: reads and writes go on)",
    ),
    Rule(
        "validate-same-transaction",
        "BLOCKING",
        "move VALIDATE CONSTRAINT to its own migration, or use a '-- releaseops:no-transaction' "
        "file so each statement commits first",
    ),
    Rule(
        "unique-without-index",
        "BLOCKING",
        "CREATE UNIQUE INDEX CONCURRENTLY in a no-transaction migration, then ADD CONSTRAINT ... "
        "UNIQUE USING INDEX (for a primary key make the columns NOT NULL first)",
    ),
    Rule(
        "index-not-concurrent",
        "BLOCKING",
        "use CREATE INDEX CONCURRENTLY IF NOT EXISTS, REINDEX ... CONCURRENTLY or DROP INDEX "
        "CONCURRENTLY IF EXISTS, alone in a '-- releaseops:no-transaction' migration",
    ),
    Rule(
        "rewrite-command",
        "BLOCKING",
        "keep it out of migrations: plain VACUUM, or pg_repack in a maintenance window",
    ),
    Rule(
        "column-type-rewrite",
        "BLOCKING",
        "expand and contract: add a column of the new type, backfill in batches, switch the code, "
        "drop the old column later (only varchar(n) -> text or a larger n is free)",
    ),
    Rule(
        "client-breaking",
        "DESTRUCTIVE",
        "expand and contract: first release code that no longer uses the old shape, drop or "
        "rename later, annotated; keep identifiers to 63 bytes",
    ),
    Rule(
        "data-destructive",
        "DESTRUCTIVE",
        "scope it with WHERE and batch it; if the whole table really goes, take a backup first",
    ),
    Rule(
        "concurrently-in-transaction",
        "ERROR",
        "put the statement alone in a file whose first line is '-- releaseops:no-transaction'",
    ),
    Rule("prefer-identity", "ADVICE", "use bigint GENERATED ALWAYS AS IDENTITY"),
    Rule("prefer-bigint-key", "ADVICE", "use bigint keys: widening one later rewrites the table"),
    Rule("prefer-timestamptz", "ADVICE", "use timestamptz"),
    Rule("split-unit", "ERROR", "keep related index/constraint changes in the same migration"),
    Rule("transaction-control", "ERROR", "remove it (use '-- releaseops:no-transaction')"),
    Rule("no-transaction", "WARN", "keep one statement per no-transaction file"),
]
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
# Rules about the directory and the files themselves (no statement to allow).
STRUCTURAL: dict[str, Level] = {
    "directory": "ERROR",
    "naming": "ERROR",
    "duplicate-version": "ERROR",
    "numbering-gap": "WARN",
    "empty": "ERROR",
    "unparsable": "ERROR",
    "directive": "ERROR",
}


def level_of(rule_id: str) -> Level:
    """The level of a rule or structural check."""
    return RULES[rule_id].level if rule_id in RULES else STRUCTURAL.get(rule_id, "ERROR")


@dataclass(frozen=True)
class Finding:
    """One problem: where, which rule, the outcome at the gate, and what to do.

    `severity` is the outcome: FAIL (fails the gate), WARN, ADVICE or ALLOWED (suppressed with
    a reason, in `allowed`). `rule_id` is the precise rule; `rule` is what the finding is
    reported as: `destructive` for every DESTRUCTIVE rule (the name of the annotation that has
    always allowed them), else the rule id.
    """

    file: str
    line: int | None
    rule: str
    severity: Severity
    message: str
    rule_id: str = ""
    level: Level = "ERROR"
    allowed: str | None = None

    def __post_init__(self) -> None:
        if not self.rule_id:
            object.__setattr__(self, "rule_id", self.rule)
            object.__setattr__(self, "level", level_of(self.rule))

    @property
    def fails(self) -> bool:
        """True when this finding fails the gate."""
        return self.severity == "FAIL"

    def line_text(self) -> str:
        """`0003_x.sql:4 FAIL destructive: ...`."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.severity} {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return vars(self).copy()


def finding(
    file: str,
    line: int | None,
    rule_id: str,
    message: str,
    *,
    existing: bool | None = True,
    allowed: str | None = None,
) -> Finding:
    """A finding of `rule_id`, its outcome decided by the rule's level and the table's state."""
    level = level_of(rule_id)
    severity: Severity
    if allowed is not None and level != "ERROR":
        severity = "ALLOWED"
    elif level in GATING:
        severity = "FAIL" if existing else "WARN"
    else:
        severity = "ADVICE" if level == "ADVICE" else "WARN"
    rule = "destructive" if level == "DESTRUCTIVE" else rule_id
    return Finding(file, line, rule, severity, message, rule_id, level, allowed)


@dataclass(frozen=True)
class LintReport:
    """Every finding over a migrations directory; `allowed` holds the suppressed ones."""

    directory: Path
    files: list[str]
    findings: list[Finding] = field(default_factory=list)
    allowed: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing FAILs (warnings and advice allowed)."""
        return not self.failures()

    def failures(self) -> list[Finding]:
        """Only the findings that fail the gate."""
        return [f for f in self.findings if f.fails]

    def warnings(self) -> list[Finding]:
        """Only the WARN findings."""
        return [f for f in self.findings if f.severity == "WARN"]

    def counts(self) -> dict[str, int]:
        """How many findings have each outcome."""
        found = [*self.findings, *self.allowed]
        return {s: sum(f.severity == s for f in found) for s in ("FAIL", "WARN", "ADVICE")} | {
            "ALLOWED": len(self.allowed)
        }

    def lines(self) -> list[str]:
        """One line per finding, then a summary."""
        counts = self.counts()
        summary = f"{len(self.files)} migration file(s) linted: {counts['FAIL']} FAIL, "
        summary += f"{counts['WARN']} WARN"
        extra = [f"{counts[k]} {k}" for k in ("ADVICE", "ALLOWED") if counts[k]]
        summary += "".join(f", {e}" for e in extra)
        return [*(f.line_text() for f in self.findings), summary]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "files": self.files,
            "findings": [f.as_dict() for f in self.findings],
            "allowed": [f.as_dict() for f in self.allowed],
            "counts": self.counts(),
        }
