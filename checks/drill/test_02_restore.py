"""Restore drill, steps 3-5: backup, restore into the drill database, validate."""

import pytest

from releaseops import backup, fts, migrations, pg
from releaseops.backup import drill
from releaseops.runbook import steps
from releaseops.runbook.deployment import run_command

pytestmark = pytest.mark.order(120)


@pytest.fixture
def state(drill_state):
    """The drill's own dump and copy, for these steps and the rehearsal (test_03)."""
    return drill_state


@pytest.mark.item("drill.backup")
def test_backup_newest_artifact_listed(target, db, state, evidence):
    """3. Take a backup and capture the newest artifact (pg_restore --list)."""
    taken = backup.create(db, target.backup_dir)
    newest = backup.list_backups(target.backup_dir, db.dbname)[0]
    listing = pg.run("pg_restore", ["--list", str(newest.path)]).stdout
    evidence.json("backup", taken.as_dict())
    evidence.text("pg_restore --list (head)", "\n".join(listing.splitlines()[:60]))
    assert newest.path == taken.path, f"the newest artifact is {newest.path}, not {taken.path}"
    assert "TABLE DATA" in listing, f"pg_restore --list shows no table data in {newest.path}"
    state["dump"] = newest


@pytest.mark.item("drill.restore")
@pytest.mark.destructive
@pytest.mark.after(
    "test_01_prepare.py::test_drill_urls_prepared", "test_backup_newest_artifact_listed"
)
def test_drill_database_recreated_and_restored(target, db, state, evidence):
    """4. Recreate drill DB and restore (restore duration recorded)."""
    refusal = steps.execution_refusal(target, destructive=True, dbname=target.drill_url.dbname)
    if refusal:
        pytest.skip(refusal)
    drill_url = drill.recreate_database(target.admin_url, target.drill_url.dbname, source=db)
    report = drill.restore_into(
        drill_url, state["dump"].path, source=db, allow_cross_server=target.allow_cross_server
    )
    evidence.json("restore", report.as_dict())
    evidence.text("restore time objective", f"{report.duration_s:.2f} s for {report.dump.name}")
    state["drill"] = drill_url


@pytest.mark.item("drill.restore", "drill.schema_migrations")
@pytest.mark.after("test_drill_database_recreated_and_restored")
def test_restored_data_equals_source(state, evidence):
    """The drill copy equals the source as dumped: catalog, sequences, large objects, content."""
    # Against the fingerprint the backup recorded from the very snapshot it dumped: writes the
    # source takes meanwhile are no difference, and the source is not read a second time.
    comparison = drill.compare_with_dump(state["dump"].path, state["drill"])
    evidence.json("comparison", comparison.as_dict())
    if not comparison.is_verified:
        pytest.skip(comparison.explain())
    assert comparison.is_equal, comparison.explain()


@pytest.mark.item("drill.migrations")
@pytest.mark.after("test_drill_database_recreated_and_restored")
def test_migrations_rerun_on_drill(target, state, evidence):
    """5. run_postgres_migrations.py on the drill DB: nothing pending, no mismatch afterwards."""
    url = state["drill"].sqlalchemy(with_password=True)
    proc = run_command(
        target,
        'python scripts/run_postgres_migrations.py --db "$DRILL_DB" --dir "$MIGRATIONS_DIR"',
        extra_env={"DRILL_DB": url, "MIGRATIONS_DIR": str(target.migrations_dir)},
    )
    evidence.text("run_postgres_migrations.py", proc.stdout + proc.stderr)
    assert proc.returncode == 0, (
        f"migrations on the drill DB exited {proc.returncode}: {proc.stderr.strip()[-400:]}"
    )
    status = migrations.status(state["drill"], target.migrations_dir)
    evidence.json("status", status.as_dict())
    assert status.is_clean, status.explain()


@pytest.mark.item("drill.fts")
@pytest.mark.after("test_drill_database_recreated_and_restored")
def test_fts_resynced_on_drill(target, state, evidence):
    """5. init_fts.py --sync on the drill DB; no stale rows afterwards."""
    url = state["drill"].sqlalchemy(with_password=True)
    proc = run_command(
        target, 'python scripts/init_fts.py --db "$DRILL_DB" --sync', extra_env={"DRILL_DB": url}
    )
    evidence.text("init_fts.py --sync", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"init_fts.py exited {proc.returncode}: {proc.stderr[-400:]}"
    result = fts.check(state["drill"], target.fts_spec)
    evidence.json("fts check", result.as_dict())
    assert result.is_clean, result.explain()


@pytest.mark.item("drill.schema_migrations")
@pytest.mark.after("test_migrations_rerun_on_drill")
def test_drill_schema_migrations_listed(state, evidence):
    """5. SELECT version, applied_at FROM schema_migrations ORDER BY applied_at DESC LIMIT 20."""
    out = pg.psql(
        state["drill"],
        "SELECT version, applied_at FROM schema_migrations ORDER BY applied_at DESC LIMIT 20",
    )
    evidence.text("schema_migrations", out)
    assert out.strip(), "schema_migrations is empty on the drill database"
