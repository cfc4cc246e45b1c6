"""Each deploy step goes red, alone, when its fault is injected.

The staged target starts at the previous release: every migration but the newest is applied.
Without --execute the phase only verifies the resulting state; with `staged.execute()` it runs
the checklist commands against the staged database. Tests of the deployed state start
there (`@pytest.mark.staged("deployed")`), copied from a target the runbook deployed.
"""

import pytest

MIGRATE = "deploy.migrations_applied"
FTS = "deploy.fts_synced"
RESTART = "deploy.services_restarted"
HEALTH = "deploy.health_and_startup_migration_check_clean"
AFTER_MIGRATE = {FTS, RESTART, HEALTH}


@pytest.mark.staged("deployed")
def test_deploy_is_green_once_the_release_is_deployed(staged):
    staged.target.ensure_deployed()
    run = staged.run("deploy")
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0
    assert run.failed == set() and run.not_verified == set()


def test_pending_migration_without_execute_turns_migration_check_red(staged):
    run = staged.run("deploy")
    assert run.failed == {MIGRATE}, run.describe()
    # Every later step is blocked by the red migration step.
    assert run.not_verified == AFTER_MIGRATE, run.describe()
    message = run.message(MIGRATE)
    assert "0004_trigram.sql is pending" in message
    assert "needs --execute" in message
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.migration" in run.conditions()


def test_failing_migration_with_execute_turns_migration_check_red(staged):
    copy = staged.migrations_copy()
    newest = sorted(copy.glob("*.sql"))[-1]
    newest.write_text("CREATE INDEX broken_idx ON no_such_table (id);\n")
    run = staged.run("deploy", *staged.execute())
    assert run.failed == {MIGRATE}, run.describe()
    assert run.not_verified == AFTER_MIGRATE, run.describe()
    message = run.message(MIGRATE)
    assert "exited 12" in message and newest.name in message, message
    assert all("blocked by" in run.message(check) for check in AFTER_MIGRATE)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.migration" in run.conditions()


@pytest.mark.staged("deployed")
def test_stale_fts_vectors_turn_fts_check_red(staged):
    staged.target.ensure_deployed()
    # An update that bypasses the FTS trigger leaves search vectors out of date.
    staged.sql(
        "ALTER TABLE questions DISABLE TRIGGER USER;"
        "UPDATE questions SET stem = stem || ' (revised)' WHERE ref = 'seed-bio-001';"
        "ALTER TABLE questions ENABLE TRIGGER USER;"
    )
    run = staged.run("deploy")
    # The restart and health steps come after the FTS sync, so they are blocked by it.
    assert run.failed == {FTS}, run.describe()
    assert run.not_verified == {RESTART, HEALTH}, run.describe()
    message = run.message(FTS)
    assert "stale" in message and "needs --execute" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0


def test_failing_restart_command_turns_restart_check_red(staged):
    staged.overrides["RESTART_COMMAND"] = "exit 1"
    run = staged.run("deploy", *staged.execute())
    assert run.failed == {RESTART}, run.describe()
    assert run.blocked == {HEALTH}, run.describe()
    assert "exit 1" in run.message(RESTART), run.message(RESTART)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.api_start" in run.conditions()
    secrets = [staged.target.token, staged.target.secret_key, staged.db.password]
    assert not [s for s in secrets if s and s in run.artifacts_text()]


@pytest.mark.staged("deployed")
def test_mismatch_at_startup_turns_health_check_red(staged):
    staged.target.ensure_deployed()
    staged.append_mismatch_event("0002_documents.sql")
    run = staged.run("deploy")
    assert run.failed == {HEALTH}, run.describe()
    message = run.message(HEALTH)
    assert "'mismatch'" in message and "0002_documents.sql" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.api_start" in run.conditions()


def test_restart_command_that_changes_nothing_turns_restart_check_red(staged):
    # The command "succeeds", /health answers: only the unchanged instance id tells.
    staged.overrides["RESTART_COMMAND"] = "true"
    # A new instance never comes: wait 10 s for it, not the default 60.
    run = staged.run("deploy", *staged.execute(), "--probe-timeout", "10")
    assert run.failed == {RESTART}, run.describe()
    assert run.blocked == {HEALTH}, run.describe()
    assert "still answers: the restart did not restart the service" in run.message(RESTART)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.api_start" in run.conditions()


def test_restart_onto_the_previous_build_turns_restart_check_red(staged, deployment):
    # The old build comes up healthy (its startup guard is off): only its version tells.
    deployment.wrong_code = True
    deployment.tamper = lambda _n, flags: {**flags, "FAIL_ON_PENDING_MIGRATIONS": "0"}
    run = staged.run("deploy", *staged.execute())
    assert run.failed == {RESTART}, run.describe()
    message = run.message(RESTART)
    assert "expects schema 0003, not 0004: the wrong build was started" in message, message
    assert run.decision == "NO-GO" and run.returncode != 0


def test_a_service_started_before_the_migrations_turns_restart_check_red(staged):
    # Migrated by hand, never restarted, and not ours to restart (no --execute).
    from releaseops import migrations

    migrations.apply(staged.db, staged.target.migrations_dir)
    run = staged.run("deploy")
    assert RESTART in run.failed, run.describe()
    assert "before" in run.message(RESTART) and "not restarted" in run.message(RESTART)


@pytest.mark.staged("deployed", serve=False)
def test_health_without_a_migration_state_is_not_verified(staged):
    staged.target.ensure_deployed()
    staged.target.restart_service(app="tests.faults.apps:health_without_migrations")
    run = staged.run("deploy", "--probe-timeout", "10")  # the state never appears
    assert run.ids("not verified") == {HEALTH}, run.describe()
    assert "reports no migration state" in run.message(HEALTH)
    assert run.decision == "NO-GO"


@pytest.mark.staged("deployed")
def test_replica_only_sync_trigger_turns_fts_check_red(staged):
    # Fires only under session_replication_role = replica: new rows would never be indexed.
    staged.target.ensure_deployed()
    staged.sql("ALTER TABLE questions ENABLE REPLICA TRIGGER questions_search_vector_trigger")
    run = staged.run("deploy")
    assert run.failed == {FTS}, run.describe()
    message = run.message(FTS)
    assert "questions_search_vector_trigger does not fire for ordinary sessions" in message
    assert "replica only" in message
