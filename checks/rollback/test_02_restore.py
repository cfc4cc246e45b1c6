"""Rollback procedure (checklist section 6), steps 2-6: select, restore, verify, re-sync."""

import pytest

from releaseops import backup, dburl, fts, pg
from releaseops.backup import restore
from releaseops.runbook import custody, steps

pytestmark = pytest.mark.order(420)


@pytest.fixture(scope="module")
def state():
    return {}


@pytest.mark.item("rb.libpq_url")
def test_libpq_url_converted(target, db, evidence):
    """2. Convert SQLAlchemy URI for libpq CLI tools (pg_restore, psql)."""
    raw = target.value("database_url") or ""
    libpq = dburl.to_libpq(raw)
    evidence.json(
        "urls", {"DATABASE_URL": dburl.mask(raw), "LIBPQ_DATABASE_URL": dburl.mask(libpq)}
    )
    assert libpq.startswith("postgresql://"), f"not a libpq URL: {dburl.mask(libpq)}"
    assert pg.psql(db, "SELECT 1").strip() == "1", "psql could not query the target"


@pytest.mark.item("rb.select_dump", "nogo.rollback_candidate")
def test_restore_target_dump_selected_and_verified(target, db, embedded_target, state, evidence):
    """3. Select restore target dump and verify file exists."""
    record = None
    if target.release_record is not None:
        from releaseops.release import record as release_record

        record = release_record.load(target.release_record)
    candidate = custody.select_candidate(
        target, db, record, embedded_target.deployed_at if embedded_target else None
    )
    result = backup.verify(candidate.path)
    evidence.json("candidate", candidate.as_dict())
    evidence.json("verification", result.as_dict())
    assert result.is_verified, result.explain()
    state["candidate"] = candidate


@pytest.mark.item("rb.restore")
@pytest.mark.destructive
@pytest.mark.after("test_restore_target_dump_selected_and_verified")
def test_database_restored(target, db, embedded_target, state, evidence):
    """4. Restore database (pg_restore --clean --if-exists --no-owner --no-privileges)."""
    refusal = steps.execution_refusal(target, destructive=True)
    if refusal:
        pytest.skip(refusal)
    report = restore.restore(db, state["candidate"].path, confirm_db=db.dbname)
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
    difference = custody.compare_with_dump(db, state["candidate"].path)
    assert not difference.migrations, difference.explain()


@pytest.mark.item("rb.fts")
@pytest.mark.after("test_restore_target_dump_selected_and_verified")
def test_fts_resynced(target, db, evidence):
    """6. Re-sync FTS metadata."""
    refusal = steps.execution_refusal(target)
    if refusal is None:
        evidence.json("sync", fts.sync(db, target.fts_spec).as_dict())
    result = fts.check(db, target.fts_spec)
    evidence.json("fts check", result.as_dict())
    assert result.is_clean, result.explain()
