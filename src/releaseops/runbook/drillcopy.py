"""Rehearse the pending migrations on the drill copy: recreate it, restore a dump, rehearse.

The copy is the drill database (DRILL_DATABASE_URL, else `<db>_restore_drill` on the target's
server), recreated through the admin URL and restored from a verified dump of the source: the
release's known-good dump, which the pre-deploy gate recorded (`custody`), or the drill's own
newest backup. The pending files are then applied to it by `migrations.rehearse` as the runner
applies them, statement by statement, recording locks, rewrites, rows and durations. The copy
stays migrated: what the previous release is then run against (`runbook.previous`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from releaseops.backup import drill, restore
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError
from releaseops.migrations import rehearse
from releaseops.migrations.execute import DEFAULT_LOCK_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT
from releaseops.pg import identity
from releaseops.runbook import custody


@dataclass(frozen=True)
class CopyRehearsal:
    """The copy as restored, and the rehearsal of the pending files on it."""

    copy: DatabaseUrl
    dump: Path
    restore: restore.RestoreReport
    report: rehearse.RehearsalReport
    restore_s: float
    rehearse_s: float

    def lines(self) -> list[str]:
        """What was restored from where, then the rehearsal's lines."""
        head = (
            f"restored {self.copy.masked()} from {self.dump} in {self.restore_s:.2f} s, "
            f"then rehearsed the pending migrations on it in {self.rehearse_s:.2f} s"
        )
        return [head, *self.report.lines()]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence and --json."""
        return {
            "copy": self.copy.masked(),
            "dump": str(self.dump),
            "restore": self.restore.as_dict(),
            "restore_s": round(self.restore_s, 3),
            "rehearse_s": round(self.rehearse_s, 3),
        }


def known_good_dump(backup_dir: Path, release_id: str, source: DatabaseUrl) -> Path:
    """The release's known-good dump as the pre-deploy gate recorded it (by sha256).

    Raises NoRollbackCandidate (exit 23) when the gate recorded none for `release_id`, and
    DumpOfAnotherDatabase (exit 29) when it was taken of another server or database.
    """
    return custody.select(backup_dir, release_id, identity.probe(source)).backup.path


def rehearse_on_copy(
    source: DatabaseUrl,
    admin: DatabaseUrl,
    copy_name: str,
    dump: Path,
    directory: Path,
    *,
    confirm_copy: str,
    allow_cross_server: bool = False,
    allow_out_of_order: bool = False,
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT,
) -> CopyRehearsal:
    """Recreate `copy_name` through `admin`, restore `dump` into it, rehearse `directory`.

    `confirm_copy` must repeat `copy_name`: everything in that database is dropped. The dump
    must be one of `source` (or `allow_cross_server`); the drill's name rules apply (never the
    source itself, never a system database).
    """
    if confirm_copy != copy_name:
        raise ConfigurationError(
            f"confirm_copy={confirm_copy!r} does not name the copy {copy_name!r}: restoring "
            f"drops everything in it; pass its exact name to confirm it is a throwaway copy"
        )
    started = time.perf_counter()
    copy = drill.recreate_database(admin, copy_name, source=source)
    restored = drill.restore_into(
        copy, Path(dump), source=source, allow_cross_server=allow_cross_server
    )
    restored_at = time.perf_counter()
    report = rehearse.run(
        copy,
        directory,
        confirm_copy=copy_name,
        allow_out_of_order=allow_out_of_order,
        lock_timeout=lock_timeout,
        statement_timeout=statement_timeout,
    )
    return CopyRehearsal(
        copy=copy,
        dump=Path(dump),
        restore=restored,
        report=report,
        restore_s=restored_at - started,
        rehearse_s=time.perf_counter() - restored_at,
    )
