"""scripts/restore_postgres.py (`releaseops restore`) as operators run it: each exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from releaseops import backup
from releaseops.backup import drill
from releaseops.cli import restore as cli_restore
from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import free_port

ROOT = Path(__file__).resolve().parents[1]
RESTORE = ROOT / "scripts" / "restore_postgres.py"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, str(RESTORE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
        check=False,
    )


# The dumps here are of `source`, restored into another database: a deliberate cross-database
# restore, which the command refuses without this flag (exit 29, tested on its own).
CROSS = ("--allow-cross-server",)


def url(db: DatabaseUrl) -> str:
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


@pytest.fixture
def dump(source: DatabaseUrl, tmp_path: Path) -> Path:
    return backup.create(source, tmp_path / "backups").path


@pytest.fixture
def target(pg_cluster):
    with ScratchDatabase(pg_cluster.url) as db:
        yield db


def in_process(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_restore.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_restore_needs_the_confirmation_and_then_restores(source, dump, target):
    refused = run("--db", url(target), "--dump", str(dump))
    assert refused.returncode == 25 and "--confirm-db" in refused.stderr
    done = run("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout
    assert target.password not in done.stdout + done.stderr
    assert drill.compare(source, target).is_equal


def test_a_dump_of_another_database_is_refused_with_29_and_the_target_untouched(
    source, dump, target, capsys
):
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname)
    code, _, err = in_process(capsys, *args)
    assert code == 29, err
    assert f"it is a dump of database {source.dbname!r}, not {target.dbname!r}" in err
    assert "--allow-cross-server" in err and err.count("\n") == 1
    with target.connect() as conn:
        assert conn.execute("SELECT to_regclass('questions')").fetchone() == (None,)
    assert in_process(capsys, *args, *CROSS)[0] == 0


def test_objects_the_dump_does_not_hold_are_dropped_unless_no_prune(dump, target, capsys):
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    with target.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE added_by_the_release (id int)")
        conn.execute("CREATE EXTENSION pg_trgm")
    code, out, _ = in_process(capsys, *args)
    assert code == 0
    assert "dropped what the dump does not hold" in out and "public.added_by_the_release" in out
    with target.connect() as conn:
        assert conn.execute("SELECT to_regclass('added_by_the_release')").fetchone() == (None,)
        assert conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"
        ).fetchone() == (0,)
        conn.execute("CREATE TABLE kept (id int)")
        conn.commit()
    assert in_process(capsys, *args, "--no-prune")[0] == 0
    with target.connect() as conn:
        assert conn.execute("SELECT to_regclass('kept')").fetchone() == ("kept",)


def test_help_documents_every_exit_code_and_ends_with_an_example():
    result = run("--help")
    assert result.returncode == 0
    for code in ("0", "2", "3", "4", "22", "24", "25", "26", "27", "29", "130", "141"):
        assert f"\n  {code} " in result.stdout
    assert "Example:  python scripts/restore_postgres.py" in result.stdout


def test_a_missing_dump_flag_is_a_usage_error_in_one_line(target, capsys):
    code, _, err = in_process(capsys, "--db", url(target), "--confirm-db", target.dbname, *CROSS)
    assert code == 2
    assert err.count("\n") == 1 and "the following arguments are required: --dump" in err


def test_jobs_below_one_is_a_configuration_error(dump, target, capsys):
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    code, _, err = in_process(capsys, *args, "--jobs", "0")
    assert code == 2 and err == "error: --jobs 0 is not a positive number\n"


def test_an_unreachable_target_exits_3(dump, capsys):
    db = f"postgresql://ops:hunter2-secret@127.0.0.1:{free_port()}/exam"
    code, _, err = in_process(capsys, "--db", db, "--dump", str(dump), "--confirm-db", "exam")
    assert code == 3
    assert err.startswith("error: cannot connect to postgresql://ops:***@127.0.0.1:")
    assert "hunter2-secret" not in err and err.count("\n") == 1


def test_missing_pg_restore_exits_4(dump, target, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("RELEASEOPS_PG_ROOT", str(tmp_path / "none"))
    monkeypatch.delenv("PG_BINDIR", raising=False)
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    code, _, err = in_process(capsys, *args)
    assert code == 4 and err.startswith("error: pg_restore not found")


def test_a_dump_that_does_not_exist_exits_22(target, tmp_path, capsys):
    missing = tmp_path / "exam_20260101_000000.dump"
    args = ("--db", url(target), "--dump", str(missing), "--confirm-db", target.dbname, *CROSS)
    code, _, err = in_process(capsys, *args)
    assert code == 22 and err.startswith(f"error: {missing} does not exist")


def test_errors_pg_restore_would_ignore_fail_the_restore_with_24(dump, target, capsys):
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    assert in_process(capsys, *args)[0] == 0
    code, _, err = in_process(capsys, *args, "--no-clean")  # every object exists already
    assert code == 24
    assert "errors ignored on restore" in err and "partly restored" in err
    assert err.count("\n") == 1


def test_a_truncated_dump_is_refused_with_26_and_the_target_untouched(dump, target, capsys):
    dump.write_bytes(dump.read_bytes()[:-200])
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    code, _, err = in_process(capsys, *args)
    assert code == 26 and "refusing to restore an unverified dump" in err
    with target.connect() as conn:
        assert conn.execute("SELECT to_regclass('questions')").fetchone() == (None,)


def test_an_archive_too_new_for_this_pg_restore_exits_27(dump, target, capsys):
    header = bytearray(dump.read_bytes())
    assert header[:5] == b"PGDMP"
    header[6] = 99  # archive version 1.99: newer than any pg_restore reads
    dump.write_bytes(bytes(header))
    args = ("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS)
    code, _, err = in_process(capsys, *args)
    assert code == 27 and "has archive version 1.99-" in err


def pg_restore_waits(db: DatabaseUrl) -> bool:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_restore' "
            "AND datname = %s AND wait_event_type = 'Lock'",
            (db.dbname,),
        ).fetchone()
    return bool(row and row[0])


def test_sigterm_during_the_restore_exits_130_saying_the_target_may_be_partly_restored(
    dump, target, capsys
):
    args = ["--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS]
    assert in_process(capsys, *args)[0] == 0
    with target.connect() as holder:
        holder.execute("SELECT count(*) FROM questions")  # holds a lock DROP TABLE waits for
        proc = subprocess.Popen(
            [sys.executable, str(RESTORE), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not pg_restore_waits(target) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pg_restore_waits(target), "pg_restore never reached the locked table"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "error: interrupted; the target may be partly restored\n"


def test_closed_stdout_exits_141_after_a_finished_restore(source, dump, target):
    proc = subprocess.Popen(
        [
            sys.executable,
            str(RESTORE),
            *("--db", url(target), "--dump", str(dump), "--confirm-db", target.dbname, *CROSS),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    assert "broken pipe" in err and err.count("\n") == 1
    assert drill.compare(source, target).is_equal
