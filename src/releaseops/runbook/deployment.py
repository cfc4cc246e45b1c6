"""How the service is restarted on a release: the one step the runbook cannot do by itself.

The runbook (`runbook.steps`) decides *what* runs; a `Deployment` decides *how* the service is
restarted. An env target restarts through RESTART_COMMAND (`CommandDeployment`); the embedded
rehearsal implements the same protocol over its own service process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol

from releaseops.errors import RestartFailed
from releaseops.release.target import Target
from releaseops.service import freeze

Step = Literal["deploy", "freeze", "redeploy-previous"]
DEFAULT_RESTART_COMMAND = "./scripts/dc up -d --build"
# The runbook's freeze (checklist section 6, step 1), and the flags of a live release.
FREEZE_FLAGS = freeze.env_values(freeze.FREEZE_FLAGS)
LIVE_FLAGS = {"DB_READ_ONLY": "0", "AI_AUTO_APPLY": "1", "RETRIEVAL_MODE": "bm25"}


class Deployment(Protocol):
    """Restarts the service for one runbook step and says what it did (for the evidence).

    `deploy` starts the release's code, `freeze` restarts the running code with `flags`,
    `redeploy-previous` starts the previous release's code with `flags`.
    """

    def restart(self, step: Step, flags: Mapping[str, str]) -> str:
        """Restart for `step` with `flags` in the service's environment."""
        ...


# `--db "$VAR"` in a checklist command: bash would expand the URL, password included, into the
# child's arguments, which every local user can read (ps, /proc/<pid>/cmdline).
_DB_ARGUMENT = re.compile(r'\s--db[ =]"\$\{?(?P<var>[A-Za-z_][A-Za-z0-9_]*)\}?"')


def without_url_arguments(command: str, env: dict[str, str]) -> str:
    """`command` without its `--db "$VAR"`; the URL goes to the child as DATABASE_URL instead.

    The scripts read DATABASE_URL when --db is not given, so the command does the same, and
    the evidence still shows the literal checklist command.
    """
    match = _DB_ARGUMENT.search(command)
    if match is None:
        return command
    value = env.get(match.group("var"))
    if value is not None:
        env["DATABASE_URL"] = value
    return command[: match.start()] + command[match.end() :]


def run_command(
    target: Target,
    command: str,
    *,
    timeout: float = 600,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a checklist command (bash -c) from the repository root.

    Database URLs reach the command through its environment (`$DATABASE_URL`), never through
    its arguments, so no password is visible to other users in the process list.
    """
    env = target.child_environ(**(extra_env or {}))
    # `python` in a checklist command means the interpreter running the checks (its venv).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        ["bash", "-c", without_url_arguments(command, env)],
        cwd=target.repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class CommandDeployment:
    """An env target: RESTART_COMMAND runs with the step's flags and RELEASEOPS_STEP set."""

    def __init__(self, target: Target) -> None:
        self.target = target

    @property
    def command(self) -> str:
        """RESTART_COMMAND, default the checklist's `./scripts/dc up -d --build`."""
        return self.target.environ.get("RESTART_COMMAND") or DEFAULT_RESTART_COMMAND

    def restart(self, step: Step, flags: Mapping[str, str]) -> str:
        """Run RESTART_COMMAND; RestartFailed when it exits non-zero."""
        proc = run_command(self.target, self.command, extra_env={**flags, "RELEASEOPS_STEP": step})
        if proc.returncode != 0:
            raise RestartFailed.for_command(self.command, proc.returncode, proc.stderr)
        return f"ran {self.command!r} for {step} with {dict(flags)}"
