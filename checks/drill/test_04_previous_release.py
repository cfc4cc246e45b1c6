"""Restore drill, step 5 continued: the previous release survives the migration (expand/contract)."""

import pytest

from releaseops import migrations
from releaseops.runbook import previous

pytestmark = pytest.mark.order(140)


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
