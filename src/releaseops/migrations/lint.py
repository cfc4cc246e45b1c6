"""Lint migration files with PostgreSQL's own parser (pglast): names, parse, lock and data hazards.

`lint(directory, pending=...)` reads a migrations directory the way the runner will apply it;
`lint_text(name, text, catalog=...)` reads one file against what is known of the target before
it. The rules, their levels and what fails the gate are in `findings`; docs/migrations.md lists
them with their safe recipes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from pglast import ast, parse_sql
from pglast.parser import ParseError

from releaseops.errors import InvalidMigrationFile
from releaseops.migrations import files as migration_files
from releaseops.migrations.catalog import Catalog
from releaseops.migrations.catalog_replay import replay
from releaseops.migrations.files import (
    DIRECTIVE,
    Annotation,
    header_lines,
    line_of,
    suppressions,
)
from releaseops.migrations.findings import RULES, Finding, LintReport, finding
from releaseops.migrations.lint_layout import naming, related
from releaseops.migrations.rules import TableUse, table_uses
from releaseops.migrations.rules_base import FileState, Hit
from releaseops.migrations.rules_columns import note_locks
from releaseops.migrations.rules_statements import statement_hits

__all__ = ["RULES", "FileLint", "Finding", "LintReport", "lint", "lint_text"]


@dataclass(frozen=True)
class FileLint:
    """One file's findings, the ones allowed by annotation, its table uses, the catalog after."""

    findings: list[Finding]
    allowed: list[Finding]
    uses: list[TableUse]
    catalog: Catalog

    def failures(self) -> list[Finding]:
        """Only the findings that fail the gate."""
        return [f for f in self.findings if f.fails]


def _hint(hit: Hit, *, existing: bool | None) -> str:
    rule = RULES[hit.rule]
    text = f"{hit.message}; {rule.recipe}"
    if rule.level == "DESTRUCTIVE":
        text += (
            f". Allowed only with a '-- releaseops:destructive <reason>' (or '-- releaseops:allow "
            f"{rule.id} <reason>') comment in the file header or right above the statement "
            f"(checklist section 7)"
        )
    elif rule.level == "BLOCKING":
        text += f". Allow with '-- releaseops:allow {rule.id} <reason>' if it is known to be brief"
    if existing is None and hit.table:
        text += (
            f" (WARN, not FAIL: {hit.table} is created by an earlier file, and without the "
            f"database the lint cannot tell whether it already holds rows)"
        )
    return text


def _existing(hit: Hit, state: FileState) -> bool | None:
    """Whether the hit's table holds rows: True, False (new), or None (cannot be told).

    Lock hazards count only on tables with rows and traffic. Destructive ones count on every
    table this file did not create itself, as they always have: what another file created may
    already hold data the release cannot get back.
    """
    if hit.table is None:
        return True
    if RULES[hit.rule].level == "DESTRUCTIVE":
        return hit.table not in state.created
    return state.catalog.existing(hit.table)


def _allowance(hit: Hit, found: list[Annotation]) -> str | None:
    """The reason an annotation gives for allowing `hit`, if one does."""
    level = RULES[hit.rule].level
    for note in found:
        if note.rule == hit.rule or (note.rule is None and level == "DESTRUCTIVE"):
            return note.reason
    return None


def _annotation_problems(name: str, text: str) -> list[Finding]:
    """Malformed `-- releaseops:` lines below the header, and allows of unknown rules."""
    header = {number for number, _ in header_lines(text)}
    problems: list[Finding] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        match = DIRECTIVE.match(raw.strip())
        if not match:
            continue
        key, arg = match.group("name"), (match.group("arg") or "").strip()
        problem = None if number in header else migration_files.directive_problem(key, arg)
        if problem is None and number not in header and key not in ("allow", "destructive"):
            problem = (
                f"releaseops:{key} is read only from the file's header (above every statement)"
            )
        rule = arg.split()[0] if key == "allow" and arg else None
        if problem is None and rule is not None and rule not in RULES:
            problem = f"releaseops:allow names unknown rule {rule!r}; known: {', '.join(RULES)}"
        if problem is not None:
            problems.append(finding(name, number, "directive", problem))
    return problems


def _statement_findings(
    name: str, text: str, stmts: tuple[ast.RawStmt, ...], state: FileState
) -> tuple[list[Finding], list[Finding]]:
    """(findings, allowed) of every statement, replaying each onto the file's catalog."""
    header_end = sum(len(line) + 1 for line in text.split("\n")[: len(header_lines(text))])
    file_wide = suppressions(text, 0, header_end)
    found: list[Finding] = []
    allowed: list[Finding] = []
    previous_end = 0
    for raw in stmts:
        start = raw.stmt_location or 0
        end = start + (raw.stmt_len or len(text) - start)
        above = suppressions(text, previous_end, start) + file_wide
        for hit in statement_hits(raw.stmt, state, text[start:end]):
            existing = _existing(hit, state)
            if existing is False:
                continue
            reason = _allowance(hit, above)
            item = finding(
                name,
                line_of(text, start),
                hit.rule,
                _hint(hit, existing=existing),
                existing=existing,
                allowed=reason,
            )
            (allowed if item.severity == "ALLOWED" else found).append(item)
        if state.transactional:
            note_locks(raw.stmt, state)
        known = {*state.catalog.tables, *state.catalog.others}
        replay(state.catalog, raw.stmt, existing=False)
        state.created |= {*state.catalog.tables, *state.catalog.others} - known
        previous_end = end
    return found, allowed


