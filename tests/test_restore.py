"""Restore: confirmation, version checks, verification first, errors ignored are failures."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from releaseops import backup, pg
from releaseops.backup import drill, restore
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    ArchiveVersionUnsupported,
    BackupNotFound,
    DumpFromNewerServer,
    DumpNotVerified,
    RestoreFailed,
    RestoreNotConfirmed,
    ToolVersionTooOld,
)
from releaseops.pg.scratch import ScratchDatabase


def populate(db: DatabaseUrl) -> None:
    with db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, checksum text, "
            "applied_at timestamptz DEFAULT now(), file_name text, execution_ms int)"
        )
        conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES ('0001', 'aaa')")
        conn.execute("CREATE TABLE questions (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO questions SELECT g, md5(g::text) FROM generate_series(1, 300) g")


@pytest.fixture
def dump(fresh_db: DatabaseUrl, tmp_path: Path) -> Path:
    populate(fresh_db)
    return backup.create(fresh_db, tmp_path / "backups").path


@pytest.fixture
def target(pg_cluster):
    with ScratchDatabase(pg_cluster.url) as url:
        yield url


def test_round_trip_restores_an_equal_copy(fresh_db, dump, target):
    report = restore.restore(target, dump, confirm_db=target.dbname)
    assert drill.compare(fresh_db, target).is_equal
    assert report.tables_restored == 2
    assert report.duration_s >= report.pg_restore_s > 0
    assert report.verification.is_verified
    assert report.lines()[0] == f"restored {dump} into {target.masked()}"
    assert target.password not in json.dumps(report.as_dict())


def test_restore_over_existing_data_replaces_it(fresh_db, dump, target):
    restore.restore(target, dump, confirm_db=target.dbname)
    with target.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM questions WHERE id < 10")
    restore.restore(target, dump, confirm_db=target.dbname, jobs=2)
    assert drill.compare(fresh_db, target).is_equal


@pytest.mark.parametrize("confirm", ["", "postgres", "EXAM"])
def test_restore_refuses_without_matching_confirmation(dump, target, confirm):
    with pytest.raises(RestoreNotConfirmed, match=f"Pass --confirm-db {target.dbname}"):
        restore.restore(target, dump, confirm_db=confirm)


def test_restore_refuses_a_truncated_dump_before_touching_the_target(dump, target):
    dump.write_bytes(dump.read_bytes()[:-200])
    with pytest.raises(DumpNotVerified, match="size check failed"):
        restore.restore(target, dump, confirm_db=target.dbname)
    with target.connect() as conn:
        assert conn.execute("SELECT to_regclass('questions')").fetchone() == (None,)


def test_restore_refuses_a_missing_dump(target, tmp_path):
    with pytest.raises(BackupNotFound, match="does not exist"):
        restore.restore(target, tmp_path / "nope.dump", confirm_db=target.dbname)


def test_restore_refuses_a_file_that_is_not_an_archive(target, tmp_path):
    plain = tmp_path / "plain.dump"
    plain.write_text("CREATE TABLE x ();\n")
    with pytest.raises(DumpNotVerified, match="no PGDMP header"):
        restore.restore(target, plain, confirm_db=target.dbname)


def test_archive_newer_than_local_pg_restore_is_refused(target, tmp_path):
    future = tmp_path / "future.dump"
    future.write_bytes(b"PGDMP\x01\x63\x00" + bytes(64))
    with pytest.raises(ArchiveVersionUnsupported, match=r"archive version 1\.99-0, but .* reads"):
        restore.restore(target, future, confirm_db=target.dbname)


def test_archive_header_of_our_dump_is_readable_by_our_pg_restore(dump):
    header = restore.read_header(dump)
    assert header is not None
    assert (header.major, header.minor) <= restore.newest_readable(pg.find("pg_restore").major)


def test_dump_from_a_newer_server_major_is_refused(dump, target):
    sidecar = dump.with_name(dump.name + ".manifest.json")
    data = json.loads(sidecar.read_text())
    data["server_version"] = "99.1"
    sidecar.write_text(json.dumps(data))
    with pytest.raises(DumpFromNewerServer, match="taken from PostgreSQL 99"):
        restore.restore(target, dump, confirm_db=target.dbname)


def test_pg_restore_older_than_the_server_is_refused(dump, target, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "pg_restore"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "pg_restore (PostgreSQL) 9.6.0"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PG_BINDIR", str(fake.parent))
    with pytest.raises(ToolVersionTooOld, match="is PostgreSQL 9, but the server is"):
        restore.restore(target, dump, confirm_db=target.dbname)


def test_errors_ignored_on_restore_are_a_failure(dump, target):
    restore.restore(target, dump, confirm_db=target.dbname)
    with pytest.raises(RestoreFailed, match=r"\d+ errors ignored on restore") as info:
        restore.restore(target, dump, confirm_db=target.dbname, clean=False)
    assert target.password not in str(info.value)
