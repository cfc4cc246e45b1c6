"""Schema drift: the live catalog against a scratch database built from the applied migrations."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from exambank.search_spec import SPEC
from releaseops import fts, migrations
from releaseops.backup import fingerprint_drift
from releaseops.dburl import DatabaseUrl
from releaseops.errors import FingerprintError
from releaseops.pg.scratch import create_database, drop_database
from tests.test_fingerprint import execute

FILES = sorted(migrations.DEFAULT_DIR.glob("*.sql"))
APPLIED = FILES[:-1]  # the newest file is pending, as before a release


def sync(db: DatabaseUrl) -> None:
    fts.sync(db, SPEC)


@pytest.fixture(scope="module")
def template(pg_cluster, tmp_path_factory) -> Iterator[DatabaseUrl]:
    """A database as a deployment built it: the applied files, FTS synced, some rows."""
    name = f"drift_template_{secrets.token_hex(3)}"
    db = create_database(pg_cluster.url, name)
    applied = fingerprint_drift.copy_files(APPLIED, tmp_path_factory.mktemp("applied"))
    migrations.apply(db, applied)
    sync(db)
    execute(
        db,
        "INSERT INTO questions (ref, subject, stem) VALUES ('q-1', 'bio', 'What is a cell?')",
        "INSERT INTO documents (filename, sha256, size_bytes, page_count) "
        "VALUES ('a.pdf', repeat('a', 64), 10, 1)",
    )
    yield db
    drop_database(pg_cluster.url, name)


@pytest.fixture
def live(pg_cluster, template) -> Iterator[DatabaseUrl]:
    name = f"drift_live_{secrets.token_hex(3)}"
    db = create_database(pg_cluster.url, name, template=template.dbname)
    yield db
    drop_database(pg_cluster.url, name)


def drift_of(live: DatabaseUrl, admin: DatabaseUrl) -> fingerprint_drift.Drift:
    return fingerprint_drift.schema_drift(live, admin, APPLIED, apply=migrations.apply, after=sync)


def test_a_database_built_by_its_migrations_has_no_drift(pg_cluster, live):
    execute(live, "INSERT INTO questions (ref, subject, stem) VALUES ('q-2', 'chem', 'Why?')")
    drift = drift_of(live, pg_cluster.url)
    assert drift.is_clean, drift.explain()
    assert drift.files == [f.name for f in APPLIED]
    assert "has exactly the schema of 3 applied migration files" in drift.explain()


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "ALTER TABLE questions ADD COLUMN difficulty int",
            "column public.questions.difficulty: only in the live database",
        ),
        (
            "DROP INDEX questions_subject_idx",
            "index public.questions_subject_idx: missing from the live database",
        ),
        (
            "ALTER TABLE documents ADD CONSTRAINT documents_small CHECK (size_bytes < 10000000)",
            "constraint documents_small on public.documents: only in the live database",
        ),
        (
            "ALTER TABLE questions ALTER COLUMN answer SET DEFAULT 'n/a'",
            "column public.questions.answer: default (none) vs 'n/a'::text",
        ),
        (
            "CREATE INDEX questions_answer_idx ON questions (answer)",
            "index public.questions_answer_idx: only in the live database",
        ),
    ],
    ids=["added column", "dropped index", "added constraint", "changed default", "added index"],
)
def test_a_hand_made_change_is_drift_and_named(pg_cluster, live, statement, expected):
    execute(live, statement)
    drift = drift_of(live, pg_cluster.url)
    assert not drift.is_clean
    assert expected in drift.explain(), drift.explain()
    assert "changed outside migrations/postgres/*.sql" in drift.explain()


def test_a_hand_disabled_fts_trigger_is_drift(pg_cluster, live):
    table = SPEC.tables[0]
    execute(live, f"ALTER TABLE {table.table} DISABLE TRIGGER {table.trigger_name}")
    drift = drift_of(live, pg_cluster.url)
    assert f"trigger {table.trigger_name} on public.{table.table}: enabled O vs D" in (
        drift.explain()
    )


def test_data_sequences_and_fts_bookkeeping_are_not_drift(pg_cluster, live):
    execute(
        live,
        "SELECT setval('questions_id_seq', 5000)",
        "UPDATE schema_migrations SET applied_at = now() - interval '1 year'",
        "DELETE FROM releaseops_fts_sync",
        "SELECT lo_from_bytea(0, 'x')",
    )
    drift = drift_of(live, pg_cluster.url)
    assert drift.is_clean, drift.explain()


def test_without_the_fts_declaration_its_objects_would_look_like_drift(pg_cluster, live):
    drift = fingerprint_drift.schema_drift(live, pg_cluster.url, APPLIED, apply=migrations.apply)
    vector = f"column public.questions.{SPEC.tables[0].vector_column}: only in the live database"
    assert vector in drift.explain()


def test_a_role_that_may_not_create_databases_gets_a_named_error(pg_cluster, live):
    role, password = f"drift_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    execute(pg_cluster.url, f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        admin = DatabaseUrl("postgres", live.host, live.port, role, password)
        with pytest.raises(FingerprintError, match="may CREATE DATABASE") as caught:
            drift_of(live, admin)
        assert password not in str(caught.value)
    finally:
        execute(pg_cluster.url, f"DROP ROLE {role}")


def test_the_scratch_database_is_dropped_afterwards(pg_cluster, live):
    def scratch_databases() -> set[str]:
        with pg_cluster.url.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'scratch_%'")
            return {row[0] for row in rows}

    before = scratch_databases()  # other tests' fixtures may hold some meanwhile
    drift_of(live, pg_cluster.url)
    execute(live, "ALTER TABLE questions ADD COLUMN x int")
    drift_of(live, pg_cluster.url)
    assert scratch_databases() <= before


def test_copy_files_keeps_the_bytes(tmp_path):
    copied = fingerprint_drift.copy_files(APPLIED, tmp_path / "c")
    for path in APPLIED:
        assert (copied / path.name).read_bytes() == Path(path).read_bytes()
