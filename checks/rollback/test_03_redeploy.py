"""Rollback procedure (checklist section 6), steps 7-8: smoke with writes blocked; no early reopen."""

import pytest

from releaseops.runbook import steps
from releaseops.service import http, smoke

pytestmark = pytest.mark.order(430)


@pytest.mark.item("rb.smoke", "nogo.smoke")
def test_smoke_passes_with_writes_still_blocked(target, deployment, api, api_url, evidence):
    """7. Run smoke checks and keep DB_READ_ONLY=1 until verification passes."""
    if steps.execution_refusal(target) is None:
        evidence.text("restart", steps.redeploy_previous(deployment))
    response, convergence = http.wait_for_health(api_url, timeout=target.probe_timeout)
    evidence.json("convergence", convergence.as_dict())
    assert response is not None, f"the service is not healthy: {convergence.explain()}"
    health = http.expect_json(response)
    evidence.json("/health", health)
    # Code newer than the database (pending) or disagreeing with it; a database ahead of the
    # code ("future") is the restore's failure, which the migration-state step reports.
    problems = smoke.health_migration_problems(health, ("pending", "mismatched", "missing"))
    assert not problems, (
        f"the running code and the restored database disagree on migrations: {problems} "
        f"(all: {health.get('migrations')})"
    )
    listing = http.expect_json(http.expect_status(api.get(f"{api_url}{smoke.MANAGE}"), 200))
    assert listing.get("items"), "no questions listed after the restore"
    http.expect_status(api.get(f"{api_url}/manage"), 200)
    search = http.expect_json(
        http.expect_status(
            api.get(f"{api_url}/api/retrieval/search", params={"q": "photosynthesis"}), 200
        )
    )
    evidence.json("search", {"results": len(search.get("results", []))})


@pytest.mark.item("rb.reopen")
@pytest.mark.after("test_smoke_passes_with_writes_still_blocked")
def test_writes_not_reopened_without_go_decision(target, embedded_target, api, api_url, evidence):
    """8. Re-open writes only after explicit go decision (DB_READ_ONLY=0 + restart)."""
    flags = http.expect_json(http.expect_status(api.get(f"{api_url}/health"), 200)).get("flags", {})
    evidence.json("flags", flags)
    assert flags.get("DB_READ_ONLY") is True, (
        "DB_READ_ONLY is already 0 after the rollback: writes were re-opened without the "
        "explicit go decision"
    )
    write = smoke.write_probe(api, api_url)
    evidence.json("write attempt", {"status": write.status_code, "body": write.text[:300]})
    assert smoke.writes_blocked(write), (
        f"writes are open again during verification: POST {smoke.MANAGE} -> "
        f"{write.status_code} {write.text[:200]!r}; expected 503 READ_ONLY"
    )
    if embedded_target is not None and embedded_target.rolled_back_from is not None:
        embedded_target.record_rollback("rolled back", embedded_target.rolled_back_from)
