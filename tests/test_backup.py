"""Backups: streaming dump, manifest, verification, rollback candidate and pruning."""

from __future__ import annotations

import json
import secrets
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import (
    fingerprint,
    fingerprint_diff,
    fingerprint_dump,
    manifest,
    verification,
)
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    BackupExists,
    BackupFailed,
    ConfigurationError,
    NoRollbackCandidate,
)
from releaseops.pg import archive
from releaseops.rehearsal.cluster import free_port

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def at(seconds: int):
    return lambda: T0 + timedelta(seconds=seconds)


def populate(db: DatabaseUrl, *, migrations: bool = True) -> None:
    with db.connect(autocommit=True) as conn:
        if migrations:
            conn.execute(
                "CREATE TABLE schema_migrations (version text PRIMARY KEY, checksum text, "
                "applied_at timestamptz DEFAULT now(), file_name text, execution_ms int)"
            )
            conn.execute(
                "INSERT INTO schema_migrations (version, checksum, file_name) VALUES "
                "('0001', 'aaa', '0001_initial.sql'), ('0002', 'bbb', '0002_questions.sql')"
            )
        conn.execute("CREATE TABLE questions (id int PRIMARY KEY, body text)")
        conn.execute(
            "INSERT INTO questions SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 500) g"
        )


@pytest.fixture
def source(fresh_db: DatabaseUrl) -> DatabaseUrl:
    populate(fresh_db)
    return fresh_db


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backup_is_named_after_database_and_utc_time(source, tmp_path):
    made = backup.create(source, tmp_path / "backups", now=at(0))
    assert made.path == tmp_path / "backups" / f"{source.dbname}_20260102_030405.dump"
    assert made.manifest_path.name == made.path.name + ".manifest.json"
    assert made.created_at == T0
    assert made.verification is not None and made.verification.is_verified


def test_backup_files_are_readable_by_owner_only(source, tmp_path):
    made = backup.create(source, tmp_path / "backups")
    assert mode(tmp_path / "backups") == 0o700
    assert mode(made.path) == 0o600
    assert mode(made.manifest_path) == 0o600


def test_manifest_records_checksum_versions_migrations_and_row_counts(source, tmp_path):
    made = backup.create(source, tmp_path)
    data = json.loads(made.manifest_path.read_text())
    assert data["sha256"] == made.sha256 and data["size"] == made.path.stat().st_size
    assert data["dbname"] == source.dbname
    assert data["server_version"].startswith("1") and data["pg_dump_version"]
    assert data["started_at"] <= data["finished_at"]
    assert data["migrations"] == [
        {"version": "0001", "checksum": "aaa"},
        {"version": "0002", "checksum": "bbb"},
    ]
    assert data["row_counts"] == {"public.questions": 500, "public.schema_migrations": 2}
    assert source.password not in made.manifest_path.read_text()


def test_manifest_records_the_server_identity_and_the_snapshot_time(source, tmp_path):
    made = backup.create(source, tmp_path)
    data = json.loads(made.manifest_path.read_text())
    assert data["manifest_version"] == manifest.MANIFEST_VERSION == 2
    with source.connect() as conn:
        row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
    assert row is not None and data["system_identifier"] == row[0]
    assert data["system_identifier_note"] is None
    assert data["started_at"] <= data["snapshot_at"] <= data["finished_at"]
    assert data["dbname"] == source.dbname and data["server_version"]


def test_manifest_carries_the_fingerprint_of_the_dumped_snapshot(source, tmp_path):
    made = backup.create(source, tmp_path)
    assert made.manifest is not None
    recorded = made.manifest.dump_fingerprint()
    assert recorded is not None
    assert recorded.content["table public.questions"].rows == 500
    assert recorded.row_counts() == made.manifest.row_counts
    assert fingerprint_diff.diff(recorded, fingerprint.take(source)).is_equal
    assert "sequence_values" in recorded.meta


