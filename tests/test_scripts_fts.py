"""scripts/init_fts.py run as the checklist runs it, from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exambank import seed
from releaseops import migrations

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
