"""releaseops.migrations against a real throwaway cluster: every state, apply, baseline."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg.rows import dict_row

from releaseops import migrations
from releaseops.dburl import DatabaseUrl
from releaseops.errors import (
    BaselineRefused,
    ChecksumMismatch,
    ConfigurationError,
    ConnectionLost,
    DatabaseAheadOfCode,
    DatabaseUnreachable,
    ForeignMigrationTable,
    InvalidIndexLeft,
    InvalidMigrationFile,
    LockRetriesExhausted,
    MigrationBlocked,
    MigrationError,
    MigrationFailed,
    MigrationFileMissing,
    MigrationLockTimeout,
    OutOfOrderMigration,
)
from releaseops.migrations import files as migration_files
from releaseops.migrations import lock as migration_lock
from releaseops.migrations import state as migration_state
from releaseops.migrations.history import AppliedRow
from releaseops.pg.scratch import ScratchDatabase

FIRST = "CREATE TABLE questions (id serial PRIMARY KEY, body text NOT NULL);\n"
SECOND = (
    "ALTER TABLE questions ADD COLUMN topic text;\n"
    "CREATE INDEX questions_topic ON questions (topic);\n"
)
THIRD = "INSERT INTO questions (body, topic) VALUES ('2 + 2?', 'math');\n"


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    write(directory, "0001_questions.sql", FIRST)
    write(directory, "0002_topics.sql", SECOND)
    return directory


def rows(db: DatabaseUrl) -> list[tuple[str, str | None, str]]:
    with db.connect() as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT version, file_name, mode FROM schema_migrations ORDER BY version"
            ).fetchall()
        ]


def table_exists(db: DatabaseUrl, name: str) -> bool:
    with db.connect() as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        return bool(row and row[0])


def test_status_of_a_new_database_is_all_pending_and_writes_nothing(fresh_db, mig_dir):
    status = migrations.status(fresh_db, mig_dir)
    assert status.pending == ["0001_questions.sql", "0002_topics.sql"]
    assert status.applied == [] and not status.is_clean and status.has_pending
    assert not status.table_exists
    assert not table_exists(fresh_db, "schema_migrations")


def test_apply_runs_pending_files_in_order_and_records_each(fresh_db, mig_dir):
    report = migrations.apply(fresh_db, mig_dir)
    assert report.applied == ["0001_questions.sql", "0002_topics.sql"]
    assert report.lines()[0].startswith("applied 0001_questions.sql in ")
    assert report.lines()[0].endswith(" ms")
    assert rows(fresh_db) == [
        ("0001", "0001_questions.sql", "transaction"),
        ("0002", "0002_topics.sql", "transaction"),
    ]
    status = migrations.status(fresh_db, mig_dir)
    assert status.is_clean and status.applied == report.applied
    json.dumps(status.as_dict())


def test_a_rerun_applies_nothing_and_says_so(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    again = migrations.apply(fresh_db, mig_dir)
    assert again.applied == []
    assert again.lines() == ["nothing to apply: 2 migration(s) applied, database is up to date"]


def test_dry_run_lists_what_would_run_and_changes_nothing(fresh_db, mig_dir):
    report = migrations.apply(fresh_db, mig_dir, dry_run=True)
    assert report.lines() == ["would apply 0001_questions.sql", "would apply 0002_topics.sql"]
    assert not table_exists(fresh_db, "schema_migrations")


def test_one_character_edit_is_a_mismatch_with_both_checksums_and_a_diff(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0002_topics.sql", SECOND.replace("topic text", "topic text "))
    status = migrations.status(fresh_db, mig_dir)
    assert status.mismatched == ["0002_topics.sql"]
    assert status.applied == ["0001_questions.sql"]
    (version,) = [v for v in status.versions if v.state == "mismatch"]
    assert version.stored_checksum != version.file_checksum
    assert status.explain() == (
        f"0002_topics.sql was edited after it was applied (stored sha256 "
        f"{version.stored_checksum[:12]}..., file now {version.file_checksum[:12]}...)"
    )
    assert "+ALTER TABLE questions ADD COLUMN topic text ;" in version.diff
    assert "-ALTER TABLE questions ADD COLUMN topic text;" in version.diff


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda t: t.replace("\n", "\r").encode(), id="cr"),
        pytest.param(lambda t: b"\xef\xbb\xbf" + t.encode(), id="bom"),
    ],
)
def test_line_ending_or_bom_only_change_is_not_an_edit(fresh_db, mig_dir, variant):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0002_topics.sql", variant(SECOND))
    assert migrations.status(fresh_db, mig_dir).is_clean


def test_apply_refuses_when_an_applied_file_was_edited(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0001_questions.sql", FIRST.replace("body", "bodies"))
    write(mig_dir, "0003_seed.sql", THIRD)
    with pytest.raises(
        ChecksumMismatch, match=r"0001_questions.sql was edited after it was applied"
    ):
        migrations.apply(fresh_db, mig_dir)
    assert [r[0] for r in rows(fresh_db)] == ["0001", "0002"]


def test_deleted_applied_file_is_missing_and_refused(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_seed.sql", THIRD)
    (mig_dir / "0001_questions.sql").unlink()
    status = migrations.status(fresh_db, mig_dir)
    assert status.missing == ["0001_questions.sql"]
    assert status.pending == ["0003_seed.sql"]
    with pytest.raises(
        MigrationFileMissing, match=r"0001_questions.sql was applied .* file is gone"
    ):
        migrations.apply(fresh_db, mig_dir)


def test_applied_versions_newer_than_every_file_are_future(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    (mig_dir / "0002_topics.sql").unlink()
    status = migrations.status(fresh_db, mig_dir)
    assert status.future == ["0002_topics.sql"] and status.missing == []
    assert "the database is ahead of this code" in status.explain()
    with pytest.raises(DatabaseAheadOfCode, match=r"Deploy the code that has these files"):
        migrations.apply(fresh_db, mig_dir)


def test_pending_file_older_than_newest_applied_is_out_of_order(fresh_db, mig_dir):
    late = write(mig_dir, "0003_seed.sql", THIRD)
    late.rename(mig_dir / "0003_seed.sql.hold")
    write(mig_dir, "0004_more.sql", "CREATE TABLE more (id int);\n")
    migrations.apply(fresh_db, mig_dir)
    (mig_dir / "0003_seed.sql.hold").rename(mig_dir / "0003_seed.sql")
    status = migrations.status(fresh_db, mig_dir)
    assert status.out_of_order == ["0003_seed.sql"] and status.pending == []
    with pytest.raises(OutOfOrderMigration, match=r"0003_seed.sql is pending but older"):
        migrations.apply(fresh_db, mig_dir)
    report = migrations.apply(fresh_db, mig_dir, allow_out_of_order=True)
    assert report.applied == ["0003_seed.sql"]
    assert migrations.status(fresh_db, mig_dir).is_clean


def test_failing_file_mid_batch_keeps_earlier_ones_and_leaves_itself_absent(fresh_db, mig_dir):
    write(
        mig_dir,
        "0003_broken.sql",
        "CREATE TABLE ok_part (id int);\n\nSELECT no_such_column\nFROM questions;\n",
    )
    write(mig_dir, "0004_after.sql", THIRD)
    with pytest.raises(
        MigrationFailed, match=r'^0003_broken.sql line 3: column "no_such_column" does not exist'
    ) as caught:
        migrations.apply(fresh_db, mig_dir)
    assert caught.value.sqlstate == "42703" and caught.value.line == 3
    assert "rolled back and not recorded" in str(caught.value)
    assert [r[0] for r in rows(fresh_db)] == ["0001", "0002"]
    assert table_exists(fresh_db, "questions")
    assert not table_exists(fresh_db, "ok_part")
    assert migrations.status(fresh_db, mig_dir).pending == ["0003_broken.sql", "0004_after.sql"]


def test_runtime_error_names_the_statement_line(fresh_db, mig_dir):
    write(mig_dir, "0003_bad_data.sql", "SELECT 1;\n-- comment\nSELECT 1 / 0;\n")
    with pytest.raises(MigrationFailed, match=r"^0003_bad_data.sql line 3: division by zero"):
        migrations.apply(fresh_db, mig_dir)


def test_percent_signs_and_dollar_quoting_are_sent_verbatim(fresh_db, mig_dir):
    write(
        mig_dir,
        "0003_function.sql",
        "CREATE FUNCTION pct() RETURNS text LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN '100%'; END;\n$$;\nSELECT pct() LIKE '%\\%%';\n",
    )
    assert migrations.apply(fresh_db, mig_dir).applied[-1] == "0003_function.sql"


def test_baseline_records_files_without_running_them(fresh_db, mig_dir):
    with fresh_db.connect() as conn:
        conn.execute(FIRST)
    write(mig_dir, "0003_seed.sql", THIRD)
    report = migrations.baseline(fresh_db, mig_dir, "0001")
    assert report.recorded == ["0001_questions.sql"]
    assert rows(fresh_db) == [("0001", "0001_questions.sql", "baseline")]
    assert migrations.apply(fresh_db, mig_dir).applied == ["0002_topics.sql", "0003_seed.sql"]


def test_baseline_refuses_a_database_with_history(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    with pytest.raises(BaselineRefused, match=r"already records 2 version\(s\)"):
        migrations.baseline(fresh_db, mig_dir, "0002")


def test_baseline_refuses_an_unknown_version(fresh_db, mig_dir):
    with pytest.raises(BaselineRefused, match=r"no migration file has version '0009'"):
        migrations.baseline(fresh_db, mig_dir, "0009")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("2_short.sql", r"2_short.sql does not follow the naming rule"),
        ("0003-dash.sql", r"0003-dash.sql does not follow the naming rule"),
        ("0003_CamelCase.sql", r"0003_CamelCase.sql does not follow the naming rule"),
        ("0002_again.sql", r"version 0002 is used twice: 0002_again.sql and 0002_topics.sql"),
    ],
)
def test_bad_file_names_are_refused_before_anything_runs(fresh_db, mig_dir, name, message):
    write(mig_dir, name, THIRD)
    with pytest.raises(InvalidMigrationFile, match=message):
        migrations.apply(fresh_db, mig_dir)
    assert not table_exists(fresh_db, "questions")


def test_unknown_directive_is_refused(fresh_db, mig_dir):
    write(mig_dir, "0003_x.sql", "-- releaseops:no-transactions\nSELECT 1;\n")
    with pytest.raises(InvalidMigrationFile, match=r"line 1: unknown directive 'releaseops:no-tra"):
        migrations.status(fresh_db, mig_dir)


def test_empty_pending_file_is_refused(fresh_db, mig_dir):
    write(mig_dir, "0003_empty.sql", "-- nothing yet\n")
    with pytest.raises(InvalidMigrationFile, match=r"0003_empty.sql has no SQL statement"):
        migrations.apply(fresh_db, mig_dir)


def test_bad_timeout_setting_is_a_configuration_error(fresh_db, mig_dir):
    with pytest.raises(ConfigurationError, match=r"lock_timeout='soon' is not a duration"):
        migrations.apply(fresh_db, mig_dir, lock_timeout="soon")


NO_TX = "-- releaseops:no-transaction\n"


def index_is_valid(db: DatabaseUrl, name: str) -> bool | None:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)
        ).fetchone()
        return None if row is None else bool(row[0])


def test_no_transaction_file_runs_create_index_concurrently(fresh_db, mig_dir):
    write(
        mig_dir,
        "0003_body_index.sql",
        NO_TX + "CREATE INDEX CONCURRENTLY questions_body ON questions (body);\n",
    )
    report = migrations.apply(fresh_db, mig_dir)
    assert report.lines()[2].endswith(" ms (no transaction)")
    assert rows(fresh_db)[-1] == ("0003", "0003_body_index.sql", "no-transaction")
    assert index_is_valid(fresh_db, "questions_body") is True


def test_invalid_index_left_by_concurrent_build_is_reported_by_name(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    with fresh_db.connect() as conn:
        conn.execute("INSERT INTO questions (body) VALUES ('same'), ('same')")
    write(
        mig_dir,
        "0003_unique_body.sql",
        NO_TX + "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS questions_body_key\n"
        "    ON questions (body);\n",
    )
    with pytest.raises(
        MigrationFailed, match=r"INVALID index left behind: public.questions_body_key"
    ):
        migrations.apply(fresh_db, mig_dir)
    assert index_is_valid(fresh_db, "questions_body_key") is False
    with fresh_db.connect() as conn:
        conn.execute("DELETE FROM questions WHERE id = (SELECT max(id) FROM questions)")
    # IF NOT EXISTS now skips the broken index silently; the runner must not.
    with pytest.raises(
        InvalidIndexLeft, match=r"left INVALID index\(es\) public.questions_body_key"
    ):
        migrations.apply(fresh_db, mig_dir)
    assert migrations.status(fresh_db, mig_dir).pending == ["0003_unique_body.sql"]
    with fresh_db.connect(autocommit=True) as conn:
        conn.execute("DROP INDEX CONCURRENTLY questions_body_key")
    assert migrations.apply(fresh_db, mig_dir).applied == ["0003_unique_body.sql"]
    assert index_is_valid(fresh_db, "questions_body_key") is True


def test_migration_blocked_by_a_held_lock_fails_by_lock_timeout(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_alter.sql", "ALTER TABLE questions ADD COLUMN level int;\n")
    with fresh_db.connect() as blocker:
        blocker.execute("SELECT count(*) FROM questions")  # holds ACCESS SHARE until rollback
        started = time.monotonic()
        with pytest.raises(
            MigrationBlocked,
            match=r"^0003_alter.sql line 1: blocked past lock_timeout=300ms on each of 1 attempt",
        ):
            migrations.apply(fresh_db, mig_dir, lock_timeout="300ms", lock_retries=0)
        assert time.monotonic() - started < 5
    assert migrations.status(fresh_db, mig_dir).pending == ["0003_alter.sql"]


def hold_lock(db: DatabaseUrl, table: str, seconds: float, started: threading.Event) -> None:
    """Hold ACCESS SHARE on `table` for `seconds` (as a long report query would), then commit."""
    with db.connect(application_name="slow-report") as conn:
        conn.execute(f"SELECT count(*) FROM {table}")
        started.set()
        time.sleep(seconds)
        conn.commit()


def test_a_lock_held_for_3_s_is_outlasted_by_a_retry(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_alter.sql", "ALTER TABLE questions ADD COLUMN level int;\n")
    held = threading.Event()
    holder = threading.Thread(target=hold_lock, args=(fresh_db, "questions", 3.0, held))
    holder.start()
    held.wait(10)
    try:
        report = migrations.apply(
            fresh_db, mig_dir, lock_timeout="1500ms", lock_retries=3, lock_retry_delay_s=1
        )
    finally:
        holder.join()
    (applied,) = report.files
    assert (applied.name, applied.attempts) == ("0003_alter.sql", 2)
    assert applied.line().endswith("after 1 lock retry(ies)")
    assert migrations.status(fresh_db, mig_dir).is_clean


def test_a_lock_held_past_every_retry_exits_13_naming_the_holder(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_alter.sql", "ALTER TABLE questions ADD COLUMN level int;\n")
    pauses: list[float] = []
    with fresh_db.connect(application_name="slow-report") as blocker:
        blocker.execute("SELECT count(*) FROM questions")
        pid = blocker.info.backend_pid
        with pytest.raises(LockRetriesExhausted) as raised:
            migrations.apply(
                fresh_db, mig_dir, lock_timeout="300ms", lock_retries=2, sleep=pauses.append
            )
    error = raised.value
    assert error.exit_code == 13 and error.attempts == 3
    assert pauses == [2.0, 4.0]
    assert str(error).startswith(
        "0003_alter.sql line 1: blocked past lock_timeout=300ms on each of 3 attempt(s) "
        "(retried after 2, 4 s); the lock is held by pid "
    )
    assert f"pid {pid} (application slow-report, user " in str(error)
    assert "query started 20" in str(error) and "'SELECT count(*) FROM questions')" in str(error)
    assert f"SELECT pg_terminate_backend({pid})" in str(error)
    assert "\n" not in str(error)
    assert migrations.status(fresh_db, mig_dir).pending == ["0003_alter.sql"]


def test_a_no_transaction_file_retries_only_the_blocked_statement(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(
        mig_dir,
        "0003_two_steps.sql",
        "-- releaseops:no-transaction\nINSERT INTO questions (body) VALUES ('once');\n"
        "ALTER TABLE questions ADD COLUMN IF NOT EXISTS level int;\n",
    )
    held = threading.Event()
    holder = threading.Thread(target=hold_lock, args=(fresh_db, "questions", 2.0, held))
    holder.start()
    held.wait(10)
    try:
        report = migrations.apply(
            fresh_db, mig_dir, lock_timeout="1s", lock_retries=3, lock_retry_delay_s=0.5
        )
    finally:
        holder.join()
    assert report.files[0].attempts >= 2
    with fresh_db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM questions WHERE body = 'once'").fetchone()
    assert row == (1,)


def test_negative_retry_settings_are_a_configuration_error(fresh_db, mig_dir):
    with pytest.raises(ConfigurationError, match=r"lock_retries=-1 .* must not be negative"):
        migrations.apply(fresh_db, mig_dir, lock_retries=-1)


def test_a_connection_lost_mid_migration_is_database_unreachable(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_slow.sql", "SELECT 1;\nSELECT pg_sleep(30);\n")
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(migrations.apply, fresh_db, mig_dir)
        with fresh_db.connect(autocommit=True) as admin:
            pid = None
            deadline = time.monotonic() + 20
            while pid is None and time.monotonic() < deadline:
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = "
                    "'releaseops-migrations' AND query LIKE 'SELECT pg_sleep%'"
                ).fetchone()
                pid = row[0] if row else time.sleep(0.05)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(ConnectionLost) as raised:
            running.result(timeout=60)
    error = raised.value
    assert error.exit_code == 3 and isinstance(error, DatabaseUnreachable)
    assert str(error).startswith("the connection to the database was lost: 0003_slow.sql line 2:")
    assert "SQLSTATE" not in str(error) and "\n" not in str(error)
    assert migrations.status(fresh_db, mig_dir).pending == ["0003_slow.sql"]


DBMATE = "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);\n"
DBMATE += "INSERT INTO schema_migrations VALUES ('20240101120000');\n"
FOREIGN = (
    r"^schema_migrations was made by another tool \(its columns: version; releaseops needs "
    r"checksum, applied_at too\), so releaseops neither reads nor changes it\. Rename it"
)


def test_another_tools_schema_migrations_is_refused_in_one_line(fresh_db, mig_dir):
    with fresh_db.connect() as conn:
        conn.execute(DBMATE)
    with pytest.raises(ForeignMigrationTable, match=FOREIGN) as raised:
        migrations.apply(fresh_db, mig_dir)
    assert raised.value.exit_code == 11 and "\n" not in str(raised.value)
    with pytest.raises(ForeignMigrationTable, match=FOREIGN):
        migrations.status(fresh_db, mig_dir)
    with pytest.raises(ForeignMigrationTable, match=FOREIGN):
        migrations.baseline(fresh_db, mig_dir, "0001")
    with fresh_db.connect() as conn:
        columns = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'schema_migrations'::regclass "
            "AND attnum > 0 AND NOT attisdropped"
        ).fetchall()
    assert columns == [("version",)]
    assert not table_exists(fresh_db, "questions")


def test_statement_timeout_directive_overrides_the_default(fresh_db, mig_dir):
    write(mig_dir, "0003_slow.sql", "-- releaseops:statement-timeout 200ms\nSELECT pg_sleep(2);\n")
    with pytest.raises(MigrationFailed, match=r"canceling statement due to statement timeout"):
        migrations.apply(fresh_db, mig_dir)


def test_second_runner_times_out_waiting_for_the_lock_and_names_the_holder(fresh_db, mig_dir):
    with fresh_db.connect(autocommit=True, application_name="other-runner") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (migration_lock.LOCK_KEY,))
        with pytest.raises(
            MigrationLockTimeout,
            match=r"another migration runner holds the lock \(pid \d+ .*other-runner.*waited 0.3 s",
        ):
            migrations.apply(fresh_db, mig_dir, lock_wait_s=0.3)
    assert migrations.apply(fresh_db, mig_dir).applied == ["0001_questions.sql", "0002_topics.sql"]


def test_lock_wait_uses_the_injected_clock(fresh_db):
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    with fresh_db.connect(autocommit=True) as holder, fresh_db.connect(autocommit=True) as waiter:
        holder.execute("SELECT pg_advisory_lock(%s)", (migration_lock.LOCK_KEY,))
        lock = migration_lock.held(waiter, 30, clock=lambda: now[0], sleep=sleep)
        with pytest.raises(MigrationLockTimeout, match=r"waited 30 s"), lock:
            pass
    assert sum(naps) == pytest.approx(30)


def test_status_works_on_a_read_only_database(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    with fresh_db.connect(autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{fresh_db.dbname}" SET default_transaction_read_only = on')
    assert migrations.status(fresh_db, mig_dir).is_clean


def test_status_on_a_held_connection_is_status_and_leaves_the_connection_as_it_was(
    fresh_db, mig_dir
):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_later.sql", "CREATE TABLE later (id int);\n")
    expected = migrations.status(fresh_db, mig_dir)
    # A service's pooled session: dict rows, inside a transaction of its own.
    with fresh_db.connect(row_factory=dict_row) as conn:
        conn.execute("SELECT 1")
        found = migrations.status_on(conn, mig_dir)
        assert conn.row_factory is dict_row
        assert conn.execute("SELECT 2 AS two").fetchone() == {"two": 2}
    assert found.as_dict() == expected.as_dict()
    assert found.pending == ["0003_later.sql"]


def test_unparsable_pending_file_is_refused_before_any_file_runs(fresh_db, mig_dir):
    write(mig_dir, "0003_typo.sql", "SELECT 1;\nCREAT TABLE x (id int);\n")
    with pytest.raises(InvalidMigrationFile, match=r"0003_typo.sql line 2: cannot be parsed"):
        migrations.apply(fresh_db, mig_dir)
    assert not table_exists(fresh_db, "questions")


def test_no_transaction_failure_says_earlier_statements_stay(fresh_db, mig_dir):
    write(
        mig_dir,
        "0003_two.sql",
        NO_TX + "CREATE INDEX CONCURRENTLY qb ON questions (body);\n"
        "CREATE INDEX CONCURRENTLY qx ON questions (nope);\n",
    )
    with pytest.raises(MigrationFailed, match=r"^0003_two.sql line 3: .*statements before that"):
        migrations.apply(fresh_db, mig_dir)
    assert index_is_valid(fresh_db, "qb") is True
    assert migrations.status(fresh_db, mig_dir).pending == ["0003_two.sql"]


def test_status_report_is_json_and_lists_every_version_once(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    write(mig_dir, "0003_seed.sql", THIRD)
    status = migrations.status(fresh_db, mig_dir)
    data = json.loads(json.dumps(status.as_dict()))
    assert [(v["name"], v["state"]) for v in data["versions"]] == [
        ("0001_questions.sql", "applied"),
        ("0002_topics.sql", "applied"),
        ("0003_seed.sql", "pending"),
    ]
    assert data["counts"]["pending"] == 1
    assert status.explain() == "0003_seed.sql is pending"


def make_read_only(db: DatabaseUrl) -> None:
    with db.connect(autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{db.dbname}" SET default_transaction_read_only = on')


def test_rerun_on_an_up_to_date_read_only_database_has_nothing_to_do(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    make_read_only(fresh_db)
    assert migrations.apply(fresh_db, mig_dir).applied == []


def test_database_error_outside_a_migration_is_a_named_error(fresh_db, mig_dir):
    make_read_only(fresh_db)
    with pytest.raises(
        MigrationError,
        match=r"^applying migrations failed: cannot execute CREATE TABLE in a read-only",
    ):
        migrations.apply(fresh_db, mig_dir)


def test_a_different_file_under_an_applied_version_says_what_it_was_applied_as(fresh_db, mig_dir):
    migrations.apply(fresh_db, mig_dir)
    (mig_dir / "0002_topics.sql").unlink()
    write(mig_dir, "0002_levels.sql", "ALTER TABLE questions ADD COLUMN level int;\n")
    assert migrations.status(fresh_db, mig_dir).explain().endswith("applied as 0002_topics.sql)")


# --- files, checksums and directives (no database) ------------------------------------------


def test_checksum_ignores_line_endings_and_bom_but_not_content():
    lf = b"SELECT 1;\nSELECT 2;\n"
    assert migration_files.checksum(lf) == migration_files.checksum(lf.replace(b"\n", b"\r\n"))
    assert migration_files.checksum(lf) == migration_files.checksum(b"\xef\xbb\xbf" + lf)
    assert migration_files.checksum(lf) != migration_files.checksum(lf.replace(b"2", b"3"))
    assert migration_files.checksum(lf) != migration_files.checksum(lf + b"\n")


def test_directives_are_read_from_the_header_only():
    text = "-- releaseops:no-transaction\n-- releaseops:lock-timeout 30s\nSELECT 1;\n"
    assert migration_files.parse_directives(text) == {
        "no-transaction": "",
        "lock-timeout": "30s",
    }
    assert migration_files.parse_directives("SELECT 1;\n-- releaseops:no-transaction\n") == {}


def test_bad_timeout_directive_is_refused():
    with pytest.raises(InvalidMigrationFile, match=r"releaseops:lock-timeout needs a duration"):
        migration_files.parse_directives("-- releaseops:lock-timeout soon\nSELECT 1;\n")


def test_statements_carry_the_line_of_their_first_token():
    text = "-- header\nSELECT 1;\n\n  -- note\nSELECT\n  2;\nSELECT 3"
    statements = migration_files.split_statements(text)
    assert [(s.sql, s.line) for s in statements] == [
        ("SELECT 1", 2),
        ("SELECT\n  2", 5),
        ("SELECT 3", 7),
    ]


def test_future_needs_a_version_above_every_file_and_missing_one_below():
    files = [
        migration_files.MigrationFile(Path("0002_b.sql"), "0002", "SELECT 2;\n", "c2"),
    ]
    stamp = datetime.now(UTC)
    rows = {
        v: AppliedRow(version=v, checksum="x", applied_at=stamp, file_name=f"{v}_x.sql")
        for v in ("0001", "0003")
    }
    status = migration_state.build(files, rows)
    assert status.missing == ["0001_x.sql"]
    assert status.future == ["0003_x.sql"]
    assert status.out_of_order == ["0002_b.sql"]


def test_runners_on_different_databases_do_not_wait_for_each_other(pg_cluster, fresh_db, mig_dir):
    with ScratchDatabase(pg_cluster.url) as other, fresh_db.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (migration_lock.LOCK_KEY,))
        assert migrations.apply(other, mig_dir, lock_wait_s=0.3).applied == [
            "0001_questions.sql",
            "0002_topics.sql",
        ]


def test_postgres_hint_is_part_of_the_failure_message(fresh_db, mig_dir):
    write(mig_dir, "0003_call.sql", "SELECT no_such_function(1);\n")
    with pytest.raises(MigrationFailed, match=r"does not exist \(hint: No function matches"):
        migrations.apply(fresh_db, mig_dir)
