"""Lint migration files with PostgreSQL's own parser (pglast): names, parse, risky statements."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pglast import ast, parse_sql
from pglast.parser import ParseError

from releaseops.errors import InvalidMigrationFile
from releaseops.migrations import files as migration_files
from releaseops.migrations.files import DIRECTIVE, NAME_RULE, NAME_RULE_TEXT, line_of, version_key
from releaseops.migrations.rules import (
    TableUse,
    destructive_reason,
    needs_no_transaction,
    table_name,
    table_uses,
)

Severity = Literal["FAIL", "WARN"]
__all__ = ["Finding", "LintReport", "lint", "lint_text"]


@dataclass(frozen=True)
class Finding:
    """One problem: where, which rule, how bad, and what to do."""

    file: str
    line: int | None
    rule: str
    severity: Severity
    message: str

    def line_text(self) -> str:
        """`0003_x.sql:4 FAIL destructive: ...`."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.severity} {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return vars(self).copy()


@dataclass(frozen=True)
class LintReport:
    """Every finding over a migrations directory."""

    directory: Path
    files: list[str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing FAILs (warnings allowed)."""
        return not any(f.severity == "FAIL" for f in self.findings)

    def failures(self) -> list[Finding]:
        """Only the FAIL findings."""
        return [f for f in self.findings if f.severity == "FAIL"]

    def lines(self) -> list[str]:
        """One line per finding, then a summary."""
        fails, warns = len(self.failures()), len(self.findings) - len(self.failures())
        summary = f"{len(self.files)} migration file(s) linted: {fails} FAIL, {warns} WARN"
        return [*(f.line_text() for f in self.findings), summary]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "files": self.files,
            "findings": [f.as_dict() for f in self.findings],
        }


def _annotated(text: str, start: int, stop: int) -> bool:
    """True when a `-- releaseops:destructive <reason>` comment sits in text[start:stop]."""
    for raw in text[start:stop].split("\n"):
        match = DIRECTIVE.match(raw.strip())
        if match and match.group("name") == "destructive" and (match.group("arg") or "").strip():
            return True
    return False


DESTRUCTIVE_HINT = (
    "allowed only with a '-- releaseops:destructive <reason>' comment in the file header or "
    "right above the statement (checklist section 7)"
)
Problem = tuple[str, Severity, str]


def _statement_problems(
    node: ast.Node | None, *, annotated: bool, no_transaction: bool, created: set[str]
) -> list[Problem]:
    """The (rule, severity, message) problems of one statement."""
    problems: list[Problem] = []
    reason = destructive_reason(node)
    if reason and not annotated:
        problems.append(("destructive", "FAIL", f"{reason}; {DESTRUCTIVE_HINT}"))
    need = needs_no_transaction(node)
    if need and not no_transaction:
        problems.append(
            (
                "no-transaction",
                "FAIL",
                f"{need} cannot run inside a transaction block; put it in its own file "
                f"whose first line is '-- releaseops:no-transaction'",
            )
        )
    if isinstance(node, ast.TransactionStmt):
        problems.append(
            (
                "transaction-control",
                "FAIL",
                "BEGIN/COMMIT/ROLLBACK inside a migration breaks the runner's one transaction "
                "per file; remove it (use '-- releaseops:no-transaction' if needed)",
            )
        )
    if isinstance(node, ast.CreateStmt):
        created.add(table_name(node.relation))
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        table = table_name(node.relation)
        if table not in created:
            problems.append(
                (
                    "blocking-index",
                    "WARN",
                    f"CREATE INDEX on existing table {table} blocks its writes while it "
                    f"builds; prefer CREATE INDEX CONCURRENTLY in a no-transaction file",
                )
            )
    return problems


def _statement_findings(
    name: str, text: str, stmts: tuple[ast.RawStmt, ...], directives: dict[str, str]
) -> list[Finding]:
    findings: list[Finding] = []
    no_transaction = "no-transaction" in directives
    created: set[str] = set()
    previous_end = 0
    for raw in stmts:
        start = raw.stmt_location or 0
        # An annotation covers the file (header) or the statement right below it.
        annotated = "destructive" in directives or _annotated(text, previous_end, start)
        for rule, severity, message in _statement_problems(
            raw.stmt, annotated=annotated, no_transaction=no_transaction, created=created
        ):
            findings.append(Finding(name, line_of(text, start), rule, severity, message))
        previous_end = start + (raw.stmt_len or len(text) - start)
    if no_transaction and len(stmts) > 1:
        message = (
            f"{len(stmts)} statements in a no-transaction file: a failure leaves the earlier "
            f"ones applied; keep one statement per no-transaction file"
        )
        findings.append(Finding(name, None, "no-transaction", "WARN", message))
    return findings


def lint_text(name: str, text: str) -> tuple[list[Finding], list[TableUse]]:
    """Findings of one file's normalised text, and the tables it touches (for cross-file rules)."""
    try:
        directives = migration_files.parse_directives(text, name)
    except InvalidMigrationFile as exc:
        return [Finding(name, None, "directive", "FAIL", str(exc))], []
    try:
        stmts = parse_sql(text)
    except ParseError as exc:
        position = exc.args[1] if len(exc.args) > 1 else None
        line = line_of(text, int(position)) if isinstance(position, int) else None
        message = f"cannot be parsed by PostgreSQL's parser: {exc.args[0]}"
        return [Finding(name, line, "unparsable", "FAIL", message)], []
    if not stmts:
        return [Finding(name, None, "empty", "FAIL", "no SQL statement; write it or delete")], []
    uses = table_uses(stmts, text, no_transaction="no-transaction" in directives)
    return _statement_findings(name, text, stmts, directives), uses


def _misnamed(path: Path) -> Finding | None:
    if path.suffix.lower() == ".sql":
        message = f"does not follow {NAME_RULE_TEXT}; the runner refuses the directory"
        return Finding(path.name, None, "naming", "FAIL", message)
    if ".sql" in path.name.lower():
        message = "not a .sql file, so the runner ignores it; move it out of the directory"
        return Finding(path.name, None, "naming", "WARN", message)
    return None


def _numbering(by_version: dict[int, list[str]]) -> list[Finding]:
    findings: list[Finding] = []
    for version, names in sorted(by_version.items()):
        if len(names) > 1:
            message = f"version {version:04d} is used {len(names)} times; renumber all but one"
            findings.append(Finding(", ".join(names), None, "duplicate-version", "FAIL", message))
    numbers = sorted(by_version)
    for before, after in zip(numbers, numbers[1:], strict=False):
        if after - before > 1:
            message = f"versions {before + 1:04d}..{after - 1:04d} are skipped"
            findings.append(Finding(by_version[after][0], None, "numbering-gap", "WARN", message))
    return findings


def _naming(directory: Path) -> tuple[list[Path], list[Finding]]:
    """Files that follow the naming rule (in version order), and naming/numbering findings."""
    findings: list[Finding] = []
    good: list[tuple[str, Path]] = []
    by_version: dict[int, list[str]] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        match = NAME_RULE.match(path.name)
        if match:
            good.append((match.group("version"), path))
            by_version.setdefault(int(match.group("version")), []).append(path.name)
        elif (finding := _misnamed(path)) is not None:
            findings.append(finding)
    findings.extend(_numbering(by_version))
    in_order = [path for _, path in sorted(good, key=lambda item: version_key(item[0]))]
    return in_order, findings


def _related(uses: dict[str, list[TableUse]], pending: Collection[str]) -> list[Finding]:
    findings: list[Finding] = []
    release = [name for name in uses if name in pending]
    for position, name in enumerate(release):
        for use in uses[name]:
            if not use.indexed or use.exempt:
                continue
            earlier = [
                other
                for other in release[:position]
                if any(u.table == use.table and u.changed & use.indexed for u in uses[other])
            ]
            if earlier:
                columns = ", ".join(sorted(use.indexed))
                findings.append(
                    Finding(
                        name,
                        use.line,
                        "split-unit",
                        "FAIL",
                        f"{use.what} on {use.table} ({columns}) belongs with the change in "
                        f"{', '.join(earlier)} of the same release; keep related index/constraint "
                        f"changes in the same migration unit (checklist section 7)",
                    )
                )
    return findings


def lint(directory: Path, *, pending: Collection[str] | None = None) -> LintReport:
    """Lint every migration file of `directory`; `pending` names the files of this release."""
    if not directory.is_dir():
        missing = Finding(str(directory), None, "directory", "FAIL", "directory does not exist")
        return LintReport(directory=directory, files=[], findings=[missing])
    paths, findings = _naming(directory)
    uses: dict[str, list[TableUse]] = {}
    for path in paths:
        text = migration_files.normalise(path.read_bytes())
        file_findings, uses[path.name] = lint_text(path.name, text)
        findings.extend(file_findings)
    if pending is not None:
        findings.extend(_related(uses, pending))
    return LintReport(directory=directory, files=[p.name for p in paths], findings=findings)