def _parse(name: str, text: str) -> tuple[dict[str, str], tuple[ast.RawStmt, ...]] | Finding:
    """The header directives and parsed statements, or the finding that stops the lint."""
    try:
        directives = migration_files.parse_directives(text, name)
    except InvalidMigrationFile as exc:
        return finding(name, None, "directive", str(exc))
    try:
        stmts = parse_sql(text)
    except ParseError as exc:
        position = exc.args[1] if len(exc.args) > 1 else None
        line = line_of(text, int(position)) if isinstance(position, int) else None
        return finding(
            name, line, "unparsable", f"cannot be parsed by PostgreSQL's parser: {exc.args[0]}"
        )
    if not stmts:
        return finding(name, None, "empty", "no SQL statement; write it or delete")
    return directives, stmts


def _settle(before: Catalog, after: Catalog, *, creates: bool | None) -> None:
    """Give what this file created (`existing=False` while it was read) the flag `creates`."""
    for table in after.tables.values():
        was = before.tables.get(table.name)
        if table.existing is False and (was is None or was.existing is not False):
            table.existing = creates
    for key, flag in after.others.items():
        if flag is False and before.others.get(key) is not False:
            after.others[key] = creates


def lint_text(
    name: str,
    text: str,
    *,
    catalog: Catalog | None = None,
    server_major: int | None = None,
    applied: bool = False,
    creates: bool | None = False,
) -> FileLint:
    """Lint one file's normalised text against `catalog`, the target as it is before the file.

    Without a catalog every table the file does not create is assumed to hold rows. An
    `applied` file is only checked for what would make the runner refuse the directory. What
    the file creates enters the returned catalog as `existing=creates` (False: new in this
    release, None: not known).
    """
    before = catalog if catalog is not None else Catalog()
    current = before.copy()
    parsed = _parse(name, text)
    if isinstance(parsed, Finding):
        return FileLint([parsed], [], [], current)
    directives, stmts = parsed
    transactional = "no-transaction" not in directives
    uses = table_uses(stmts, text, no_transaction=not transactional)
    state = FileState(current, server_major or current.server_major, transactional)
    if applied:
        for raw in stmts:
            replay(current, raw.stmt, existing=False)
        _settle(before, current, creates=creates)
        return FileLint([], [], uses, current)
    found, allowed = _statement_findings(name, text, stmts, state)
    found = _annotation_problems(name, text) + found
    if not transactional and len(stmts) > 1:
        message = (
            f"{len(stmts)} statements in a no-transaction file: a failure leaves the earlier "
            f"ones applied; keep one statement per no-transaction file"
        )
        found.append(finding(name, None, "no-transaction", message))
    _settle(before, current, creates=creates)
    return FileLint(found, allowed, uses, current)


def lint(
    directory: Path,
    *,
    pending: Collection[str] | None = None,
    catalog: Catalog | None = None,
    server_major: int | None = None,
) -> LintReport:
    """Lint every migration file of `directory`.

    `pending` names the files of this release: the others are applied, so only what makes the
    runner refuse them is reported, and the tables they create already hold rows. Without it
    every file is linted, and a hazard on a table an earlier file creates is a WARN. `catalog`
    is a snapshot of the target (`catalog.snapshot`); `server_major` its major version.
    """
    if not directory.is_dir():
        missing = finding(str(directory), None, "directory", "directory does not exist")
        return LintReport(directory=directory, files=[], findings=[missing])
    paths, findings = naming(directory)
    allowed: list[Finding] = []
    uses: dict[str, list[TableUse]] = {}
    current = catalog.copy() if catalog is not None else Catalog()
    for path in paths:
        applied = pending is not None and path.name not in pending
        text = migration_files.normalise(path.read_bytes())
        creates = True if applied else (False if pending is not None else None)
        result = lint_text(
            path.name,
            text,
            catalog=current,
            server_major=server_major,
            applied=applied,
            creates=creates,
        )
        findings.extend(result.findings)
        allowed.extend(result.allowed)
        uses[path.name] = result.uses
        if not (applied and catalog is not None):  # a snapshot already shows applied files
            current = result.catalog
    if pending is not None:
        findings.extend(related(uses, pending))
    names = [p.name for p in paths]
    return LintReport(directory=directory, files=names, findings=findings, allowed=allowed)
