"""The individual preflight checks; each returns one CheckResult row and never raises."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from releaseops import pg
from releaseops.backup import leftovers, restore
from releaseops.backup.leftovers import Leftover, human
from releaseops.backup.safefiles import SafeDir
from releaseops.dburl import DatabaseUrl
from releaseops.errors import BackupDirectoryUnsafe, ReleaseOpsError, ToolVersionTooOld
from releaseops.migrations import lint
from releaseops.migrations import state as migration_state
from releaseops.migrations.catalog import Catalog

Status = Literal["PASS", "WARN", "FAIL"]
# psql talks to newer servers fine for plain SQL; pg_dump/pg_restore must be at least the server.
MUST_MATCH_SERVER = ("pg_dump", "pg_restore")


@dataclass(frozen=True)
class CheckResult:
    """One row of the preflight table."""

    name: str
    status: Status
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "details": self.details,
        }


def tool(name: str, environ: Mapping[str, str], server_major: int | None) -> CheckResult:
    """A client tool is installed, reports its version, and is new enough for the server."""
    check = f"tool {name}"
    try:
        found = pg.find(name, environ)
    except ReleaseOpsError as exc:
        return CheckResult(check, "FAIL", str(exc))
    details: dict[str, Any] = dict(found.as_dict())
    reason = f"{name} {found.version} ({found.path})"
    if server_major is None:
        return CheckResult(check, "PASS", reason, details)
    details["server_major"] = server_major
    try:
        pg.require_at_least(found, server_major)
    except ToolVersionTooOld as exc:
        severity: Status = "FAIL" if name in MUST_MATCH_SERVER else "WARN"
        return CheckResult(check, severity, str(exc), details)
    return CheckResult(check, "PASS", f"{reason}; server is {server_major}", details)


def server(db: DatabaseUrl) -> tuple[CheckResult, int | None, int | None]:
    """The database answers; returns the row, the server's major version and database size."""
    try:
        with db.connect() as conn:
            row = conn.execute(
                "SELECT current_setting('server_version'), "
                "current_setting('server_version_num')::int / 10000, "
                "pg_database_size(current_database())"
            ).fetchone()
    except ReleaseOpsError as exc:
        return CheckResult("database", "FAIL", str(exc)), None, None
    assert row is not None
    version, major, size = str(row[0]), int(row[1]), int(row[2])
    details = {"url": db.masked(), "server_version": version, "size_bytes": size}
    reason = f"{db.masked()} answers: PostgreSQL {version}, {human(size)}"
    return CheckResult("database", "PASS", reason, details), major, size


def unfinished_restore(db: DatabaseUrl) -> CheckResult:
    """No restore into the database was left unfinished (the mark only a finished one removes)."""
    try:
        found = restore.unfinished(db)
    except ReleaseOpsError as exc:
        return CheckResult("restore state", "FAIL", str(exc))
    if found is None:
        return CheckResult("restore state", "PASS", "no unfinished restore is marked")
    reason = (
        f"database {db.dbname!r} may be partly restored: {found}; run that restore again "
        f"until it finishes (restore_postgres.py --confirm-db {db.dbname}), which removes the mark"
    )
    return CheckResult("restore state", "FAIL", reason, {"unfinished": found})


LINT_FAILURES_SHOWN = 5


def migrations_lint(
    directory: Path,
    pending: list[str] | None,
    *,
    catalog: Catalog | None = None,
    server_major: int | None = None,
) -> CheckResult:
    """Migration files pass the lint (names, parse, lock and data hazards, migration units).

    FAIL on any failing finding; WARN on warnings only. Advice and annotated (allowed)
    findings stay in the details and do not change the status. `catalog` (a snapshot of the
    target, `releaseops.migrations.catalog.snapshot`) and `server_major` make the lint exact.
    """
    report = lint.lint(directory, pending=pending, catalog=catalog, server_major=server_major)
    details = report.as_dict()
    failures, warns = report.failures(), len(report.warnings())
    scope = (
        ""
        if pending is not None
        else " (without --db every file is linted and the migration-unit rule is skipped)"
    )
    reason = f"{len(report.files)} file(s) in {directory}: {len(failures)} FAIL, {warns} WARN"
    reason += scope
    if failures:
        shown = [f.line_text() for f in failures[:LINT_FAILURES_SHOWN]]
        more = len(failures) - len(shown)
        reason += "; " + "; ".join(shown) + (f"; and {more} more" if more else "")
    status: Status = "FAIL" if failures else "WARN" if warns else "PASS"
    return CheckResult("migrations lint", status, reason, details)


