"""Deploy execution (checklist section 2), in order. Against env, steps run only with --execute."""

import pytest

from releaseops import fts, migrations
from releaseops.release.database import schema_head
from releaseops.runbook import steps
from releaseops.service import logcheck, restart, smoke

pytestmark = pytest.mark.order(210)


def _execute(target, step, evidence):
    """Run a runbook step when the target may be changed; returns why it was not run, else None."""
    refusal = steps.execution_refusal(target)
    if refusal:
        evidence.text("executed", f"no: {refusal}; verifying the resulting state only")
        return refusal.removeprefix("not verified: ")
    result = step(target)
    evidence.text(result.command, result.output)
    assert result.ok, result.explain()
    return None


@pytest.mark.item("deploy.migrate", "nogo.migration")
@pytest.mark.destructive
def test_migrations_applied(target, db, evidence):
    """1. Apply Postgres migrations: python scripts/run_postgres_migrations.py --db "$DATABASE_URL"."""
    skipped = _execute(target, steps.migrate, evidence)
    status = migrations.status(db, target.migrations_dir)
    evidence.json("migration status", status.as_dict())
    assert status.is_clean, status.explain() + (
        f" (migrations were not run: {skipped})" if skipped else ""
    )


@pytest.mark.item("deploy.fts")
@pytest.mark.after("test_migrations_applied")
def test_fts_synced(target, db, evidence):
    """2. Sync FTS metadata: python scripts/init_fts.py --db "$DATABASE_URL" --sync."""
    skipped = _execute(target, steps.sync_fts, evidence)
    result = fts.check(db, target.fts_spec)
    evidence.json("fts check", result.as_dict())
    assert result.is_clean, result.explain() + (
        f" (FTS sync was not run: {skipped})" if skipped else ""
    )


@pytest.mark.item("deploy.restart", "nogo.api_start")
@pytest.mark.after("test_migrations_applied", "test_fts_synced")
def test_services_restarted(target, db, database, deployment, service, evidence):
    """3. Deploy/restart services: ./scripts/dc up -d --build; a new instance of the release answers."""
    ours = steps.execution_refusal(target) is None
    before = service.health() if ours else None
    if ours:
        evidence.text("restart", steps.restart_release(deployment))
    after, convergence = restart.wait_for_new_instance(
        service, before, timeout=target.probe_timeout
    )
    evidence.json("convergence", convergence.as_dict())
    newest = database.newest_migration()
    proof = restart.prove(
        before,
        after or service.health(),
        schema_head=schema_head(target.migrations_dir),
        not_before=None if ours or newest is None else newest.applied_at,
    )
    evidence.json("restart", proof.as_dict())
    assert not proof.problems, proof.explain()
    if proof.unreported:
        pytest.skip(f"not verified: /health does not report {', '.join(proof.unreported)}")


@pytest.mark.item("deploy.health")
@pytest.mark.after("test_services_restarted")
def test_health_and_startup_migration_check_clean(target, service, api_logs, evidence):
    """4. Verify app health and startup migration checks: ./scripts/dc logs --tail=200 api."""
    health = service.health()
    evidence.json("/health", dict(health.body))
    assert health.status_code == 200, f"/health answered {health.status_code}"
    lines = api_logs()[-200:]
    startup = logcheck.migration_checks(lines)
    evidence.text("startup migration checks", "\n".join(ln.raw for ln in startup[-5:]))
    if not startup:
        pytest.skip("not verified: no startup migration_check event in the last 200 log lines")
    last = startup[-1].data or {}
    assert logcheck.is_clean_state(last.get("state")), (
        f"the newest startup migration check says {last.get('state')!r}: {last.get('message')}"
    )
    if health.migrations is None:
        pytest.skip("not verified: /health reports no migration state")
    problems = smoke.health_migration_problems(dict(health.body))
    hint = (
        "; the database is ahead of the code the service runs: it was not restarted on the release"
        if problems.get("future")
        else ""
    )
    assert not problems, f"/health reports migrations {problems}{hint} (all: {health.migrations})"
