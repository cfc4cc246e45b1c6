"""Deploy and rollback steps shared by the checks and the embedded target's phase preparation."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from releaseops import backup, manifest
from releaseops.dburl import DatabaseUrl
from releaseops.embedded import FREEZE_FLAGS
from releaseops.errors import ConfigurationError, RestartFailed
from releaseops.smoke import MANAGE
from releaseops.target import Target

if TYPE_CHECKING:
    import requests

    from releaseops.embedded import EmbeddedTarget
    from releaseops.record import ReleaseRecord

DEFAULT_RESTART_COMMAND = "./scripts/dc up -d --build"
# The write route the probe aims at (the questions CRUD of /api/manage).
QUESTIONS = MANAGE


def execution_refusal(
    target: Target, *, destructive: bool = False, dbname: str | None = None
) -> str | None:
    """Why a step may not change this target, or None when it may.

    The embedded target is ours to change. An env target needs --execute, and destructive
    steps also need --confirm-db equal to the name of the database they destroy (`dbname`,
    default the target database; the drill's is the drill database).
    """
    if target.kind == "embedded":
        return None
    if not target.execute:
        return "not verified: executing this step against an env target needs --execute"
    name = dbname or target.database_url.dbname
    if destructive and target.confirm_db != name:
        return (
            f"not verified: this step destroys data in {name!r}; pass --confirm-db {name} "
            f"to allow it"
        )
    return None


def run_script(
    target: Target,
    command: str,
    *,
    timeout: float = 600,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a canonical checklist command literally (bash -c) from the repository root."""
    env = target.child_environ(**(extra_env or {}))
    # `python` in a checklist command means the interpreter running the checks (its venv).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        ["bash", "-c", command],
        cwd=target.repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def restart(
    target: Target,
    embedded: EmbeddedTarget | None,
    flags: Mapping[str, str],
    *,
    release: bool = False,
    step: str = "restart",
) -> str:
    """Restart the service with `flags`; returns what was done, for the evidence.

    An env target runs RESTART_COMMAND with the flags and RELEASEOPS_STEP (`deploy`, `freeze`,
    `redeploy-previous`) in its environment.
    """
    if embedded is not None:
        if release:
            embedded.restart_as_release(**flags)
        else:
            embedded.restart_service(**flags)
        return f"restarted the embedded service with {dict(flags)}"
    command = target.environ.get("RESTART_COMMAND") or DEFAULT_RESTART_COMMAND
    proc = run_script(target, command, extra_env={**flags, "RELEASEOPS_STEP": step})
    if proc.returncode != 0:
        raise RestartFailed.for_command(command, proc.returncode, proc.stderr)
    return f"ran {command!r} with {dict(flags)}"


def redeploy_previous(target: Target, embedded: EmbeddedTarget | None) -> str:
    """Run the previous release again on the restored database, writes still blocked.

    The embedded target switches to the previous release's code itself. An env target runs
    RESTART_COMMAND with the freeze flags; that command must deploy the previous release.
    Returns what was done, for the evidence.
    """
    if embedded is not None:
        embedded.redeploy_previous()
        return "restarted the embedded service on the previous release's code"
    return restart(target, None, FREEZE_FLAGS, step="redeploy-previous")


def write_probe(session: requests.Session, api_url: str) -> requests.Response:
    """POST an empty question: 503 READ_ONLY while writes are blocked, else 400; never writes.

    The read-only guard answers before any view validates the body, so an invalid body tells
    the two states apart without ever putting a row into the database being verified.
    """
    return session.post(f"{api_url}{QUESTIONS}", json={})


def writes_blocked(response: requests.Response) -> bool:
    """True when a write was refused by the read-only guard (503 with READ_ONLY)."""
    return response.status_code == 503 and "READ_ONLY" in response.text


def select_candidate(
    target: Target, db: DatabaseUrl, record: ReleaseRecord | None, embedded: EmbeddedTarget | None
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
    before = embedded.deployed_at if embedded is not None else None
    return backup.rollback_candidate(target.backup_dir, db.dbname, before=before)


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
