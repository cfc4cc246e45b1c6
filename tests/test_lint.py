"""releaseops.lint: each problem the migration lint knows, and the annotated cases it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from releaseops.migrations import lint

BASE = "CREATE TABLE questions (id serial PRIMARY KEY, body text, topic text);\n"


def make_dir(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for name, text in {"0001_base.sql": BASE, **files}.items():
        if isinstance(text, bytes):
            (directory / name).write_bytes(text)
        else:
            (directory / name).write_text(text)
    return directory


def rules(report: lint.LintReport, severity: str = "FAIL") -> list[tuple[str, str]]:
    return [(f.file, f.rule) for f in report.findings if f.severity == severity]


def test_a_clean_directory_passes_with_a_summary(tmp_path):
    report = lint.lint(
        make_dir(tmp_path, {"0002_topic_index.sql": "CREATE INDEX t ON questions (topic);\n"})
    )
    assert report.ok
    assert report.lines()[-1] == "2 migration file(s) linted: 0 FAIL, 1 WARN"


@pytest.mark.parametrize(
    ("name", "sql", "message"),
    [
        ("0002_drop.sql", "DROP TABLE questions;\n", "DROP TABLE questions"),
        ("0002_drop_col.sql", "ALTER TABLE questions DROP COLUMN topic;\n", "DROP COLUMN"),
        ("0002_drop_schema.sql", "DROP SCHEMA old CASCADE;\n", "DROP SCHEMA old"),
        ("0002_truncate.sql", "TRUNCATE questions;\n", "TRUNCATE questions"),
        (
            "0002_type.sql",
            "ALTER TABLE questions ALTER COLUMN topic TYPE varchar(20);\n",
            "column type change",
        ),
        ("0002_drop_index.sql", "DROP INDEX questions_topic;\n", "without CONCURRENTLY"),
        ("0002_rename.sql", "ALTER TABLE questions RENAME COLUMN topic TO t;\n", "RENAME"),
        ("0002_delete.sql", "DELETE FROM questions;\n", "DELETE FROM questions without WHERE"),
        ("0002_update.sql", "UPDATE questions SET topic = 'x';\n", "without WHERE"),
    ],
)
def test_destructive_statement_without_annotation_fails(tmp_path, name, sql, message):
    report = lint.lint(make_dir(tmp_path, {name: "SELECT 1;\n" + sql}))
    (finding,) = report.failures()
    assert (finding.file, finding.line, finding.rule) == (name, 2, "destructive")
    assert message in finding.message
    assert "-- releaseops:destructive <reason>" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "-- releaseops:destructive topic moved to tags in 0001\n"
            "ALTER TABLE questions DROP COLUMN topic;\nTRUNCATE questions;\n",
            id="file-header",
        ),
        pytest.param(
            "SELECT 1;\n-- releaseops:destructive unused since 2024\nDROP TABLE questions;\n",
            id="above-statement",
        ),
        pytest.param("DROP INDEX CONCURRENTLY questions_topic;\n", id="concurrent-drop-index"),
    ],
)
def test_annotated_or_safe_destructive_statements_pass(tmp_path, sql):
    if "CONCURRENTLY" in sql:
        sql = "-- releaseops:no-transaction\n" + sql
    report = lint.lint(make_dir(tmp_path, {"0002_change.sql": sql}))
    assert report.ok, report.lines()


def test_annotation_covers_only_the_statement_below_it(tmp_path):
    sql = (
        "-- header comment\nSELECT 1;\n"
        "-- releaseops:destructive dropping the scratch table\nDROP TABLE scratch;\n"
        "DROP TABLE questions;\n"
    )
    report = lint.lint(make_dir(tmp_path, {"0002_drop.sql": sql}))
    assert [(f.line, f.rule) for f in report.failures()] == [(5, "destructive")]


def test_annotation_without_a_reason_fails(tmp_path):
    sql = "-- releaseops:destructive\nDROP TABLE questions;\n"
    report = lint.lint(make_dir(tmp_path, {"0002_drop.sql": sql}))
    assert rules(report) == [("0002_drop.sql", "directive")]
    assert "needs a reason" in report.failures()[0].message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"2_short.sql": "SELECT 1;\n"}, [("2_short.sql", "naming")]),
        ({"0002-dash.sql": "SELECT 1;\n"}, [("0002-dash.sql", "naming")]),
        ({"0002_Upper.sql": "SELECT 1;\n"}, [("0002_Upper.sql", "naming")]),
        (
            {"0001_again.sql": "SELECT 1;\n"},
            [("0001_again.sql, 0001_base.sql", "duplicate-version")],
        ),
        ({"0002_empty.sql": "-- TODO\n\n"}, [("0002_empty.sql", "empty")]),
        ({"0002_zero.sql": b""}, [("0002_zero.sql", "empty")]),
        ({"0002_typo.sql": "SELECT 1;\nCREAT TABLE x ();\n"}, [("0002_typo.sql", "unparsable")]),
        ({"0002_dir.sql": "-- releaseops:notx\nSELECT 1;\n"}, [("0002_dir.sql", "directive")]),
        (
            {"0002_cic.sql": "CREATE INDEX CONCURRENTLY i ON questions (topic);\n"},
            [("0002_cic.sql", "no-transaction")],
        ),
        (
            {"0002_tx.sql": "BEGIN;\nSELECT 1;\nCOMMIT;\n"},
            [("0002_tx.sql", "transaction-control")] * 2,
        ),
    ],
)
def test_each_file_problem_is_caught(tmp_path, files, expected):
    report = lint.lint(make_dir(tmp_path, files))
    assert rules(report) == expected
    assert not report.ok


def test_unparsable_file_names_the_line(tmp_path):
    report = lint.lint(make_dir(tmp_path, {"0002_typo.sql": "SELECT 1;\n\nCREAT TABLE x ();\n"}))
    (finding,) = report.failures()
    assert finding.line == 3
    assert 'syntax error at or near "CREAT"' in finding.message


def test_numbering_gap_is_a_warning(tmp_path):
    report = lint.lint(make_dir(tmp_path, {"0004_late.sql": "SELECT 1;\n"}))
    assert report.ok
    assert rules(report, "WARN") == [("0004_late.sql", "numbering-gap")]


def test_no_transaction_file_with_several_statements_warns(tmp_path):
    sql = (
        "-- releaseops:no-transaction\nCREATE INDEX CONCURRENTLY a ON questions (topic);\n"
        "CREATE INDEX CONCURRENTLY b ON questions (body);\n"
    )
    report = lint.lint(make_dir(tmp_path, {"0002_indexes.sql": sql}))
    assert report.ok
    assert rules(report, "WARN") == [("0002_indexes.sql", "no-transaction")]


SPLIT = {
    "0002_add_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
    "0003_level_index.sql": "CREATE INDEX questions_level ON questions (level);\n",
}


def test_index_on_a_table_another_pending_migration_changes_fails(tmp_path):
    directory = make_dir(tmp_path, SPLIT)
    report = lint.lint(directory, pending=["0002_add_level.sql", "0003_level_index.sql"])
    assert rules(report) == [("0003_level_index.sql", "split-unit")]
    assert report.failures()[0].message.startswith(
        "index questions_level on questions (level) belongs with the change in "
        "0002_add_level.sql of the same release"
    )


def test_constraint_on_a_table_another_pending_migration_changes_fails(tmp_path):
    files = {
        "0002_add_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
        "0003_level_check.sql": "ALTER TABLE questions ADD CONSTRAINT lv CHECK (level > 0);\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert rules(report) == [("0003_level_check.sql", "split-unit")]


def test_split_unit_is_fine_when_the_change_was_released_earlier(tmp_path):
    report = lint.lint(make_dir(tmp_path, SPLIT), pending=["0003_level_index.sql"])
    assert report.ok


def test_concurrent_index_in_its_own_no_transaction_file_is_accepted(tmp_path):
    files = {
        "0002_add_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
        "0003_level_index.sql": "-- releaseops:no-transaction\n"
        "CREATE INDEX CONCURRENTLY questions_level ON questions (level);\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert report.ok, report.lines()


def test_same_unit_change_and_index_pass(tmp_path):
    files = {
        "0002_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n"
        "CREATE INDEX questions_level ON questions (level);\n"
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert report.ok


def test_crlf_files_lint_like_lf_files(tmp_path):
    sql = "SELECT 1;\r\nDROP TABLE questions;\r\n"
    (finding,) = lint.lint(make_dir(tmp_path, {"0002_drop.sql": sql.encode()})).failures()
    assert finding.line == 2


def test_missing_directory_fails(tmp_path):
    report = lint.lint(tmp_path / "nope")
    assert not report.ok and report.failures()[0].rule == "directory"


def test_index_on_a_table_created_by_an_earlier_pending_file_is_not_a_split(tmp_path):
    files = {"0002_trgm.sql": "CREATE INDEX questions_body_trgm ON questions (body);\n"}
    report = lint.lint(make_dir(tmp_path, files), pending=["0001_base.sql", "0002_trgm.sql"])
    assert report.ok


def test_index_on_other_columns_of_a_changed_table_is_not_a_split(tmp_path):
    files = {
        "0002_add_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
        "0003_topic_index.sql": "CREATE INDEX questions_topic ON questions (lower(topic));\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert rules(report) == []


def test_index_before_the_change_is_not_a_split(tmp_path):
    files = {
        "0002_topic_index.sql": "CREATE INDEX questions_topic ON questions (topic);\n",
        "0003_topic_not_null.sql": "ALTER TABLE questions ALTER COLUMN topic SET NOT NULL;\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert rules(report) == []


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE INDEX q ON questions (topic) WHERE level > 0;",
        "CREATE INDEX q ON questions ((level + 1));",
        "ALTER TABLE questions ADD CONSTRAINT u UNIQUE (level);",
        "ALTER TABLE questions ADD CONSTRAINT f FOREIGN KEY (level) REFERENCES levels (id);",
    ],
)
def test_expression_and_key_columns_count_for_the_split_rule(tmp_path, statement):
    files = {
        "0002_add_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
        "0003_level_rule.sql": statement + "\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert rules(report) == [("0003_level_rule.sql", "split-unit")]


def test_stray_backup_copy_is_a_warning(tmp_path):
    report = lint.lint(make_dir(tmp_path, {"0001_base.sql.orig": "SELECT 1;\n"}))
    assert report.ok
    assert rules(report, "WARN") == [("0001_base.sql.orig", "naming")]
