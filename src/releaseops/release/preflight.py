"""Repository and environment preflight: tools, migrations lint and state, backup space."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releaseops import dburl, migrations, pg
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ReleaseOpsError
from releaseops.migrations import state as migration_state
from releaseops.release import preflight_checks as checks
from releaseops.release.preflight_checks import CheckResult, Status

__all__ = ["CheckResult", "PreflightReport", "Status", "default_backup_dir", "run"]

REPO_ROOT = migrations.DEFAULT_DIR.parents[1]
NO_DB = "not checked: no database (pass --db or set DATABASE_URL)"


@dataclass(frozen=True)
class PreflightReport:
    """Every preflight row; `ok` when none FAILs."""

    results: list[CheckResult]

    @property
    def ok(self) -> bool:
        """True when no check FAILed (warnings allowed)."""
        return not any(r.status == "FAIL" for r in self.results)

    def counts(self) -> dict[str, int]:
        """How many rows have each status."""
        return {s: sum(r.status == s for r in self.results) for s in ("PASS", "WARN", "FAIL")}

    def result(self, name: str) -> CheckResult:
        """The row called `name` (KeyError when absent)."""
        for row in self.results:
            if row.name == name:
                return row
        raise KeyError(name)

    def lines(self) -> list[str]:
        """A readable table: check, status, reason; lint findings indented below their row."""
        width = max((len(r.name) for r in self.results), default=5)
        out = [f"{'CHECK':<{width}}  STATUS  REASON"]
        for row in self.results:
            out.append(f"{row.name:<{width}}  {row.status:<6}  {row.reason}")
            for finding in row.details.get("findings", []):
                where = (
                    f"{finding['file']}:{finding['line']}" if finding["line"] else finding["file"]
                )
                out.append(
                    f"{'':<{width}}  {'':<6}    {where} {finding['severity']} "
                    f"{finding['rule']}: {finding['message']}"
                )
        counts = self.counts()
        verdict = "OK" if self.ok else "FAILED"
        out.append(
            f"preflight {verdict}: {counts['PASS']} PASS, {counts['WARN']} WARN, "
            f"{counts['FAIL']} FAIL"
        )
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-able report."""
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "results": [r.as_dict() for r in self.results],
        }


def default_backup_dir(environ: Mapping[str, str]) -> Path:
    """$BACKUP_DIR, else backups/ at the repository root."""
    value = environ.get("BACKUP_DIR")
    return Path(value) if value else REPO_ROOT / "backups"


def _db_rows(
    db: DatabaseUrl, directory: Path, backups: Path
) -> tuple[list[CheckResult], int | None, list[str] | None]:
    row, major, size = checks.server(db)
    rows = [row]
    if major is None or size is None:
        skipped = "not checked: the database is unreachable"
        names = ("restore state", "migrations state", "disk space")
        rows += [CheckResult(n, "WARN", skipped) for n in names]
        return rows, None, None
    rows.append(checks.unfinished_restore(db))
    pending: list[str] | None = None
    if rows[-1].status == "FAIL":
        skipped = "not checked: the database may be partly restored (see restore state)"
        rows += [CheckResult("migrations state", "WARN", skipped), checks.disk_space(backups, size)]
        return rows, major, None
    try:
        status = migration_state.status(db, directory)
    except ReleaseOpsError as exc:
        rows.append(CheckResult("migrations state", "FAIL", str(exc)))
    else:
        rows.append(checks.migrations_state(status))
        pending = status.pending + status.out_of_order
    rows.append(checks.disk_space(backups, size))
    return rows, major, pending


def run(
    *,
    db: DatabaseUrl | str | None = None,
    migrations_dir: Path = migrations.DEFAULT_DIR,
    backup_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> PreflightReport:
    """Run every preflight check; the database rows need `db`, else they WARN "not checked"."""
    environ = os.environ if environ is None else environ
    backups = backup_dir or default_backup_dir(environ)
    major: int | None = None
    pending: list[str] | None = None
    if db is None:
        names = ("database", "restore state", "migrations state")
        db_rows = [CheckResult(n, "WARN", NO_DB) for n in names]
        db_rows.append(CheckResult("disk space", "WARN", NO_DB))
    else:
        try:
            target = dburl.parse(db)
        except ReleaseOpsError as exc:
            db_rows = [CheckResult("database", "FAIL", str(exc))]
        else:
            db_rows, major, pending = _db_rows(target, migrations_dir, backups)
    results = [checks.tool(name, environ, major) for name in pg.TOOLS]
    results += db_rows
    results.append(checks.migrations_lint(migrations_dir, pending))
    results.append(checks.backup_dir(backups))
    return PreflightReport(results=_ordered(results))


ORDER = (
    "tool pg_dump",
    "tool pg_restore",
    "tool psql",
    "database",
    "restore state",
    "migrations lint",
    "migrations state",
    "backup directory",
    "disk space",
)


def _ordered(results: list[CheckResult]) -> list[CheckResult]:
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(results, key=lambda r: rank.get(r.name, len(ORDER)))
