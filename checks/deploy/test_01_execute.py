"""Deploy execution (checklist section 2), in order. Against env, steps run only with --execute."""

import shlex

import pytest

from releaseops import fts, http, logcheck, migrations, rollout, smoke
from releaseops.fts_spec import service_spec

pytestmark = pytest.mark.order(210)

MIGRATE = 'python scripts/run_postgres_migrations.py --db "$DATABASE_URL"'
SYNC = 'python scripts/init_fts.py --db "$DATABASE_URL" --sync'


def _execute(target, command, evidence):
    """Run `command` when the target may be changed; returns why it was not run, else None."""
    refusal = rollout.execution_refusal(target)
    if refusal:
        evidence.text("executed", f"no: {refusal}; verifying the resulting state only")
        return refusal.removeprefix("not verified: ")
    proc = rollout.run_script(target, command)
    evidence.text(command, proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{command} exited {proc.returncode}: {proc.stderr[-600:]}"
    return None


def _migrate_command(target):
    """The checklist command, applying from the directory this check verifies (MIGRATIONS_DIR)."""
    if target.migrations_dir.resolve() == migrations.DEFAULT_DIR.resolve():
        return MIGRATE
    return f"{MIGRATE} --dir {shlex.quote(str(target.migrations_dir))}"


@pytest.mark.item("deploy.migrate", "nogo.migration")
@pytest.mark.destructive
def test_migrations_applied(target, db, evidence):
    """1. Apply Postgres migrations: python scripts/run_postgres_migrations.py --db "$DATABASE_URL"."""
    skipped = _execute(target, _migrate_command(target), evidence)
    status = migrations.status(db, target.migrations_dir)
    evidence.json("migration status", status.as_dict())
    assert status.is_clean, status.explain() + (
        f" (migrations were not run: {skipped})" if skipped else ""
    )


@pytest.mark.item("deploy.fts")
@pytest.mark.after("test_migrations_applied")
def test_fts_synced(target, db, evidence):
    """2. Sync FTS metadata: python scripts/init_fts.py --db "$DATABASE_URL" --sync."""
    skipped = _execute(target, SYNC, evidence)
    result = fts.check(db, service_spec())
    evidence.json("fts check", result.as_dict())
    assert result.is_clean, result.explain() + (
        f" (FTS sync was not run: {skipped})" if skipped else ""
    )


@pytest.mark.item("deploy.restart", "nogo.api_start")
@pytest.mark.after("test_migrations_applied", "test_fts_synced")
def test_services_restarted(target, embedded_target, api_url, evidence):
    """3. Deploy/restart services: ./scripts/dc up -d --build."""
    refusal = rollout.execution_refusal(target)
    if refusal is None:
        evidence.text(
            "restart", rollout.restart(target, embedded_target, {}, release=True, step="deploy")
        )
    response, convergence = http.wait_for_health(api_url, timeout=target.probe_timeout)
    evidence.json("convergence", convergence.as_dict())
    assert convergence.ok, f"the service did not become healthy: {convergence.explain()}"


@pytest.mark.item("deploy.health")
@pytest.mark.after("test_services_restarted")
def test_health_and_startup_migration_check_clean(target, api, api_url, api_logs, evidence):
    """4. Verify app health and startup migration checks: ./scripts/dc logs --tail=200 api."""
    body = http.expect_json(http.expect_status(api.get(f"{api_url}/health"), 200))
    evidence.json("/health", body)
    lines = api_logs()[-200:]
    startup = logcheck.migration_checks(lines)
    evidence.text("startup migration checks", "\n".join(ln.raw for ln in startup[-5:]))
    assert startup, "no startup migration_check event in the last 200 log lines"
    last = startup[-1].data or {}
    assert logcheck.is_clean_state(last.get("state")), (
        f"the newest startup migration check says {last.get('state')!r}: {last.get('message')}"
    )
    migration_state = body.get("migrations", {})
    problems = smoke.health_migration_problems(body)
    hint = (
        "; the database is ahead of the code the service runs: it was not restarted on the release"
        if problems.get("future")
        else ""
    )
    assert not problems, f"/health reports migrations {problems}{hint} (all: {migration_state})"
