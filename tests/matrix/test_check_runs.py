"""Fault matrix: a check run interrupted (SIGINT) or killed outright (SIGKILL), then run again.

A run's cluster and service are tied to it: interrupted, it tears them down itself; killed, the
kernel's parent-death signal stops them within seconds, and the next run deletes the temporary
folder the killed one left (its ownership record proves the folder is the dead run's own).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from releaseops.rehearsal import reaper
from releaseops.rehearsal.lifetime import Proc
from releaseops.release.target import ENV_KEYS
from tests.matrix.conftest import ROOT, wait_for
from tests.scripting import LEAN_PYTEST

pytestmark = pytest.mark.faults

MASTER = "gunicorn master"
# What would point a run at another target (the tools' location stays).
TARGET_KEYS = {*ENV_KEYS, "CI"} - {"PATH", "PG_BINDIR", "RELEASEOPS_PG_ROOT"}


@dataclass(frozen=True)
class Started:
    """What a check run started, read from its ownership records and its service log."""

    processes: list[Proc]
    workdir: Path
    base_url: str


class Run:
    """`pytest checks/predeploy` on the embedded target, in a subprocess of its own."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.run_dir = tmp_path / "runs"
        self.reports = tmp_path / f"reports-{name}"
        self.output = tmp_path / f"{name}.out"
        env = {k: v for k, v in os.environ.items() if k not in TARGET_KEYS}
        env[reaper.RUN_DIR_ENV] = str(self.run_dir)
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "checks/predeploy",
            "-p",
            "no:cacheprovider",
            *LEAN_PYTEST,
        ]
        with self.output.open("wb") as sink:
            self.proc = subprocess.Popen(
                [*argv, "--reports-dir", str(self.reports)],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def records(self) -> list[reaper.Ownership]:
        found = [reaper.read(p) for p in self.run_dir.glob("*.json")]
        return [r for r in found if r is not None and r.owner.pid == self.proc.pid]

    def service_answering(self) -> Started | None:
        """What the run started, once its service answers (gunicorn retitled its master)."""
        assert self.proc.poll() is None, self.output.read_text()[-3000:]
        records = {r.kind: r for r in self.records()}
        service, cluster = records.get("service"), records.get("cluster")
        if service is None or cluster is None or MASTER not in service.processes:
            return None
        master = service.processes[MASTER]
        if not master.cmdline[0].startswith("gunicorn"):
            return None
        workers = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        return Started(
            processes=[master, *cluster.processes.values()]
            + [p for p in map(Proc.observe, map(int, workers)) if p is not None],
            workdir=Path(cluster.folders[0].path),
            base_url=_bound(self.reports),
        )

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def _bound(reports: Path) -> str:
    for log in reports.glob("*/embedded/api.log"):
        for line in log.read_text().splitlines():
            if '"bind"' in line:
                return "http://" + json.loads(line)["bind"]
    raise AssertionError("the service log names no address")


def answers(base_url: str) -> bool:
    try:
        requests.get(f"{base_url}/health", timeout=2)
    except requests.RequestException:
        return False
    return True


# A URL whose password is not masked; the run's random database password is not known here
# (tests/faults/test_secrets.py searches full runs for it), but it could only leak in one.
UNMASKED_URL = re.compile(rb"://[^/\s:@'\"]+:(?!\*\*\*@)[^@\s/'\"]+@")


def assert_no_unmasked_url(run: Run) -> None:
    __tracebackhide__ = True
    assert not UNMASKED_URL.search(run.output.read_bytes())
    for path in run.reports.rglob("*"):
        if path.is_file():
            assert not UNMASKED_URL.search(path.read_bytes()), path


@pytest.fixture
def sleeper() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """`sleep` processes in sessions of their own; whatever still runs is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(["sleep", "300"], start_new_session=True))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def plant_record(run_dir: Path, stray: subprocess.Popen[bytes]) -> None:
    """A service record of a dead run naming `stray` as its gunicorn master."""
    gone = subprocess.Popen(["sleep", "30"])
    owner = Proc.observe(gone.pid)
    gone.kill()
    gone.wait()
    master = Proc.observe(stray.pid, signal.SIGINT)
    assert owner is not None and master is not None
    record = reaper.Ownership("service", owner, {MASTER: master})
    (run_dir / f"service-{owner.pid}-stray.json").write_text(json.dumps(record.as_dict()))


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Run]]:
    """The runs a test starts; any still running at the end is killed, and what it left reaped."""
    started: list[Run] = []
    yield started
    for run in started:
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
        run.proc.wait(timeout=30)
    if started:
        reaper.reap(started[0].run_dir)


def test_check_runs_interrupted_or_killed_leave_nothing_once_the_next_run_is_go(
    tmp_path, runs, sleeper
):
    # Both start at once: most of a run's first seconds go to staging its embedded target.
    interrupted, killed = Run(tmp_path, "interrupted"), Run(tmp_path, "killed")
    runs += [interrupted, killed]
    first = wait_for(interrupted.service_answering, timeout=180, every=0.1)
    second = wait_for(killed.service_answering, timeout=180, every=0.1)

    interrupted.proc.send_signal(signal.SIGINT)  # Ctrl-C: the run tears down what it started
    killed.proc.send_signal(signal.SIGKILL)  # no code of the run runs any more
    assert interrupted.proc.wait(timeout=90) == 2, interrupted.text()[-3000:]
    assert "releaseops verdict: NO-GO" in interrupted.text()  # an interrupted run is never GO
    assert not [p for p in first.processes if p.is_running()]
    assert not answers(first.base_url) and not first.workdir.exists()
    assert_no_unmasked_url(interrupted)

    killed.proc.wait(timeout=10)  # the parent-death signal stops service and server
    wait_for(lambda: not [p for p in second.processes if p.is_running()], timeout=15)
    assert not answers(second.base_url)
    assert second.workdir.exists(), "a folder is what no signal can take away"
    assert not list(killed.reports.glob("*/evidence.json"))  # nothing looks like a verdict
    assert_no_unmasked_url(killed)
    left = [r for r in map(reaper.read, killed.run_dir.glob("*.json")) if r is not None]
    assert sorted(r.kind for r in left) == ["cluster", "service"]  # its owner never released them

    # A leftover no signal reached (its run died before arming one): a process on record.
    stray = sleeper()
    plant_record(killed.run_dir, stray)

    again = Run(tmp_path, "again")
    runs.append(again)
    assert again.proc.wait(timeout=240) == 0, again.text()[-3000:]
    assert "releaseops verdict: GO" in again.text()
    assert not second.workdir.exists(), "the next run did not reap the killed run's folder"
    assert stray.wait(timeout=5) == -signal.SIGINT, "the next run did not stop the stray"
    assert list(again.run_dir.glob("*.json")) == []  # every record was released or reaped
