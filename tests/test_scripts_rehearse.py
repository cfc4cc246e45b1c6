"""run_postgres_migrations.py --rehearse and the lock-retry flags, as operators run them."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from releaseops import backup, migrations
from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import ScratchDatabase, drop_database
from releaseops.runbook import custody
from tests import scripting

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_postgres_migrations.py"
ROWS = 100_000
TABLE = (
    "CREATE TABLE t (id int PRIMARY KEY, name varchar(50) NOT NULL);\n"
    f"INSERT INTO t SELECT g, 'name ' || g FROM generate_series(1, {ROWS}) AS g;\n"
)
BIGINT = "ALTER TABLE t ALTER COLUMN id TYPE bigint;\n"
RELEASE = "2026.11.28-1"


@pytest.fixture(scope="module")
def template(pg_cluster, tmp_path_factory) -> Iterator[str]:
    """A database with t (100k rows) applied as 0001: each test copies it, fast."""
    directory = tmp_path_factory.mktemp("template")
    (directory / "0001_t.sql").write_text(TABLE)
    with ScratchDatabase(pg_cluster.url) as db:
        migrations.apply(db, directory)
        yield db.dbname


@pytest.fixture
def db(pg_cluster, template) -> Iterator[DatabaseUrl]:
    name = f"rehearse_{os.urandom(4).hex()}"
    with pg_cluster.url.connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = pg_cluster.url.with_dbname(name)
    try:
        yield url
    finally:
        drop_database(pg_cluster.url, f"{name}_restore_drill")
        drop_database(pg_cluster.url, name)


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_t.sql").write_text(TABLE)
    return directory


def environ(db: DatabaseUrl, **extra: str) -> dict[str, str]:
    prefixes = ("PG", "DATABASE_URL", "DRILL_", "RELEASE_", "BACKUP_", "POSTGRES_", "MIGRATIONS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["DATABASE_URL"] = db.sqlalchemy(with_password=True)
    env.update(extra)
    return env


def run(db: DatabaseUrl, mig_dir: Path, *args: str, **extra: str):
    env = environ(db, **extra)
    return scripting.run_script(SCRIPT, "--dir", str(mig_dir), *args, env=env, timeout=120)


def state(db: DatabaseUrl) -> dict[str, Any]:
    """What a rolled-back rehearsal must leave as it was."""
    with db.connect() as conn:
        columns = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum"
        ).fetchall()
        history = conn.execute(
            "SELECT version, checksum, mode FROM schema_migrations ORDER BY version"
        ).fetchall()
        storage = conn.execute("SELECT pg_relation_filenode('t'), count(*) FROM t").fetchone()
    return {"columns": columns, "history": history, "storage": storage}


def release_record(tmp_path: Path, migration: str = "") -> Path:
    path = tmp_path / "release.toml"
    path.write_text(f'release_id = "{RELEASE}"\nenvironment = "staging"\n{migration}')
    return path


def test_bigint_rehearsal_reports_the_rewrite_and_lock_as_json_and_changes_nothing(db, mig_dir):
    (mig_dir / "0002_bigint.sql").write_text(BIGINT)
    before = state(db)
    result = run(db, mig_dir, "--rehearse", "--json")
    assert result.returncode == 15, result.stderr
    data = json.loads(result.stdout)
    (row,) = data["statements"]
    assert row["file"] == "0002_bigint.sql" and row["statement"] == BIGINT.strip().rstrip(";")
    assert {"relation": "public.t", "table": "public.t", "mode": "AccessExclusiveLock"} in row[
        "locks"
    ]
    assert row["rewritten"] == ["public.t"] and row["blocking_lock_ms"] >= row["ms"] > 0
    assert data["mode"] == "rolled back" and "rolled back" in data["note"]
    assert data["verdict"]["passed"] is False and data["copy"] is None
    assert "rewrites public.t (100,000 rows" in data["verdict"]["failures"][0]
    assert state(db) == before
    assert db.password is not None and db.password not in result.stdout + result.stderr


def test_varchar_to_text_rehearsal_reports_no_rewrite_and_passes(db, mig_dir):
    (mig_dir / "0002_text.sql").write_text("ALTER TABLE t ALTER COLUMN name TYPE text;\n")
    before = state(db)
    result = run(db, mig_dir, "--rehearse")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("rehearsed on postgresql://") and "rolled back" in lines[1]
    assert "0002_text.sql line 1: ALTER TABLE t ALTER COLUMN name TYPE text -- " in lines[2]
    assert "rewrote" not in lines[2]
    assert lines[-1].startswith("rehearsal gate: passed (limits: 10,000 rows or 64 MiB")
    assert state(db) == before


def test_release_record_thresholds_decide_the_rehearsal_gate(db, mig_dir, tmp_path):
    (mig_dir / "0002_bigint.sql").write_text(BIGINT)
    path = release_record(tmp_path, "[migration]\nmax_rows = 1000000\nmax_bytes = 1000000000\n")
    result = run(db, mig_dir, "--rehearse", RELEASE_RECORD=str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rewrote public.t" in result.stdout
    assert "rehearsal gate: passed (limits: 1,000,000 rows or 954 MiB" in result.stdout


def test_a_statement_that_cannot_run_in_the_rolled_back_transaction_is_not_verified(db, mig_dir):
    (mig_dir / "0002_idx.sql").write_text(
        "-- releaseops:no-transaction\nCREATE INDEX CONCURRENTLY t_name ON t (name);\n"
    )
    result = run(db, mig_dir, "--rehearse")
    assert result.returncode == 16, result.stdout + result.stderr
    assert "not rehearsed: cannot run inside a transaction block" in result.stdout
    assert "rehearsal gate: not verified: 0002_idx.sql line 2" in result.stdout


@pytest.fixture
def known_good(db, tmp_path) -> Path:
    """The pre-deploy gate's record of the release's known-good dump, of `db` at 0001."""
    backups = tmp_path / "backups"
    taken = backup.create(db, backups)
    custody.record(backups, RELEASE, taken, "test")
    return backups


def test_rehearsal_on_the_drill_copy_restores_the_known_good_dump_and_keeps_the_source(
    db, mig_dir, tmp_path, known_good
):
    (mig_dir / "0002_text.sql").write_text("ALTER TABLE t ALTER COLUMN name TYPE text;\n")
    before = state(db)
    copy = f"{db.dbname}_restore_drill"
    result = run(
        db,
        mig_dir,
        "--rehearse",
        "--json",
        "--confirm-copy",
        copy,
        BACKUP_DIR=str(known_good),
        RELEASE_RECORD=str(release_record(tmp_path)),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "committed" and data["files"] == ["0002_text.sql"]
    assert data["copy"]["copy"].endswith(f"/{copy}")
    assert data["copy"]["dump"] == custody.load(known_good, RELEASE).path
    drill = db.with_dbname(copy)
    assert migrations.status(drill, mig_dir).is_clean
    assert state(drill)["history"][-1][::2] == ("0002", "rehearsal")
    assert state(db) == before


def test_rehearsal_on_the_drill_copy_needs_the_copys_exact_name(db, mig_dir):
    result = run(db, mig_dir, "--rehearse", "--confirm-copy", "exam_prod")
    assert result.returncode == 2
    assert "--confirm-copy exam_prod names neither --db's database" in result.stderr


def test_a_missing_dump_for_the_drill_copy_exits_22(db, mig_dir, tmp_path):
    copy = f"{db.dbname}_restore_drill"
    missing = tmp_path / "nope.dump"
    result = run(db, mig_dir, "--rehearse", "--confirm-copy", copy, "--dump", str(missing))
    assert result.returncode == 22, result.stderr
    assert f"{missing} does not exist" in result.stderr


def test_no_known_good_dump_recorded_for_the_release_exits_23(db, mig_dir, tmp_path):
    copy = f"{db.dbname}_restore_drill"
    result = run(
        db,
        mig_dir,
        "--rehearse",
        "--confirm-copy",
        copy,
        BACKUP_DIR=str(tmp_path / "backups"),
        RELEASE_RECORD=str(release_record(tmp_path)),
    )
    assert result.returncode == 23, result.stderr
    assert f"no known-good dump is recorded for release '{RELEASE}'" in result.stderr


def test_a_dump_that_fails_verification_exits_26(db, mig_dir, tmp_path, known_good):
    dump = Path(custody.load(known_good, RELEASE).path)
    with dump.open("r+b") as handle:
        handle.truncate(dump.stat().st_size // 2)
    copy = f"{db.dbname}_restore_drill"
    result = run(db, mig_dir, "--rehearse", "--confirm-copy", copy, "--dump", str(dump))
    assert result.returncode == 26, result.stderr
    assert dump.name in result.stderr


def test_a_dump_of_another_database_exits_29(db, mig_dir, tmp_path, pg_cluster):
    with ScratchDatabase(pg_cluster.url) as other:
        dump = backup.create(other, tmp_path / "other").path
    copy = f"{db.dbname}_restore_drill"
    result = run(db, mig_dir, "--rehearse", "--confirm-copy", copy, "--dump", str(dump))
    assert result.returncode == 29, result.stderr
    assert "--allow-cross-server" in result.stderr


def hold_lock(db: DatabaseUrl, seconds: float, ready: threading.Event) -> threading.Thread:
    def hold() -> None:
        with (
            db.connect(autocommit=True, application_name="nightly-report") as conn,
            conn.transaction(),
        ):
            conn.execute("LOCK TABLE t IN ACCESS SHARE MODE")
            ready.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(10)
    return thread


def hold_lock_until_waited_on(db: DatabaseUrl, then: float) -> threading.Thread:
    """Hold a lock on t until another session waits for it, then `then` seconds longer.

    However slowly the runner starts on a loaded machine, its first try is always blocked.
    """

    def hold() -> None:
        with (
            db.connect(autocommit=True, application_name="nightly-report") as conn,
            conn.transaction(),
            db.connect(autocommit=True) as watcher,
        ):
            conn.execute("LOCK TABLE t IN ACCESS SHARE MODE")
            ready.set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE NOT l.granted AND a.datname = current_database()"
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.05)
            time.sleep(then)

    ready = threading.Event()
    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(10)
    return thread


def test_lock_retries_outlast_a_short_conflicting_lock(db, mig_dir):
    (mig_dir / "0002_bigint.sql").write_text(BIGINT)
    holder = hold_lock_until_waited_on(db, 0.8)
    result = run(
        db, mig_dir, "--lock-timeout", "300ms", "--lock-retries", "4", "--lock-retry-delay", "0.3"
    )
    holder.join(10)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied 0002_bigint.sql in" in result.stdout and "lock retry(ies)" in result.stdout


def test_no_lock_retries_exit_13_naming_the_session_holding_the_lock(db, mig_dir):
    (mig_dir / "0002_bigint.sql").write_text(BIGINT)
    holder = hold_lock(db, 3, threading.Event())
    result = run(db, mig_dir, "--lock-timeout", "200ms", "--lock-retries", "0")
    holder.join(10)
    assert result.returncode == 13, result.stdout + result.stderr
    assert "blocked past lock_timeout=200ms on each of 1 attempt(s)" in result.stderr
    assert "nightly-report" in result.stderr
