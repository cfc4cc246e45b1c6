"""Restore drill, step 5 continued: the previous release survives the migration (expand/contract)."""

import pytest

from releaseops import migrations
from releaseops.runbook import previous, previous_command

pytestmark = pytest.mark.order(140)


@pytest.fixture
def previous_release(target, embedded_target, evidence):
    """The previous release: the embedded rehearsal's own, else PREVIOUS_RELEASE_COMMAND."""
    if embedded_target is not None:
        from releaseops.rehearsal.previous import EmbeddedPreviousRelease

        return EmbeddedPreviousRelease(embedded_target)
    command = previous_command.configured(target)
    if command is None:
        pytest.skip(
            "not verified: no PREVIOUS_RELEASE_COMMAND configured to start the previous release "
            "against the drill copy (see docs/env-target.md)"
        )
    evidence.text("PREVIOUS_RELEASE_COMMAND", command)
    return previous_command.CommandPreviousRelease(target, command)


@pytest.mark.item("drill.previous_release")
@pytest.mark.after("test_02_restore.py::test_migrations_rerun_on_drill")
def test_previous_release_survives_the_migration(target, db, previous_release, evidence):
    """5. The previous release's smoke paths (reads, writes) pass on the migrated drill copy."""
    # The database the re-run (or the rehearsal) migrated: restored and written with the
    # admin URL, as the drill did.
    copy = target.admin_url.with_dbname(target.drill_url.dbname)
    state = migrations.status(copy, target.migrations_dir)
    evidence.json("drill copy", state.as_dict())
    if not state.is_clean:
        pytest.skip(f"not verified: the drill copy is not fully migrated: {state.explain()}")
    pending = previous.pending_files(db, target.migrations_dir)
    evidence.json("pending on the source", [f.name for f in pending])
    survival = previous.survives(previous_release, copy, pending, token=target.api_token)
    evidence.json("previous release", survival.as_dict())
    assert survival.ok, survival.explain()
