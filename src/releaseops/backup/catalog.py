"""The backups on disk: what each one is, which are verified, the rollback candidate, pruning."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from releaseops.backup import manifest
from releaseops.backup.leftovers import Leftover
from releaseops.backup.manifest import Manifest
from releaseops.backup.verification import Verification, verify
from releaseops.errors import ConfigurationError, NoRollbackCandidate

_NAME = re.compile(r"^(?P<db>.+)_(?P<ts>\d{8}_\d{6})\.(?:dump|dumpdir)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Backup:
    """One backup artifact on disk and what its manifest says about it."""

    path: Path
    manifest_path: Path
    sha256: str
    size: int
    dbname: str
    created_at: datetime
    format: str = "custom"
    manifest: Manifest | None = field(default=None, compare=False, repr=False)
    verification: Verification | None = field(default=None, compare=False, repr=False)
    # What killed backups had left in the directory, removed before this one was taken.
    removed: tuple[Leftover, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def from_manifest(cls, path: Path, found: Manifest) -> Backup:
        """The Backup described by `found` for the artifact at `path`."""
        return cls(
            path=path,
            manifest_path=manifest.sidecar(path),
            sha256=found.sha256,
            size=found.size,
            dbname=found.dbname,
            created_at=found.created_at,
            format=found.format,
            manifest=found,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence and --json."""
        data: dict[str, Any] = {
            "path": str(self.path),
            "manifest_path": str(self.manifest_path),
            "sha256": self.sha256,
            "size": self.size,
            "dbname": self.dbname,
            "created_at": self.created_at.isoformat(),
            "format": self.format,
        }
        if self.manifest is not None:
            data["manifest"] = self.manifest.as_dict()
        if self.verification is not None:
            data["verification"] = self.verification.as_dict()
        if self.removed:
            data["removed_leftovers"] = [found.as_dict() for found in self.removed]
        return data

    def lines(self) -> list[str]:
        """Human-readable summary; the first line is the bare path."""
        out = [str(self.path), f"  sha256   {self.sha256}", f"  size     {self.size} bytes"]
        out.append(f"  database {self.dbname}, taken {self.created_at:%Y-%m-%d %H:%M:%S} UTC")
        if self.verification is not None:
            state = "verified" if self.verification.is_verified else "NOT verified"
            out.append(f"  {state}: {', '.join(c.name for c in self.verification.checks)}")
        out += [f"  removed  {found.describe()}" for found in self.removed]
        return out


def file_stem(dbname: str) -> str:
    """The database name as it appears in file names (anything unusual becomes `_`)."""
    return _UNSAFE.sub("_", dbname) or "db"


def remove(path: Path) -> None:
    """Delete a dump file or directory; a missing one is fine."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def list_backups(out_dir: Path, dbname: str | None = None) -> list[Backup]:
    """Backups in `out_dir` that have a readable manifest, newest first; optionally one database."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    found: list[Backup] = []
    for path in out_dir.iterdir():
        match = _NAME.match(path.name)
        if not match or (dbname is not None and match.group("db") != file_stem(dbname)):
            continue
        try:
            described = manifest.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if dbname is None or described.dbname == dbname:
            found.append(Backup.from_manifest(path, described))
    return sorted(found, key=lambda b: (b.created_at, b.path.name), reverse=True)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def origin_problem(found: Manifest, dbname: str, system_identifier: str | None) -> str | None:
    """Why a dump is not of database `dbname` on server `system_identifier`, else None.

    Without a `system_identifier` (the target's server could not be asked) only the name is
    compared. A manifest that records no server identity cannot prove where the dump is from.
    """
    problems = []
    if found.dbname != dbname:
        problems.append(f"it is a dump of database {found.dbname!r}, not {dbname!r}")
    if system_identifier is not None:
        if found.system_identifier is None:
            problems.append("its manifest records no server identity, so its origin is unproven")
        elif found.system_identifier != system_identifier:
            problems.append(
                f"it was taken on server {found.system_identifier} ({found.server}), but the "
                f"target is server {system_identifier}"
            )
    return "; ".join(problems) or None


def rollback_candidate(
    out_dir: Path,
    dbname: str,
    *,
    before: datetime | None = None,
    full: bool = True,
    server: str | None = None,
) -> Backup:
    """The newest verified backup of `dbname` (taken before `before`, when given).

    With `server` (the target's system identifier) a dump taken on another server, such as a
    same-named staging database, is never offered.
    """
    backups = list_backups(out_dir, dbname)
    if before is not None:
        backups = [b for b in backups if b.created_at < _aware(before)]
    rejected: list[str] = []
    for candidate in backups:
        found = candidate.manifest
        problem = None if found is None or server is None else origin_problem(found, dbname, server)
        if problem is not None:
            rejected.append(f"{candidate.path.name} ({problem})")
            continue
        result = verify(candidate.path, full=full)
        if result.is_verified:
            return replace(candidate, verification=result)
        rejected.append(f"{candidate.path.name} ({', '.join(c.name for c in result.failed)})")
    when = f" taken before {_aware(before).isoformat()}" if before else ""
    seen = f"; not eligible: {'; '.join(rejected)}" if rejected else ""
    raise NoRollbackCandidate(
        f"no verified backup of {dbname!r}{when} in {out_dir}{seen}. This is a No-Go: take one "
        f'with python scripts/backup_postgres.py --db "$DATABASE_URL" (or point BACKUP_DIR at '
        f"the directory that holds them).",
        out_dir=Path(out_dir),
        dbname=dbname,
    )


def prune(out_dir: Path, dbname: str, keep: int) -> list[Path]:
    """Delete verified backups of `dbname` older than the `keep` newest verified ones."""
    if keep < 1:
        raise ConfigurationError(
            f"--keep {keep} would prune the newest verified backup; use --keep 1 or more"
        )
    backups = list_backups(out_dir, dbname)
    verified = 0
    removed: list[Path] = []
    for candidate in backups:
        if not verify(candidate.path, full=False).is_verified:
            continue
        verified += 1
        if verified > keep:
            remove(candidate.path)
            candidate.manifest_path.unlink(missing_ok=True)
            removed.append(candidate.path)
    return removed
