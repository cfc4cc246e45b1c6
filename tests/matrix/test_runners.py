"""Fault matrix: migration runners racing each other, and a lock another session holds."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from releaseops import migrations
from releaseops.errors import LockRetriesExhausted
from tests.matrix.conftest import assert_no_secret

pytestmark = pytest.mark.faults

RUNNERS = 5


def test_five_concurrent_migrators_apply_each_file_exactly_once(matrix, database, tmp_path):
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_log.sql").write_text(
        "CREATE TABLE ran (version text NOT NULL);\nINSERT INTO ran VALUES ('0001');\n"
        "SELECT pg_sleep(0.3);\n"  # every runner is up and waiting for the lock by now
    )
    for n in range(2, 6):
        (directory / f"{n:04d}_step.sql").write_text(f"INSERT INTO ran VALUES ('{n:04d}');\n")
    runners = [
        matrix.start("run_postgres_migrations.py", "--dir", str(directory), db=database.dbname)
        for _ in range(RUNNERS)
    ]
    results = [matrix.finish(r) for r in runners]
    assert [code for code, _, _ in results] == [0] * RUNNERS, [err for _, _, err in results]
    lines = [line for _, out, _ in results for line in out.splitlines()]
    applied_lines = sorted(line.split()[1] for line in lines if line.startswith("applied "))
    assert applied_lines == sorted(p.name for p in directory.iterdir())
    with database.connect() as conn:
        ran = conn.execute("SELECT version, count(*) FROM ran GROUP BY 1 ORDER BY 1").fetchall()
        recorded = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert ran == [(f"{n:04d}", 1) for n in range(1, 6)]
    assert recorded == (5,)


def test_a_lock_held_by_another_session_is_retried_then_its_holder_is_named(
    matrix, database, tmp_path: Path
):
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_gate.sql").write_text("CREATE TABLE gate (id int);\n")
    migrations.apply(database, directory)
    (directory / "0002_lock.sql").write_text("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE;\n")
    with contextlib.closing(database.connect(application_name="nightly-report")) as holder:
        holder.execute("SELECT count(*) FROM gate")  # an open transaction keeps its lock
        pid = holder.info.backend_pid
        pauses: list[float] = []
        with pytest.raises(LockRetriesExhausted, match=r"0002_lock.sql line 1: blocked") as info:
            migrations.apply(
                database,
                directory,
                lock_timeout="150ms",
                lock_retries=2,
                lock_retry_delay_s=0.05,
                sleep=pauses.append,
            )
    message = str(info.value)
    assert info.value.attempts == 3 and pauses == [0.05, 0.1]
    assert f"pid {pid}" in message and "nightly-report" in message
    assert f"SELECT pg_terminate_backend({pid})" in message
    assert_no_secret(message)
    assert migrations.status(database, directory).pending == ["0002_lock.sql"]
    migrations.apply(database, directory)  # the holder is gone: it goes through
    assert migrations.status(database, directory).is_clean
