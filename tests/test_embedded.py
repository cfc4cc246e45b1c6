"""The embedded target: staged at the previous release, torn down without leftovers."""

import os
from pathlib import Path

import pytest
import requests

from releaseops import migrations
from releaseops.pg.scratch import drop_database
from releaseops.rehearsal.embedded import EmbeddedTarget

REPO = Path(__file__).resolve().parents[1]


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_embedded_target_starts_at_the_previous_release_and_leaves_nothing(tmp_path):
    embedded = EmbeddedTarget(REPO, tmp_path / "embedded")
    try:
        env = embedded.start()
        service_pid, cluster_pid = embedded.service.pid, embedded.cluster.pid
        cluster_dir = embedded.cluster.workdir
        assert {
            "DATABASE_URL",
            "API_BASE_URL",
            "API_TOKEN",
            "API_LOG_SOURCE",
            "BACKUP_DIR",
            "RELEASE_RECORD",
            "DRILL_DATABASE_URL",
            "POSTGRES_ADMIN_URL",
        } <= set(env)
        health = requests.get(f"{env['API_BASE_URL']}/health", timeout=5).json()
        assert health["flags"] == {
            "DB_READ_ONLY": False,
            "AI_AUTO_APPLY": True,
            "RETRIEVAL_MODE": "bm25",
        }
        status = migrations.status(embedded.db, embedded.migrations_dir)
        newest = sorted(p.name for p in embedded.migrations_dir.glob("*.sql"))[-1]
        assert status.pending == [newest]  # the release being shipped
    finally:
        embedded.stop()
    assert gone(service_pid) and gone(cluster_pid)
    assert not cluster_dir.exists()


def test_embedded_target_is_torn_down_when_startup_fails(tmp_path, monkeypatch):
    embedded = EmbeddedTarget(REPO, tmp_path / "embedded")
    started = {}

    def fail_after_the_cluster_started():
        started["workdir"], started["pid"] = embedded.cluster.workdir, embedded.cluster.pid
        raise OSError("disk full")

    monkeypatch.setattr(embedded, "_write_record", fail_after_the_cluster_started)
    with pytest.raises(OSError, match="disk full"):
        embedded.start()
    assert not started["workdir"].exists()
    assert gone(started["pid"])
    assert embedded.cluster is None and embedded.service is None


def test_a_target_started_from_a_snapshot_is_in_the_kept_state_and_cannot_harm_it(
    pg_cluster, tmp_path
):
    builder = EmbeddedTarget(REPO, tmp_path / "builder", cluster=pg_cluster, dbname="snap_src")
    builder.start()
    try:
        builder.ensure_deployed()
        kept = builder.snapshot("snap_deployed")
    finally:
        builder.stop()
    copy = EmbeddedTarget(REPO, tmp_path / "copy", cluster=pg_cluster, workers=1)
    try:
        env = copy.start(snapshot=kept)
        # The kept state: same database name and release, migrated, on the release's code.
        assert (copy.db.dbname, copy.release_id) == ("snap_src", builder.release_id)
        assert migrations.status(copy.db, copy.migrations_dir).is_clean
        health = requests.get(f"{env['API_BASE_URL']}/health", timeout=5).json()
        assert health["migrations"]["clean"] and health["migrations"]["pending"] == 0
        assert copy.deployed_at == builder.deployed_at and copy.predeploy_backup is not None
        # Its own copies: breaking the copy's dump leaves the snapshot's intact.
        dump = copy.predeploy_backup.path
        assert dump.parent == copy.backup_dir
        kept_dump = kept.files / "backups" / dump.name
        dump.write_bytes(b"broken")
        assert kept_dump.read_bytes() != b"broken" and kept_dump.stat().st_size > 1000
    finally:
        copy.stop()
        drop_database(pg_cluster.url, "snap_deployed")


def test_a_target_started_without_its_service_starts_it_for_the_slo_baseline(tmp_path, pg_cluster):
    from releaseops.service import slo

    target = EmbeddedTarget(
        REPO, tmp_path / "deferred", cluster=pg_cluster, dbname="deferred_src", workers=1
    )
    try:
        env = target.start(serve=False)
        assert target.service.pid is None  # set up (its URL is known), not started
        assert env["API_BASE_URL"] == target.service.base_url
        target.ensure_slo_baseline()  # the baseline's traffic needs the previous release
        assert target.service.pid is not None
        assert slo.load_baseline(target.backup_dir, target.release_id) is not None
        pid = target.service.pid
        target.ensure_slo_baseline()  # recorded already: no traffic, no second start
        assert target.service.pid == pid
    finally:
        target.stop()
