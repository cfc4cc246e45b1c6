"""Rollback procedure (checklist section 6), step 1: freeze risky behaviour and block writes."""

import pytest

from releaseops.runbook import steps
from releaseops.service import http, smoke

pytestmark = pytest.mark.order(410)


@pytest.mark.item("rb.freeze")
def test_writes_blocked_and_risky_behaviour_frozen(
    target, embedded_target, deployment, api, api_url, evidence
):
    """1. Freeze risky behavior and block writes (DB_READ_ONLY=1, AI_AUTO_APPLY=0, RETRIEVAL_MODE=bm25)."""
    if embedded_target is not None:
        embedded_target.record_rollback("in progress", None)
    refusal = steps.execution_refusal(target)
    if refusal is None:
        evidence.text("restart", steps.freeze(deployment))
    response, convergence = http.wait_for_health(api_url, timeout=target.probe_timeout)
    evidence.json("convergence", convergence.as_dict())
    assert response is not None, f"the service did not come back: {convergence.explain()}"
    flags = http.expect_json(response).get("flags", {})
    evidence.json("flags after restart", flags)
    expected = {"DB_READ_ONLY": True, "AI_AUTO_APPLY": False, "RETRIEVAL_MODE": "bm25"}
    wrong = {k: flags.get(k) for k, v in expected.items() if flags.get(k) != v}
    assert not wrong, f"the service still runs with {wrong}; expected {expected}"
    write = smoke.write_probe(api, api_url)
    evidence.json("write attempt", {"status": write.status_code, "body": write.text[:300]})
    assert smoke.writes_blocked(write), (
        f"writes are not blocked: POST {smoke.MANAGE} -> {write.status_code} "
        f"{write.text[:200]!r}; expected 503 READ_ONLY"
    )
