"""scripts/backup_postgres.py and restore_postgres.py as operators run them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import drill
from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import free_port

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "scripts" / "backup_postgres.py"
RESTORE = ROOT / "scripts" / "restore_postgres.py"


def run(
    script: Path, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BACKUP_DIR")}
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
        check=False,
    )


def sqlalchemy(db: DatabaseUrl) -> str:
    return db.sqlalchemy(with_password=True)


@pytest.fixture
def source(fresh_db: DatabaseUrl) -> DatabaseUrl:
    with fresh_db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, checksum text, "
            "applied_at timestamptz DEFAULT now(), file_name text, execution_ms int)"
        )
        conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES ('0001', 'x')")
        conn.execute("CREATE TABLE questions AS SELECT g AS id FROM generate_series(1, 50) g")
    return fresh_db


def only_dump(directory: Path) -> Path:
    dumps = sorted(directory.glob("*.dump"))
    assert len(dumps) == 1, dumps
    return dumps[0]


def test_checklist_backup_command_writes_into_backups_of_the_current_directory(source, tmp_path):
    result = run(BACKUP, "--db", sqlalchemy(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dump = only_dump(tmp_path / "backups")
    assert Path(result.stdout.splitlines()[0]) == Path("backups") / dump.name
    assert "verified" in result.stdout
    assert source.password not in result.stdout + result.stderr


def test_database_url_from_the_environment_and_backup_dir(source, tmp_path):
    env = {"DATABASE_URL": sqlalchemy(source), "BACKUP_DIR": str(tmp_path / "env_dir")}
    result = run(BACKUP, env=env)
    assert result.returncode == 0, result.stderr
    only_dump(tmp_path / "env_dir")


def test_out_dir_overrides_backup_dir_from_the_repo_root(source, tmp_path):
    env = {"BACKUP_DIR": str(tmp_path / "ignored")}
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path / "o"), env=env)
    assert result.returncode == 0, result.stderr
    only_dump(tmp_path / "o")
    assert not (tmp_path / "ignored").exists()


def test_json_output_carries_path_checksum_and_verification(source, tmp_path):
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path), "--json")
    data = json.loads(result.stdout)
    assert data["verification"]["verified"] is True
    assert Path(data["path"]).exists() and len(data["sha256"]) == 64
    assert source.password not in result.stdout


def test_backup_against_a_stopped_server_exits_non_zero_without_leaving_a_dump(tmp_path):
    url = f"postgresql+psycopg://ops:hunter2-secret@127.0.0.1:{free_port()}/exam"
    result = run(BACKUP, "--db", url, cwd=tmp_path)
    assert result.returncode == 20
    assert result.stderr.startswith("error: backup not taken")
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert not list((tmp_path / "backups").iterdir())


def test_interrupted_backup_removes_its_temporary_file(source, tmp_path):
    with source.connect() as locker:
        locker.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")  # pg_dump waits here
        proc = subprocess.Popen(
            [sys.executable, str(BACKUP), "--db", sqlalchemy(source)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("backups/.*.partial")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob("backups/.*.partial")), "the backup never started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted; no backup was written" in err
    assert list((tmp_path / "backups").iterdir()) == []


def test_wrong_password_exits_non_zero_and_prints_no_password(source, tmp_path):
    wrong = source.sqlalchemy(with_password=True).replace(source.password, "wrong-pass-123")
    result = run(BACKUP, "--db", wrong, cwd=tmp_path)
    assert result.returncode == 20
    assert "wrong-pass-123" not in result.stdout + result.stderr
    assert not list((tmp_path / "backups").glob("*.dump"))


def test_verify_flag_passes_a_good_dump_and_names_the_failed_check(source, tmp_path):
    run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path))
    dump = only_dump(tmp_path)
    good = run(BACKUP, "--verify", str(dump))
    assert good.returncode == 0 and "verified" in good.stdout
    dump.write_bytes(dump.read_bytes()[:-64])
    bad = run(BACKUP, "--verify", str(dump), "--json")
    assert bad.returncode == 21
    failed = {c["name"] for c in json.loads(bad.stdout)["checks"] if not c["passed"]}
    assert {"size", "checksum", "read_through"} <= failed


def test_keep_prunes_older_verified_backups(source, tmp_path):
    old = [
        backup.create(source, tmp_path, now=lambda day=day: datetime(2020, 1, day, tzinfo=UTC))
        for day in (1, 2)
    ]
    result = run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path), "--keep", "2")
    assert result.returncode == 0, result.stderr
    assert f"pruned {old[0].path}" in result.stdout
    assert sorted(tmp_path.glob("*.dump"))[0] == old[1].path
    assert len(list(tmp_path.glob("*.dump"))) == 2


def test_rollback_candidate_flag_prints_the_newest_verified_dump(source, tmp_path):
    run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path))
    result = run(
        BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path), "--rollback-candidate"
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.splitlines()[0]) == only_dump(tmp_path)
    empty = run(
        BACKUP,
        "--db",
        sqlalchemy(source),
        "--out-dir",
        str(tmp_path / "none"),
        "--rollback-candidate",
    )
    assert empty.returncode == 23 and "No-Go" in empty.stderr


def test_restore_script_needs_the_confirmation_and_then_restores(pg_cluster, source, tmp_path):
    run(BACKUP, "--db", sqlalchemy(source), "--out-dir", str(tmp_path))
    dump = only_dump(tmp_path)
    with ScratchDatabase(pg_cluster.url) as target:
        refused = run(RESTORE, "--db", sqlalchemy(target), "--dump", str(dump))
        assert refused.returncode == 25 and "--confirm-db" in refused.stderr
        done = run(
            RESTORE, "--db", sqlalchemy(target), "--dump", str(dump), "--confirm-db", target.dbname
        )
        assert done.returncode == 0, done.stderr
        assert "restored" in done.stdout
        assert target.password not in done.stdout + done.stderr
        assert drill.compare(source, target).is_equal


@pytest.mark.parametrize("script", [BACKUP, RESTORE])
def test_help_explains_and_ends_with_an_example(script):
    result = run(script, "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout and "Exit codes:" in result.stdout


def test_verify_of_a_corrupt_dump_never_prints_a_bare_path_first(tmp_path):
    dump = tmp_path / "x_20260101_000000.dump"
    dump.write_bytes(b"PGDMP garbage")
    result = run(BACKUP, "--verify", str(dump))
    assert result.returncode != 0
    assert result.stdout.splitlines()[0] == f"NOT VERIFIED: {dump}"
