"""releaseops.preflight and scripts/verify_repo.py: tools, database, migrations, backup space."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from releaseops import migrations, pg
from releaseops.dburl import DatabaseUrl
from releaseops.rehearsal.cluster import free_port
from releaseops.release import preflight
from releaseops.release import preflight_checks as checks
from tests import scripting

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "verify_repo.py"
GOOD = {
    "0001_questions.sql": "CREATE TABLE questions (id serial PRIMARY KEY, body text);\n"
    "CREATE INDEX questions_body ON questions (body);\n",
    "0002_topic.sql": "ALTER TABLE questions ADD COLUMN topic text;\n",
}


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for name, text in GOOD.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    directory = tmp_path / "backups"
    directory.mkdir()
    return directory


def statuses(report: preflight.PreflightReport) -> dict[str, str]:
    return {r.name: r.status for r in report.results}


def tool_dir(tmp_path: Path, *names: str) -> Path:
    """A directory holding links to the real `names` only."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).symlink_to(pg.locate(name))
    return directory


def isolated_env(tmp_path: Path, path_dir: Path, **extra: str) -> dict[str, str]:
    empty_root = tmp_path / "no-postgres"
    empty_root.mkdir(exist_ok=True)
    return {"PATH": str(path_dir), "RELEASEOPS_PG_ROOT": str(empty_root), **extra}


def test_everything_passes_against_a_healthy_database(fresh_db, mig_dir, backups):
    report = preflight.run(db=fresh_db, migrations_dir=mig_dir, backup_dir=backups)
    assert statuses(report) == {
        "tool pg_dump": "PASS",
        "tool pg_restore": "PASS",
        "tool psql": "PASS",
        "database": "PASS",
        "migrations lint": "PASS",
        "restore state": "PASS",
        "migrations state": "PASS",
        "backup directory": "PASS",
        "disk space": "PASS",
    }, report.lines()
    assert report.ok
    assert (
        "2 pending (will be applied: 0001_questions.sql, 0002_topic.sql)"
        in report.result("migrations state").reason
    )
    json.dumps(report.as_dict())


def test_without_a_database_the_database_rows_warn_not_checked(mig_dir, backups):
    report = preflight.run(migrations_dir=mig_dir, backup_dir=backups)
    assert report.ok
    for name in ("database", "migrations state", "disk space"):
        assert report.result(name).status == "WARN"
        assert report.result(name).reason.startswith("not checked: no database")


def test_missing_tool_fails_the_preflight(tmp_path, mig_dir, backups):
    env = isolated_env(tmp_path, tool_dir(tmp_path, "pg_restore", "psql"))
    report = preflight.run(migrations_dir=mig_dir, backup_dir=backups, environ=env)
    assert statuses(report)["tool pg_dump"] == "FAIL"
    assert statuses(report)["tool psql"] == "PASS"
    assert report.result("tool pg_dump").reason.startswith("pg_dump not found")
    assert "set PG_BINDIR" in report.result("tool pg_dump").reason
    assert not report.ok
    assert "preflight FAILED: " in report.lines()[-1]


def fake_pg_dump(tmp_path: Path, version: str = "9.6.0") -> Path:
    directory = tmp_path / "old-bin"
    directory.mkdir()
    script = directory / "pg_dump"
    script.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {version}'\n")
    script.chmod(0o755)
    return directory


def test_tool_older_than_the_server_fails(tmp_path, fresh_db, mig_dir, backups):
    env = {**os.environ, "PG_BINDIR": str(fake_pg_dump(tmp_path))}
    report = preflight.run(db=fresh_db, migrations_dir=mig_dir, backup_dir=backups, environ=env)
    row = report.result("tool pg_dump")
    assert row.status == "FAIL"
    assert "is PostgreSQL 9, but the server is " in row.reason
    assert row.details["major"] == 9
    assert report.result("tool pg_restore").status == "PASS"
    assert not report.ok


def test_old_tool_passes_when_there_is_no_server_to_compare(tmp_path, mig_dir, backups):
    env = {**os.environ, "PG_BINDIR": str(fake_pg_dump(tmp_path))}
    report = preflight.run(migrations_dir=mig_dir, backup_dir=backups, environ=env)
    assert report.result("tool pg_dump").reason.startswith("pg_dump 9.6.0 (")


def test_edited_applied_migration_fails_the_state_row(fresh_db, mig_dir, backups):
    migrations.apply(fresh_db, mig_dir)
    (mig_dir / "0002_topic.sql").write_text("ALTER TABLE questions ADD COLUMN topics text;\n")
    report = preflight.run(db=fresh_db, migrations_dir=mig_dir, backup_dir=backups)
    row = report.result("migrations state")
    assert row.status == "FAIL"
    assert row.reason.startswith("0002_topic.sql was edited after it was applied")


def test_lint_failure_fails_the_preflight_and_lists_findings(fresh_db, mig_dir, backups):
    (mig_dir / "0003_drop.sql").write_text("DROP TABLE questions;\n")
    report = preflight.run(db=fresh_db, migrations_dir=mig_dir, backup_dir=backups)
    assert report.result("migrations lint").status == "FAIL"
    assert any(
        "0003_drop.sql:1 FAIL destructive: DROP TABLE questions" in line for line in report.lines()
    )


