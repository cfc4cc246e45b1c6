"""Each rollback check goes red, alone, when its fault is injected.

An env target restarts its service through RESTART_COMMAND; for a staged target the
`deployment` fixture (tests/faults/deployment.py) answers it, and injects deployment faults.
"""

from __future__ import annotations

import pytest

from releaseops import migrations
from releaseops.runbook.deployment import FREEZE_FLAGS
from tests.faults.deployment import open_writes_on_restart

FREEZE = "rollback.writes_blocked_and_risky_behaviour_frozen"
LIBPQ = "rollback.libpq_url_converted"
SELECT = "rollback.restore_target_dump_selected_and_verified"
RESTORE = "rollback.database_restored"
MIGRATIONS = "rollback.migration_state_matches_dump"
FTS = "rollback.fts_resynced"
SMOKE = "rollback.smoke_passes_with_writes_still_blocked"
REOPEN = "rollback.writes_not_reopened_without_go_decision"


def make_fts_stale(staged) -> None:
    """Change question text behind the FTS triggers' back."""
    staged.sql(
        "SET session_replication_role = replica; "
        "UPDATE questions SET stem = stem || ' (edited)' WHERE id IN "
        "(SELECT id FROM questions ORDER BY id LIMIT 2)"
    )


@pytest.mark.staged("deployed")
def test_rollback_is_green_on_a_deployed_target(staged, deployment):
    staged.target.ensure_deployed()
    run = staged.run("rollback", *staged.execute())
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0
    # Step 1 froze, step 7 ran the previous release again: both with the freeze flags.
    assert deployment.restarts == [FREEZE_FLAGS, FREEZE_FLAGS]


@pytest.mark.staged("deployed")
def test_restart_that_leaves_writes_open_turns_freeze_check_red(staged, deployment):
    staged.target.ensure_deployed()
    deployment.tamper = open_writes_on_restart(0)
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {FREEZE}, run.describe()
    assert "DB_READ_ONLY" in run.message(FREEZE)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert run.conditions() == set()


@pytest.mark.staged("deployed")
def test_truncated_only_backup_turns_dump_selection_red_and_blocks_the_restore(staged, deployment):
    staged.target.ensure_deployed()
    dump = staged.target.ensure_backup().path
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {SELECT}, run.describe()
    assert "verified" in run.message(SELECT)
    assert run.blocked == {RESTORE, MIGRATIONS, FTS, SMOKE, REOPEN}
    assert "blocked by" in run.message(RESTORE)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.rollback_candidate" in run.conditions()


@pytest.mark.staged("deployed")
def test_restore_without_confirm_db_is_not_verified_and_leaves_the_database_untouched(
    staged, deployment
):
    staged.target.ensure_deployed()
    newest = sorted(staged.target.migrations_dir.glob("*.sql"))[-1].name
    run = staged.run("rollback", "--execute")
    assert run.ids("not verified") == {RESTORE}, run.describe()
    assert run.blocked == {SMOKE, REOPEN}, run.describe()
    assert "--confirm-db" in run.message(RESTORE)
    # Nothing was restored: the release's migration is still applied, and the verification of
    # step 5 says the database does not hold the dump.
    assert migrations.status(staged.db, staged.target.migrations_dir).pending == []
    assert run.failed == {MIGRATIONS}
    assert "schema_migrations version" in run.message(MIGRATIONS)
    assert newest.split("_")[0] in run.message(MIGRATIONS)
    assert run.decision == "NO-GO" and run.returncode != 0


@pytest.mark.staged("rolled back")
def test_schema_migrations_differing_from_the_dump_turns_migration_check_red(staged):
    staged.target.ensure_rolled_back()
    staged.sql(
        "INSERT INTO schema_migrations (version, checksum, file_name) "
        "VALUES ('9001', 'f00d', '9001_hotfix_by_hand.sql')"
    )
    run = staged.run("rollback")  # verification only: the restore was done by hand
    assert run.failed == {MIGRATIONS}, run.describe()
    assert "9001" in run.message(MIGRATIONS) and "no such version" in run.message(MIGRATIONS)
    assert run.ids("not verified") == {RESTORE}
    assert run.blocked == {SMOKE, REOPEN}
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.migration" in run.conditions()


@pytest.mark.staged("rolled back")
def test_stale_fts_after_the_restore_turns_fts_check_red(staged):
    staged.target.ensure_rolled_back()
    make_fts_stale(staged)
    run = staged.run("rollback")  # verification only: nothing re-syncs FTS
    assert run.failed == {FTS}, run.describe()
    assert "questions" in run.message(FTS) and "stale" in run.message(FTS)
    assert run.not_verified == {RESTORE}
    assert "needs --execute" in run.message(RESTORE)
    assert run.decision == "NO-GO" and run.returncode != 0


@pytest.mark.staged("deployed")
def test_restart_after_the_restore_on_the_release_code_turns_smoke_check_red(staged, deployment):
    staged.target.ensure_deployed()
    release_code = str(staged.target.migrations_dir)
    deployment.tamper = lambda n, flags: (
        {**flags, "MIGRATIONS_DIR": release_code, "FAIL_ON_PENDING_MIGRATIONS": "0"}
        if n == 1
        else flags
    )
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {SMOKE}, run.describe()
    assert "expects schema 0004, not 0003: the wrong build was started" in run.message(SMOKE)
    assert run.not_verified == {REOPEN}
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.smoke" in run.conditions()


@pytest.mark.staged("deployed")
def test_restart_after_the_restore_that_reopens_writes_turns_reopen_check_red(staged, deployment):
    staged.target.ensure_deployed()
    deployment.tamper = open_writes_on_restart(1)
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {REOPEN}, run.describe()
    assert "DB_READ_ONLY is already 0" in run.message(REOPEN)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert run.conditions() == set()


@pytest.mark.staged("deployed", serve=False)
def test_database_url_of_an_unsupported_scheme_is_one_reason_blocking_the_database_steps(staged):
    staged.target.ensure_deployed()
    staged.target.restart("freeze", FREEZE_FLAGS)
    password = staged.db.password
    staged.overrides["DATABASE_URL"] = f"mysql://exam:{password}@127.0.0.1:3306/exam"
    run = staged.run("rollback")
    # No step can reach the database: one reason, every database step blocked by it.
    assert run.reason_ids() == ["target-database"], run.reasons
    assert "unsupported URL scheme 'mysql'" in run.reasons[0]["message"]
    assert {LIBPQ, SELECT, RESTORE, MIGRATIONS, FTS} <= run.blocked, run.describe()
    assert run.failed == set(), run.describe()
    assert run.decision == "NO-GO" and run.returncode != 0
    assert password not in run.artifacts_text()
