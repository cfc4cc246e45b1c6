"""The embedded target's previous release, started against a copy of its database.

The rehearsal's previous release is the reference service's code on the previous release's
migrations (`EmbeddedTarget.previous_dir`): `EmbeddedPreviousRelease` starts it as a second
service process on the migrated copy, with the running service's secrets and the live flags,
and its startup migration guard off (the copy is ahead of it). `command_for()` is the same as a
PREVIOUS_RELEASE_COMMAND, for a run of the checks with `--target env` against a staged target.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING

from releaseops.dburl import DatabaseUrl
from releaseops.rehearsal.process import ServiceProcess
from releaseops.runbook.deployment import LIVE_FLAGS
from releaseops.runbook.previous import GUARD_OFF, RunningRelease
from releaseops.runbook.previous_command import PORT_VARIABLE

if TYPE_CHECKING:
    from releaseops.rehearsal.embedded import EmbeddedTarget

LOG_NAME = "previous-release.log"


class EmbeddedPreviousRelease:
    """The reference service on the previous release's migrations, as a `PreviousRelease`."""

    description = "the previous release (the reference service on its migrations, embedded)"

    def __init__(self, embedded: EmbeddedTarget) -> None:
        self.embedded = embedded

    @contextlib.contextmanager
    def serve(self, database: DatabaseUrl) -> Iterator[RunningRelease]:
        """Start a second service process on `database` until the block ends."""
        running = self.embedded.service
        assert running is not None, "the embedded target is not started"
        env = dict(running.environ)
        env.update(
            {
                "DATABASE_URL": database.sqlalchemy(with_password=True),
                "MIGRATIONS_DIR": str(self.embedded.previous_dir),
                **GUARD_OFF,
                **LIVE_FLAGS,
            }
        )
        log = self.embedded.workdir / LOG_NAME
        offset = log.stat().st_size if log.exists() else 0
        process = ServiceProcess(env, log, workers=1).start()
        try:
            yield RunningRelease(process.base_url, self.description, log, offset)
        finally:
            process.stop()


def command_for(embedded: EmbeddedTarget) -> str:
    """A PREVIOUS_RELEASE_COMMAND that starts the embedded target's previous release."""
    port = f'"127.0.0.1:${PORT_VARIABLE}"'
    return (
        f'echo "http://127.0.0.1:${PORT_VARIABLE}"; '
        f"MIGRATIONS_DIR={shlex.quote(str(embedded.previous_dir))} "
        f"exec python -m exambank.serve --bind {port} --workers 1"
    )
