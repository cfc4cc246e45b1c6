"""Runs pytest as a fork of a process that has already imported everything.

A fault test runs a real phase (`pytest checks/<phase>`) in a process of its own, so that
nothing of the test process leaks into the run; the plugin's tests run pytest on tiny check
files through pytester's subprocess mode (`runpytest`, below). Starting Python and importing
pytest, its plugins and releaseops costs about 2 s of CPU per run, and the suite makes well
over a hundred runs. This server pays that once: it imports what a run needs, then forks one
child per request. The server is single-threaded, so forking it is safe; each child changes to
the requested directory and environment, runs `pytest.main`, and exits with pytest's code. The
run is exactly what `python -m pytest ...` would do, minus the start-up.

Protocol (one JSON object per line): request `{"argv", "env", "cwd", "out", "err",
"timeout"}` on stdin, answer `{"returncode"}` on stdout.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

# What a phase run imports sooner or later; importing it here is what the children save.
# Third-party pytest plugins are left to pytest: it rewrites their asserts when it loads them.
PRELOAD = (
    "pytest",
    "jinja2",
    "flask",  # the FTS definition's module lives in the reference service's package
    "releaseops.gate.plugin",
    "releaseops.gate.fixtures",
    "releaseops.gate.recorder",
    "releaseops.release.record",
    "releaseops.release.environment",
    "releaseops.release.database",
    "releaseops.runbook.custody",
    "releaseops.runbook.steps",
    "releaseops.service.resource",
    "releaseops.service.restart",
    "releaseops.service.freeze",
    "releaseops.service.logcheck",
    "releaseops.service.slogate",
    "releaseops.service.smoke",
    "releaseops.backup.drill",
    "releaseops.backup.fingerprint_drift",
    "releaseops.release.drift",
    "releaseops.fts",
    "releaseops.migrations",
    "pglast.parser",  # the migrations import it when a file is first split
)


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become the requested run, then exit with pytest's code."""
    code = 1
    try:
        os.setsid()  # its own process group: a timeout kills the run and what it started
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # A fresh interpreter would read PYTHONPATH at start-up: do what it would have done.
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [p for p in extra if p not in sys.path]
        for fd, path, mode in (
            (0, os.devnull, os.O_RDONLY),
            (1, request["out"], None),
            (2, request["err"], None),
        ):
            flags = mode if mode is not None else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            target = os.open(path, flags, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        import pytest

        # releaseops was imported before pytest could rewrite its asserts: say nothing about it
        # (the checks' own asserts, in checks/, are rewritten as usual).
        quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        code = int(pytest.main([*quiet, *request["argv"]]))
    except BaseException:  # noqa: BLE001 - reported as the run's failure, never raised
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, timeout: float) -> int:
    """The child's exit code; after `timeout` seconds its process group is killed."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.02)


def serve() -> None:
    """Preload, then answer requests until stdin closes."""
    for name in PRELOAD:
        __import__(name)
    # What is preloaded lives as long as the server: out of the collector's sight, a child's
    # collections neither walk it nor copy the pages it lies on.
    gc.freeze()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        code = _wait(pid, float(request.get("timeout", 300)))
        print(json.dumps({"returncode": code}), flush=True)


class ForkServer:
    """The client side: one server process per test session."""

    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError("the fault-test fork server did not start")

    def run(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, workdir: Path, timeout: float
    ) -> tuple[int, str, str]:
        """Run `pytest <argv>`; returns (returncode, stdout, stderr)."""
        out, err = workdir / "pytest.stdout", workdir / "pytest.stderr"
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(cwd),
            "out": str(out),
            "err": str(err),
            "timeout": timeout,
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the fault-test fork server died")
        code = int(json.loads(answer)["returncode"])
        return code, out.read_text(errors="replace"), err.read_text(errors="replace")

    def close(self) -> None:
        """Stop the server (closing its stdin ends its loop)."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def runpytest(
    pytester: pytest.Pytester, server: ForkServer, *args: str, timeout: float | None = None
) -> pytest.RunResult:
    """`pytester.runpytest_subprocess(*args)`, forked from `server` instead of a new Python.

    The same run: pytester's directory as the working directory, its environment with that
    directory on PYTHONPATH, a fresh `--basetemp`, stdout and stderr as the result's lines.
    """
    basetemp = Path(tempfile.mkdtemp(prefix="runpytest-", dir=pytester.path))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH", "")]))
    started = time.monotonic()
    code, out, err = server.run(
        [f"--basetemp={basetemp}", *args],
        env=env,
        cwd=pytester.path,
        workdir=basetemp,
        timeout=timeout or 300,
    )
    return pytest.RunResult(code, out.splitlines(), err.splitlines(), time.monotonic() - started)


if __name__ == "__main__":
    serve()
