"""Nothing a run starts outlives it: parent-death signals, ownership records, the reaper.

Also the throwaway cluster's own traces: its password file and its temporary folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from releaseops import migrations, pg
from releaseops.errors import ClusterError
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal import reaper
from releaseops.rehearsal.cluster import LocalCluster, scratch_parent
from releaseops.rehearsal.lifetime import Folder, Proc, this_process
from releaseops.rehearsal.reaper import Ownership
from releaseops.service.children import die_with_parent

REPO = Path(__file__).resolve().parents[1]


def gone(pid: int) -> bool:
    return Proc.observe(pid) is None


def wait_until(probe: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(0.05)


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private record directory, so that no other run reaps what these tests stage."""
    directory = tmp_path / "runs"
    monkeypatch.setenv(reaper.RUN_DIR_ENV, str(directory))
    yield directory
    reaper.reap(directory)  # whatever a failed test left behind


@pytest.fixture
def sleeper() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `sleep` processes (in their own sessions) that the test is sure to stop."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(  # type: ignore[call-overload]
            argv or ("sleep", "300"), start_new_session=True, **kwargs
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def run_owner(code: str, run_dir: Path) -> subprocess.Popen[str]:
    """A Python process that plays a test run: it starts things, prints JSON, then sleeps."""
    program = textwrap.dedent(code) + "\nimport sys, time\nsys.stdout.flush()\ntime.sleep(300)\n"
    return subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, reaper.RUN_DIR_ENV: str(run_dir)},
        cwd=REPO,
    )


def killed(owner: subprocess.Popen[str]) -> dict[str, object]:
    """Read what the owner started, then SIGKILL it: no cleanup code of its own runs."""
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line, "the owner exited before it printed what it started"
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)
    owner.stdout.close()
    return dict(json.loads(line))


# --- the throwaway cluster's password file and folders -------------------------------

OBSERVING_INITDB = """#!/bin/sh
for arg in "$@"; do
  case "$arg" in
    --pwfile=*) file="${arg#--pwfile=}"; stat -c '%a %U' "$file" > "$(dirname "$file")/observed";;
  esac
done
exec "$REAL_BINDIR/initdb" "$@"
"""


