"""Pre-deploy gate: the target environment and its flags (checklist section 1).

Every item is read from the running service's /health and compared with the release record:
the checker's own environment variables prove nothing about what the service runs with.
"""

import pytest

from releaseops.pg import identity
from releaseops.release import environment

pytestmark = pytest.mark.order(20)


def _decide(report, evidence, title):
    evidence.json(title, report.as_dict())
    assert not report.problems, report.explain()
    if report.unreported:
        pytest.skip(report.not_verified())


@pytest.mark.item("pre.env")
def test_target_environment_loaded(db, service, release_record, evidence):
    """Confirm target env is loaded (DATABASE_URL, FLASK_CONFIG, secrets): the service's own."""
    health = service.health()
    server = identity.probe(db)
    _decide(environment.loaded(health, server, release_record), evidence, "environment")


@pytest.mark.item("pre.migration_flags")
def test_migration_guard_flags(service, release_record, evidence):
    """Confirm migration guard flags: CHECK_PENDING_MIGRATIONS=1, FAIL_ON_PENDING_MIGRATIONS=1."""
    report = environment.migration_guard(service.health(), release_record)
    _decide(report, evidence, "migration guard")


@pytest.mark.item("pre.write_flags")
def test_write_safety_flags_match_rollout_plan(service, release_record, evidence):
    """Confirm write safety flags match rollout plan: DB_READ_ONLY, AI_AUTO_APPLY, RETRIEVAL_MODE."""
    report = environment.write_flags(service.health(), release_record)
    _decide(report, evidence, "write-safety flags")