def test_split_unit_needs_the_database_to_know_the_release(fresh_db, mig_dir, backups):
    migrations.apply(fresh_db, mig_dir)
    (mig_dir / "0003_level.sql").write_text("ALTER TABLE questions ADD COLUMN level int;\n")
    (mig_dir / "0004_level_idx.sql").write_text("CREATE INDEX ql ON questions (level);\n")
    report = preflight.run(db=fresh_db, migrations_dir=mig_dir, backup_dir=backups)
    lint_row = report.result("migrations lint")
    assert lint_row.status == "FAIL"
    assert "0004_level_idx.sql:1 FAIL split-unit" in lint_row.reason
    offline = preflight.run(migrations_dir=mig_dir, backup_dir=backups)
    assert offline.result("migrations lint").status == "WARN"


def test_unreachable_database_fails_without_leaking_the_password(mig_dir, backups):
    db = DatabaseUrl(dbname="x", host="127.0.0.1", port=free_port(), user="u", password="s3cr3t-pw")
    report = preflight.run(db=db, migrations_dir=mig_dir, backup_dir=backups)
    assert report.result("database").status == "FAIL"
    assert report.result("database").reason.startswith("cannot connect to postgresql://u:***@")
    assert "s3cr3t-pw" not in json.dumps(report.as_dict()) + "\n".join(report.lines())


def test_backup_path_that_is_a_file_fails(tmp_path, mig_dir):
    not_a_dir = tmp_path / "backups"
    not_a_dir.write_text("")
    report = preflight.run(migrations_dir=mig_dir, backup_dir=not_a_dir)
    assert report.result("backup directory").status == "FAIL"
    assert report.result("backup directory").reason.endswith("is not a directory")


def test_missing_backup_dir_under_a_writable_parent_passes(tmp_path, mig_dir):
    report = preflight.run(migrations_dir=mig_dir, backup_dir=tmp_path / "new" / "backups")
    assert report.result("backup directory").status == "PASS"
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("free", "status"), [(10, "FAIL"), (150, "WARN"), (1000, "PASS")], ids=["full", "tight", "ok"]
)
def test_disk_space_is_compared_with_the_database_size(tmp_path, free, status):
    row = checks.disk_space(tmp_path, db_size=100, free=free)
    assert row.status == status
    if status == "FAIL":
        assert "a backup could fill the disk" in row.reason


def test_disk_space_fails_for_a_database_larger_than_the_real_free_space(tmp_path):
    assert checks.disk_space(tmp_path, db_size=2**62).status == "FAIL"


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return scripting.run_script(SCRIPT, *args, env=env)


def test_script_help_says_what_each_mode_does():
    result = run_script("--help")
    assert result.returncode == 0
    assert "Without flags: lint migrations/postgres/*.sql" in result.stdout
    assert "python scripts/verify_repo.py --ops-preflight" in result.stdout


def test_script_without_flags_lints_and_fails_on_a_bad_file(mig_dir):
    (mig_dir / "0003_truncate.sql").write_text("TRUNCATE questions;\n")
    result = run_script("--migrations-dir", str(mig_dir))
    assert result.returncode == 1
    assert "0003_truncate.sql:1 FAIL destructive: TRUNCATE questions" in result.stdout


def test_script_json_preflight_with_a_fake_old_pg_dump_exits_1(tmp_path, fresh_db, mig_dir):
    env = {**os.environ, "PG_BINDIR": str(fake_pg_dump(tmp_path))}
    result = run_script(
        "--ops-preflight",
        "--json",
        "--db",
        fresh_db.sqlalchemy(with_password=True),
        "--migrations-dir",
        str(mig_dir),
        "--backup-dir",
        str(tmp_path),
        env=env,
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [r["name"] for r in report["results"] if r["status"] == "FAIL"] == ["tool pg_dump"]
    assert fresh_db.password not in result.stdout + result.stderr


def test_script_strict_turns_warnings_into_failure(mig_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    args = ("--ops-preflight", "--migrations-dir", str(mig_dir), "--backup-dir", str(tmp_path))
    assert run_script(*args, env=env).returncode == 0
    assert run_script(*args, "--strict", env=env).returncode == 1


@pytest.mark.parametrize("with_db", [False, True], ids=["no-db", "database-url"])
def test_canonical_command_works_literally_from_the_repo_root(fresh_db, tmp_path, with_db):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["BACKUP_DIR"] = str(tmp_path)
    if with_db:
        env["DATABASE_URL"] = fresh_db.sqlalchemy(with_password=True)
    result = subprocess.run(
        "python scripts/verify_repo.py --ops-preflight",
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("CHECK")
    database_row = next(line for line in result.stdout.splitlines() if line.startswith("database"))
    assert ("PASS" in database_row) is with_db
    assert fresh_db.password not in result.stdout + result.stderr
