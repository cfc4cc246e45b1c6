"""Each pre-deploy check goes red, alone, when its fault is injected."""

from __future__ import annotations

import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.release import commands, record
from tests.faults.conftest import TEMPLATE

BACKUP_CHAIN = {
    "predeploy.backup_verified",
    "predeploy.backup_path_and_release_timestamp_recorded",
    "predeploy.rollback_candidate_identified",
    # The baseline is stored next to the release's backups, after the backup.
    "predeploy.slo_baseline_recorded",
}
PG_DUMP_TOOL = "predeploy.tool_available_and_new_enough[pg_dump]"
NEWEST_MIGRATION = "0004_trigram.sql"


REPO = Path(__file__).resolve().parents[2]
# What a checkout needs for `pytest checks/<phase>`; the package itself is installed.
CHECKOUT = (
    "pytest.ini",
    "pyproject.toml",
    "conftest.py",
    "checks",
    "scripts",
    "migrations",
    "fixtures",
    "deploy",
)


def _checkout_copy(destination: Path) -> Path:
    """A copy of the repository's checkout files that a test may break."""
    destination.mkdir()
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source,
                destination / name,
                ignore=shutil.ignore_patterns("__pycache__"),
                symlinks=True,
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def _assert_no_go(run, *conditions: str) -> None:
    assert run.decision == "NO-GO", run.describe()
    assert run.returncode != 0
    for condition in conditions:
        assert condition in run.conditions(), run.reasons


def _write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_predeploy_is_green_on_a_healthy_target(staged):
    run = staged.run("predeploy")
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0


def test_missing_owner_turns_owner_check_red(staged):
    staged.edit_record(release_owner="TBD")
    run = staged.run("predeploy")
    assert run.failed == {"predeploy.owners_and_incident_channel_recorded"}, run.describe()
    assert "release_owner not recorded" in run.message(
        "predeploy.owners_and_incident_channel_recorded"
    )
    _assert_no_go(run)


def test_production_release_without_staging_verification_turns_staging_check_red(staged):
    data = record.load(staged.target.record_path).as_toml_dict()
    del data["staging_verified_at"]
    record.write(data, staged.target.record_path)
    run = staged.run("predeploy")
    assert run.failed == {"predeploy.applied_in_staging_first"}, run.describe()
    message = run.message("predeploy.applied_in_staging_first")
    assert "staging_verified_at is not recorded" in message
    assert "staging first" in message
    _assert_no_go(run)


@pytest.mark.staged(serve=False)
def test_development_config_for_a_production_release_turns_environment_check_red(staged):
    # The checker's environment still says production: only the running service tells.
    staged.target.restart_service(FLASK_CONFIG="development", SECRET_KEY="")
    run = staged.run("predeploy")
    assert run.failed == {"predeploy.target_environment_loaded"}, run.describe()
    message = run.message("predeploy.target_environment_loaded")
    assert "the service runs with FLASK_CONFIG=development" in message
    assert "releases to production" in message
    assert "the service runs without SECRET_KEY (required for production)" in message
    assert staged.target.secret_key not in run.artifacts_text()
    assert staged.target.token not in run.artifacts_text()
    _assert_no_go(run)


@pytest.mark.staged(serve=False)
def test_service_on_another_database_turns_environment_check_red(staged, pg_cluster):
    other = staged.target.db.with_dbname(f"{staged.db.dbname}_other")
    with staged.db.with_dbname("postgres").connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{other.dbname}" TEMPLATE "{TEMPLATE}"')
    # The gate keeps checking the real database; only the service is pointed elsewhere.
    staged.overrides["DATABASE_URL"] = staged.db.sqlalchemy(with_password=True)
    staged.target.restart_service(DATABASE_URL=other.sqlalchemy(with_password=True))
    run = staged.run("predeploy")
    assert "predeploy.target_environment_loaded" in run.failed, run.describe()
    assert "the service's database session is not" in run.message(
        "predeploy.target_environment_loaded"
    )
    _assert_no_go(run)


def test_wrong_database_password_is_one_reason_and_blocks_what_needs_the_database(staged):
    wrong = staged.db.sqlalchemy(with_password=True).replace(
        f":{staged.db.password}@", ":not-the-password-5c1e@"
    )
    assert wrong != staged.db.sqlalchemy(with_password=True), "the staged URL has no password"
    staged.overrides["DATABASE_URL"] = wrong
    run = staged.run("predeploy")
    assert run.failed == set(), run.describe()
    assert run.ids("not verified") == set(), run.describe()
    assert run.blocked >= {
        "predeploy.target_environment_loaded",
        "predeploy.tool_available_and_new_enough[pg_dump]",
        "predeploy.repository_baseline_checks",
        "predeploy.no_migration_conflicts_before_deploy",
        "predeploy.backup_created",
        *BACKUP_CHAIN,
    }, run.describe()
    assert run.reason_ids() == ["target-database"], run.reasons
    (reason,) = run.reasons
    assert "password authentication failed" in reason["message"]
    assert reason["conditions"] == []
    assert set(reason["blocked"]) == run.blocked
    assert "not-the-password-5c1e" not in run.artifacts_text()
    _assert_no_go(run)


