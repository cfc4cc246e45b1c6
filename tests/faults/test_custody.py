"""Chain of custody: the dump the gate recorded is the dump a rollback restores.

A second, independent server ("staging") holds a database of the same name; a newer dump of
it lands in the production BACKUP_DIR. Nothing may offer or restore it without an explicit
cross-server choice, and the rollback restores the dump the gate recorded, found by sha256.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from releaseops import backup
from releaseops.backup import fingerprint, fingerprint_diff
from releaseops.pg.scratch import create_database, drop_database
from releaseops.rehearsal.cluster import LocalCluster
from releaseops.runbook import custody
from tests.faults.conftest import REPO

SELECT = "rollback.restore_target_dump_selected_and_verified"
# The gate's dump is recorded before the foreign one is taken: every test starts deployed.
pytestmark = pytest.mark.staged("deployed")


@pytest.fixture(scope="module")
def staging() -> Iterator[LocalCluster]:
    cluster = LocalCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def foreign_dump(staged, staging) -> Iterator[backup.Backup]:
    """A newer dump of a same-named database on another server, in the target's BACKUP_DIR."""
    staged.target.ensure_deployed()  # the gate's dump is recorded before this one is taken
    twin = create_database(staging.url, staged.db.dbname)
    try:
        with twin.connect(autocommit=True) as conn:
            conn.execute("CREATE TABLE questions (id int PRIMARY KEY, stem text)")
            conn.execute("INSERT INTO questions VALUES (1, 'staging only')")
        yield backup.create(twin, staged.target.backup_dir)
    finally:
        drop_database(staging.url, twin.dbname)


def _script(name: str, staged, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": staged.db.sqlalchemy(with_password=True)}
    return subprocess.run(
        [sys.executable, f"scripts/{name}", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_rollback_candidate_is_never_a_dump_of_another_server(staged, foreign_dump):
    newest = backup.list_backups(staged.target.backup_dir, staged.db.dbname)[0]
    assert newest.path == foreign_dump.path  # the foreign dump really is the newest
    proc = _script(
        "backup_postgres.py",
        staged,
        "--rollback-candidate",
        "--out-dir",
        str(staged.target.backup_dir),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["path"] == str(staged.target.ensure_backup().path)


def test_restoring_a_dump_of_another_server_is_refused_and_changes_nothing(staged, foreign_dump):
    before = fingerprint.take(staged.db)
    args = ("--dump", str(foreign_dump.path), "--confirm-db", staged.db.dbname)
    refused = _script("restore_postgres.py", staged, *args)
    assert refused.returncode == 29, refused.stderr
    assert (
        "it was taken on server" in refused.stderr and "but the target is server" in refused.stderr
    )
    after = fingerprint.take(staged.db)
    assert fingerprint_diff.diff(before, after).is_equal


def test_the_rollback_restores_the_recorded_dump_not_the_newer_foreign_one(
    staged, deployment, foreign_dump
):
    recorded = custody.load(staged.target.backup_dir, staged.target.release_id)
    assert recorded is not None and recorded.sha256 != foreign_dump.sha256
    run = staged.run("rollback", *staged.execute())
    assert run.decision == "GO", run.describe()
    (selection,) = [
        e["content"] for c in run.checks if c["check_id"] == SELECT for e in c["evidence"]
    ]
    assert selection["dump"]["sha256"] == recorded.sha256
    assert "recorded by the pre-deploy gate" in selection["chosen_by"]
    staged.edit_record(
        rollback__trigger="error rate above budget after the release",
        rollback__incident_at=datetime.now(UTC).replace(microsecond=0),
        rollback__status="rolled back",
        rollback__backup_file=selection["dump"]["path"],
        rollback__backup_sha256=recorded.sha256,
    )
    after = staged.run("postrollback")
    assert after.decision == "GO", after.describe()


def test_a_rollback_told_to_use_the_foreign_dump_is_refused(staged, deployment, foreign_dump):
    staged.edit_record(rollback__backup_file=str(foreign_dump.path))
    run = staged.run("rollback", *staged.execute())
    assert SELECT in run.failed, run.describe()
    message = run.message(SELECT)
    assert "it was taken on server" in message and "--allow-cross-server" in message
    assert run.decision == "NO-GO"
