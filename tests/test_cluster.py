"""The throwaway cluster: start, connect, stop, and nothing left behind."""

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from releaseops.errors import ClusterError, DockerUnavailable
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import (
    TMPDIR_VARIABLE,
    LocalCluster,
    free_port,
    make_cluster,
    scratch_parent,
)
from releaseops.rehearsal.container import ContainerCluster
from tests.scripting import LEAN_PYTEST


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is reaped by Popen.wait(); a live pid here means a process we did not stop.
    return True


def test_cluster_starts_with_password_auth_and_stops_cleanly():
    cluster = LocalCluster()
    with cluster:
        pid, workdir = cluster.pid, cluster.workdir
        assert cluster.url.host == "127.0.0.1"
        with psycopg.connect(cluster.url.conninfo()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            method = conn.execute(
                "select auth_method from pg_hba_file_rules where type = 'host' limit 1"
            ).fetchone()
        assert method == ("md5",)
        with psycopg.connect(cluster.url.conninfo()) as conn:
            stored = conn.execute(
                "select rolpassword from pg_authid where rolname = current_user"
            ).fetchone()[0]
        assert stored.startswith("md5") and cluster.url.password not in stored
        no_password = cluster.url.__class__(**{**cluster.url.__dict__, "password": None})
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(no_password.conninfo(), connect_timeout=3)
    assert not pid_alive(pid)
    assert not workdir.exists()


def _mounts(tmp_path, ram_dir, fstype):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        f"garbage\nproc /proc proc rw 0 0\nnone {ram_dir} {fstype} rw,nosuid,nodev 0 0\n"
    )
    return mounts


def test_the_cluster_goes_on_a_tmpfs_with_room_and_nowhere_else(tmp_path, monkeypatch):
    monkeypatch.delenv(TMPDIR_VARIABLE, raising=False)
    ram = tmp_path / "shm"
    ram.mkdir()
    tmpfs = _mounts(tmp_path, ram, "tmpfs")
    assert scratch_parent(ram, mounts=tmpfs, min_free=0) == ram
    # a disk, a tmpfs too small, a folder that is not there, no mount table: the system default
    assert scratch_parent(ram, mounts=_mounts(tmp_path, ram, "ext4"), min_free=0) is None
    assert scratch_parent(ram, mounts=tmpfs, min_free=2**62) is None
    assert scratch_parent(tmp_path / "gone", mounts=tmpfs, min_free=0) is None
    assert scratch_parent(ram, mounts=tmp_path / "no-mounts", min_free=0) is None


def test_the_cluster_folder_can_be_named_or_left_to_the_system(monkeypatch):
    # a folder the server's OS user can reach (pytest's own are the test user's only)
    chosen = Path(tempfile.mkdtemp(prefix="chosen-"))
    chosen.chmod(0o755)
    try:
        monkeypatch.setenv(TMPDIR_VARIABLE, str(chosen))
        assert scratch_parent() == chosen
        cluster = LocalCluster()
        with cluster:
            assert cluster.workdir is not None and cluster.workdir.parent == chosen
            with psycopg.connect(cluster.url.conninfo()) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        assert list(chosen.iterdir()) == []
    finally:
        shutil.rmtree(chosen)
    monkeypatch.setenv(TMPDIR_VARIABLE, "")
    assert scratch_parent() is None


def test_a_cluster_folder_that_is_not_a_directory_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(TMPDIR_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(ClusterError, match=r"RELEASEOPS_PG_TMPDIR=.*missing is not a directory"):
        LocalCluster().start()
    assert not (tmp_path / "missing").exists()


def test_cluster_is_torn_down_when_the_body_raises():
    cluster = LocalCluster()
    with pytest.raises(RuntimeError, match="boom"), cluster:
        pid, workdir = cluster.pid, cluster.workdir
        raise RuntimeError("boom")
    assert not pid_alive(pid)
    assert not workdir.exists()


def test_stop_is_idempotent():
    cluster = LocalCluster().start()
    cluster.stop()
    cluster.stop()
    assert cluster.pid is None


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when the suite runs as root")
def test_server_runs_as_a_non_root_user(pg_cluster):
    with psycopg.connect(pg_cluster.url.conninfo()) as conn:
        data_dir = conn.execute("show data_directory").fetchone()[0]
    assert os.stat(data_dir).st_uid != 0


def test_scratch_database_exists_only_inside_the_block(pg_cluster):
    with ScratchDatabase(pg_cluster.url) as url, psycopg.connect(url.conninfo()) as conn:
        assert conn.execute("select current_database()").fetchone() == (url.dbname,)
    with psycopg.connect(pg_cluster.url.conninfo()) as conn:
        row = conn.execute("select 1 from pg_database where datname = %s", (url.dbname,))
        assert row.fetchone() is None


def test_free_port_is_bindable():
    assert 1024 < free_port() < 65536


def test_container_provider_skips_with_a_clear_reason_without_docker():
    try:
        cluster = ContainerCluster().start()
    except DockerUnavailable as exc:
        assert "no Docker engine is reachable" in str(exc)
        assert "--pg-provider local" in str(exc)
        return
    cluster.stop()  # a Docker engine exists here: the container path worked
    pytest.skip("a Docker engine is reachable; nothing to prove about its absence")


def test_auto_provider_falls_back_to_local_binaries_without_docker(monkeypatch):
    monkeypatch.setattr("releaseops.rehearsal.container.docker_available", lambda: False)
    assert isinstance(make_cluster("auto"), LocalCluster)


@pytest.mark.faults
def test_ctrl_c_during_a_run_still_tears_the_cluster_down(pytester):
    import signal
    import subprocess
    import sys
    import time

    marker = pytester.path / "cluster.txt"
    pytester.makepyfile(
        test_sleepy=f"""
import time

def test_sleeps(pg_cluster):
    open({str(marker)!r}, "w").write(f"{{pg_cluster.pid}} {{pg_cluster.workdir}}")
    time.sleep(60)
"""
    )
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *LEAN_PYTEST,
        "test_sleepy.py",
    ]
    with subprocess.Popen(
        argv,
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    ) as proc:
        deadline = time.monotonic() + 30
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline, "the cluster never started"
            time.sleep(0.1)
        pid_text, workdir = marker.read_text().split(" ", 1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert not pid_alive(int(pid_text))
    assert not os.path.exists(workdir)
