"""scripts/run_postgres_migrations.py as operators run it: real subprocesses, real cluster."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from releaseops import migrations
from releaseops.cli import migrate as cli_migrate
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DatabaseUnreachable
from releaseops.migrations import lock as migration_lock
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import LocalCluster, free_port
from tests import scripting

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_postgres_migrations.py"
T = TypeVar("T")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return scripting.run_script(SCRIPT, *args, env=env, timeout=60)


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_runs.sql").write_text(
        "CREATE TABLE runs (id serial PRIMARY KEY, note text);\nSELECT pg_sleep(0.5);\n"
    )
    (directory / "0002_once.sql").write_text("INSERT INTO runs (note) VALUES ('0002');\n")
    (directory / "0003_once_more.sql").write_text("INSERT INTO runs (note) VALUES ('0003');\n")
    return directory


def url(db: DatabaseUrl) -> str:
    return db.sqlalchemy(with_password=True)


def no_secret(db: DatabaseUrl, *texts: str) -> None:
    assert db.password
    for text in texts:
        assert db.password not in text


def notes(db: DatabaseUrl) -> list[str]:
    with db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT note FROM runs ORDER BY id").fetchall()]


def test_help_documents_every_exit_code_and_ends_with_an_example():
    result = run("--help")
    assert result.returncode == 0
    for code in ("0 ", "10 ", "11 ", "12 ", "13 ", "14 "):
        assert f"\n  {code}" in result.stdout
    assert 'python scripts/run_postgres_migrations.py --db "$DATABASE_URL"' in result.stdout


def test_apply_prints_one_line_per_file_and_exits_zero(fresh_db, mig_dir):
    result = run("--db", url(fresh_db), "--dir", str(mig_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("target postgresql://releaseops:***@")
    assert [line.split(" in ")[0] for line in lines[1:4]] == [
        "applied 0001_runs.sql",
        "applied 0002_once.sql",
        "applied 0003_once_more.sql",
    ]
    no_secret(fresh_db, result.stdout, result.stderr)
    again = run("--db", url(fresh_db), "--dir", str(mig_dir))
    assert again.returncode == 0
    assert "nothing to apply: 3 migration(s) applied" in again.stdout


def waiting_runners(db: DatabaseUrl) -> int:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'releaseops-migrations' AND datname = %s",
            (db.dbname,),
        ).fetchone()
        return int(row[0]) if row else 0


def test_two_concurrent_runner_processes_apply_each_file_exactly_once(fresh_db, mig_dir):
    # Hold the lock until both runners are connected and polling, then let them race for it.
    with fresh_db.connect(autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", (migration_lock.LOCK_KEY,))
        runners = [start("--db", url(fresh_db), "--dir", str(mig_dir)) for _ in range(2)]
        deadline = time.monotonic() + 30
        while waiting_runners(fresh_db) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_runners(fresh_db) == 2
    outputs = [p.communicate(timeout=60) for p in runners]
    assert [p.returncode for p in runners] == [0, 0], outputs
    assert notes(fresh_db) == ["0002", "0003"]
    stdouts = [out for out, _ in outputs]
    assert sum("applied 0002_once.sql in" in s for s in stdouts) == 1
    assert sum("nothing to apply" in s for s in stdouts) == 1
    assert migrations.status(fresh_db, mig_dir).is_clean


def test_runner_that_cannot_get_the_lock_exits_13_with_a_clear_message(fresh_db, mig_dir):
    with fresh_db.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (migration_lock.LOCK_KEY,))
        result = run("--db", url(fresh_db), "--dir", str(mig_dir), "--lock-wait", "0.3")
    assert result.returncode == 13
    assert result.stderr.startswith("error: another migration runner holds the lock (pid ")
    assert "raise --lock-wait" in result.stderr


def test_failed_migration_exits_12_naming_file_and_line(fresh_db, mig_dir):
    (mig_dir / "0004_bad.sql").write_text("SELECT 1;\nINSERT INTO nowhere VALUES (1);\n")
    result = run("--db", url(fresh_db), "--dir", str(mig_dir))
    assert result.returncode == 12
    assert result.stderr.startswith(
        'error: 0004_bad.sql line 2: relation "nowhere" does not exist [SQLSTATE 42P01]'
    )
    assert "applied 0003_once_more.sql in" in result.stdout
    no_secret(fresh_db, result.stdout, result.stderr)


def test_edited_applied_file_is_refused_with_exit_11(fresh_db, mig_dir):
    assert run("--db", url(fresh_db), "--dir", str(mig_dir)).returncode == 0
    (mig_dir / "0002_once.sql").write_text("INSERT INTO runs (note) VALUES ('0002!');\n")
    result = run("--db", url(fresh_db), "--dir", str(mig_dir))
    assert result.returncode == 11
    assert "error: refusing to apply migrations: 0002_once.sql was edited" in result.stderr


@pytest.mark.parametrize(
    ("setup", "code", "state"),
    [
        pytest.param("none", 14, "pending", id="pending"),
        pytest.param("applied", 0, "applied", id="clean"),
        pytest.param("edited", 11, "mismatch", id="mismatch"),
    ],
)
def test_status_exit_code_and_json_tell_the_state(fresh_db, mig_dir, setup, code, state):
    if setup != "none":
        migrations.apply(fresh_db, mig_dir)
    if setup == "edited":
        (mig_dir / "0003_once_more.sql").write_text("SELECT 3;\n")
    result = run("--db", url(fresh_db), "--dir", str(mig_dir), "--status", "--json")
    assert result.returncode == code, result.stderr
    report = json.loads(result.stdout)
    assert report["versions"][2]["state"] == state


def test_status_listing_shows_the_diff_and_ends_with_counts(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    (mig_dir / "0003_once_more.sql").write_text("INSERT INTO runs (note) VALUES ('0003b');\n")
    result = run("--db", url(fresh_db), "--dir", str(mig_dir), "--status")
    assert "-INSERT INTO runs (note) VALUES ('0003');" in result.stdout
    assert "+INSERT INTO runs (note) VALUES ('0003b');" in result.stdout
    assert result.stdout.rstrip().endswith(
        "2 applied, 0 pending, 1 mismatch, 0 missing, 0 future, 0 out of order"
    )


def test_dry_run_lists_and_changes_nothing(fresh_db, mig_dir):
    result = run("--db", url(fresh_db), "--dir", str(mig_dir), "--dry-run")
    assert result.returncode == 0
    assert "would apply 0001_runs.sql" in result.stdout
    assert migrations.status(fresh_db, mig_dir).pending == [
        "0001_runs.sql",
        "0002_once.sql",
        "0003_once_more.sql",
    ]


def test_baseline_flag_adopts_a_database(fresh_db, mig_dir):
    with fresh_db.connect() as conn:
        conn.execute("CREATE TABLE runs (id serial PRIMARY KEY, note text)")
    result = run("--db", url(fresh_db), "--dir", str(mig_dir), "--baseline", "0001")
    assert result.returncode == 0, result.stderr
    assert "baselined 0001_runs.sql (recorded as applied, not run)" in result.stdout
    assert migrations.status(fresh_db, mig_dir).pending == ["0002_once.sql", "0003_once_more.sql"]


def test_bad_file_name_exits_10(fresh_db, mig_dir):
    (mig_dir / "5_bad.sql").write_text("SELECT 1;\n")
    result = run("--db", url(fresh_db), "--dir", str(mig_dir))
    assert result.returncode == 10
    assert "5_bad.sql does not follow the naming rule" in result.stderr


def test_missing_db_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = run(env=env)
    assert result.returncode == 2
    assert "no database: pass --db URL or set DATABASE_URL" in result.stderr


def test_canonical_command_works_literally_from_the_repo_root(fresh_db):
    env = {**os.environ, "DATABASE_URL": url(fresh_db)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        'python scripts/run_postgres_migrations.py --db "$DATABASE_URL"',
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    no_secret(fresh_db, result.stdout, result.stderr)
    assert migrations.status(fresh_db, migrations.DEFAULT_DIR).is_clean


# --- the remaining exit codes: 2, 3 (unreachable, connection lost), 130, 141 ------------------


def test_a_bad_duration_is_a_configuration_error_in_one_line(fresh_db, mig_dir, capsys):
    code = cli_migrate.main(["--db", url(fresh_db), "--dir", str(mig_dir), "--lock-timeout", "x"])
    assert code == 2
    err = capsys.readouterr().err
    assert err == "error: lock_timeout='x' is not a duration such as 5s, 500ms or 2min\n"


def test_an_unreachable_database_exits_3(mig_dir, capsys):
    db = f"postgresql://ops:hunter2-secret@127.0.0.1:{free_port()}/exam"
    assert cli_migrate.main(["--db", db, "--dir", str(mig_dir)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect to postgresql://ops:***@127.0.0.1:")
    assert "hunter2-secret" not in err and err.count("\n") == 1


@pytest.fixture
def gate_dir(tmp_path: Path) -> Path:
    """0001 creates `gate`; 0002 (added later) locks it, so a session holding it blocks 0002."""
    directory = tmp_path / "gated"
    directory.mkdir()
    (directory / "0001_gate.sql").write_text("CREATE TABLE gate (id int);\n")
    return directory


def add_locking_file(directory: Path) -> None:
    (directory / "0002_lock_gate.sql").write_text("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE;\n")


def blocked_runner(db: DatabaseUrl) -> int | None:
    """The backend pid of a migration runner waiting for a lock, if one waits."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'releaseops-migrations' "
            "AND datname = %s AND wait_event_type = 'Lock'",
            (db.dbname,),
        ).fetchone()
    return int(row[0]) if row else None