@pytest.fixture
def observed_bindir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The real server binaries, with initdb reached through a script that stats --pwfile."""
    real = pg.locate("initdb").parent
    with tempfile.TemporaryDirectory(prefix="releaseops-test-bin-") as name:
        bindir = Path(name)
        bindir.chmod(0o755)  # the server's OS user runs the script
        (bindir / "initdb").write_text(OBSERVING_INITDB)
        (bindir / "initdb").chmod(0o755)
        (bindir / "postgres").symlink_to(real / "postgres")
        monkeypatch.setenv("REAL_BINDIR", str(real))
        yield bindir


def test_the_password_file_lives_only_through_initdb_and_the_folder_only_until_stop(
    observed_bindir: Path, run_dir: Path
):
    temp = scratch_parent() or Path(tempfile.gettempdir())
    cluster = LocalCluster(bindir=observed_bindir).start()
    try:
        workdir = cluster.workdir
        assert workdir is not None and workdir.parent == temp
        assert workdir.name in os.listdir(temp)
        during = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
        assert (workdir / "observed").read_text().split()[0] == "600"  # private while it lived
        assert "pwfile" not in during, during
        leaked = [
            p
            for p in workdir.rglob("*")
            if p.is_file() and cluster.password.encode() in p.read_bytes()
        ]
        assert leaked == []
        assert len(list(run_dir.glob("cluster-*.json"))) == 1
    finally:
        cluster.stop()
    assert workdir.name not in os.listdir(temp)
    assert list(run_dir.iterdir()) == []


# --- parent-death signals ---------------------------------------------------------------------


def test_a_killed_runs_cluster_stops_with_it_and_the_next_run_deletes_its_folder(run_dir: Path):
    owner = run_owner(
        """
        import json
        from releaseops.rehearsal.cluster import LocalCluster
        c = LocalCluster().start()
        print(json.dumps({"pid": c.pid, "workdir": str(c.workdir)}))
        """,
        run_dir,
    )
    started = killed(owner)
    pid, workdir = int(str(started["pid"])), Path(str(started["workdir"]))
    wait_until(lambda: gone(pid), timeout=10)  # SIGQUIT from the kernel: immediate shutdown
    assert workdir.exists(), "the folder is what a parent-death signal cannot remove"
    [record] = run_dir.glob("cluster-*.json")
    assert reaper.reap() == [f"deleted {workdir} of dead run {owner.pid}"]
    assert not workdir.exists() and not record.exists()


def test_a_killed_runs_service_and_its_workers_stop_with_it(pg_cluster, run_dir: Path):
    with ScratchDatabase(pg_cluster.url) as db:
        migrations.apply(db, migrations.DEFAULT_DIR)
        owner = run_owner(
            f"""
            import json, os, pathlib
            from releaseops.rehearsal.process import ServiceProcess
            env = {{**os.environ, "DATABASE_URL": {db.sqlalchemy(with_password=True)!r},
                    "FLASK_CONFIG": "development", "API_TOKENS": "t" * 24}}
            s = ServiceProcess(env, pathlib.Path({str(run_dir.parent / "api.log")!r}))
            s.start(timeout=60)
            workers = open(f"/proc/{{s.pid}}/task/{{s.pid}}/children").read().split()
            print(json.dumps({{"pid": s.pid, "url": s.base_url, "workers": workers}}))
            """,
            run_dir,
        )
        started = killed(owner)
        master, url = int(str(started["pid"])), str(started["url"])
        workers = [int(w) for w in started["workers"]]  # type: ignore[attr-defined]
        assert workers, "gunicorn had no worker yet"
        wait_until(lambda: gone(master) and all(gone(w) for w in workers), timeout=15)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/health", timeout=2)
        assert reaper.reap() == []  # nothing was left: the record only goes
        assert list(run_dir.glob("*.json")) == []


def test_a_child_forked_off_the_main_thread_gets_no_parent_death_signal(sleeper):
    # Linux signals a child when the *thread* that forked it ends: armed from a worker thread,
    # the child would be stopped as soon as that thread finished.
    made: list[subprocess.Popen[bytes]] = []
    hooks: list[object] = []

    def from_a_thread() -> None:
        hook = die_with_parent(signal.SIGTERM)
        hooks.append(hook)
        made.append(sleeper("sleep", "300", preexec_fn=hook))

    thread = threading.Thread(target=from_a_thread)
    thread.start()
    thread.join()
    assert hooks == [None]
    time.sleep(0.3)
    assert made[0].poll() is None, "the child died with the thread that forked it"
    assert die_with_parent(signal.SIGTERM) is not None  # the main thread arms it


# --- the reaper --------------------------------------------------------------------------------


def dead_owner() -> Proc:
    """The identity of a process that has exited."""
    proc = subprocess.Popen(["sleep", "30"])
    identity = Proc.observe(proc.pid)
    proc.kill()
    proc.wait()
    assert identity is not None
    return identity


def plant(run_dir: Path, ownership: Ownership) -> Path:
    run_dir.mkdir(mode=0o700, exist_ok=True)
    path = run_dir / f"{ownership.kind}-{ownership.owner.pid}-test.json"
    path.write_text(json.dumps(ownership.as_dict()))
    return path


def test_a_dead_runs_leftovers_are_stopped_and_deleted_once_proven_its_own(
    run_dir: Path, tmp_path: Path, sleeper
):
    leftover = sleeper()
    folder = tmp_path / "releaseops-pg-left"
    (folder / "data").mkdir(parents=True)
    owner = dead_owner()
    identity = Proc.observe(leftover.pid, signal.SIGTERM)
    assert identity is not None
    record = plant(
        run_dir,
        Ownership("cluster", owner, {"postmaster": identity}, [Folder.observe(folder)]),
    )
    assert reaper.reap() == [
        f"stopped cluster postmaster pid {leftover.pid} of dead run {owner.pid}",
        f"deleted {folder} of dead run {owner.pid}",
    ]
    assert leftover.wait(timeout=5) == -signal.SIGTERM
    assert not folder.exists() and not record.exists()


def test_nothing_that_is_not_proven_ours_is_touched(run_dir: Path, tmp_path: Path, sleeper):
    reused, retitled, live_owned = sleeper(), sleeper(), sleeper()
    replaced = tmp_path / "replaced"
    replaced.mkdir()
    old = Folder.observe(replaced)
    replaced.rmdir()
    (tmp_path / "elsewhere").mkdir()
    replaced.symlink_to(tmp_path / "elsewhere")  # same path, another thing now
    first, second, mine = (Proc.observe(p.pid) for p in (reused, retitled, live_owned))
    assert first is not None and second is not None and mine is not None
    planted = [
        plant(
            run_dir,
            Ownership("a", dead_owner(), {"x": Proc(first.pid, first.started + 1, first.cmdline)}),
        ),
        plant(
            run_dir,
            Ownership(
                "b", dead_owner(), {"x": Proc(second.pid, second.started, ("postgres", "-D", "/x"))}
            ),
        ),
        plant(
            run_dir,
            Ownership("c", this_process(), {"x": mine}, [Folder.observe(tmp_path / "elsewhere")]),
        ),
        plant(run_dir, Ownership("d", dead_owner(), {}, [old])),
    ]
    assert reaper.reap() == []
    assert all(p.poll() is None for p in (reused, retitled, live_owned))
    assert (tmp_path / "elsewhere").is_dir() and replaced.is_symlink()
    assert [p.exists() for p in planted] == [False, False, True, False]


def test_a_record_directory_others_can_write_is_refused(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(ClusterError, match=r"shared holds the records .* not a directory that"):
        reaper.Claim("cluster", shared)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(ClusterError, match="RELEASEOPS_RUN_DIR at a private directory"):
        reaper.Claim("cluster", link)
    assert reaper.reap(shared) == []  # a reap there says so in the log and touches nothing
