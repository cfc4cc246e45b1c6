"""A partly restored database never looks finished: the restore's mark and who refuses it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops import backup, migrations, pg
from releaseops.backup import restore
from releaseops.dburl import DatabaseUrl
from releaseops.errors import RestoreFailed, RestoreUnfinished
from releaseops.pg import restoremark
from releaseops.pg.scratch import ScratchDatabase
from releaseops.release import preflight

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
GATE_KEY = 4242
# The last index pg_restore builds calls gated(), which waits for advisory lock GATE_KEY: a
# session holding that lock stops the restore after the data and before that index.
SCHEMA = f"""
CREATE TABLE questions (id int PRIMARY KEY, body text NOT NULL);
CREATE INDEX questions_body ON questions (body);
CREATE FUNCTION gated(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared({GATE_KEY});
  RETURN t;
END $$;
CREATE INDEX questions_gated ON questions (gated(body));
"""


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_questions.sql").write_text(SCHEMA)
    return directory


@pytest.fixture
def dump(fresh_db: DatabaseUrl, mig_dir: Path, tmp_path: Path) -> Path:
    migrations.apply(fresh_db, mig_dir)
    with fresh_db.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO questions SELECT g, md5(g::text) FROM generate_series(1, 500) g")
    return backup.create(fresh_db, tmp_path / "backups").path


@pytest.fixture
def target(pg_cluster) -> Iterator[DatabaseUrl]:
    with ScratchDatabase(pg_cluster.url) as db:
        yield db


def script(name: str, *args: str) -> list[str]:
    return [sys.executable, str(SCRIPTS / name), *args]


def env_for(db: DatabaseUrl) -> dict[str, str]:
    """The URL travels in the environment, never in the arguments."""
    return {**os.environ, "DATABASE_URL": db.sqlalchemy(with_password=True)}


def run(name: str, *args: str, db: DatabaseUrl) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        script(name, *args), cwd=ROOT, env=env_for(db), capture_output=True, text=True
    )


def restore_args(dump: Path, db: DatabaseUrl) -> tuple[str, ...]:
    return ("--dump", str(dump), "--confirm-db", db.dbname, "--allow-cross-server")


@contextlib.contextmanager
def gate_closed(db: DatabaseUrl) -> Iterator[None]:
    """Hold the advisory lock the dump's last index waits for."""
    with db.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (GATE_KEY,))
        yield


def waiting_restore_backend(db: DatabaseUrl) -> int | None:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_restore' "
            "AND datname = %s AND wait_event = 'advisory'",
            (db.dbname,),
        ).fetchone()
    return int(row[0]) if row else None


