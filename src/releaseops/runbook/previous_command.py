"""PREVIOUS_RELEASE_COMMAND: how an env target starts its previous release against a database.

The command runs with `bash -c` from the repository root, in the checks' environment plus:
DATABASE_URL (the migrated copy; never in its arguments), CHECK_PENDING_MIGRATIONS=0 and
FAIL_ON_PENDING_MIGRATIONS=0 (the database is ahead of that code), and PREVIOUS_RELEASE_PORT (a
free local port it may listen on). It must print the previous release's base URL (`http://...`)
on a line of its own and keep running while it serves; releaseops waits until GET /health
answers there, walks the smoke paths, then ends the command's whole process group (SIGTERM,
then SIGKILL). Should the check run itself be killed, the command gets SIGTERM (Linux's
parent-death signal; a command that runs its server as a child rather than `exec` must pass
the signal on). Its output is kept for the failure message and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import PreviousReleaseFailedToStart
from releaseops.release.target import Target
from releaseops.runbook.previous import GUARD_OFF, RunningRelease
from releaseops.service import http
from releaseops.service.children import die_with_parent

VARIABLE = "PREVIOUS_RELEASE_COMMAND"
PORT_VARIABLE = "PREVIOUS_RELEASE_PORT"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
_URL = re.compile(r"^(https?://[^\s/]+(?:/\S*)?)\s*$", re.MULTILINE)


def configured(target: Target) -> str | None:
    """PREVIOUS_RELEASE_COMMAND of the target's environment, or None when unset."""
    return target.environ.get(VARIABLE) or target.child_environ().get(VARIABLE) or None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return dburl.mask("\n".join(text.splitlines()[-lines:])) or "(no output)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the command's process group: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


class CommandPreviousRelease:
    """The previous release of an env target, started by PREVIOUS_RELEASE_COMMAND."""

    def __init__(self, target: Target, command: str, *, timeout: float = START_TIMEOUT) -> None:
        self.target = target
        self.command = command
        self.timeout = timeout

    description = f"the previous release (started by {VARIABLE})"

    @contextlib.contextmanager
    def serve(self, database: DatabaseUrl) -> Iterator[RunningRelease]:
        """Run the command against `database` until the block ends."""
        with tempfile.TemporaryDirectory(prefix="releaseops-previous-") as folder:
            log = Path(folder) / "previous-release.log"
            process = self._start(database, log)
            try:
                url = self._ready(process, log, time.monotonic() + self.timeout)
                yield RunningRelease(url, self.description, log)
            finally:
                _stop(process)

    def _start(self, database: DatabaseUrl, log: Path) -> subprocess.Popen[bytes]:
        env = self.target.child_environ(
            DATABASE_URL=database.sqlalchemy(with_password=True),
            **GUARD_OFF,
            **{PORT_VARIABLE: str(free_port())},
        )
        # `python` in the command means the interpreter running the checks (its venv).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        with log.open("wb") as sink:
            return subprocess.Popen(
                ["bash", "-c", self.command],
                cwd=self.target.repo_root,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # Should this run be killed outright, the command (bash, or what it exec'd)
                # gets SIGTERM instead of serving on.
                preexec_fn=die_with_parent(signal.SIGTERM),
            )

    def _ready(self, process: subprocess.Popen[bytes], log: Path, deadline: float) -> str:
        """The base URL the command printed, once GET /health answers there."""
        url: str | None = None
        while True:
            code = process.poll()
            if code is not None:
                raise PreviousReleaseFailedToStart.exited(code, _tail(log))
            if url is None:
                found = _URL.search(log.read_text(errors="replace"))
                url = found.group(1).rstrip("/") if found else None
            if url is not None and http.answers(f"{url}/health"):
                return url
            if time.monotonic() > deadline:
                raise PreviousReleaseFailedToStart.timed_out(self.timeout, _tail(log))
            time.sleep(0.1)
