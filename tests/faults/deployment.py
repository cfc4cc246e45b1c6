"""RESTART_COMMAND for a staged target, answered by this test process (which owns the service).

The command is a tiny script asking the `deployment` fixture (a thread of the test process) to
restart the service with the flags the command was given, on the code of the release the
database is at: the release while its migration is applied, the previous release after the
restore. Deployment faults are injected there: a restart that drops a flag (`tamper`), one
onto the wrong build (`wrong_code`), one that does nothing (`no_op`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from releaseops import migrations

RESTART_SCRIPT = '''\
"""Ask the staged deployment to restart the service with this environment's flags."""
import json, os, sys, time
from pathlib import Path

inbox = Path(sys.argv[1])
flags = {k: os.environ[k] for k in ("DB_READ_ONLY", "AI_AUTO_APPLY", "RETRIEVAL_MODE")
         if k in os.environ}
request = inbox / f"{os.getpid()}.request"
request.with_suffix(".tmp").write_text(json.dumps(flags))
request.with_suffix(".tmp").rename(request)
done = request.with_suffix(".done")
deadline = time.monotonic() + 120
while not done.exists():
    if time.monotonic() > deadline:
        sys.exit("the staged deployment did not answer")
    time.sleep(0.05)
answer = done.read_text()
print(answer)
sys.exit(0 if answer.startswith("restarted") else answer)
'''

Tamper = Callable[[int, dict[str, str]], dict[str, str]]


class StagedDeployment:
    """What RESTART_COMMAND reaches on a staged target; `tamper` injects deployment faults."""

    def __init__(self, staged, inbox: Path) -> None:
        self.staged = staged
        self.inbox = inbox
        self.restarts: list[dict[str, str]] = []
        self.tamper: Tamper = lambda _number, flags: flags
        self.wrong_code = False
        self.no_op = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> StagedDeployment:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        while not self._stop.wait(0.05):
            for request in sorted(self.inbox.glob("*.request")):
                answer = self._restart(json.loads(request.read_text()))
                # Renamed into place: the script must never read a half-written answer.
                request.with_suffix(".answer").write_text(answer)
                request.with_suffix(".answer").rename(request.with_suffix(".done"))
                request.unlink()

    def _restart(self, flags: dict[str, str]) -> str:
        flags = self.tamper(len(self.restarts), flags)
        self.restarts.append(flags)
        target = self.staged.target
        pending = migrations.status(target.db, target.migrations_dir).pending
        code = target.previous_dir if bool(pending) != self.wrong_code else target.migrations_dir
        if self.no_op:
            return f"restarted with {flags}"
        try:
            target.restart_service(**{"MIGRATIONS_DIR": str(code), **flags})
        except Exception as exc:  # noqa: BLE001 - reported to the phase as the command's failure
            return f"failed: {exc}"
        return f"restarted with {flags}"


@pytest.fixture
def deployment(staged, tmp_path) -> Iterator[StagedDeployment]:
    inbox = tmp_path / "deployment-inbox"
    inbox.mkdir()
    script = tmp_path / "restart_staged.py"
    script.write_text(RESTART_SCRIPT)
    staged.overrides["RESTART_COMMAND"] = f"python {script} {inbox}"
    with StagedDeployment(staged, inbox) as running:
        yield running


def open_writes_on_restart(number: int) -> Tamper:
    """A deployment whose restart number `number` forgets DB_READ_ONLY=1."""
    return lambda n, flags: {**flags, "DB_READ_ONLY": "0"} if n == number else flags
