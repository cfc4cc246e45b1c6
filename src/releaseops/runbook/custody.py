"""Which dump a rollback restores, and whether the database now holds what that dump recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from releaseops import backup
from releaseops.backup import manifest
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError
from releaseops.release.target import Target

if TYPE_CHECKING:
    from releaseops.release.record import ReleaseRecord


def select_candidate(
    target: Target, db: DatabaseUrl, record: ReleaseRecord | None, deployed_at: datetime | None
) -> backup.Backup:
    """The dump to roll back to: the recorded one, else the newest verified pre-deploy backup."""
    if record is not None and record.rollback is not None and record.rollback.backup_file:
        path = Path(record.rollback.backup_file)
        path = path if path.is_absolute() else target.repo_root / path
        result = backup.verify(path)
        if not result.is_verified:
            raise ConfigurationError(
                f"the recorded rollback dump {path} is not verified: {result.explain()}"
            )
        return backup.Backup.from_manifest(path, manifest.load(path))
    return backup.rollback_candidate(target.backup_dir, db.dbname, before=deployed_at)


@dataclass(frozen=True)
class StateDifference:
    """How the database differs from what a dump recorded at backup time."""

    migrations: list[str]
    row_counts: list[str]

    @property
    def is_equal(self) -> bool:
        """True when nothing differs."""
        return not (self.migrations or self.row_counts)

    def explain(self) -> str:
        """One line per difference."""
        return "; ".join(self.migrations + self.row_counts) or "matches the dump"


def compare_with_dump(
    db: DatabaseUrl, dump: Path, *, ignore_tables: tuple[str, ...] = ()
) -> StateDifference:
    """Compare schema_migrations and row counts of `db` with the dump's manifest."""
    recorded = manifest.load(dump)
    with db.connect() as conn:
        rows = manifest.migrations(conn) or []
        counts = manifest.row_counts(conn)
    want = {str(r["version"]): r.get("checksum") for r in recorded.migrations}
    have = {str(r["version"]): r.get("checksum") for r in rows}
    migration_diffs = [
        f"schema_migrations version {v}: dump has {_short_sum(want, v)}, "
        f"database has {_short_sum(have, v)}"
        for v in sorted(set(want) | set(have))
        if want.get(v) != have.get(v)
    ]
    count_diffs = [
        f"{table}: dump had {recorded.row_counts.get(table)} rows, database has {counts.get(table)}"
        for table in sorted(set(recorded.row_counts) | set(counts))
        if table not in ignore_tables and recorded.row_counts.get(table) != counts.get(table)
    ]
    return StateDifference(migration_diffs, count_diffs)


def _short_sum(checksums: dict[str, str | None], version: str) -> str:
    if version not in checksums:
        return "no such version"
    return (checksums[version] or "no checksum")[:12]
