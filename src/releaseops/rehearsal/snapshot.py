"""Snapshots of an embedded target: start more targets directly in a state the runbook reached.

A rehearsal that needs the deployed (or rolled-back) state would otherwise run the runbook's
deploy (backup, SLO baseline, migration, FTS sync, restart) again for every target. A snapshot
keeps that state once: the database, renamed into a template, and the target's files (the
backups with their manifests and custody record, the SLO baseline, the release record and the
request log). `EmbeddedTarget.start(snapshot=...)` then copies both and starts the service on
the snapshot's code with its flags.

The copy keeps the database's name, so it is, by name and by server, the database the
snapshot's dumps were taken of: a rollback from the copy is a rollback from the known-good dump
of that same database. Two targets from one snapshot therefore cannot run on one cluster at
the same time.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg import sql

from releaseops import backup
from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import create_database
from releaseops.runbook.deployment import LIVE_FLAGS

if TYPE_CHECKING:
    from releaseops.rehearsal.embedded import EmbeddedTarget


@dataclass(frozen=True)
class Snapshot:
    """A target's state: a template database and a folder of files, plus what ran."""

    template: str
    dbname: str
    files: Path
    release_id: str
    previous_code: bool
    flags: dict[str, str]
    deployed_at: datetime | None
    predeploy_backup: str | None
    rolled_back_from: str | None


def take(target: EmbeddedTarget, template: str) -> Snapshot:
    """Stop `target` and keep its state; its database becomes the template `template`."""
    assert target.cluster is not None and target.db is not None and target.service is not None
    environ = target.service.environ
    previous = Path(environ.get("MIGRATIONS_DIR", "")) == target.previous_dir
    flags = {k: environ[k] for k in LIVE_FLAGS if k in environ}
    target.service.stop()
    target.service = None
    _rename(target.cluster.url, target.db.dbname, template)
    found = Snapshot(
        template=template,
        dbname=target.db.dbname,
        files=target.workdir,
        release_id=target.release_id,
        previous_code=previous,
        flags=flags,
        deployed_at=target.deployed_at,
        predeploy_backup=_name(target.predeploy_backup),
        rolled_back_from=_name(target.rolled_back_from),
    )
    target.db = None
    return found


def state_files(target: EmbeddedTarget) -> tuple[Path, ...]:
    """The files of a target's working directory that make up its state (the rest is per target)."""
    return (target.backup_dir, target.record_path, target.log_path)


def restore_files(snapshot: Snapshot, target: EmbeddedTarget) -> None:
    """Copy the snapshot's files into `target`'s working directory.

    Copies, never links: a test may break any of them (truncate a dump, edit the record).
    """
    target.workdir.mkdir(parents=True, exist_ok=True)
    for path in state_files(target):
        source = snapshot.files / path.relative_to(target.workdir)
        if source.is_dir():
            shutil.copytree(source, path, symlinks=True)
        elif source.exists():
            shutil.copy2(source, path)


def restore_database(snapshot: Snapshot, admin: DatabaseUrl) -> DatabaseUrl:
    """A copy of the snapshot's database under the name it had."""
    return create_database(admin, snapshot.dbname, template=snapshot.template)


def find_backup(backup_dir: Path, name: str | None) -> backup.Backup | None:
    """The backup called `name` in `backup_dir` (the copy of one the snapshot knew)."""
    if name is None:
        return None
    return next((b for b in backup.list_backups(backup_dir) if b.path.name == name), None)


def _name(found: backup.Backup | None) -> str | None:
    return found.path.name if found is not None else None


def _rename(admin: DatabaseUrl, dbname: str, template: str) -> None:
    """Rename `dbname` to `template` once no session uses it (a template needs none)."""
    with admin.connect(autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,)
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(dbname), sql.Identifier(template)
            )
        )