def migrations_state(status: migration_state.MigrationStatus) -> CheckResult:
    """The migration state report: FAIL on anything apply would refuse."""
    details = status.as_dict()
    if status.has_conflicts or status.out_of_order:
        problems = [line for line in status.explain().splitlines() if "is pending" not in line]
        return CheckResult("migrations state", "FAIL", "; ".join(problems), details)
    counts = status.counts()
    reason = f"{counts['applied']} applied, {counts['pending']} pending"
    if status.pending:
        reason += f" (will be applied: {', '.join(status.pending)})"
    return CheckResult("migrations state", "PASS", reason, details)


def _existing_ancestor(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def backup_dir(directory: Path) -> CheckResult:
    """The backups directory is ours alone and writable (or can be created); leftovers WARN.

    FAIL when a backup would refuse it (a link, another owner, writable by its group or others)
    or cannot write there. WARN naming each stale temporary killed backups left (and its size),
    which the next backup removes; this check removes nothing.
    """
    details: dict[str, Any] = {"path": str(directory.absolute())}
    if not os.path.lexists(directory):
        parent = _existing_ancestor(directory)
        if os.access(parent, os.W_OK | os.X_OK):
            reason = f"{directory} does not exist yet; {parent} is writable, so it can be created"
            return CheckResult("backup directory", "PASS", reason, details)
        reason = f"{directory} does not exist and {parent} is not writable; create it first"
        return CheckResult("backup directory", "FAIL", reason, details)
    if directory.exists() and not directory.is_dir():
        return CheckResult("backup directory", "FAIL", f"{directory} is not a directory", details)
    try:
        with SafeDir.open(directory) as opened:
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".preflight-"):
                pass
            stale = leftovers.find(opened)
    except BackupDirectoryUnsafe as exc:
        details["problems"] = exc.problems
        reason = (
            f"{directory} is unsafe, so backups refuse it: {'; '.join(exc.problems)}. "
            f"Fix: {'; '.join(exc.fixes)}"
        )
        return CheckResult("backup directory", "FAIL", reason, details)
    except OSError as exc:
        reason = f"cannot write in {directory}: {exc.strerror}; fix its owner or permissions"
        return CheckResult("backup directory", "FAIL", reason, details)
    return _leftovers_row(directory, stale, details)


def _leftovers_row(directory: Path, stale: list[Leftover], details: dict[str, Any]) -> CheckResult:
    reason = f"{directory} is writable, by its owner only"
    if not stale:
        return CheckResult("backup directory", "PASS", reason, details)
    details["stale"] = [found.as_dict() for found in stale]
    total = human(sum(found.size for found in stale))
    reason += (
        f"; {len(stale)} stale file(s) ({total}) left by backups that did not finish, which "
        f"the next backup removes: {', '.join(found.describe() for found in stale)}"
    )
    return CheckResult("backup directory", "WARN", reason, details)


def disk_space(directory: Path, db_size: int, free: int | None = None) -> CheckResult:
    """Free space where backups go is at least the database's size."""
    where = _existing_ancestor(directory)
    free = shutil.disk_usage(where).free if free is None else free
    details = {"path": str(where), "free_bytes": free, "database_bytes": db_size}
    reason = f"{human(free)} free at {where}, database is {human(db_size)}"
    if free < db_size:
        return CheckResult(
            "disk space",
            "FAIL",
            reason + "; a backup could fill the disk: free space or point BACKUP_DIR elsewhere",
            details,
        )
    if free < 2 * db_size:
        return CheckResult("disk space", "WARN", reason + " (less than twice its size)", details)
    return CheckResult("disk space", "PASS", reason, details)
