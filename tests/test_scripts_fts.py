"""scripts/init_fts.py (`releaseops fts`) run as the checklist runs it: each exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exambank import seed
from releaseops import migrations
from releaseops.cli import fts as cli_fts
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DatabaseUnreachable
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import LocalCluster

REPO = Path(__file__).resolve().parents[1]
SCRIPT = "scripts/init_fts.py"


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def bank(fresh_db):
    migrations.apply(fresh_db, migrations.DEFAULT_DIR)
    seed.load(fresh_db)
    return fresh_db


def test_help_ends_with_a_runnable_example():
    result = run("--help")
    assert result.returncode == 0
    assert 'python scripts/init_fts.py --db "$DATABASE_URL" --sync' in result.stdout


def test_the_checklist_command_works_literally(bank):
    env = {**os.environ, "DATABASE_URL": bank.sqlalchemy(with_password=True)}
    result = subprocess.run(
        'python scripts/init_fts.py --db "$DATABASE_URL" --sync',
        shell=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "questions: added column search_vector" in result.stdout
    assert run("--check", env=env).returncode == 0


def test_check_fails_naming_the_table_and_count_then_sync_fixes_it(bank):
    url = bank.libpq(with_password=True)
    assert run("--db", url, "--sync").returncode == 0
    with bank.connect(autocommit=True) as conn:
        conn.execute("ALTER TABLE questions DISABLE TRIGGER questions_search_vector_trigger")
        conn.execute("UPDATE questions SET answer = 'changed' WHERE ref = 'seed-geo-002'")
        conn.execute("ALTER TABLE questions ENABLE TRIGGER questions_search_vector_trigger")
    checked = run("--db", url, "--check")
    assert checked.returncode == 1
    assert "questions: 1 stale row(s)" in checked.stdout
    assert run("--db", url, "--sync").returncode == 0
    assert run("--db", url, "--check").returncode == 0
    again = run("--db", url, "--sync")
    assert again.stdout.strip().splitlines()[-1] == "fts sync: no changes"


def test_json_output_for_machines(bank):
    import json

    url = bank.libpq(with_password=True)
    data = json.loads(run("--db", url, "--check", "--json").stdout)
    assert data["clean"] is False and data["stale"]["questions"] == 34


def test_sync_and_check_are_exclusive_and_one_is_required(bank):
    assert run("--db", bank.libpq(), "--sync", "--check").returncode == 2
    assert run("--db", bank.libpq()).returncode == 2


def test_unreachable_database_is_one_masked_line(bank):
    result = run("--db", "postgresql://u:hunter2@127.0.0.1:1/db", "--check")
    assert result.returncode == 3
    assert "hunter2" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: cannot connect")


def test_missing_schema_is_a_clear_error(fresh_db):
    result = run("--db", fresh_db.libpq(with_password=True), "--sync")
    assert result.returncode == 8
    assert "Apply the pending migrations first" in result.stderr


# --- the remaining exit codes: 2, 3 (lost server), 130, 141; the subcommand finds its repo ----


def test_an_unimportable_spec_is_a_configuration_error(bank, capsys):
    assert cli_fts.main(["--db", bank.libpq(with_password=True), "--check", "--spec", "no:X"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: FTS_SPEC='no:X' cannot be imported") and err.count("\n") == 1


def releaseops(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "releaseops"
    return subprocess.run(
        [str(command), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=60
    )


def test_the_subcommand_reads_the_spec_from_the_nearest_pyproject_up_from_here(bank, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FTS_SPEC"}
    env["DATABASE_URL"] = bank.libpq(with_password=True)
    inside = releaseops("fts", "--sync", cwd=REPO / "docs", env=env)
    assert inside.returncode == 0, inside.stderr
    assert "questions: added column search_vector" in inside.stdout
    project = tmp_path / "service"
    (project / "deep" / "er").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.releaseops]\nfts_spec = "exambank.search_spec:SPEC"\n'
    )
    found = releaseops("fts", "--check", cwd=project / "deep" / "er", env=env)
    assert found.returncode == 0, found.stderr
    nowhere = releaseops("fts", "--check", cwd=tmp_path, env=env)
    assert nowhere.returncode == 2
    assert nowhere.stderr.startswith("error: no FTS declaration configured")


def fts_waiting_for_a_lock(db: DatabaseUrl) -> int | None:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
            "AND query LIKE 'ALTER TABLE%%'",
            (db.dbname,),
        ).fetchone()
    return int(row[0]) if row else None


def wait_for(probe, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout} s")


def start_sync(db: DatabaseUrl) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, SCRIPT, "--db", db.libpq(with_password=True), "--sync"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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


def test_a_server_crash_mid_sync_is_one_line_exit_3_and_a_rerun_finishes(own_cluster):
    with ScratchDatabase(own_cluster.url) as db:
        migrations.apply(db, migrations.DEFAULT_DIR)
        seed.load(db)
        with contextlib.closing(db.connect()) as holder:  # the crash ends it too: no COMMIT
            holder.execute("LOCK TABLE questions IN ACCESS SHARE MODE")
            sync = start_sync(db)
            os.kill(wait_for(lambda: fts_waiting_for_a_lock(db)), signal.SIGKILL)
            _, err = sync.communicate(timeout=60)
        assert sync.returncode == 3, err
        assert err.startswith(
            "error: the connection to the database was lost: fts sync failed: "
            "consuming input failed: server closed the connection unexpectedly"
        )
        assert "Traceback" not in err and err.count("\n") == 1
        wait_for(lambda: accepts_connections(db))
        again = run("--db", db.libpq(with_password=True), "--sync")
        assert again.returncode == 0, again.stderr
        assert run("--db", db.libpq(with_password=True), "--check").returncode == 0


def advisory_locks(db: DatabaseUrl) -> int:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = %s",
            (db.dbname,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_sigterm_mid_sync_exits_130_and_releases_the_sync_lock(bank):
    with bank.connect() as holder:
        holder.execute("LOCK TABLE questions IN ACCESS SHARE MODE")
        sync = start_sync(bank)
        wait_for(lambda: fts_waiting_for_a_lock(bank))
        sync.send_signal(signal.SIGTERM)
        _, err = sync.communicate(timeout=60)
    assert sync.returncode == 130
    assert err == (
        "error: interrupted; --check changed nothing; --sync keeps the backfill batches it "
        "committed, run it again to finish\n"
    )
    assert advisory_locks(bank) == 0
    assert run("--db", bank.libpq(with_password=True), "--sync").returncode == 0


def test_closed_stdout_exits_141_after_a_finished_sync(bank):
    sync = start_sync(bank)
    assert sync.stdout is not None
    sync.stdout.close()
    _, err = sync.communicate(timeout=60)
    assert sync.returncode == 141, err
    assert "broken pipe" in err and err.count("\n") == 1
    assert run("--db", bank.libpq(with_password=True), "--check").returncode == 0
