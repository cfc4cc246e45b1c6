"""releaseops.fts: sync, stale_rows and check against a real database."""

from __future__ import annotations

import pytest

from exambank import seed
from exambank.search_spec import SPEC
from releaseops import fts, migrations
from releaseops.errors import FtsSpecInvalid, FtsTableMissing


@pytest.fixture
def bank(fresh_db):
    """A fresh database with the exam-bank schema and seed, FTS not yet synced."""
    migrations.apply(fresh_db, migrations.DEFAULT_DIR)
    seed.load(fresh_db)
    return fresh_db


def execute(url, *statements):
    with url.connect(autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def update_with_trigger_disabled(url, where="ref LIKE 'seed-bio-%'"):
    execute(
        url,
        "ALTER TABLE questions DISABLE TRIGGER questions_search_vector_trigger",
        f"UPDATE questions SET stem = stem || ' (revised)' WHERE {where}",
        "ALTER TABLE questions ENABLE TRIGGER questions_search_vector_trigger",
    )


def test_never_synced_database_is_not_clean(bank):
    result = fts.check(bank, SPEC)
    assert not result.is_clean
    assert "questions: column search_vector is missing (never synced)" in result.explain()
    assert fts.stale_rows(bank, SPEC) == {"questions": 34, "documents": 0}


def test_sync_creates_everything_and_check_passes(bank):
    report = fts.sync(bank, SPEC)
    assert report.changed
    actions = report.as_dict()["tables"][0]["actions"]
    assert actions[0] == "added column search_vector"
    assert "created index questions_search_vector_idx" in actions
    assert report.tables[0].rows_updated == 34
    result = fts.check(bank, SPEC)
    assert result.is_clean, result.explain()
    assert fts.stale_rows(bank, SPEC) == {"questions": 0, "documents": 0}


def test_second_sync_changes_nothing(bank):
    fts.sync(bank, SPEC)
    second = fts.sync(bank, SPEC)
    assert not second.changed
    assert second.lines() == [
        "questions: no changes",
        "documents: no changes",
        "fts sync: no changes",
    ]
    with bank.connect() as conn:
        runs = conn.execute("SELECT count(*) FROM releaseops_fts_sync").fetchone()[0]
    assert runs == 2  # one row per table from the first sync, none from the second


def test_update_with_trigger_disabled_is_stale_and_a_second_sync_fixes_it(bank):
    fts.sync(bank, SPEC)
    update_with_trigger_disabled(bank)
    result = fts.check(bank, SPEC)
    assert not result.is_clean
    assert result.stale == {"questions": 5, "documents": 0}
    assert "questions: 5 stale row(s)" in result.explain()
    report = fts.sync(bank, SPEC)
    assert report.tables[0].actions == ["backfilled 5 stale row(s) in 1 batch(es)"]
    assert fts.check(bank, SPEC).is_clean


def test_backfill_runs_in_batches(bank):
    report = fts.sync(bank, SPEC, batch_size=10)
    assert (report.tables[0].rows_updated, report.tables[0].batches) == (34, 4)


def test_trigger_keeps_new_rows_current(bank):
    fts.sync(bank, SPEC)
    execute(bank, "INSERT INTO questions (ref, subject, stem) VALUES ('n1', 'x', 'Quasars?')")
    assert fts.check(bank, SPEC).is_clean


@pytest.mark.parametrize(
    ("enable", "state"),
    [("DISABLE TRIGGER", "'D': disabled"), ("ENABLE REPLICA TRIGGER", "'R': replica only")],
)
def test_a_trigger_that_does_not_fire_is_reported_and_re_enabled(bank, enable, state):
    fts.sync(bank, SPEC)
    execute(bank, f"ALTER TABLE documents {enable} documents_search_vector_trigger")
    assert (
        "documents: trigger documents_search_vector_trigger does not fire for ordinary "
        f"sessions (tgenabled {state})"
    ) in fts.check(bank, SPEC).explain()
    report = fts.sync(bank, SPEC)
    assert report.tables[1].actions == ["enabled trigger documents_search_vector_trigger"]
    assert fts.check(bank, SPEC).is_clean


def test_a_trigger_enabled_always_fires_and_is_clean(bank):
    fts.sync(bank, SPEC)
    execute(bank, "ALTER TABLE documents ENABLE ALWAYS TRIGGER documents_search_vector_trigger")
    assert fts.check(bank, SPEC).is_clean


def test_changed_weights_are_definition_drift(bank):
    fts.sync(bank, SPEC)
    heavier = fts.FtsSpec(
        tables=(fts.FtsTable("questions", {"stem": "B", "subject": "A"}), SPEC.tables[1])
    )
    result = fts.check(bank, heavier)
    assert "questions: definition differs from code" in result.explain()
    assert "questions: trigger function questions_search_vector_update differs" in result.explain()
    assert result.stale["questions"] == 34
    report = fts.sync(bank, heavier)
    assert "replaced function questions_search_vector_update" in report.tables[0].actions
    assert fts.check(bank, heavier).is_clean


def test_dropped_index_is_rebuilt(bank):
    fts.sync(bank, SPEC)
    execute(bank, "DROP INDEX questions_search_vector_idx")
    assert "index questions_search_vector_idx is missing" in fts.check(bank, SPEC).explain()
    assert fts.sync(bank, SPEC).tables[0].actions == ["created index questions_search_vector_idx"]


def test_check_and_stale_rows_never_write(bank):
    fts.check(bank, SPEC)
    fts.stale_rows(bank, SPEC)
    with bank.connect() as conn:
        assert conn.execute("SELECT to_regclass('releaseops_fts_sync')").fetchone()[0] is None


def test_spec_naming_a_missing_table_is_refused(bank):
    spec = fts.FtsSpec(tables=(fts.FtsTable("no_such_table", {"x": "A"}),))
    with pytest.raises(FtsTableMissing, match="no such table"):
        fts.sync(bank, spec)


def test_spec_naming_a_missing_column_is_refused(bank):
    spec = fts.FtsSpec(tables=(fts.FtsTable("questions", {"nope": "A"}),))
    with pytest.raises(FtsTableMissing, match=r"questions\.nope, but the database has no such"):
        fts.check(bank, spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "q; DROP TABLE x", "columns": {"a": "A"}}, "unsafe identifier"),
        ({"table": "q", "columns": {"a": "E"}}, "weights must be one of"),
        ({"table": "q", "columns": {}}, "at least one column"),
        ({"table": "q", "columns": {"a": "A"}, "config": "english'"}, "unsafe identifier"),
        ({"table": "q", "columns": {"search_vector": "A"}}, "also a source"),
    ],
)
def test_malformed_spec_is_rejected(kwargs, message):
    with pytest.raises(FtsSpecInvalid, match=message):
        fts.FtsTable(**kwargs)


def test_derived_names_come_from_the_table_name():
    table = fts.FtsTable("questions", {"stem": "A"})
    assert (table.index_name, table.trigger_name, table.function_name) == (
        "questions_search_vector_idx",
        "questions_search_vector_trigger",
        "questions_search_vector_update",
    )
    assert len(fts.FtsTable("t" * 63, {"a": "A"}).index_name) == 63


def test_definition_hash_follows_the_declaration():
    a = fts.FtsTable("questions", {"stem": "A"})
    assert a.definition_hash == fts.FtsTable("questions", {"stem": "A"}).definition_hash
    assert a.definition_hash != fts.FtsTable("questions", {"stem": "B"}).definition_hash
