"""Post-deploy verification (checklist section 3): error rate and latency against the baseline."""

import pytest

from releaseops.gate import slo_profile
from releaseops.release import record
from releaseops.service import slo, slogate

pytestmark = pytest.mark.order(340)


@pytest.fixture(scope="module")
def comparison(target, api_url, known_queries):
    """Traffic (on loopback), then the comparison window against the gate's baseline."""
    if not target.api_log_source:
        pytest.skip("not verified: no API_LOG_SOURCE / --api-log-source configured")
    if target.release_record is None:
        pytest.skip("not verified: no release record (RELEASE_RECORD) names the release")
    rec = record.load(target.release_record)
    budget = slo.Budget.from_mapping(rec.slo_budget.as_dict())
    baseline = slo.load_baseline(target.backup_dir, rec.release_id)
    if baseline is None:
        path = slo.baseline_path(target.backup_dir, rec.release_id)
        pytest.skip(
            f"not verified: no SLO baseline for release {rec.release_id} ({path}); "
            f"run pytest checks/predeploy before the deploy"
        )
    sent = slogate.generate_traffic(api_url, target.api_token, known_queries, budget)
    found = slogate.compare_after_deploy(
        target.api_log_source,
        api_url,
        baseline,
        budget,
        token=target.api_token,
        cwd=target.repo_root,
        sent=sent,
    )
    return found, sent


def _verified(comparison, evidence):
    found, sent = comparison
    evidence.json("traffic", sent.as_dict() if sent else "none: the service is not on loopback")
    evidence.json("SLO comparison", found.as_dict())
    evidence.json("SLO latency profile", slo_profile.of_comparison(found))
    reason = found.not_verified()
    if reason:
        pytest.skip(f"not verified: {reason}")
    return found


@pytest.mark.item("post.slo", "nogo.slo")
@pytest.mark.after("test_01_health.py::test_api_health_returns_success")
def test_error_rate_within_budget(comparison, evidence):
    """5xx rate per route after the deploy is within the SLO budget of the pre-deploy baseline."""
    regressed = _verified(comparison, evidence).error_regressions()
    assert not regressed, "5xx rate regressed beyond the SLO budget: " + "; ".join(regressed)


@pytest.mark.item("post.slo", "nogo.slo")
@pytest.mark.after("test_01_health.py::test_api_health_returns_success")
def test_latency_within_budget(comparison, evidence):
    """p95/p99 latency per route after the deploy is within the SLO budget of the baseline."""
    regressed = _verified(comparison, evidence).latency_regressions()
    assert not regressed, "latency regressed beyond the SLO budget: " + "; ".join(regressed)