@pytest.mark.staged(serve=False)
def test_pending_migrations_not_fatal_in_production_turns_guard_flag_check_red(staged):
    staged.target.restart_service(FAIL_ON_PENDING_MIGRATIONS="0")
    run = staged.run("predeploy")
    assert run.failed == {"predeploy.migration_guard_flags"}, run.describe()
    message = run.message("predeploy.migration_guard_flags")
    assert "FAIL_ON_PENDING_MIGRATIONS=0; it must be 1 for a production release" in message
    _assert_no_go(run)


@pytest.mark.staged(serve=False)
def test_read_only_flag_against_the_rollout_plan_turns_write_flag_check_red(staged):
    staged.target.restart_service(DB_READ_ONLY="1")
    run = staged.run("predeploy")
    assert run.failed == {"predeploy.write_safety_flags_match_rollout_plan"}, run.describe()
    message = run.message("predeploy.write_safety_flags_match_rollout_plan")
    assert "DB_READ_ONLY is live as '1', the rollout plan says 0" in message
    _assert_no_go(run)


def test_a_flag_in_the_checkers_environment_is_not_evidence(staged):
    # The checker's own variables disagree with the plan; the service runs as planned: GO.
    staged.overrides.update({"DB_READ_ONLY": "1", "FLASK_CONFIG": "development"})
    run = staged.run("predeploy")
    assert run.decision == "GO", run.describe()


def test_too_old_pg_dump_turns_tool_check_red(staged, tmp_path):
    bindir = tmp_path / "old-bin"
    bindir.mkdir()
    _write_script(bindir / "pg_dump", 'echo "pg_dump (PostgreSQL) 9.6.0"')
    staged.overrides["PG_BINDIR"] = str(bindir)
    run = staged.run("predeploy")
    # The same pg_dump also fails the preflight's tool row and the backup itself; the backup's
    # follow-up checks are then blocked.
    assert run.failed == {
        PG_DUMP_TOOL,
        "predeploy.repository_baseline_checks",
        "predeploy.backup_created",
    }, run.describe()
    assert "pg_dump is PostgreSQL 9, but the server is" in run.message(PG_DUMP_TOOL)
    assert run.blocked == BACKUP_CHAIN
    _assert_no_go(run, "nogo.backup")


def test_missing_canonical_script_turns_command_check_red(staged, tmp_path, monkeypatch):
    checkout = _checkout_copy(tmp_path / "checkout")
    (checkout / "scripts" / "init_fts.py").unlink()
    # The phase runs from the broken checkout (its repository root) instead of this one.
    monkeypatch.setitem(staged.run.__globals__, "REPO", checkout)
    run = staged.run("predeploy")
    check = f"predeploy.canonical_command_available[{commands.CANONICAL[2]}]"
    assert "init_fts.py" in check
    assert run.failed == {check}, run.describe()
    assert "init_fts.py does not exist" in run.message(check)
    _assert_no_go(run)


def test_unparsable_migration_file_turns_baseline_and_lint_checks_red(staged):
    copy = staged.migrations_copy()
    (copy / "0005_broken.sql").write_text("CREATE TABLE broken (id int;\n")
    run = staged.run("predeploy")
    # The preflight runs the same lint; both report the file.
    assert run.failed == {
        "predeploy.repository_baseline_checks",
        "predeploy.schema_changes_in_migration_files",
    }, run.describe()
    assert "0005_broken.sql" in run.message("predeploy.repository_baseline_checks")
    assert "0005_broken.sql" in run.message("predeploy.schema_changes_in_migration_files")
    _assert_no_go(run, "nogo.migration")


def test_unannotated_destructive_statement_turns_location_check_red(staged):
    copy = staged.migrations_copy()
    (copy / "0005_drop_suggestions.sql").write_text(
        "ALTER TABLE classification_suggestions DROP COLUMN confidence;\n"
    )
    run = staged.run("predeploy")
    assert run.failed == {
        "predeploy.schema_changes_in_migration_files",
        "predeploy.repository_baseline_checks",
    }, run.describe()
    message = run.message("predeploy.schema_changes_in_migration_files")
    assert "0005_drop_suggestions.sql" in message and "destructive" in message
    _assert_no_go(run)