def wait_for_gate(db: DatabaseUrl, runner: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 60
    while (pid := waiting_restore_backend(db)) is None:
        assert runner.poll() is None, runner.communicate()
        assert time.monotonic() < deadline, "pg_restore never reached the gated index"
        time.sleep(0.05)
    return pid


def child_named(parent: int, name: str) -> int:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    found = [int(c) for c in children if Path(f"/proc/{c}/comm").read_text().strip() == name]
    assert found, f"no {name} child of {parent}"
    return found[0]


def indexes(db: DatabaseUrl) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'questions' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_status_of_a_database_left_half_restored_by_a_killed_pg_restore_exits_30(
    dump, target, mig_dir
):
    with gate_closed(target):
        runner = subprocess.Popen(
            script("restore_postgres.py", *restore_args(dump, target)),
            cwd=ROOT,
            env=env_for(target),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        backend = wait_for_gate(target, runner)
        os.kill(child_named(runner.pid, "pg_restore"), signal.SIGKILL)
        _, err = runner.communicate(timeout=60)
        with target.connect(autocommit=True) as conn:  # its client is gone
            conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
    assert runner.returncode == 24, err
    assert "questions_gated" not in indexes(target)  # the data is there, an index is not

    status = run("run_postgres_migrations.py", "--status", "--dir", str(mig_dir), db=target)
    assert status.returncode == 30, status.stderr
    assert status.stderr.count("\n") == 1 and "Traceback" not in status.stderr
    assert status.stderr.startswith(
        f"error: database {target.dbname!r} may be partly restored: the restore of "
        f"{dump.absolute()} (sha256 "
    )
    assert " did not finish. Refusing to report its migration state;" in status.stderr
    assert target.password not in status.stdout + status.stderr + err

    again = run("restore_postgres.py", *restore_args(dump, target), db=target)
    assert again.returncode == 0, again.stderr
    assert restore.unfinished(target) is None
    assert "questions_gated" in indexes(target)
    status = run("run_postgres_migrations.py", "--status", "--dir", str(mig_dir), db=target)
    assert status.returncode == 0, status.stderr


def marked(db: DatabaseUrl, dump: Path) -> restoremark.RestoreMark:
    return restoremark.mark(db, str(dump), "ab" * 32, datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_apply_and_baseline_refuse_a_marked_database_and_change_nothing(target, mig_dir, dump):
    marked(target, dump)
    expected = (
        rf"database '{target.dbname}' may be partly restored: the restore of {dump} "
        r"\(sha256 abababababab\.\.\.\) started 2030-01-02T03:04:05\+00:00 did not finish\. "
        r"Refusing to migrate it"
    )
    with pytest.raises(RestoreUnfinished, match=expected) as info:
        migrations.apply(target, mig_dir)
    assert info.value.exit_code == 30 and info.value.dbname == target.dbname
    with pytest.raises(RestoreUnfinished, match="Refusing to baseline it"):
        migrations.baseline(target, mig_dir, "0001")
    with pytest.raises(RestoreUnfinished, match="Refusing to report its migration state"):
        migrations.apply(target, mig_dir, dry_run=True)
    with target.connect() as conn:
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_preflight_names_the_unfinished_restore_in_its_own_row(target, mig_dir, dump, tmp_path):
    marked(target, dump)
    report = preflight.run(db=target, migrations_dir=mig_dir, backup_dir=tmp_path / "b")
    row = report.result("restore state")
    assert row.status == "FAIL" and not report.ok
    assert row.reason.startswith(f"database {target.dbname!r} may be partly restored: ")
    assert "started 2030-01-02T03:04:05+00:00 did not finish" in row.reason
    assert report.result("migrations state").reason.startswith("not checked: ")
    restoremark.clear(target)
    report = preflight.run(db=target, migrations_dir=mig_dir, backup_dir=tmp_path / "b")
    assert report.result("restore state").status == "PASS"


def test_verify_repo_preflight_fails_on_a_marked_database(target, mig_dir, dump):
    marked(target, dump)
    result = run("verify_repo.py", "--ops-preflight", "--migrations-dir", str(mig_dir), db=target)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "restore state" in result.stdout and "may be partly restored" in result.stdout


def test_a_failed_restore_stays_marked_and_a_finished_one_clears_the_mark(dump, target):
    restore.restore(target, dump, confirm_db=target.dbname)
    assert restore.unfinished(target) is None
    with pytest.raises(RestoreFailed, match="partly restored and stays marked so"):
        restore.restore(target, dump, confirm_db=target.dbname, clean=False)  # objects exist
    assert f"the restore of {dump.absolute()} (sha256 " in (restore.unfinished(target) or "")
    restore.restore(target, dump, confirm_db=target.dbname)
    assert restore.unfinished(target) is None


def test_the_mark_is_no_object_of_the_dump_and_travels_with_no_copy(dump, target, tmp_path):
    marked(target, dump)
    restore.restore(target, dump, confirm_db=target.dbname)  # --clean leaves it; success clears
    marked(target, dump)
    # backup.create refuses a marked database; the raw tool shows what a dump of it holds.
    copy = tmp_path / "copy.dump"
    pg.run("pg_dump", ["--format=custom", f"--file={copy}"], db=target)
    with ScratchDatabase(target.with_dbname("postgres")) as other:
        pg.run("pg_restore", ["--no-owner", str(copy)], db=other)
        assert restore.unfinished(other) is None
    assert restore.unfinished(target) is not None


def test_a_mark_written_by_hand_is_still_refused_and_shown_as_it_stands(target):
    with target.connect(autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{target.dbname}\" SET {restoremark.SETTING} = 'by hand'")
    assert restore.unfinished(target) == (
        "the restore of an unknown dump (by hand) started at an unknown time did not finish"
    )


def test_a_restore_that_cannot_mark_its_target_changes_nothing(dump, target):
    role = f"restorer_{target.dbname}"[:60]
    with target.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'Rs7-not-the-owner'")
    try:
        outsider = DatabaseUrl(**{**target.__dict__, "user": role, "password": "Rs7-not-the-owner"})
        with pytest.raises(RestoreFailed, match=r"cannot mark .* as being restored .*: nothing"):
            restore.restore(outsider, dump, confirm_db=target.dbname)
        with target.connect() as conn:
            assert conn.execute("SELECT to_regclass('questions')").fetchone() == (None,)
        assert restore.unfinished(target) is None
    finally:
        with target.connect(autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


def test_a_backup_of_a_marked_database_is_refused(target, tmp_path):
    restoremark.mark(target, "/backups/exam_20261201_000000.dump", "ab" * 32, datetime.now(UTC))
    from releaseops.errors import BackupFailed

    with pytest.raises(BackupFailed, match=r"may be partly restored .*not a known-good backup"):
        backup.create(target, tmp_path / "backups")
    assert not list((tmp_path / "backups").glob("*.dump"))
