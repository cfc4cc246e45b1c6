"""The previous release against a migrated copy: smoke paths, blamed statements, starters."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from releaseops import migrations
from releaseops.dburl import DatabaseUrl
from releaseops.migrations import contracting
from releaseops.migrations import files as migration_files
from releaseops.pg.scratch import create_database, drop_database
from releaseops.rehearsal.embedded import EmbeddedTarget
from releaseops.rehearsal.lifetime import Proc
from releaseops.rehearsal.previous import EmbeddedPreviousRelease, command_for
from releaseops.runbook import previous
from releaseops.runbook.previous_command import CommandPreviousRelease

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = "previous_release_template"
RENAME = "ALTER TABLE questions RENAME COLUMN category_source TO category_origin;\n"


# --- which statements contract the schema, and which one an error names -------------------------


@pytest.mark.parametrize(
    ("sql", "change"),
    [
        ("ALTER TABLE questions RENAME COLUMN stem TO prompt", "renames"),
        ("ALTER TABLE questions RENAME TO items", "renames"),
        ("DROP TABLE documents", "drops"),
        ("ALTER TABLE t DROP COLUMN confidence", "drops"),
        ("ALTER TABLE t ALTER COLUMN id TYPE bigint", "changes the type of"),
        ("ALTER TABLE t ALTER COLUMN id SET DATA TYPE bigint", "changes the type of"),
        ("ALTER TABLE t SET SCHEMA archive", "moves"),
        ("ALTER TABLE t ALTER COLUMN x SET NOT NULL", "makes NOT NULL"),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0) NOT VALID", "adds a constraint to"),
        ("ALTER TABLE t ADD COLUMN x int NOT NULL", "adds a NOT NULL column without a default to"),
        ("ALTER TABLE t ADD COLUMN x int NOT NULL DEFAULT 0", None),
        ("ALTER TABLE t ADD COLUMN x int", None),
        ("ALTER TABLE t ALTER COLUMN x DROP NOT NULL", None),
        ("CREATE INDEX i ON t (x) -- not DROP anything", None),
        ("CREATE TABLE dropped_items (id int)", None),
        ("ALTER TYPE mood ADD VALUE 'calm'", None),
    ],
)
def test_contracting_statements_are_told_from_expanding_ones(sql, change):
    assert contracting.change_of(sql) == change


def test_identifiers_quoted_by_postgresql_messages_are_found_in_a_json_log_line():
    log = (
        '{"level": "ERROR", "message": "unhandled exception", "exc_info": "psycopg.errors.'
        'UndefinedColumn: column \\"category_source\\" does not exist"}\n'
        "column q.stem does not exist\n"
    )
    assert contracting.quoted_names(log) == {"category_source", "q.stem", "q", "stem"}


def files_with(tmp_path: Path, **sql: str) -> list[migration_files.MigrationFile]:
    directory = tmp_path / "pending"
    directory.mkdir(exist_ok=True)
    for name, text in sql.items():
        (directory / f"{name}.sql").write_text(text)
    return migration_files.discover(directory)


def test_the_statement_an_error_names_is_the_suspect(tmp_path):
    pending = files_with(
        tmp_path,
        **{"0005_drop_index": "DROP INDEX questions_subject_idx;\n", "0006_rename": RENAME},
    )
    error = 'psycopg.errors.UndefinedColumn: column "category_source" does not exist'
    (suspect,) = contracting.suspects(pending, error)
    assert suspect.describe() == (
        "0006_rename.sql line 1: ALTER TABLE questions RENAME COLUMN category_source TO "
        'category_origin (renames; the error names "category_source")'
    )


def test_without_a_named_statement_every_contracting_one_is_a_candidate(tmp_path):
    pending = files_with(
        tmp_path,
        **{"0005_add": "ALTER TABLE t ADD COLUMN x int;\n", "0006_drop": "DROP TABLE t;\n"},
    )
    (candidate,) = contracting.suspects(pending, "internal error; see the service log")
    assert (candidate.file, candidate.change, candidate.named) == ("0006_drop.sql", "drops", ())


# --- the previous release started against a migrated copy --------------------------------------


@pytest.fixture(scope="module")
def embedded(pg_cluster, tmp_path_factory) -> Iterator[EmbeddedTarget]:
    """A running embedded target; TEMPLATE is its database at the previous release."""
    work = tmp_path_factory.mktemp("previous")
    EmbeddedTarget(REPO, work / "stage", cluster=pg_cluster, dbname=TEMPLATE).stage_database(
        TEMPLATE
    )
    target = EmbeddedTarget(
        REPO, work / "target", cluster=pg_cluster, dbname=f"previous_{secrets.token_hex(4)}"
    )
    target.start(template=TEMPLATE)
    try:
        yield target
    finally:
        target.stop()
        drop_database(pg_cluster.url, TEMPLATE)


@pytest.fixture
def migrated(pg_cluster, embedded, tmp_path):
    """Make a copy of the previous release's database migrated with the release plus `extra`."""
    made: list[str] = []

    def make(**extra: str) -> tuple[DatabaseUrl, list[migration_files.MigrationFile]]:
        directory = tmp_path / "release"
        shutil.copytree(embedded.migrations_dir, directory)
        for name, text in extra.items():
            (directory / f"{name}.sql").write_text(text)
        name = f"previous_copy_{secrets.token_hex(4)}"
        made.append(name)
        copy = create_database(pg_cluster.url, name, template=TEMPLATE)
        pending = previous.pending_files(copy, directory)
        migrations.apply(copy, directory)
        return copy, pending

    yield make
    for name in made:
        drop_database(pg_cluster.url, name)