def wait_for(probe: Callable[[], T | None], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout} s")


def assert_lost_connection(runner: subprocess.Popen[str]) -> None:
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 3, err
    assert err.startswith(
        "error: the connection to the database was lost: 0002_lock_gate.sql line 1:"
    )
    assert "SQLSTATE None" not in err and "Traceback" not in err and err.count("\n") == 1
    assert err.rstrip().endswith("Once the server accepts connections again, run the command again")


def test_a_connection_terminated_mid_migration_exits_3_not_12(fresh_db, gate_dir):
    migrations.apply(fresh_db, gate_dir)
    add_locking_file(gate_dir)
    with fresh_db.connect() as holder:
        holder.execute("LOCK TABLE gate IN ACCESS SHARE MODE")
        runner = start("--db", url(fresh_db), "--dir", str(gate_dir), "--lock-timeout", "60s")
        pid = wait_for(lambda: blocked_runner(fresh_db))
        holder.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert_lost_connection(runner)
    assert migrations.status(fresh_db, gate_dir).pending == ["0002_lock_gate.sql"]


@pytest.fixture(scope="module")
def own_cluster():
    """A private cluster this module may crash without disturbing the session's."""
    with LocalCluster() as cluster:
        yield cluster


def accepts_connections(db: DatabaseUrl) -> bool:
    try:
        with db.connect(connect_timeout=2):
            return True
    except DatabaseUnreachable:
        return False


