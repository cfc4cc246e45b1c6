"""Each rollback-completeness check goes red, alone, when its fault is injected.

Every test starts from the rolled-back state: a copy of a target on which the whole runbook
ran once (deploy, then freeze, restore of the pre-deploy dump, FTS sync), the previous release
running with writes blocked, and the release record naming that dump. It breaks one thing and runs
`pytest checks/postrollback` against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from releaseops import backup

TRIGGER = "postrollback.trigger_and_incident_time_recorded"
FROZEN = "postrollback.writes_blocked_and_auto_actions_disabled"
RESTORED = "postrollback.restored_from_known_good_dump"
MIGRATIONS = "postrollback.schema_migrations_verified_after_restore"
FTS = "postrollback.fts_in_sync_after_restore"
SMOKE = "postrollback.api_and_ui_smoke_on_rolled_back_state"
STATUS = "postrollback.release_status_rolled_back_with_evidence"
pytestmark = pytest.mark.staged("rolled back")


def test_postrollback_is_green_on_a_rolled_back_target(staged):
    run = staged.run("postrollback")
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0


def test_missing_incident_time_turns_trigger_check_red(staged):
    path = staged.target.record_path
    text = path.read_text()
    path.write_text("\n".join(x for x in text.splitlines() if not x.startswith("incident_at")))
    run = staged.run("postrollback")
    assert run.failed == {TRIGGER}, run.describe()
    assert "incident_at is not recorded" in run.message(TRIGGER)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert run.conditions() == set()


@pytest.mark.staged(serve=False)
def test_service_restarted_with_writes_open_turns_frozen_check_red(staged):
    staged.target.restart_service(DB_READ_ONLY="0")
    run = staged.run("postrollback")
    assert run.failed == {FROZEN}, run.describe()
    assert "writes are not blocked" in run.message(FROZEN)
    assert "400" in run.message(FROZEN)  # the probe reached validation: nothing was written
    assert run.decision == "NO-GO" and run.returncode != 0


@pytest.mark.staged(serve=False)
def test_ai_auto_apply_left_on_turns_frozen_check_red(staged):
    staged.target.restart_service(AI_AUTO_APPLY="1")
    run = staged.run("postrollback")
    assert run.failed == {FROZEN}, run.describe()
    assert "the service runs with {'AI_AUTO_APPLY': True}" in run.message(FROZEN)
    assert run.decision == "NO-GO" and run.returncode != 0


def test_record_naming_another_verified_dump_turns_restored_check_red(staged, tmp_path):
    staged.sql(
        "INSERT INTO questions (ref, subject, stem, choices, answer) VALUES "
        "('late-1', 'biology', 'Added after the pre-deploy backup?', "
        "'[\"yes\", \"no\"]', 'yes')"
    )
    other = backup.create(staged.db, tmp_path / "other-backups")
    staged.sql("DELETE FROM questions WHERE ref = 'late-1'")
    staged.edit_record(rollback__backup_file=str(other.path), rollback__backup_sha256=other.sha256)
    run = staged.run("postrollback")
    assert run.failed == {RESTORED}, run.describe()
    message = run.message(RESTORED)
    assert f"does not hold {Path(other.path).name}" in message and "public.questions" in message
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.rollback_candidate" in run.conditions()


def test_schema_migrations_row_not_in_the_dump_turns_migrations_check_red(staged):
    staged.sql(
        "INSERT INTO schema_migrations (version, checksum, file_name) "
        "VALUES ('9001', 'f00d', '9001_hotfix_by_hand.sql')"
    )
    run = staged.run("postrollback")
    assert run.failed == {MIGRATIONS}, run.describe()
    assert "schema_migrations version 9001" in run.message(MIGRATIONS)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.migration" in run.conditions()


def test_stale_fts_turns_fts_check_red(staged):
    # Stale in the dump itself (restored faithfully), and never re-synced after the restore.
    staged.sql(
        "SET session_replication_role = replica; "
        "UPDATE questions SET stem = stem || ' (edited)' WHERE id IN "
        "(SELECT id FROM questions ORDER BY id LIMIT 2)"
    )
    dump = backup.create(staged.db, staged.target.backup_dir)
    staged.edit_record(rollback__backup_file=str(dump.path), rollback__backup_sha256=dump.sha256)
    run = staged.run("postrollback")
    assert run.failed == {FTS}, run.describe()
    assert "questions" in run.message(FTS) and "stale" in run.message(FTS)
    assert run.decision == "NO-GO" and run.returncode != 0


def test_stopped_service_turns_smoke_check_red(staged):
    staged.target.service.stop()
    run = staged.run("postrollback", "--probe-timeout", "2")
    # Both checks that talk to the service see it gone; the database checks stay green.
    assert run.failed == {FROZEN, SMOKE}, run.describe()
    assert "Connection refused" in run.message(SMOKE) or "connect" in run.message(SMOKE)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.smoke" in run.conditions()


def test_placeholder_trigger_turns_trigger_check_red(staged):
    staged.edit_record(rollback__trigger="TBD")
    run = staged.run("postrollback")
    assert run.failed == {TRIGGER}, run.describe()
    assert "trigger is not recorded ('TBD' is empty or a placeholder)" in run.message(TRIGGER)
    assert run.decision == "NO-GO" and run.returncode != 0


def test_database_that_differs_from_the_dump_is_no_go_naming_the_difference(staged):
    staged.sql("SELECT setval('questions_id_seq', 9000)")
    staged.sql("ALTER TABLE questions ALTER COLUMN subject SET DEFAULT 'physics'")
    run = staged.run("postrollback")
    assert run.failed == {RESTORED}, run.describe()
    message = run.message(RESTORED)
    assert "sequence public.questions_id_seq" in message and "9000" in message
    assert "column public.questions.subject" in message
    assert run.decision == "NO-GO"


@pytest.mark.staged(serve=False)
def test_one_write_route_that_ignores_the_freeze_turns_frozen_check_red(staged):
    staged.target.restart_service(app="tests.faults.apps:unguarded_update_route")
    run = staged.run("postrollback")
    assert run.failed == {FROZEN}, run.describe()
    message = run.message(FROZEN)
    assert "writes are not blocked on PUT /api/manage/questions/{question_id}" in message, message
    assert "PATCH /api/manage/questions/{question_id}" in message
    assert "POST /api/manage/questions" not in message  # every other route still refuses
    assert run.decision == "NO-GO"


def test_status_not_rolled_back_turns_status_check_red(staged):
    staged.edit_record(rollback__status="in progress")
    run = staged.run("postrollback")
    assert run.failed == {STATUS}, run.describe()
    assert "rollback status is 'in progress', expected 'rolled back'" in run.message(STATUS)
    assert run.decision == "NO-GO" and run.returncode != 0
