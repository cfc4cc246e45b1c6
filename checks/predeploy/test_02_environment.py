"""Pre-deploy gate: the target environment and its flags (checklist section 1)."""

import pytest

from releaseops.release import environment

pytestmark = pytest.mark.order(20)


@pytest.mark.item("pre.env")
def test_target_environment_loaded(target, evidence):
    """Confirm target env is loaded (DATABASE_URL, FLASK_CONFIG, secrets)."""
    report = environment.loaded(target)
    evidence.json("environment", report.as_dict())
    assert report.is_loaded, report.explain()


@pytest.mark.item("pre.migration_flags")
def test_migration_guard_flags(target, evidence):
    """Confirm migration guard flags: CHECK_PENDING_MIGRATIONS=1, FAIL_ON_PENDING_MIGRATIONS=1."""
    problems = environment.migration_guard_problems(target)
    evidence.json("flags", environment.flags(target))
    assert not problems, "; ".join(problems)


@pytest.mark.item("pre.write_flags")
def test_write_safety_flags_match_rollout_plan(target, release_record, evidence):
    """Confirm write safety flags match rollout plan: DB_READ_ONLY, AI_AUTO_APPLY, RETRIEVAL_MODE."""
    assert release_record.rollout is not None, (
        f"{release_record.path} has no [rollout] table: record the planned DB_READ_ONLY, "
        f"AI_AUTO_APPLY and RETRIEVAL_MODE"
    )
    evidence.json(
        "plan and environment",
        {"plan": release_record.rollout.as_env(), "environment": environment.flags(target)},
    )
    problems = release_record.rollout.mismatches(dict(target.environ))
    assert not problems, "; ".join(problems)