def test_a_server_crash_mid_migration_exits_3_and_a_rerun_finishes(own_cluster, gate_dir):
    with ScratchDatabase(own_cluster.url) as db:
        migrations.apply(db, gate_dir)
        add_locking_file(gate_dir)
        with contextlib.closing(db.connect()) as holder:  # the crash ends it too: no COMMIT
            holder.execute("LOCK TABLE gate IN ACCESS SHARE MODE")
            runner = start("--db", url(db), "--dir", str(gate_dir), "--lock-timeout", "60s")
            os.kill(wait_for(lambda: blocked_runner(db)), signal.SIGKILL)  # the server crashes
            assert_lost_connection(runner)
        wait_for(lambda: accepts_connections(db))
        again = run("--db", url(db), "--dir", str(gate_dir))
        assert again.returncode == 0, again.stderr
        assert "applied 0002_lock_gate.sql in" in again.stdout
        assert migrations.status(db, gate_dir).is_clean


def test_sigterm_mid_migration_exits_130_and_records_nothing(fresh_db, gate_dir):
    migrations.apply(fresh_db, gate_dir)
    add_locking_file(gate_dir)
    with fresh_db.connect() as holder:
        holder.execute("LOCK TABLE gate IN ACCESS SHARE MODE")
        runner = start("--db", url(fresh_db), "--dir", str(gate_dir), "--lock-timeout", "60s")
        wait_for(lambda: blocked_runner(fresh_db))
        runner.send_signal(signal.SIGTERM)
        _, err = runner.communicate(timeout=60)
    assert runner.returncode == 130
    assert err.startswith("error: interrupted; files applied before stay applied")
    assert err.count("\n") == 1
    assert migrations.status(fresh_db, gate_dir).pending == ["0002_lock_gate.sql"]
    assert blocked_runner(fresh_db) is None


def test_closed_stdout_exits_141_with_every_file_applied(fresh_db, mig_dir):
    runner = start("--db", url(fresh_db), "--dir", str(mig_dir))
    assert runner.stdout is not None
    runner.stdout.close()
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 141, err
    assert "broken pipe" in err and err.count("\n") == 1
    assert migrations.status(fresh_db, mig_dir).is_clean
    assert notes(fresh_db) == ["0002", "0003"]
