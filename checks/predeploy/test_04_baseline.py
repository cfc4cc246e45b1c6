"""Pre-deploy gate: repository baseline and migration state (checklist sections 1, 4, 7)."""

import json

import pytest

from releaseops import migrations
from releaseops.migrations import lint
from releaseops.runbook.deployment import run_command

pytestmark = pytest.mark.order(40)

PREFLIGHT = (
    'python scripts/verify_repo.py --ops-preflight --db "$DATABASE_URL" '
    '--migrations-dir "$MIGRATIONS_DIR" --json'
)


@pytest.fixture(scope="module")
def preflight_run(target, db):
    # The scripts default to the repository's migrations; the checks look at the target's.
    proc = run_command(
        target,
        PREFLIGHT,
        extra_env={
            "MIGRATIONS_DIR": str(target.migrations_dir),
            "BACKUP_DIR": str(target.backup_dir),
        },
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = None
    return proc, report


@pytest.mark.item("pre.baseline")
def test_repository_baseline_checks(preflight_run, evidence):
    """Run repository baseline checks: python scripts/verify_repo.py --ops-preflight"""
    proc, report = preflight_run
    evidence.json("preflight", report if report is not None else {"stdout": proc.stdout})
    evidence.text("stderr", proc.stderr)
    assert report is not None, (
        f"verify_repo.py printed no JSON (exit {proc.returncode}): {proc.stderr.strip()[-400:]}"
    )
    failed = [f"{r['name']}: {r['reason']}" for r in report["results"] if r["status"] == "FAIL"]
    assert proc.returncode == 0 and not failed, "preflight FAIL: " + "; ".join(failed)


@pytest.fixture(scope="module")
def lint_report(db, target):
    pending = migrations.status(db, target.migrations_dir).pending
    return lint.lint(target.migrations_dir, pending=pending)


@pytest.mark.item("dc.location")
def test_schema_changes_in_migration_files(lint_report, evidence):
    """Keep schema changes in migrations/postgres/*.sql (named, numbered, parsable, annotated)."""
    evidence.json("lint", lint_report.as_dict())
    failures = [f.line_text() for f in lint_report.failures() if f.rule != "split-unit"]
    assert not failures, "; ".join(failures)


@pytest.mark.item("dc.same_unit")
def test_related_index_changes_in_same_unit(lint_report, evidence):
    """Include related index/constraint changes in the same migration unit."""
    split = [f.line_text() for f in lint_report.findings if f.rule == "split-unit"]
    evidence.json("split units", split)
    assert not split, "; ".join(split)


@pytest.mark.item("nogo.migration")
def test_no_migration_conflicts_before_deploy(db, target, evidence):
    """Migration state reports no checksum/version mismatch (pending files are the release's)."""
    status = migrations.status(db, target.migrations_dir)
    evidence.json("migration status", status.as_dict())
    assert not status.has_conflicts and not status.out_of_order, status.explain()
