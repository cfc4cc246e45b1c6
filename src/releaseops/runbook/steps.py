"""The release runbook's steps, each written once (checklist sections 2 and 6).

The checks call one step each and assert on the result; the embedded rehearsal's phase
preparation calls `deploy()` and `rollback()`, which chain the very same steps.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from releaseops import migrations
from releaseops.backup import restore as backup_restore
from releaseops.errors import RunbookStepFailed
from releaseops.release.target import Target
from releaseops.runbook.deployment import FREEZE_FLAGS, Deployment, run_command

MIGRATE = 'python scripts/run_postgres_migrations.py --db "$DATABASE_URL"'
SYNC_FTS = 'python scripts/init_fts.py --db "$DATABASE_URL" --sync'


@dataclass(frozen=True)
class CommandRun:
    """One checklist command as it ran: the literal command, its exit code and output."""

    command: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.returncode == 0

    def explain(self) -> str:
        """One line for a failure message."""
        return f"{self.command} exited {self.returncode}: {self.output.strip()[-600:]}"


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


def run(target: Target, command: str, extra_env: Mapping[str, str] | None = None) -> CommandRun:
    """Run a checklist command literally and keep what it printed."""
    proc: subprocess.CompletedProcess[str] = run_command(target, command, extra_env=extra_env)
    return CommandRun(command, proc.returncode, proc.stdout + proc.stderr)


def migrate_command(target: Target) -> str:
    """The checklist's migration command, applying the directory the checks verify."""
    if target.migrations_dir.resolve() == migrations.DEFAULT_DIR.resolve():
        return MIGRATE
    return f"{MIGRATE} --dir {shlex.quote(str(target.migrations_dir))}"


def migrate(target: Target) -> CommandRun:
    """Deploy step 1: apply the release's migrations."""
    return run(target, migrate_command(target))


def sync_fts(target: Target) -> CommandRun:
    """Deploy step 2 and rollback step 6: make the FTS metadata match the declaration."""
    return run(target, SYNC_FTS)


def restart_release(deployment: Deployment) -> str:
    """Deploy step 3: start the release's code."""
    return deployment.restart("deploy", {})


def freeze(deployment: Deployment) -> str:
    """Rollback step 1: block writes and risky automation, then restart."""
    return deployment.restart("freeze", FREEZE_FLAGS)


def restore(target: Target, dump: Path) -> backup_restore.RestoreReport:
    """Rollback step 4: restore `dump` (a dump of this very database) into the target."""
    db = target.database_url
    return backup_restore.restore(
        db,
        dump,
        confirm_db=db.dbname,
        origin="target",
        allow_cross_server=target.allow_cross_server,
        exact=True,
    )


def redeploy_previous(deployment: Deployment) -> str:
    """Rollback step 7: run the previous release's code again, writes still blocked."""
    return deployment.restart("redeploy-previous", FREEZE_FLAGS)


def deploy(target: Target, deployment: Deployment) -> list[str]:
    """Checklist section 2, steps 1-3, in order; RunbookStepFailed names the step that failed."""
    done = []
    for step in (migrate, sync_fts):
        result = step(target)
        if not result.ok:
            raise RunbookStepFailed(result.explain())
        done.append(result.command)
    done.append(restart_release(deployment))
    return done


def rollback(target: Target, deployment: Deployment, dump: Path) -> list[str]:
    """Checklist section 6, steps 1, 4, 6 and 7, in order (2, 3 and 5 only look)."""
    done = [freeze(deployment), f"restored {restore(target, dump).dump.name}"]
    result = sync_fts(target)
    if not result.ok:
        raise RunbookStepFailed(result.explain())
    done += [result.command, redeploy_previous(deployment)]
    return done
