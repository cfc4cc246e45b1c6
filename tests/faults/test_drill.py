"""Each restore-drill check goes red, alone, when its fault is injected."""

from __future__ import annotations

import json
import threading
import time

import pytest

from releaseops import backup
from releaseops.rehearsal.cluster import free_port

URLS = "drill.drill_urls_prepared"
PREFLIGHT = "drill.preflight_tooling_checks"
BACKUP = "drill.backup_newest_artifact_listed"
RESTORE = "drill.drill_database_recreated_and_restored"
COMPARE = "drill.restored_data_equals_source"
MIGRATIONS = "drill.migrations_rerun_on_drill"
FTS = "drill.fts_resynced_on_drill"
LISTED = "drill.drill_schema_migrations_listed"
REHEARSE = "drill.pending_migrations_rehearsed_on_drill_copy"
PREVIOUS = "drill.previous_release_survives_the_migration"
AFTER_RESTORE = {COMPARE, MIGRATIONS, FTS, LISTED, REHEARSE, PREVIOUS}
# The drill never reaches the running service: the staged one is never started.
pytestmark = pytest.mark.staged(serve=False)


def _assert_no_go(run, *conditions: str) -> None:
    assert run.decision == "NO-GO", run.describe()
    assert run.returncode != 0
    for condition in conditions:
        assert condition in run.conditions(), run.reasons


def _question_count(staged) -> int:
    with staged.db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM questions").fetchone()
    assert row is not None
    return int(row[0])


def _database_names(staged) -> set[str]:
    with staged.db.connect() as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}


def test_drill_is_green_on_a_healthy_target(staged):
    run = staged.run("drill", *staged.drill_execute())
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0


def test_drill_url_equal_to_the_source_turns_url_check_red_and_never_drops_the_source(staged):
    questions = _question_count(staged)
    # The same database, spelled through another loopback name.
    same = staged.db.sqlalchemy(with_password=True).replace(f"@{staged.db.host}:", "@localhost:")
    assert staged.db.host == "127.0.0.1" and "@localhost:" in same
    staged.overrides["DRILL_DATABASE_URL"] = same
    run = staged.run("drill", *staged.drill_execute())
    # The restore is blocked by the URL check: it never runs, and nothing was dropped.
    assert run.failed == {URLS}, run.describe()
    assert "is the source database" in run.message(URLS)
    assert run.message(RESTORE).startswith("blocked by 1. Prepare DB URLs")
    assert run.not_verified == {RESTORE} | AFTER_RESTORE
    assert _question_count(staged) == questions > 0
    # The root cause is the URL or execution check, which decides no section 4 condition;
    # the restore it stopped is not verified (never GO) but decides none either.
    _assert_no_go(run)


def test_admin_url_on_another_server_turns_url_check_red(staged):
    admin = staged.db.with_dbname("postgres")
    staged.overrides["POSTGRES_ADMIN_URL"] = admin.libpq(with_password=True).replace(
        f":{admin.port}/", f":{free_port()}/"
    )
    assert staged.overrides["POSTGRES_ADMIN_URL"] != admin.libpq(with_password=True)
    run = staged.run("drill", *staged.drill_execute())
    # The restore, which needs the admin connection, is blocked by the URL check.
    assert run.failed == {URLS}, run.describe()
    assert "POSTGRES_ADMIN_URL" in run.message(URLS) and "not on the drill" in run.message(URLS)
    assert run.not_verified == {RESTORE} | AFTER_RESTORE
    # The root cause is the URL or execution check, which decides no section 4 condition;
    # the restore it stopped is not verified (never GO) but decides none either.
    _assert_no_go(run)


