"""The schema drift check goes red, alone, when the schema was changed by hand."""

from __future__ import annotations

import secrets

DRIFT = "predeploy.live_schema_matches_the_migration_files"


def _assert_no_go(run) -> None:
    assert run.decision == "NO-GO", run.describe()
    assert run.returncode != 0


def _drifted(run) -> list[str]:
    check = next(c for c in run.checks if c["check_id"] == DRIFT)
    record = next(r for r in check["evidence"] if r["title"] == "schema drift")
    return record["content"]["drifted"]


def test_a_hand_added_column_is_no_go_at_predeploy(staged):
    staged.sql("ALTER TABLE questions ADD COLUMN difficulty int")
    run = staged.run("predeploy")
    assert run.failed == {DRIFT}, run.describe()
    message = run.message(DRIFT)
    assert "column public.questions.difficulty: only in the live database" in message
    assert "changed outside migrations/postgres/*.sql" in message
    assert _drifted(run) == ["column public.questions.difficulty"]
    _assert_no_go(run)


def test_a_hand_dropped_index_is_no_go_at_predeploy(staged):
    staged.sql("DROP INDEX questions_created_at_idx")
    run = staged.run("predeploy")
    assert run.failed == {DRIFT}, run.describe()
    message = run.message(DRIFT)
    assert "index public.questions_created_at_idx: missing from the live database" in message
    assert _drifted(run) == ["index public.questions_created_at_idx"]
    _assert_no_go(run)


def test_an_admin_url_that_cannot_create_databases_leaves_drift_not_verified(staged, pg_cluster):
    role, password = f"nocreate_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with pg_cluster.url.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        admin = staged.db.with_dbname("postgres")
        staged.overrides["POSTGRES_ADMIN_URL"] = admin.libpq(with_password=False).replace(
            f"{admin.user}@", f"{role}:{password}@"
        )
        run = staged.run("predeploy")
    finally:
        with pg_cluster.url.connect(autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
    assert DRIFT in run.not_verified, run.describe()
    assert "may CREATE DATABASE" in run.message(DRIFT)
    assert password not in run.artifacts_text()
    _assert_no_go(run)
