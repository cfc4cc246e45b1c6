"""Rollback procedure (checklist section 6), steps 2-6: select, restore, verify, re-sync."""

import pytest

from releaseops import dburl, fts, pg
from releaseops.pg import identity
from releaseops.runbook import custody, steps

pytestmark = pytest.mark.order(420)


@pytest.fixture(scope="module")
def state():
    return {}


@pytest.mark.item("rb.libpq_url")
def test_libpq_url_converted(target, db, database, evidence):
    """2. Convert SQLAlchemy URI for libpq CLI tools: libpq itself reaches the target with it."""
    raw = target.value("database_url") or ""
    libpq = dburl.to_libpq(raw)
    reached = identity.probe_conninfo(libpq)
    expected = database.identity()
    evidence.json(
        "urls",
        {
            "DATABASE_URL": dburl.mask(raw),
            "LIBPQ_DATABASE_URL": dburl.mask(libpq),
            "reached": reached.as_dict(),
            "target": expected.as_dict(),
        },
    )
    assert (reached.system_identifier, reached.dbname) == (
        expected.system_identifier,
        expected.dbname,
    ), (
        f"libpq reaches database {reached.dbname} on server {reached.system_identifier} with "
        f"the converted URL, not {expected.dbname} on {expected.system_identifier}"
    )


@pytest.mark.item("rb.select_dump", "nogo.rollback_candidate")
def test_restore_target_dump_selected_and_verified(rollback_selection, state, evidence):
    """3. Select restore target dump and verify file exists: the known-good dump of this database."""
    evidence.json("selection", rollback_selection.as_dict())
    state["candidate"] = rollback_selection.backup


@pytest.mark.item("rb.restore")
@pytest.mark.destructive
@pytest.mark.after("test_restore_target_dump_selected_and_verified")
def test_database_restored(target, db, embedded_target, state, evidence):
    """4. Restore database (pg_restore --clean --if-exists --no-owner --no-privileges)."""
    refusal = steps.execution_refusal(target, destructive=True)
    if refusal:
        pytest.skip(refusal)
    report = steps.restore(target, state["candidate"].path)
    if embedded_target is not None:
        embedded_target.rolled_back_from = state["candidate"]
    evidence.json("restore", report.as_dict())


# Steps 5 and 6 need the selected dump, not this run's restore: without --execute they verify a
# database that was restored by hand.
@pytest.mark.item("rb.verify_migrations", "nogo.migration")
@pytest.mark.after("test_restore_target_dump_selected_and_verified")
def test_migration_state_matches_dump(db, state, evidence):
    """5. Verify migration state after restore."""
    listing = pg.psql(
        db, "SELECT version, applied_at FROM schema_migrations ORDER BY applied_at DESC LIMIT 20"
    )
    evidence.text("schema_migrations", listing)
    difference = custody.compare_with_dump(db, state["candidate"].path, content=False)
    evidence.json("schema_migrations vs the dump", difference.migrations)
    assert not difference.migrations, difference.explain()


@pytest.mark.item("rb.fts")
@pytest.mark.after("test_restore_target_dump_selected_and_verified")
def test_fts_resynced(target, db, evidence):
    """6. Re-sync FTS metadata."""
    if steps.execution_refusal(target) is None:
        synced = steps.sync_fts(target)
        evidence.text(synced.command, synced.output)
        assert synced.ok, synced.explain()
    result = fts.check(db, target.fts_spec)
    evidence.json("fts check", result.as_dict())
    assert result.is_clean, result.explain()