def test_unannotated_destructive_migration_turns_drill_preflight_red(staged):
    copy = staged.migrations_copy()
    (copy / "0005_drop_confidence.sql").write_text(
        "ALTER TABLE classification_suggestions DROP COLUMN confidence;\n"
    )
    run = staged.run("drill", *staged.drill_execute())
    # The runner applies the file to the drill copy (that is what a drill is for); the
    # preflight's lint refuses it, and the previous release, still reading the column, breaks.
    assert run.failed == {PREFLIGHT, PREVIOUS}, run.describe()
    message = run.message(PREFLIGHT)
    assert "0005_drop_confidence.sql" in message and "destructive" in message
    assert "broken by 0005_drop_confidence.sql line 1" in run.message(PREVIOUS)
    _assert_no_go(run)


def test_backup_directory_under_a_file_turns_drill_backup_red(staged, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file\n")
    staged.overrides["BACKUP_DIR"] = str(blocker / "backups")
    run = staged.run("drill", *staged.drill_execute())
    # The preflight's "backup directory writable" row sees the same fault.
    assert run.failed == {PREFLIGHT, BACKUP}, run.describe()
    assert "not-a-directory" in run.message(BACKUP)
    assert run.not_verified == {RESTORE} | AFTER_RESTORE
    _assert_no_go(run, "nogo.backup")


def test_hostile_drill_database_name_is_refused_and_nothing_is_dropped(staged):
    databases = _database_names(staged)
    staged.overrides["DRILL_DATABASE_URL"] = ""
    staged.overrides["DRILL_DB_NAME"] = 'x"; DROP DATABASE postgres; --'
    run = staged.run("drill", *staged.drill_execute())
    # The URL check names the problem; the restore is blocked by it and never runs.
    assert run.failed == {URLS}, run.describe()
    assert "not a plain identifier" in run.message(URLS)
    assert run.not_verified == {RESTORE} | AFTER_RESTORE
    assert _database_names(staged) == databases
    # The root cause is the URL or execution check, which decides no section 4 condition;
    # the restore it stopped is not verified (never GO) but decides none either.
    _assert_no_go(run)


def test_source_written_during_the_drill_shows_no_false_difference(staged):
    # A source that keeps taking writes while the drill runs: rows and sequence values land
    # before, during and after the backup. The restored copy is compared with the fingerprint
    # of the dump's own snapshot, so none of them is a difference.
    staged.sql("CREATE TABLE drill_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
    stop = threading.Event()

    def write() -> None:
        with staged.db.connect(autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO drill_writes DEFAULT VALUES")
                time.sleep(0.02)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        run = staged.run("drill", *staged.drill_execute())
    finally:
        stop.set()
        writer.join(timeout=10)
    assert run.decision == "GO", run.describe()
    assert _comparison(run)["verified"] is True and _compared(run) == []
    with staged.db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM drill_writes").fetchone()
    dump = backup.list_backups(staged.target.backup_dir, staged.db.dbname)[0]
    assert dump.manifest is not None and row is not None
    assert row[0] > dump.manifest.row_counts["public.drill_writes"]


def _fault_plugin(staged, tmp_path, **environ: str) -> str:
    """A pytest plugin for the phase run that breaks things between restore and comparison."""
    package = tmp_path / "fault_plugin"
    package.mkdir()
    (package / "drill_fault.py").write_text(FAULT_PLUGIN)
    staged.overrides["PYTHONPATH"] = str(package)
    staged.overrides.update(environ)
    return "drill_fault"


# Loaded into the phase run with -p: right before the comparison check, after the real restore,
# it changes the drill copy (or the dump's manifest) the way a lossy restore would; right
# before the rehearsal it can take another backup of the source.
FAULT_PLUGIN = """
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from releaseops import backup, dburl
from releaseops.backup import manifest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.name == "test_pending_migrations_rehearsed_on_drill_copy":
        if os.environ.get("DRILL_FAULT_NEWER_BACKUP"):  # another backup lands meanwhile
            time.sleep(1.1)  # a later name than the drill's own, to the second
            backup.create(dburl.parse(os.environ["DATABASE_URL"]), Path(os.environ["BACKUP_DIR"]))
        return
    if item.name != "test_restored_data_equals_source":
        return
    statements = json.loads(os.environ.get("DRILL_FAULT_SQL", "[]"))
    if statements:
        with dburl.parse(os.environ["DRILL_DATABASE_URL"]).connect(autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
    if os.environ.get("DRILL_FAULT_OLD_MANIFEST"):
        newest = backup.list_backups(Path(os.environ["BACKUP_DIR"]))[0]
        old = replace(manifest.load(newest.path), fingerprint=None, manifest_version=1)
        manifest.write(newest.path, old)
"""


def _comparison(run) -> dict:
    """The comparison the check recorded in its evidence."""
    return _evidence(run, COMPARE, "comparison")


def _compared(run) -> list[str]:
    """Every difference the comparison check recorded, in order."""
    return [d["text"] for d in _comparison(run)["diff"]["differences"]]


def _last_id(staged) -> int:
    with staged.db.connect() as conn:
        row = conn.execute("SELECT last_value FROM questions_id_seq").fetchone()
    assert row is not None
    return int(row[0])


def _fts_trigger(staged) -> str:
    with staged.db.connect() as conn:
        row = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'questions'::regclass "
            "AND NOT tgisinternal"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_restored_copy_differing_in_sequence_large_object_trigger_and_constraint_is_no_go(
    staged, tmp_path
):
    with staged.db.connect(autocommit=True) as conn:
        row = conn.execute("SELECT lo_from_bytea(0, 'exam poster'::bytea)").fetchone()
    assert row is not None
    oid, trigger = int(row[0]), _fts_trigger(staged)
    faults = [
        "SELECT setval('questions_id_seq', 1000000)",
        f"SELECT lo_put({oid}, 0, 'E')",
        f"ALTER TABLE questions DISABLE TRIGGER {trigger}",
        "ALTER TABLE documents DROP CONSTRAINT documents_size_bytes_check, ADD CONSTRAINT "
        "documents_size_bytes_check CHECK (size_bytes >= 0) NOT VALID",
    ]
    plugin = _fault_plugin(staged, tmp_path, DRILL_FAULT_SQL=json.dumps(faults))
    run = staged.run("drill", *staged.drill_execute(), "-p", plugin)
    assert run.failed == {COMPARE}, run.describe()
    assert run.message(COMPARE).startswith("AssertionError: 5 differences, the dump ")
    found = _compared(run)
    assert found.pop(2).startswith(f"large object {oid}: bytes differ (sha256 ")
    assert found == [
        "constraint documents_size_bytes_check on public.documents: definition "
        "CHECK ((size_bytes >= 0)) vs CHECK ((size_bytes >= 0)) NOT VALID",
        "constraint documents_size_bytes_check on public.documents: validated true vs false",
        f"sequence public.questions_id_seq: last_value {_last_id(staged)} vs 1000000",
        f"trigger {trigger} on public.questions: enabled O vs D",
    ]
    _assert_no_go(run, "nogo.backup")


def _evidence(run, check_id: str, title: str):
    check = next(c for c in run.checks if c["check_id"] == check_id)
    return next(r["content"] for r in check["evidence"] if r["title"] == title)


def test_a_backup_taken_during_the_drill_is_not_the_dump_it_rehearses_on(staged, tmp_path):
    # Another backup of the source lands between the drill's own (step 3) and the rehearsal:
    # the rehearsal restores the drill's own dump, the one the comparison verified.
    plugin = _fault_plugin(staged, tmp_path, DRILL_FAULT_NEWER_BACKUP="1")
    run = staged.run("drill", *staged.drill_execute(), "-p", plugin)
    assert run.decision == "GO", run.describe()
    own = _evidence(run, BACKUP, "backup")["path"]
    rehearsed = _evidence(run, REHEARSE, "copy")["dump"]
    newest = backup.list_backups(staged.target.backup_dir, staged.db.dbname)[0]
    assert rehearsed == own, (rehearsed, own)
    assert str(newest.path) != own  # the newer backup was there, and was not used


def test_the_rehearsal_without_the_drills_own_backup_is_not_verified(staged):
    # Run alone, the rehearsal has no dump of this drill to restore, and takes no other one.
    staged.target.ensure_backup()  # a backup of the source is there, the drill's is not
    run = staged.run("drill/test_03_rehearse.py", *staged.drill_execute())
    assert run.outcome(REHEARSE) == "not verified", run.describe()
    assert "the drill's own backup (step 3) was not taken in this run" in run.message(REHEARSE)
    assert run.decision == "NO-GO" and run.returncode != 0


def test_a_dump_without_a_fingerprint_leaves_the_comparison_not_verified(staged, tmp_path):
    plugin = _fault_plugin(staged, tmp_path, DRILL_FAULT_OLD_MANIFEST="1")
    run = staged.run("drill", *staged.drill_execute(), "-p", plugin)
    assert run.failed == set(), run.describe()
    assert run.not_verified == {COMPARE}, run.describe()
    assert "records no fingerprint (manifest version 1" in run.message(COMPARE)
    _assert_no_go(run)


def test_failing_newest_migration_turns_drill_migration_rerun_red(staged):
    copy = staged.migrations_copy()
    (copy / "0005_difficulty.sql").write_text(
        "ALTER TABLE no_such_table ADD COLUMN difficulty int;\n"
    )
    run = staged.run("drill", *staged.drill_execute())
    assert run.failed == {MIGRATIONS}, run.describe()
    message = run.message(MIGRATIONS)
    assert "0005_difficulty.sql" in message or "no_such_table" in message
    assert run.not_verified == {LISTED, REHEARSE, PREVIOUS}
    _assert_no_go(run, "nogo.migration")


def test_fts_spec_with_a_missing_column_turns_drill_fts_check_red(staged, tmp_path):
    package = tmp_path / "specs"
    package.mkdir()
    (package / "drill_spec.py").write_text(
        "from releaseops.fts import FtsSpec, FtsTable\n"
        'SPEC = FtsSpec(tables=(FtsTable("questions", {"stem": "A", "no_such_column": "B"}),))\n'
    )
    staged.overrides["PYTHONPATH"] = str(package)
    staged.overrides["FTS_SPEC"] = "drill_spec:SPEC"
    run = staged.run("drill", *staged.drill_execute())
    assert run.failed == {FTS}, run.describe()
    assert "no_such_column" in run.message(FTS)
    _assert_no_go(run)


def test_drill_against_an_env_target_without_execute_changes_nothing(staged):
    databases = _database_names(staged)
    run = staged.run("drill")
    # Recreating the drill database destroys whatever it held: an env target needs
    # --execute --confirm-db <drill database>; without them the step is not verified.
    assert run.failed == set(), run.describe()
    assert run.not_verified == {RESTORE} | AFTER_RESTORE, run.describe()
    assert "needs --execute" in run.message(RESTORE)
    assert _database_names(staged) == databases
    # The root cause is the URL or execution check, which decides no section 4 condition;
    # the restore it stopped is not verified (never GO) but decides none either.
    _assert_no_go(run)


def test_confirming_the_wrong_database_leaves_the_drill_not_verified(staged):
    run = staged.run("drill", "--execute", "--confirm-db", staged.db.dbname)
    assert run.not_verified == {RESTORE} | AFTER_RESTORE, run.describe()
    assert f"pass --confirm-db {staged.target.drill_dbname}" in run.message(RESTORE)


def test_system_database_as_drill_target_is_refused(staged):
    staged.overrides["DRILL_DATABASE_URL"] = ""
    staged.overrides["DRILL_DB_NAME"] = "postgres"
    run = staged.run("drill", "--execute", "--confirm-db", "postgres")
    assert run.failed == {URLS}, run.describe()
    assert "is a PostgreSQL system database" in run.message(URLS)
    assert run.not_verified == {RESTORE} | AFTER_RESTORE
    # The root cause is the URL or execution check, which decides no section 4 condition;
    # the restore it stopped is not verified (never GO) but decides none either.
    _assert_no_go(run)
