"""The embedded target: staged at the previous release, torn down without leftovers."""

import os
from pathlib import Path

import pytest
import requests

from releaseops import migrations
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
