"""Rollback procedure (checklist section 6), step 1: freeze risky behaviour and block writes."""

import pytest

from releaseops.backup import fingerprint, fingerprint_diff
from releaseops.runbook import steps
from releaseops.service import freeze, restart

pytestmark = pytest.mark.order(410)


@pytest.mark.item("rb.freeze")
def test_writes_blocked_and_risky_behaviour_frozen(
    target, db, embedded_target, deployment, service, evidence
):
    """1. Freeze risky behavior and block writes (DB_READ_ONLY=1, AI_AUTO_APPLY=0, RETRIEVAL_MODE=bm25)."""
    if embedded_target is not None:
        embedded_target.record_rollback("in progress", None)
    ours = steps.execution_refusal(target) is None
    before = service.health() if ours else None
    if ours:
        evidence.text("restart", steps.freeze(deployment))
    after, convergence = restart.wait_for_new_instance(
        service, before, timeout=target.probe_timeout
    )
    evidence.json("convergence", convergence.as_dict())
    health = after or service.health()
    restarted = restart.prove(before, health, schema_head=before.schema_head if before else None)
    evidence.json("restart", restarted.as_dict())
    assert not restarted.problems, restarted.explain()
    content = fingerprint.take(db)
    proof = freeze.prove(service, health)
    evidence.json("freeze", proof.as_dict())
    assert not proof.problems, proof.explain()
    unchanged = fingerprint_diff.diff(content, fingerprint.take(db), a_label="before the probes")
    evidence.json("database during the probes", unchanged.as_dict())
    assert unchanged.is_equal, f"a write probe changed the database: {unchanged.explain()}"
    if proof.unreported or restarted.unreported:
        missing = ", ".join(proof.unreported + restarted.unreported)
        pytest.skip(f"not verified: the service does not report {missing}")
