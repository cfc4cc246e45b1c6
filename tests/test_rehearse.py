"""releaseops.migrations.rehearse: pending files rehearsed on a real database, and the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from releaseops import migrations
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError
from releaseops.migrations import rehearse

ROWS = 100_000
TABLE = (
    "CREATE TABLE t (id int PRIMARY KEY, name varchar(50) NOT NULL);\n"
    f"INSERT INTO t SELECT g, 'name ' || g FROM generate_series(1, {ROWS}) AS g;\n"
)


@pytest.fixture
def mig_dir(tmp_path: Path, fresh_db: DatabaseUrl) -> Path:
    """0001 (applied) makes t with 100k rows; each test adds the pending files it rehearses."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_t.sql").write_text(TABLE)
    migrations.apply(fresh_db, directory)
    return directory


def state(db: DatabaseUrl) -> dict[str, Any]:
    """What must not change in a rolled-back rehearsal."""
    with db.connect() as conn:
        columns = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum"
        ).fetchall()
        history = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        node = conn.execute("SELECT pg_relation_filenode('t'), count(*) FROM t").fetchone()
        indexes = conn.execute("SELECT indexrelid::regclass::text FROM pg_index").fetchall()
    return {"columns": columns, "history": history, "storage": node, "indexes": sorted(indexes)}


def only(report: rehearse.RehearsalReport, file: str) -> rehearse.RehearsedStatement:
    (row,) = [s for s in report.statements if s.file == file]
    return row


def test_bigint_change_reports_a_rewrite_and_an_access_exclusive_lock(fresh_db, mig_dir):
    (mig_dir / "0002_bigint.sql").write_text("ALTER TABLE t ALTER COLUMN id TYPE bigint;\n")
    before = state(fresh_db)
    report = rehearse.run(fresh_db, mig_dir)
    row = only(report, "0002_bigint.sql")
    assert row.rewritten == ("public.t",)
    assert ("public.t", "AccessExclusiveLock") in {(lk.relation, lk.mode) for lk in row.locks}
    assert row.blocking_lock_ms >= row.ms > 0
    verdict = rehearse.gate(report)
    assert not verdict.passed
    assert verdict.failures == [
        "0002_bigint.sql line 1 (ALTER TABLE t ALTER COLUMN id TYPE bigint) rewrites public.t "
        f"({ROWS:,} rows, {report.tables['public.t'].bytes / 1048576:.1f} MiB, over 10,000 rows "
        "or 64 MiB) under ACCESS EXCLUSIVE"
    ]
    assert not report.committed and "rolled back" in report.note
    assert state(fresh_db) == before


def test_varchar_to_text_is_neither_a_rewrite_nor_a_blocking_lock_failure(fresh_db, mig_dir):
    (mig_dir / "0002_text.sql").write_text("ALTER TABLE t ALTER COLUMN name TYPE text;\n")
    before = state(fresh_db)
    report = rehearse.run(fresh_db, mig_dir)
    row = only(report, "0002_text.sql")
    assert row.rewritten == () and row.rewritten_relations == () and row.scanned == ()
    # PostgreSQL takes ACCESS EXCLUSIVE for the catalog change itself, for milliseconds only.
    assert row.blocking_lock_ms < rehearse.DEFAULT_LOCK_BUDGET_MS
    assert rehearse.gate(report).passed, rehearse.gate(report).explain()
    assert state(fresh_db) == before


def test_the_json_report_has_the_documented_shape(fresh_db, mig_dir):
    (mig_dir / "0002_bigint.sql").write_text("ALTER TABLE t ALTER COLUMN id TYPE bigint;\n")
    data = json.loads(json.dumps(rehearse.run(fresh_db, mig_dir).as_dict()))
    (row,) = data["statements"]
    assert {"file", "statement", "locks", "rewritten", "rows", "ms", "blocking_lock_ms"} <= set(row)
    assert row["file"] == "0002_bigint.sql"
    assert row["statement"] == "ALTER TABLE t ALTER COLUMN id TYPE bigint"
    assert {"relation": "public.t", "table": "public.t", "mode": "AccessExclusiveLock"} in row[
        "locks"
    ]
    assert row["rewritten"] == ["public.t"] and row["rows"] is None
    assert data["mode"] == "rolled back" and data["tables"]["public.t"]["rows"] == ROWS


