"""Rollback procedure (checklist section 6), steps 7-8: smoke with writes blocked; no early reopen."""

import pytest

from releaseops.backup import manifest
from releaseops.runbook import steps
from releaseops.service import freeze, restart, smoke

pytestmark = pytest.mark.order(430)


def _dump_schema_head(path):
    """The newest migration the restored dump holds: the previous release's schema."""
    versions = [str(row["version"]) for row in manifest.load(path).migrations]
    return max(versions, key=lambda v: (int(v), v)) if versions else None


@pytest.mark.item("rb.smoke", "nogo.smoke")
@pytest.mark.after("test_02_restore.py::test_migration_state_matches_dump")
def test_smoke_passes_with_writes_still_blocked(
    target, deployment, service, api, api_url, rollback_selection, evidence
):
    """7. Run smoke checks and keep DB_READ_ONLY=1 until verification passes: the previous build."""
    dump = rollback_selection.backup.path
    ours = steps.execution_refusal(target) is None
    before = service.health() if ours else None
    if ours:
        evidence.text("restart", steps.redeploy_previous(deployment))
    after, convergence = restart.wait_for_new_instance(
        service, before, timeout=target.probe_timeout
    )
    evidence.json("convergence", convergence.as_dict())
    health = after or service.health()
    proof = restart.prove(before, health, schema_head=_dump_schema_head(dump))
    evidence.json("redeploy", proof.as_dict())
    assert not proof.problems, proof.explain()
    if health.migrations is None:
        pytest.skip("not verified: /health reports no migration state")
    problems = smoke.health_migration_problems(dict(health.body))
    assert not problems, (
        f"the running code and the restored database disagree on migrations: {problems} "
        f"(all: {health.migrations})"
    )
    evidence.json("smoke", smoke.read_only_smoke(api, api_url))


@pytest.mark.item("rb.reopen")
@pytest.mark.after("test_smoke_passes_with_writes_still_blocked")
def test_writes_not_reopened_without_go_decision(embedded_target, service, evidence):
    """8. Re-open writes only after explicit go decision (DB_READ_ONLY=0 + restart)."""
    health = service.health()
    assert health.flag("DB_READ_ONLY") is not False, (
        "DB_READ_ONLY is already 0 after the rollback: writes were re-opened without the "
        "explicit go decision"
    )
    proof = freeze.prove(service, health)
    evidence.json("freeze", proof.as_dict())
    assert not proof.problems, f"writes are open again during verification: {proof.explain()}"
    if proof.unreported:
        pytest.skip(f"not verified: the service does not report {', '.join(proof.unreported)}")
    if embedded_target is not None and embedded_target.rolled_back_from is not None:
        embedded_target.record_rollback("rolled back", embedded_target.rolled_back_from)
