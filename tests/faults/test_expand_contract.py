"""The previous release must survive the release's migrations: a contracting one is NO-GO."""

from __future__ import annotations

import pytest

PREVIOUS = "drill.previous_release_survives_the_migration"
REHEARSE = "drill.pending_migrations_rehearsed_on_drill_copy"
FTS = "drill.fts_resynced_on_drill"
RENAME_STEM = (
    "-- releaseops:destructive the release reads questions.prompt from now on\n"
    "ALTER TABLE questions RENAME COLUMN stem TO prompt;\n"
)
# The drill starts the previous release itself; the staged service is never started.
pytestmark = pytest.mark.staged(serve=False)


def test_renaming_a_column_the_previous_release_reads_is_no_go_naming_statement_and_request(
    staged,
):
    copy = staged.migrations_copy()
    (copy / "0005_rename_stem.sql").write_text(RENAME_STEM)
    run = staged.run("drill", *staged.drill_execute())
    assert run.decision == "NO-GO" and run.returncode != 0, run.describe()
    # The FTS declaration names questions.stem too: the re-sync on the drill copy fails as well.
    assert run.failed == {PREVIOUS, FTS}, run.describe()
    assert run.outcome(REHEARSE) == "passed"  # a rename is catalog-only: no lock problem
    message = run.message(PREVIOUS)
    assert message.startswith(
        "AssertionError: the previous release (started by PREVIOUS_RELEASE_COMMAND) fails "
        "against the migrated copy: GET /api/manage/questions -> 500 (expected 200): "
        """'{"error_code":"INTERNAL_ERROR","message":"internal error; see the service log"}"""
    ), message
    assert (
        "broken by 0005_rename_stem.sql line 2: ALTER TABLE questions RENAME COLUMN stem TO "
        "prompt (renames; the error names "
    ) in message
    assert '"stem"' in message.split("broken by", 1)[1].split(")", 1)[0], message
    assert "nogo.migration" in run.conditions()


def test_an_expanding_migration_keeps_the_drill_go_with_the_previous_release_verified(staged):
    copy = staged.migrations_copy()
    (copy / "0005_difficulty.sql").write_text("ALTER TABLE questions ADD COLUMN difficulty int;\n")
    run = staged.run("drill", *staged.drill_execute())
    assert run.decision == "GO", run.describe()
    assert run.outcome(PREVIOUS) == run.outcome(REHEARSE) == "passed"


def test_a_blocking_lock_on_a_table_over_the_records_budget_turns_the_rehearsal_check_red(staged):
    # The same expanding migration, but the release record calls every table "large" and gives
    # a blocking lock no time at all: ADD COLUMN's ACCESS EXCLUSIVE on questions breaks it.
    copy = staged.migrations_copy()
    (copy / "0005_difficulty.sql").write_text("ALTER TABLE questions ADD COLUMN difficulty int;\n")
    staged.edit_record(migration__max_rows=1, migration__lock_budget_ms=0)
    run = staged.run("drill", *staged.drill_execute())
    assert run.failed == {REHEARSE}, run.describe()
    message = run.message(REHEARSE)
    assert "breaks the budget" in message and "0005_difficulty.sql" in message, message
    assert "AccessExclusiveLock on public.questions" in message, message
    assert run.outcome(PREVIOUS) == "passed"
    assert run.decision == "NO-GO" and "nogo.migration" in run.conditions()
