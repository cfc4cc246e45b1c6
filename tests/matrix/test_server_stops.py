"""Fault matrix: the server stops in the middle of a restore, a migration and an FTS sync.

Each step is held at a known point (a lock it waits for), the server is stopped at once
(immediate shutdown, as in a crash) and started again, and the step is run again to the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from releaseops import backup, migrations
from releaseops.backup import restore
from releaseops.dburl import DatabaseUrl
from tests.matrix.conftest import Matrix, wait_for

pytestmark = pytest.mark.faults

GATE_KEY = 4242
# The last index pg_restore builds waits for advisory lock GATE_KEY: holding that lock stops
# the restore after the data and before that index.
GATED_SCHEMA = f"""
CREATE TABLE questions (id int PRIMARY KEY, body text NOT NULL);
CREATE INDEX questions_body ON questions (body);
CREATE FUNCTION gated(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared({GATE_KEY});
  RETURN t;
END $$;
CREATE INDEX questions_gated ON questions (gated(body));
"""


def waiting(db: DatabaseUrl, application: str, event: str | None = None) -> int | None:
    """The backend pid of `application` waiting for a lock in `db`, if one waits."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name LIKE %s "
            "AND wait_event_type = 'Lock' AND (%s::text IS NULL OR wait_event = %s)",
            (db.dbname, application, event, event),
        ).fetchone()
    return int(row[0]) if row else None


@contextlib.contextmanager
def holding(db: DatabaseUrl, *statements: str) -> Iterator[None]:
    """A session that ran `statements` in an open transaction; the crash ends it, no COMMIT."""
    with contextlib.closing(db.connect()) as conn:
        for statement in statements:
            conn.execute(statement)
        yield


def assert_crash_ends_it_in_one_line(matrix: Matrix, runner, codes: tuple[int, ...]) -> str:
    __tracebackhide__ = True
    matrix.cluster.halt()
    code, _, err = matrix.finish(runner)
    matrix.cluster.resume()
    assert code in codes, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- restore --------------------------------------------------------------------------------


@pytest.fixture
def gated_dump(matrix: Matrix, database: DatabaseUrl, tmp_path: Path) -> Path:
    directory = tmp_path / "gated"
    directory.mkdir()
    (directory / "0001_questions.sql").write_text(GATED_SCHEMA)
    migrations.apply(database, directory)
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO questions SELECT g, md5(g::text) FROM generate_series(1, 500) g")
    return backup.create(database, tmp_path / "backups").path


def test_the_server_stopped_mid_restore_leaves_a_marked_database_until_a_rerun(
    matrix, gated_dump, tmp_path
):
    target = matrix.create("m_restore_target")
    args = ("--dump", str(gated_dump), "--confirm-db", target.dbname, "--allow-cross-server")
    mig_dir = tmp_path / "gated"
    try:
        with holding(target, f"SELECT pg_advisory_lock({GATE_KEY})"):
            runner = matrix.start("restore_postgres.py", *args, db=target.dbname)
            wait_for(lambda: waiting(target, "pg_restore", "advisory"))
            assert_crash_ends_it_in_one_line(matrix, runner, (3, 24))
        status = matrix.run(
            "run_postgres_migrations.py", "--status", "--dir", str(mig_dir), db=target.dbname
        )
        assert status.returncode == 30, status.stderr
        assert status.stderr.startswith(
            f"error: database {target.dbname!r} may be partly restored: the restore of {gated_dump}"
        )
        again = matrix.run("restore_postgres.py", *args, db=target.dbname)
        assert again.returncode == 0, again.stderr
        assert restore.unfinished(target) is None
        status = matrix.run(
            "run_postgres_migrations.py", "--status", "--dir", str(mig_dir), db=target.dbname
        )
        assert status.returncode == 0, status.stderr
    finally:
        matrix.drop(target.dbname)


# --- migrations ---------------------------------------------------------------------------------


@pytest.fixture
def gate_dir(database: DatabaseUrl, tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_gate.sql").write_text("CREATE TABLE gate (id int);\n")
    migrations.apply(database, directory)
    return directory


def applied(db: DatabaseUrl) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    return [r[0] for r in rows]


def test_the_server_stopped_mid_migration_rolls_it_back_and_a_rerun_applies_it_once(
    matrix, database, gate_dir
):
    (gate_dir / "0002_half.sql").write_text(
        "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\n"
        "LOCK TABLE gate IN ACCESS EXCLUSIVE MODE;\n"
    )
    args = ("--dir", str(gate_dir), "--lock-timeout", "60s")
    with holding(database, "LOCK TABLE gate IN ACCESS SHARE MODE"):
        runner = matrix.start("run_postgres_migrations.py", *args, db=database.dbname)
        wait_for(lambda: waiting(database, "releaseops-migrations"))
        err = assert_crash_ends_it_in_one_line(matrix, runner, (3,))
    assert err.startswith("error: the connection to the database was lost: 0002_half.sql")
    with database.connect() as conn:
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
    assert applied(database) == ["0001"]
    again = matrix.run("run_postgres_migrations.py", *args, db=database.dbname)
    assert again.returncode == 0, again.stderr
    assert applied(database) == ["0001", "0002"]
    with database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM half").fetchone() == (1,)


def test_the_server_stopped_mid_concurrent_index_build_is_named_then_rebuilt(
    matrix, database, gate_dir
):
    (gate_dir / "0002_gate_id.sql").write_text(
        "-- releaseops:no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS gate_id ON gate (id);\n"
    )
    args = ("--dir", str(gate_dir), "--lock-timeout", "60s")
    with holding(database, "INSERT INTO gate VALUES (1)"):  # CONCURRENTLY waits for it
        runner = matrix.start("run_postgres_migrations.py", *args, db=database.dbname)
        wait_for(lambda: waiting(database, "releaseops-migrations"))
        assert_crash_ends_it_in_one_line(matrix, runner, (3,))
    assert applied(database) == ["0001"]
    left = matrix.run("run_postgres_migrations.py", *args, db=database.dbname)
    assert left.returncode == 12, left.stderr
    assert (
        "left INVALID index(es) public.gate_id on public.gate" in left.stderr
        and left.stderr.count("\n") == 1
    )
    assert applied(database) == ["0001"]  # an invalid index never looks applied
    with database.connect(autocommit=True) as conn:
        conn.execute("DROP INDEX CONCURRENTLY gate_id")
    again = matrix.run("run_postgres_migrations.py", *args, db=database.dbname)
    assert again.returncode == 0, again.stderr
    assert applied(database) == ["0001", "0002"]
    with database.connect() as conn:
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'gate_id'::regclass"
        ).fetchone()
    assert valid == (True,)


# --- FTS sync ----------------------------------------------------------------------------------


def test_the_server_stopped_mid_fts_sync_then_a_rerun_finishes_it(matrix, database):
    from exambank import seed

    migrations.apply(database, migrations.DEFAULT_DIR)
    seed.load(database)
    with holding(database, "LOCK TABLE questions IN ACCESS SHARE MODE"):
        runner = matrix.start("init_fts.py", "--sync", db=database.dbname)
        wait_for(lambda: waiting(database, "%"))
        err = assert_crash_ends_it_in_one_line(matrix, runner, (3,))
    assert err.startswith("error: the connection to the database was lost: fts sync failed")
    again = matrix.run("init_fts.py", "--sync", db=database.dbname)
    assert again.returncode == 0, again.stderr
    check = matrix.run("init_fts.py", "--check", db=database.dbname)
    assert check.returncode == 0, check.stdout + check.stderr
