"""Rollback completeness (checklist section 5): each item proven, not just asserted."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops import backup, fts
from releaseops.backup.manifest import qualified
from releaseops.runbook import custody
from releaseops.service import http, smoke

MIGRATIONS_TABLE = qualified("public", "schema_migrations")

pytestmark = pytest.mark.order(510)


def _dump(target, release_record):
    rollback = release_record.rollback
    assert rollback is not None and rollback.backup_file, (
        f"{release_record.path} records no [rollback] backup_file"
    )
    path = Path(rollback.backup_file)
    return path if path.is_absolute() else target.repo_root / path


@pytest.mark.item("rbc.trigger")
def test_trigger_and_incident_time_recorded(release_record, evidence):
    """Trigger condition and incident timestamp recorded."""
    rollback = release_record.rollback
    evidence.json("rollback", release_record.as_dict().get("rollback"))
    assert rollback is not None and rollback.trigger, (
        f"{release_record.path}: [rollback] trigger is not recorded"
    )
    assert rollback.incident_at is not None, f"{release_record.path}: incident_at is not recorded"
    assert rollback.incident_at <= datetime.now(UTC), "incident_at is in the future"


@pytest.mark.item("rbc.frozen")
def test_writes_blocked_and_auto_actions_disabled(api, api_url, evidence):
    """Writes blocked (DB_READ_ONLY=1) and high-risk auto actions disabled (AI_AUTO_APPLY=0)."""
    write = smoke.write_probe(api, api_url)
    evidence.json("write attempt", {"status": write.status_code, "body": write.text[:300]})
    assert smoke.writes_blocked(write), (
        f"writes are not blocked: POST {smoke.MANAGE} -> {write.status_code} "
        f"{write.text[:200]!r}; expected 503 READ_ONLY (DB_READ_ONLY=1)"
    )
    listing = http.expect_json(http.expect_status(api.get(f"{api_url}{smoke.MANAGE}"), 200))
    first = listing["items"][0]
    preview = http.expect_json(
        http.expect_status(api.get(f"{api_url}/api/ai/classify/{first['id']}/preview"), 200)
    )
    evidence.json("classification preview", preview)
    assert preview.get("would_apply") is False, (
        f"AI auto-apply is still active: the service would apply {preview.get('label')!r}"
    )


@pytest.mark.item("rbc.restored")
def test_restored_from_known_good_dump(target, db, release_record, evidence):
    """DB restore performed from known-good dump."""
    dump = _dump(target, release_record)
    result = backup.verify(dump)
    evidence.json("verification", result.as_dict())
    assert result.is_verified, result.explain()
    recorded = release_record.rollback.backup_sha256
    assert recorded is None or recorded == result.as_dict().get("sha256", recorded), (
        f"the dump's checksum does not match the one recorded in {release_record.path}"
    )
    # schema_migrations is the next item's business: its rows are compared version by version.
    difference = custody.compare_with_dump(db, dump, ignore_tables=(MIGRATIONS_TABLE,))
    evidence.json(
        "database vs dump", {"equal": difference.is_equal, "differences": difference.explain()}
    )
    assert not difference.row_counts, (
        f"the database does not hold {dump.name}: {difference.explain()}"
    )


@pytest.mark.item("rbc.migrations")
def test_schema_migrations_verified_after_restore(target, db, release_record, evidence):
    """schema_migrations state verified after restore."""
    difference = custody.compare_with_dump(db, _dump(target, release_record))
    evidence.json("schema_migrations vs dump", difference.migrations)
    assert not difference.migrations, difference.explain()


@pytest.mark.item("rbc.fts")
def test_fts_in_sync_after_restore(target, db, evidence):
    """FTS re-synced after restore."""
    result = fts.check(db, target.fts_spec)
    evidence.json("fts check", result.as_dict())
    assert result.is_clean, result.explain()


@pytest.mark.item("rbc.smoke", "nogo.smoke")
def test_api_and_ui_smoke_on_rolled_back_state(api, api_url, evidence):
    """API/UI smoke checks pass on rolled-back state."""
    health = http.expect_json(http.expect_status(api.get(f"{api_url}/health"), 200))
    page = http.expect_status(api.get(f"{api_url}/manage"), 200)
    listing = http.expect_json(http.expect_status(api.get(f"{api_url}{smoke.MANAGE}"), 200))
    search = http.expect_json(
        http.expect_status(
            api.get(f"{api_url}/api/retrieval/search", params={"q": "photosynthesis"}), 200
        )
    )
    evidence.json(
        "smoke",
        {
            "health": health,
            "questions": listing.get("total"),
            "search results": len(search.get("results", [])),
        },
    )
    assert "<html" in page.text.lower(), "/manage did not render a page"
    assert listing.get("items"), "no questions after the rollback"


@pytest.mark.item("rbc.status")
def test_release_status_rolled_back_with_evidence(target, release_record, evidence):
    """Release status communicated (rolled back) with backup file and verification evidence."""
    rollback = release_record.rollback
    evidence.json("rollback", release_record.as_dict().get("rollback"))
    assert rollback is not None and rollback.status == "rolled back", (
        f"{release_record.path}: rollback status is "
        f"{rollback.status if rollback else None!r}, expected 'rolled back'"
    )
    dump = _dump(target, release_record)
    assert dump.exists(), f"the recorded backup file {dump} does not exist"
    assert (dump.parent / (dump.name + ".manifest.json")).exists() or backup.verify(dump), (
        f"no verification evidence (manifest) beside {dump}"
    )