def test_the_previous_release_survives_an_expanding_migration(embedded, migrated):
    copy, pending = migrated(
        **{"0005_expand": "ALTER TABLE questions ADD COLUMN difficulty int;\n"}
    )
    survival = previous.survives(
        EmbeddedPreviousRelease(embedded), copy, pending, token=embedded.token
    )
    assert survival.ok, survival.explain()
    one = survival.calls[5].path
    assert [f"{c.method} {c.path}" for c in survival.calls] == [
        "GET /health",
        "GET /api/manage/questions",
        "GET /manage",
        "GET /api/retrieval/search?q=photosynthesis",
        "POST /api/manage/questions",
        f"GET {one}",
        f"PATCH {one}",
        "POST /api/ai/classify",
        f"GET /api/ai/classify/{one.rsplit('/', 1)[1]}/preview",
        f"DELETE {one}",
    ]
    assert survival.explain().startswith("the previous release (the reference service on its ")
    assert "answered all 10 smoke requests (6 reads, 4 writes)" in survival.explain()


def test_a_renamed_column_breaks_the_previous_release_naming_statement_and_request(
    embedded, migrated
):
    copy, pending = migrated(**{"0005_rename": RENAME})
    survival = previous.survives(
        EmbeddedPreviousRelease(embedded), copy, pending, token=embedded.token
    )
    assert not survival.ok
    failed = {f"{c.method} {c.path}": c for c in survival.failed}
    listing = failed["GET /api/manage/questions"]
    assert listing.status == 500 and "INTERNAL_ERROR" in listing.excerpt
    assert "POST /api/manage/questions" in failed
    explained = survival.explain()
    assert explained.startswith(
        "the previous release (the reference service on its migrations, embedded) fails against "
        "the migrated copy: GET /api/manage/questions -> 500 (expected 200): '{"
    )
    assert (
        "\nbroken by 0005_rename.sql line 1: ALTER TABLE "
        "questions RENAME COLUMN category_source TO category_origin (renames; the error names "
        '"category_source")'
    ) in explained
    assert explained.endswith(previous.RECIPE)
    assert (
        "unhandled exception (/api/manage/questions): psycopg.errors.UndefinedColumn: column "
        '"category_source" does not exist'
    ) in survival.log_excerpt.splitlines()
    assert embedded.db.password not in explained + str(survival.as_dict())


def test_previous_release_command_starts_it_on_the_copy_and_stops_it(embedded, migrated):
    copy, pending = migrated()
    release = CommandPreviousRelease(embedded.as_target(), command_for(embedded))
    survival = previous.survives(release, copy, pending, token=embedded.token)
    assert survival.ok, survival.explain()
    assert survival.release == "the previous release (started by PREVIOUS_RELEASE_COMMAND)"


def test_a_previous_release_command_that_ends_is_a_start_failure_naming_its_output(
    embedded, migrated
):
    copy, pending = migrated(**{"0005_drop": "DROP TABLE classification_suggestions;\n"})
    release = CommandPreviousRelease(
        embedded.as_target(), 'echo "relation \\"classification_suggestions\\" is gone" >&2; exit 3'
    )
    survival = previous.survives(release, copy, pending, token=embedded.token)
    assert not survival.ok and survival.calls == []
    explained = survival.explain()
    assert explained.startswith(
        "the previous release (started by PREVIOUS_RELEASE_COMMAND) did not start against the "
        "migrated copy: PREVIOUS_RELEASE_COMMAND exited with code 3 before the previous release"
    )
    assert "0005_drop.sql line 1: DROP TABLE classification_suggestions (drops; the error " in (
        explained
    )


def test_a_previous_release_command_that_prints_no_url_times_out(embedded, migrated):
    copy, pending = migrated()
    release = CommandPreviousRelease(embedded.as_target(), "sleep 30", timeout=1)
    survival = previous.survives(release, copy, pending, token=embedded.token)
    assert survival.start_error is not None
    assert "printed no base URL (http://...)" in survival.start_error
    assert "within 1 s" in survival.start_error


# A check run that starts the previous release, then is killed outright (SIGKILL).
KILLED_RUN = """
import sys, time
from pathlib import Path
from releaseops import dburl
from releaseops.runbook.previous_command import CommandPreviousRelease


class Target:  # what _start reads of the target: its child environment and checkout
    repo_root = Path(sys.argv[1])

    def child_environ(self, **extra):
        return {"PATH": "/usr/bin:/bin", **extra}


release = CommandPreviousRelease(Target(), f"echo $$ > {sys.argv[2]}; exec sleep 300")
release._start(dburl.parse("postgresql://u:p@127.0.0.1:1/db"), Path(sys.argv[3]))
time.sleep(300)
"""


def test_a_previous_release_outlives_no_check_run_killed_outright(tmp_path):
    pidfile = tmp_path / "command.pid"
    run = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(REPO), str(pidfile), str(tmp_path / "out.log")]
    )
    try:
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        command = int(pidfile.read_text())
        assert Proc.observe(command) is not None
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 10
    while Proc.observe(command) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Proc.observe(command) is None, "the previous release outlived the killed check run"
