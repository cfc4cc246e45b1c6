"""Pre-deploy gate: the pre-deploy backup (checklist sections 1 and 4)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import manifest
from releaseops.gate import runfolder
from releaseops.runbook import custody
from releaseops.runbook.deployment import run_command

pytestmark = pytest.mark.order(50)

BACKUP = 'python scripts/backup_postgres.py --db "$DATABASE_URL" --out-dir "$BACKUP_DIR" --json'


@pytest.fixture(scope="module")
def taken(target):
    return {}


@pytest.mark.item("pre.backup")
@pytest.mark.destructive
def test_backup_created(target, db, taken, evidence):
    """Create pre-deploy DB backup: python scripts/backup_postgres.py --db "$DATABASE_URL"."""
    proc = run_command(target, BACKUP, extra_env={"BACKUP_DIR": str(target.backup_dir)})
    evidence.text("backup_postgres.py output", proc.stdout + proc.stderr)
    assert proc.returncode == 0, (
        f"backup_postgres.py exited {proc.returncode}: {proc.stderr.strip()[-400:]}"
    )
    taken.update(json.loads(proc.stdout))


@pytest.mark.item("pre.backup", "nogo.backup")
@pytest.mark.after("test_backup_created")
def test_backup_verified(taken, evidence):
    """The backup file exists, its checksum matches, and a full read-through succeeds."""
    result = backup.verify(Path(taken["path"]))
    evidence.json("verification", result.as_dict())
    assert result.is_verified, result.explain()


@pytest.mark.item("pre.record")
@pytest.mark.after("test_backup_created", "test_backup_verified")
def test_backup_path_and_release_timestamp_recorded(
    target, taken, release_record, run_folder, evidence
):
    """Record backup file path and release timestamp: the release's known-good dump."""
    path = taken.get("path")
    assert path and taken.get("sha256"), (
        "backup_postgres.py --json reported no path or sha256 for the backup it took, so the "
        "release cannot name its rollback file"
    )
    found = manifest.load(Path(path))
    assert found.sha256 == taken["sha256"], (
        f"the backup reported sha256 {taken['sha256']}, its manifest says {found.sha256}"
    )
    assert found.system_identifier, (
        f"{Path(path).name}'s manifest records no server identity: a rollback could not prove "
        f"the dump is of this server ({found.system_identifier_note or 'no note'})"
    )
    dump = backup.Backup.from_manifest(Path(path), found)
    known = custody.record(target.backup_dir, release_record.release_id, dump, run_folder.name)
    facts = {**known.as_dict(), "release_timestamp": datetime.now(UTC).isoformat()}
    written = runfolder.write_release_facts(run_folder, facts)
    evidence.json("release facts", {"file": str(written), **facts})
    evidence.text(
        "recorded for the rollback", str(custody.facts_path(target.backup_dir, known.release_id))
    )


@pytest.mark.item("nogo.rollback_candidate")
@pytest.mark.after("test_backup_path_and_release_timestamp_recorded")
def test_rollback_candidate_identified(target, database, release_record, taken, evidence):
    """Rollback backup candidate can be identified: the recorded dump, of this very server."""
    selection = custody.select(target.backup_dir, release_record.release_id, database.identity())
    evidence.json("rollback candidate", selection.as_dict())
    assert str(selection.backup.path) == taken["path"], (
        f"a rollback would restore {selection.backup.path}, not the backup just taken "
        f"({taken['path']})"
    )
    newest = backup.rollback_candidate(
        target.backup_dir, database.identity().dbname, server=database.identity().system_identifier
    )
    evidence.json("newest verified dump of this server", newest.as_dict())