def test_manifest_sequence_values_are_the_ones_the_dump_sets(source, tmp_path):
    # nextval is not transactional: between the snapshot and pg_dump's own read of the sequence
    # it may move. The manifest takes the value from the dump, which is what a restore sets.
    with source.connect(autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE busy_seq")
        conn.execute("SELECT setval('busy_seq', 41)")
    made = backup.create(source, tmp_path)
    assert made.manifest is not None and made.manifest.fingerprint is not None
    listing = archive.read_toc(made.path).entries
    from_dump = fingerprint_dump.sequence_values(made.path, listing)
    assert from_dump[("public", "busy_seq")] == {"last_value": 41, "is_called": True}
    recorded = made.manifest.fingerprint["objects"]["sequence public.busy_seq"]
    assert (recorded["last_value"], recorded["is_called"]) == (41, True)


def test_setval_lines_with_quoted_names_are_read(tmp_path):
    script = (
        'SELECT pg_catalog.setval(\'public."Odd ""seq"""\', 7, false);\n'
        "SELECT pg_catalog.setval('s.plain', -3, true);\n"
        "SELECT pg_catalog.setval('public.\"it''s\"', 1, true);\n"
    )
    assert fingerprint_dump.parse_setvals(script) == {
        ("public", 'Odd "seq"'): {"last_value": 7, "is_called": False},
        ("s", "plain"): {"last_value": -3, "is_called": True},
        ("public", "it's"): {"last_value": 1, "is_called": True},
    }


def test_a_version_1_manifest_is_still_read(source, tmp_path):
    made = backup.create(source, tmp_path)
    data = json.loads(made.manifest_path.read_text())
    for key in ("snapshot_at", "system_identifier", "system_identifier_note", "fingerprint"):
        del data[key]
    data["manifest_version"] = 1
    made.manifest_path.write_text(json.dumps(data))
    old = manifest.load(made.path)
    assert old.manifest_version == 1 and old.fingerprint is None and old.snapshot_at is None
    assert old.dump_fingerprint() is None
    assert backup.verify(made.path).is_verified


def test_a_role_that_may_not_read_the_control_data_records_null_and_says_so(
    pg_cluster, source, tmp_path
):
    role, password = f"backup_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with pg_cluster.url.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    grants = (
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC",
    )
    with source.connect(autocommit=True) as conn:
        for statement in grants:
            conn.execute(statement)
    try:
        url = DatabaseUrl(source.dbname, source.host, source.port, role, password)
        made = backup.create(url, tmp_path)
    finally:
        with source.connect(autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
        with pg_cluster.url.connect(autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
    assert made.manifest is not None and made.manifest.system_identifier is None
    assert "may not call pg_control_system()" in (made.manifest.system_identifier_note or "")
    assert made.manifest.fingerprint is not None


def test_manifest_says_so_when_there_is_no_schema_migrations_table(fresh_db, tmp_path):
    populate(fresh_db, migrations=False)
    made = backup.create(fresh_db, tmp_path)
    data = json.loads(made.manifest_path.read_text())
    assert data["migrations"] == [] and data["migrations_present"] is False
    assert "no schema_migrations table" in data["migrations_note"]
    assert backup.verify(made.path).is_verified


def test_default_compression_is_the_fast_level_and_selectable(source, tmp_path):
    fast = backup.create(source, tmp_path, now=at(0))
    small = backup.create(source, tmp_path, compress=9, now=at(1))
    assert fast.manifest is not None and fast.manifest.compress == 1
    assert small.manifest is not None and small.manifest.compress == 9
    assert small.size < fast.size


def test_fresh_backup_passes_every_check(source, tmp_path):
    result = backup.verify(backup.create(source, tmp_path).path)
    assert result.is_verified, result.explain()
    assert [c.name for c in result.checks] == list(verification.CHECK_NAMES)


def test_flipped_bytes_fail_the_checksum_check(source, tmp_path):
    made = backup.create(source, tmp_path)
    data = bytearray(made.path.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 16):
        data[offset] ^= 0xFF
    made.path.write_bytes(bytes(data))
    result = backup.verify(made.path)
    assert not result.is_verified
    assert "checksum" in [c.name for c in result.failed]
    assert "checksum check failed" in result.explain()
    assert "the bytes changed after the backup was written" in result.explain()


def test_truncated_dump_fails_although_pg_restore_list_still_reads_it(source, tmp_path):
    made = backup.create(source, tmp_path)
    made.path.write_bytes(made.path.read_bytes()[: made.size // 2])
    assert archive.read_toc(made.path).ok  # why --list alone is not enough
    result = backup.verify(made.path)
    failed = {c.name for c in result.failed}
    assert {"size", "checksum", "read_through"} <= failed
    assert "toc" not in failed
    assert "read_through check failed" in result.explain()
    assert "truncated or corrupt" in result.explain()


def test_missing_dump_is_reported_not_raised(tmp_path):
    result = backup.verify(tmp_path / "gone.dump")
    assert not result.is_verified
    assert "present check failed: no such file" in result.explain()


def test_dump_without_manifest_is_not_verified(source, tmp_path):
    made = backup.create(source, tmp_path)
    made.manifest_path.unlink()
    result = backup.verify(made.path)
    assert "manifest check failed: no manifest" in result.explain()
    assert not result.is_verified


def test_backup_against_stopped_server_fails_and_leaves_nothing(tmp_path):
    dead = DatabaseUrl(
        dbname="exam", host="127.0.0.1", port=free_port(), user="u", password="s3cret-pw"
    )
    with pytest.raises(BackupFailed, match=r"backup not taken: cannot connect") as info:
        backup.create(dead, tmp_path / "backups")
    assert "s3cret-pw" not in str(info.value)
    assert list((tmp_path / "backups").iterdir()) == []


def test_backup_with_wrong_password_fails_without_echoing_it(pg_cluster, source, tmp_path):
    wrong = DatabaseUrl(
        dbname=source.dbname,
        host=source.host,
        port=source.port,
        user=source.user,
        password="not-the-password",
    )
    with pytest.raises(BackupFailed, match="password authentication failed") as info:
        backup.create(wrong, tmp_path)
    assert "not-the-password" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_backup_refused_by_pg_dump_leaves_nothing_behind(source, tmp_path):
    role = f"limited_{source.dbname}"
    with source.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'limited-pw-1'")
        conn.execute(f"GRANT SELECT ON questions, schema_migrations TO {role}")
        conn.execute("CREATE TABLE private_notes (x int)")
    limited = DatabaseUrl(
        dbname=source.dbname, host=source.host, port=source.port, user=role, password="limited-pw-1"
    )
    with pytest.raises(BackupFailed, match="permission denied") as info:
        backup.create(limited, tmp_path / "backups")
    assert "limited-pw-1" not in str(info.value)
    assert list((tmp_path / "backups").iterdir()) == []


def test_existing_backup_name_is_never_overwritten(source, tmp_path):
    first = backup.create(source, tmp_path, now=at(0))
    waits = []
    with pytest.raises(BackupExists, match="already exists; nothing was overwritten"):
        backup.create(source, tmp_path, now=at(0), sleep=waits.append)
    assert backup.verify(first.path).is_verified
    assert len(waits) == backup.NAME_ATTEMPTS


def test_a_second_backup_in_the_same_second_takes_the_next_second(source, tmp_path):
    moments = iter([at(0)(), at(1)()])
    first = backup.create(source, tmp_path, now=at(0))
    waits = []
    second = backup.create(source, tmp_path, now=lambda: next(moments), sleep=waits.append)
    assert second.path != first.path
    assert second.path.name.endswith(f"{at(1)():%H%M%S}.dump")
    assert len(waits) == 1 and 0 < waits[0] <= 1.01


def test_directory_format_with_parallel_jobs_is_verified(source, tmp_path):
    made = backup.create(source, tmp_path, format="directory", jobs=2)
    assert made.path.is_dir() and made.path.name.endswith(".dumpdir")
    assert mode(made.path) == 0o700
    assert all(mode(p) == 0o600 for p in made.path.iterdir())
    assert backup.verify(made.path).is_verified


def test_directory_dump_with_a_damaged_file_fails_the_checksum(source, tmp_path):
    made = backup.create(source, tmp_path, format="directory")
    data_file = max(made.path.glob("*.dat.gz"), key=lambda p: p.stat().st_size)
    data_file.write_bytes(data_file.read_bytes()[:-10])
    assert "checksum check failed" in backup.verify(made.path).explain()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"jobs": 2}, "needs --format directory"),
        ({"compress": 10}, "out of range"),
        ({"format": "tar"}, "unknown backup format"),
    ],
)
def test_bad_options_are_refused_before_dumping(source, tmp_path, options, message):
    with pytest.raises(ConfigurationError, match=message):
        backup.create(source, tmp_path / "b", **options)
    assert not (tmp_path / "b").exists()


