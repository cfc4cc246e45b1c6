"""Restore drill, step 5 continued: the pending migrations rehearsed on the drill copy."""

import pytest

from releaseops.runbook import drillcopy, steps

pytestmark = pytest.mark.order(130)


@pytest.mark.item("drill.rehearse")
@pytest.mark.destructive
@pytest.mark.after("test_02_restore.py::test_migrations_rerun_on_drill")
def test_pending_migrations_rehearsed_on_drill_copy(
    target, db, release_record, drill_state, evidence
):
    """5. Rehearse the pending migrations on the drill copy: locks and rewrites within budget."""
    drill_name = target.drill_url.dbname
    refusal = steps.execution_refusal(target, destructive=True, dbname=drill_name)
    if refusal:
        pytest.skip(refusal)
    # The re-run migrated the copy: restore the drill's own dump again (step 3 took it), so
    # that the rehearsal sees the pending files as the deploy will.
    dump = drill_state.get("dump")
    if dump is None:
        pytest.skip(
            "not verified: the drill's own backup (step 3) was not taken in this run; "
            "run the whole drill phase"
        )
    done = drillcopy.rehearse_on_copy(
        db,
        target.admin_url,
        drill_name,
        dump.path,
        target.migrations_dir,
        confirm_copy=drill_name,
        allow_cross_server=target.allow_cross_server,
    )
    budget = release_record.migration_budget
    verdict = budget.gate(done.report)
    evidence.json("copy", done.as_dict())
    evidence.json("rehearsal", done.report.as_dict())
    evidence.text("statements", "\n".join(done.report.lines()))
    evidence.json("gate", verdict.as_dict())
    assert not verdict.failures, (
        f"the rehearsal on {done.copy.masked()} breaks the budget "
        f"({release_record.path} [migration], else the defaults):\n{verdict.explain()}"
    )
    if verdict.not_verified:
        pytest.skip(f"not verified: {verdict.explain()}")