def test_a_concurrent_index_is_reported_not_rehearsed_and_not_verified(fresh_db, mig_dir):
    (mig_dir / "0002_idx.sql").write_text(
        "-- releaseops:no-transaction\nCREATE INDEX CONCURRENTLY t_name ON t (name);\n"
    )
    report = rehearse.run(fresh_db, mig_dir)
    row = only(report, "0002_idx.sql")
    assert not row.rehearsed and "cannot run inside a transaction block" in (row.note or "")
    verdict = rehearse.gate(report)
    assert not verdict.passed and not verdict.failures
    assert verdict.not_verified[0].startswith("0002_idx.sql line 2 (CREATE INDEX CONCURRENTLY")


def test_a_confirmed_copy_keeps_the_migrations_and_samples_concurrent_locks(fresh_db, mig_dir):
    (mig_dir / "0002_text.sql").write_text("ALTER TABLE t ALTER COLUMN name TYPE text;\n")
    (mig_dir / "0003_idx.sql").write_text(
        "-- releaseops:no-transaction\nCREATE INDEX CONCURRENTLY t_name ON t (name);\n"
    )
    report = rehearse.run(fresh_db, mig_dir, confirm_copy=fresh_db.dbname)
    assert report.committed and "declared a throwaway copy" in report.note
    index = only(report, "0003_idx.sql")
    assert index.rehearsed and not index.in_transaction and index.rewritten == ()
    assert index.locks is not None
    assert "ShareUpdateExclusiveLock" in {lock.mode for lock in index.locks}
    assert rehearse.gate(report).passed, rehearse.gate(report).explain()
    assert migrations.status(fresh_db, mig_dir).is_clean


def test_confirm_copy_must_name_the_target(fresh_db, mig_dir):
    with pytest.raises(ConfigurationError, match=r"confirm_copy='prod' does not name the target"):
        rehearse.run(fresh_db, mig_dir, confirm_copy="prod")


def test_a_failing_statement_stops_the_rehearsal_and_fails_the_gate(fresh_db, mig_dir):
    (mig_dir / "0002_nn.sql").write_text("ALTER TABLE t ADD COLUMN x int NOT NULL;\n")
    (mig_dir / "0003_more.sql").write_text("ALTER TABLE t ADD COLUMN y int;\n")
    report = rehearse.run(fresh_db, mig_dir)
    failed, later = report.statements
    assert (failed.sqlstate, later.rehearsed, later.note) == (
        "23502",
        False,
        "not reached: an earlier statement failed",
    )
    verdict = rehearse.gate(report)
    assert verdict.failures[0].startswith(
        "0002_nn.sql line 1 (ALTER TABLE t ADD COLUMN x int NOT NULL) failed on the copy: [23502]"
    )


def test_a_blocking_lock_held_past_the_budget_fails_only_on_a_large_table(fresh_db, mig_dir):
    (mig_dir / "0002_hold.sql").write_text(
        "LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(1.2);\n"
    )
    report = rehearse.run(fresh_db, mig_dir)
    lock, sleep = report.statements
    assert lock.blocking_lock_ms >= 1200 and sleep.blocking_lock_ms == 0
    verdict = rehearse.gate(report, lock_budget_ms=1000)
    assert len(verdict.failures) == 1
    assert "holds AccessExclusiveLock on public.t (100,000 rows" in verdict.failures[0]
    assert "over the 1,000 ms budget" in verdict.failures[0]
    assert rehearse.gate(report, lock_budget_ms=5000).passed
    assert rehearse.gate(report, max_rows=10**6, max_bytes=10**9).passed


def test_report_lines_say_what_was_done(fresh_db, mig_dir):
    (mig_dir / "0002_bigint.sql").write_text("ALTER TABLE t ALTER COLUMN id TYPE bigint;\n")
    lines = rehearse.run(fresh_db, mig_dir).lines()
    assert lines[0].startswith("rehearsed on postgresql://") and "rolled back" in lines[0]
    assert "rewrote public.t" in lines[1]
    assert lines[-1] == "rehearsed 1 of 1 statement(s) of 1 file(s): 0 failed, 0 not rehearsed"