def test_list_backups_is_newest_first_and_per_database(source, fresh_db, tmp_path):
    older = backup.create(source, tmp_path, now=at(0))
    newer = backup.create(source, tmp_path, now=at(5))
    (tmp_path / "stray.dump").write_bytes(b"not ours")
    assert [b.path for b in backup.list_backups(tmp_path, source.dbname)] == [
        newer.path,
        older.path,
    ]
    assert backup.list_backups(tmp_path, "other_db") == []


def test_rollback_candidate_is_the_newest_verified_backup(source, tmp_path):
    good = backup.create(source, tmp_path, now=at(0))
    corrupt = backup.create(source, tmp_path, now=at(10))
    corrupt.path.write_bytes(corrupt.path.read_bytes()[:100])
    found = backup.rollback_candidate(tmp_path, source.dbname)
    assert found.path == good.path
    assert found.verification is not None and found.verification.is_verified


def test_rollback_candidate_before_a_time(source, tmp_path):
    first = backup.create(source, tmp_path, now=at(0))
    backup.create(source, tmp_path, now=at(60))
    found = backup.rollback_candidate(tmp_path, source.dbname, before=T0 + timedelta(seconds=30))
    assert found.path == first.path


def test_no_rollback_candidate_is_a_named_error_with_a_remedy(source, tmp_path):
    made = backup.create(source, tmp_path, now=at(0))
    made.path.write_bytes(b"PGDMP")
    with pytest.raises(NoRollbackCandidate, match=r"No-Go: take one with .*backup_postgres.py"):
        backup.rollback_candidate(tmp_path, source.dbname)
    with pytest.raises(NoRollbackCandidate, match="taken before"):
        backup.rollback_candidate(tmp_path, source.dbname, before=T0)


def test_prune_keeps_the_newest_verified_backups(source, tmp_path):
    made = [backup.create(source, tmp_path, now=at(i)) for i in range(4)]
    removed = backup.prune(tmp_path, source.dbname, keep=2)
    assert removed == [made[1].path, made[0].path]
    assert not made[0].path.exists() and not manifest.sidecar(made[0].path).exists()
    assert made[2].path.exists() and made[3].path.exists()


def test_prune_never_removes_the_newest_verified_when_newer_ones_are_corrupt(source, tmp_path):
    verified = backup.create(source, tmp_path, now=at(0))
    corrupt = backup.create(source, tmp_path, now=at(10))
    corrupt.path.write_bytes(b"garbage")
    assert backup.prune(tmp_path, source.dbname, keep=1) == []
    assert verified.path.exists() and corrupt.path.exists()


def test_keep_zero_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="would prune the newest verified backup"):
        backup.prune(tmp_path, "exam", keep=0)
