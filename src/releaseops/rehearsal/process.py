"""Run the reference service under gunicorn as a child process, with its JSON log in a file.

The gunicorn master gets SIGINT (quick shutdown, its workers with it) when the process that
started it dies, even by SIGKILL, and an ownership record lets a later run stop it should that
signal not have been armed (see rehearsal.reaper).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from releaseops.errors import ServiceFailedToStart
from releaseops.rehearsal import reaper
from releaseops.rehearsal.cluster import free_port
from releaseops.service import http
from releaseops.service.children import die_with_parent

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MASTER = "gunicorn master"


class ServiceProcess:
    """`python -m exambank.serve` on 127.0.0.1:<free port>; stdout and stderr go to `log_path`."""

    def __init__(
        self,
        environ: Mapping[str, str],
        log_path: Path,
        *,
        workers: int = 2,
        port: int | None = None,
    ) -> None:
        self.environ = dict(environ)
        self.log_path = log_path
        self.workers = workers
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.claim: reaper.Claim | None = None
        # Another app factory (`module:callable`, served by `exambank.serve --app`); None for
        # the reference service itself.
        self.app: str | None = None
        # Neither started nor stopped yet: `serve()` may still make the first start.
        self.untouched = True

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The gunicorn master's pid while it runs."""
        return self.process.pid if self.process else None

    def serve(self) -> ServiceProcess:
        """The deferred first start: start unless this service was started or stopped before.

        A caller that sets a service up but may restart it with other flags first (or never
        need it) leaves the start to the first `serve()` or `restart()`; a service stopped on
        purpose stays stopped.
        """
        if self.untouched:
            self.start()
        return self

    def start(self, *, wait: bool = True, timeout: float = START_TIMEOUT) -> ServiceProcess:
        """Start and, unless `wait` is false, wait for GET /health to answer."""
        self.untouched = False
        argv = [
            sys.executable,
            "-m",
            "exambank.serve",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            *(["--app", self.app] if self.app else []),
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        reaper.reap()
        self.claim = reaper.Claim("service")
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                argv,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environ,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),  # gunicorn: quick shutdown
            )
        self.claim.track(MASTER, self.process.pid, signal.SIGINT)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll /health until it answers (any status) or the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                self.process = None
                self._release()
                raise ServiceFailedToStart.exited(code, self.log_tail())
            if http.answers(f"{self.base_url}/health"):
                if self.claim is not None:  # gunicorn has retitled its master by now
                    self.claim.track(MASTER, self.process.pid, signal.SIGINT)
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceFailedToStart.timed_out(timeout, self.log_tail())
            time.sleep(0.1)

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the service log."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGINT (gunicorn quick shutdown), then SIGKILL after a timeout; returns the exit code."""
        self.untouched = False
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("service pid %s ignored SIGINT; killing", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        self._release()
        return process.returncode

    def _release(self) -> None:
        claim, self.claim = self.claim, None
        if claim is not None:
            claim.forget(MASTER)
            claim.release()

    def restart(self, *, app: str | None = None, **overrides: str) -> ServiceProcess:
        """Stop, apply environment overrides (flags), start again on the same port.

        `app` serves another factory from now on (`module:callable`); "" goes back to the
        reference service.
        """
        self.stop()
        self.environ.update(overrides)
        if app is not None:
            self.app = app or None
        return self.start()
