"""Pre-deploy gate: the SLO baseline the post-deploy comparison is measured against."""

import pytest

from releaseops.gate import slo_profile
from releaseops.service import slo, slogate

pytestmark = pytest.mark.order(70)


@pytest.mark.item("pre.slo_baseline")
# The release's records live in BACKUP_DIR; the backup proves it can be written to.
@pytest.mark.after("test_05_backup.py::test_backup_created")
def test_slo_baseline_recorded(
    target, api_url, log_source, release_record, known_queries, evidence
):
    """Record the SLO baseline before the deploy: per route requests, 5xx rate, p50/p95/p99."""
    budget = slo.Budget.from_mapping(release_record.slo_budget.as_dict())
    baseline, path, sent = slogate.record_baseline(
        log_source,
        api_url,
        release_record.release_id,
        target.backup_dir,
        budget,
        known_queries,
        token=target.api_token,
        cwd=target.repo_root,
    )
    evidence.json("traffic", sent.as_dict() if sent else "none: the service is not on loopback")
    evidence.file("SLO baseline", path, release_id=baseline.release_id)
    evidence.json("baseline window", baseline.summary())
    evidence.json("baseline latency profile", slo_profile.of_baseline(baseline.window))
    too_little = baseline.window.too_little(budget, "baseline")
    if too_little:
        pytest.skip(f"not verified: {too_little}")
