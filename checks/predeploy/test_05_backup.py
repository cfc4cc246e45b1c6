"""Pre-deploy gate: the pre-deploy backup (checklist sections 1 and 4)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import manifest
from releaseops.gate import runfolder
from releaseops.runbook.deployment import run_command

pytestmark = pytest.mark.order(50)

BACKUP = 'python scripts/backup_postgres.py --db "$DATABASE_URL" --out-dir "$BACKUP_DIR" --json'


@pytest.fixture(scope="module")
def taken(target):
    return {}


@pytest.mark.item("pre.backup")
@pytest.mark.destructive
def test_backup_created(target, taken, evidence):
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
def test_backup_path_and_release_timestamp_recorded(taken, release_record, run_folder, evidence):
    """Record backup file path and release timestamp."""
    recorded = {
        "release_id": release_record.release_id,
        "backup_file": taken.get("path"),
        "sha256": taken.get("sha256"),
        "release_timestamp": datetime.now(UTC).isoformat(),
    }
    missing = [k for k, v in recorded.items() if not v]
    assert not missing, (
        f"could not record {', '.join(missing)}: backup_postgres.py --json reported no "
        f"{', '.join(missing)} for the backup it took, so the release cannot name its rollback file"
    )
    on_disk = manifest.load(Path(recorded["backup_file"])).sha256
    assert on_disk == recorded["sha256"], (
        f"the backup reported sha256 {recorded['sha256']}, its manifest says {on_disk}"
    )
    facts = runfolder.write_release_facts(run_folder, recorded)
    evidence.file("release facts", facts, **recorded)


@pytest.mark.item("nogo.rollback_candidate")
@pytest.mark.after("test_backup_verified")
def test_rollback_candidate_identified(target, db, taken, evidence):
    """Rollback backup candidate can be identified: the newest verified backup of the database."""
    candidate = backup.rollback_candidate(target.backup_dir, db.dbname)
    evidence.json("rollback candidate", candidate.as_dict())
    other = str(candidate.path) != taken["path"]
    assert not other, (
        f"the newest verified backup is {candidate.path}, not the one just taken "
        f"({taken['path']}): a rollback would restore that file instead. Move it out of "
        f"{target.backup_dir} (or fix the clock that dated it {candidate.created_at.isoformat()}) "
        f"so the pre-deploy backup is the rollback candidate"
    )