def test_index_split_from_its_table_change_turns_same_unit_check_red(staged):
    copy = staged.migrations_copy()
    (copy / "0005_difficulty.sql").write_text("ALTER TABLE questions ADD COLUMN difficulty int;\n")
    (copy / "0006_difficulty_index.sql").write_text(
        "-- releaseops:allow index-not-concurrent a handful of rows; the build takes ms\n"
        "CREATE INDEX questions_difficulty_idx ON questions (difficulty);\n"
    )
    run = staged.run("predeploy")
    assert run.failed == {
        "predeploy.related_index_changes_in_same_unit",
        "predeploy.repository_baseline_checks",
    }, run.describe()
    message = run.message("predeploy.related_index_changes_in_same_unit")
    assert "0006_difficulty_index.sql" in message and "0005_difficulty.sql" in message
    _assert_no_go(run)


def test_edited_applied_migration_turns_migration_check_red(staged):
    copy = staged.migrations_copy()
    applied = copy / "0001_questions.sql"
    applied.write_text(applied.read_text() + " ")
    run = staged.run("predeploy")
    assert run.failed == {
        "predeploy.no_migration_conflicts_before_deploy",
        "predeploy.repository_baseline_checks",
    }, run.describe()
    message = run.message("predeploy.no_migration_conflicts_before_deploy")
    assert "0001" in message and "edited" in message
    _assert_no_go(run, "nogo.migration")


def test_backup_directory_under_a_file_turns_backup_check_red(staged, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file\n")
    staged.overrides["BACKUP_DIR"] = str(blocker / "backups")
    run = staged.run("predeploy")
    assert run.failed == {"predeploy.backup_created", "predeploy.repository_baseline_checks"}, (
        run.describe()
    )
    assert "backup_postgres.py exited" in run.message("predeploy.backup_created")
    assert run.blocked == BACKUP_CHAIN
    assert not list(tmp_path.rglob("*.dump")), "a finished-looking dump was left behind"
    _assert_no_go(run, "nogo.backup")


def test_backup_report_without_checksum_turns_record_check_red(staged, tmp_path, monkeypatch):
    checkout = _checkout_copy(tmp_path / "checkout")
    # A backup tool that takes a good backup but does not report its checksum.
    (checkout / "scripts" / "backup_postgres.py").write_text(
        f"""import json, subprocess, sys
proc = subprocess.run([sys.executable, {str(REPO / "scripts" / "backup_postgres.py")!r},
                       *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(proc.stderr)
if proc.returncode == 0 and "--json" in sys.argv:
    report = json.loads(proc.stdout)
    report.pop("sha256")
    print(json.dumps(report))
else:
    sys.stdout.write(proc.stdout)
raise SystemExit(proc.returncode)
"""
    )
    monkeypatch.setitem(staged.run.__globals__, "REPO", checkout)
    run = staged.run("predeploy")
    check = "predeploy.backup_path_and_release_timestamp_recorded"
    assert run.failed == {check}, run.describe()
    assert "reported no path or sha256 for the backup it took" in run.message(check)
    # Without a recorded path and checksum the rollback cannot name its dump.
    _assert_no_go(run, "nogo.rollback_candidate")


def test_a_newer_backup_of_the_same_database_does_not_change_the_rollback_candidate(staged):
    # The gate records the dump it took, by sha256: a newer file cannot take its place.
    later = datetime.now(UTC) + timedelta(hours=1)
    planted = backup.create(staged.db, staged.target.backup_dir, now=lambda: later)
    run = staged.run("predeploy")
    assert run.decision == "GO", run.describe()
    check = next(
        c for c in run.checks if c["check_id"] == "predeploy.rollback_candidate_identified"
    )
    selection = next(e["content"] for e in check["evidence"] if e["title"] == "rollback candidate")
    assert selection["dump"]["path"] != str(planted.path)
    assert "recorded by the pre-deploy gate" in selection["chosen_by"]


def test_a_partly_restored_target_is_one_reason_and_nothing_is_backed_up(staged):
    from releaseops.pg import restoremark

    restoremark.mark(staged.db, "/backups/lost.dump", "cd" * 32, datetime.now(UTC))
    run = staged.run("predeploy")
    assert run.reason_ids() == ["target-database"], run.reasons
    assert "may be partly restored" in run.reasons[0]["message"]
    assert "predeploy.backup_created" in run.blocked
    assert not list(staged.target.backup_dir.glob("*.dump"))
