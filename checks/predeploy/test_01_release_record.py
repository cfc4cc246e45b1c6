"""Pre-deploy gate: the human facts of the release record (checklist sections 1 and 7)."""

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.order(10)


@pytest.mark.item("pre.owners")
def test_owners_and_incident_channel_recorded(release_record, evidence):
    """Confirm release owner, rollback owner, and incident channel."""
    evidence.json("release record", release_record.as_dict())
    missing = release_record.missing_owners()
    assert not missing, (
        f"{release_record.path}: {', '.join(missing)} not recorded (empty or a placeholder); "
        f"fill them in before the release"
    )


@pytest.mark.item("dc.staging_first")
def test_applied_in_staging_first(release_record, evidence):
    """Apply in dev/staging first, then production."""
    evidence.json(
        "environment",
        {
            "environment": release_record.environment,
            "staging_verified_at": str(release_record.staging_verified_at),
        },
    )
    problem = release_record.staging_problem(datetime.now(UTC))
    assert problem is None, problem
