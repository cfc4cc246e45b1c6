"""releaseops.migrations.lint: each rule, its suppression, and the directory-level rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pglast import parse_sql

from releaseops.migrations import lint
from releaseops.migrations.catalog import Catalog
from releaseops.migrations.catalog_replay import replay

BASE = (
    "CREATE TABLE questions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "body text, topic text);\n"
)
# The target as a single file sees it: these tables already hold rows.
EXISTING = """
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku varchar(50) NOT NULL,
    stock integer,
    price numeric(10, 2),
    code char(4),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_sku_idx ON items (sku);
CREATE TABLE orders (id bigint PRIMARY KEY, item_id bigint NOT NULL, note text);
"""


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


def existing_catalog(extra: str = "") -> Catalog:
    catalog = Catalog()
    for raw in parse_sql(EXISTING + extra):
        replay(catalog, raw.stmt, existing=True)
    return catalog


def lint_one(sql: str, *, major: int | None = 15, extra: str = "") -> lint.FileLint:
    return lint.lint_text(
        "0002_change.sql", sql, catalog=existing_catalog(extra), server_major=major
    )


def ids(result: lint.FileLint, severity: str = "FAIL") -> list[str]:
    return [f.rule_id for f in result.findings if f.severity == severity]


# --- each rule, on a table that already holds rows -------------------------------------------

FAILING = [
    ("ALTER TABLE items ADD COLUMN t float8 DEFAULT random();", "volatile-default"),
    ("ALTER TABLE items ADD COLUMN n bigserial;", "volatile-default"),
    ("ALTER TABLE items ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;", "volatile-default"),
    ("ALTER TABLE items ADD COLUMN t uuid DEFAULT my_func();", "volatile-default"),
    (
        "ALTER TABLE items ADD COLUMN e numeric GENERATED ALWAYS AS (stock * 2) STORED;",
        "stored-generated-column",
    ),
    ("ALTER TABLE items ADD COLUMN w int NOT NULL;", "add-column-not-null-no-default"),
    ("ALTER TABLE items ALTER COLUMN stock SET NOT NULL;", "set-not-null"),
    (
        "ALTER TABLE orders ADD FOREIGN KEY (item_id) REFERENCES items;",
        "constraint-not-valid-missing",
    ),
    ("ALTER TABLE items ADD CONSTRAINT c CHECK (stock > 0);", "constraint-not-valid-missing"),
    ("ALTER TABLE items ADD COLUMN r int REFERENCES orders;", "constraint-not-valid-missing"),
    (
        "ALTER TABLE items ADD CONSTRAINT c CHECK (stock > 0) NOT VALID;\n"
        "ALTER TABLE items VALIDATE CONSTRAINT c;",
        "validate-same-transaction",
    ),
    (
        "ALTER TABLE items ADD COLUMN x int;\nALTER TABLE items VALIDATE CONSTRAINT old_check;",
        "validate-same-transaction",
    ),
    ("ALTER TABLE items ADD CONSTRAINT u UNIQUE (sku);", "unique-without-index"),
    ("ALTER TABLE items ADD EXCLUDE USING gist (sku WITH =);", "unique-without-index"),
    ("CREATE INDEX i ON items (stock);", "index-not-concurrent"),
    ("REINDEX INDEX items_sku_idx;", "index-not-concurrent"),
    ("DROP INDEX items_sku_idx;", "index-not-concurrent"),
    ("CLUSTER items USING items_pkey;", "rewrite-command"),
    ("ALTER TABLE items SET TABLESPACE pg_default;", "rewrite-command"),
    ("ALTER TABLE items ALTER COLUMN stock TYPE bigint;", "column-type-rewrite"),
    ("ALTER TABLE items ALTER COLUMN sku TYPE varchar(10);", "column-type-rewrite"),
    ("ALTER TABLE items ALTER COLUMN code TYPE text;", "column-type-rewrite"),
    ("ALTER TABLE items ALTER COLUMN price TYPE numeric(12, 3);", "column-type-rewrite"),
    ("ALTER TABLE items ALTER COLUMN sku TYPE text USING trim(sku);", "column-type-rewrite"),
    ("ALTER TABLE items ALTER COLUMN stock DROP DEFAULT;", "client-breaking"),
    ("ALTER TABLE items ALTER COLUMN sku DROP NOT NULL;", "client-breaking"),
    ("ALTER TABLE items DROP CONSTRAINT items_pkey;", "client-breaking"),
    ("ALTER TABLE items SET SCHEMA archive;", "client-breaking"),
    ("ALTER TABLE items ADD COLUMN " + "x" * 64 + " text;", "client-breaking"),
    ("DROP VIEW item_totals;", "client-breaking"),
    ("TRUNCATE items;", "data-destructive"),
    ("CREATE INDEX CONCURRENTLY i ON items (stock);", "concurrently-in-transaction"),
    ("VACUUM items;", "concurrently-in-transaction"),
]


@pytest.mark.parametrize(("sql", "rule"), FAILING, ids=[f"{r}:{s[:40]}" for s, r in FAILING])
def test_each_hazard_on_an_existing_table_fails_with_its_rule_and_recipe(sql, rule):
    result = lint_one(sql)
    assert rule in ids(result), [f.line_text() for f in result.findings]
    found = next(f for f in result.findings if f.rule_id == rule)
    assert lint.RULES[rule].recipe in found.message


SAFE = [
    "ALTER TABLE items ALTER COLUMN sku TYPE text;",
    "ALTER TABLE items ALTER COLUMN sku TYPE varchar(100);",
    "ALTER TABLE items ALTER COLUMN sku TYPE varchar;",
    "ALTER TABLE items ALTER COLUMN price TYPE numeric(14, 2);",
    "ALTER TYPE order_status ADD VALUE 'refunded';",
    "ALTER TABLE items ADD COLUMN n int NOT NULL DEFAULT 0;",
    "ALTER TABLE items ADD COLUMN d timestamptz NOT NULL DEFAULT now();",
    "ALTER TABLE items ADD COLUMN j jsonb NOT NULL DEFAULT '{}'::jsonb;",
    "ALTER TABLE items ADD COLUMN d timestamptz DEFAULT CURRENT_TIMESTAMP;",
    "ALTER TABLE items ADD COLUMN note text;",
    "ALTER TABLE items ALTER COLUMN stock SET DEFAULT 0;",
    "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (item_id) REFERENCES items NOT VALID;",
    "ALTER TABLE orders VALIDATE CONSTRAINT f;",
    "ALTER TABLE items ADD CONSTRAINT u UNIQUE USING INDEX items_sku_idx;",
    "ALTER TABLE items SET (autovacuum_vacuum_scale_factor = 0.05);",
    "UPDATE items SET stock = 0 WHERE id < 100;",
    "COMMENT ON TABLE items IS 'things we sell';",
    "CREATE TABLE reviews (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "item_id bigint REFERENCES items);\nCREATE INDEX reviews_item ON reviews (item_id);\n"
    "ALTER TABLE reviews ADD COLUMN score int NOT NULL;\nTRUNCATE reviews;",
    "ANALYZE items;",
]


@pytest.mark.parametrize("sql", SAFE, ids=[s[:50] for s in SAFE])
def test_catalog_only_changes_and_safe_recipes_give_no_finding(sql):
    result = lint_one(sql)
    assert result.findings == [], [f.line_text() for f in result.findings]


def test_set_not_null_proven_by_a_validated_check_is_free_on_pg12_only():
    proven = "ALTER TABLE items ADD CONSTRAINT nn CHECK (stock IS NOT NULL) NOT VALID;\n"
    proven += "ALTER TABLE items VALIDATE CONSTRAINT nn;\n"
    statement = "ALTER TABLE items ALTER COLUMN stock SET NOT NULL;"
    assert lint_one(statement, extra=proven).findings == []
    (old,) = lint_one(statement, major=11, extra=proven).findings
    assert old.rule_id == "set-not-null"
    (unknown,) = lint_one(statement, major=None, extra=proven).findings
    assert "server version unknown: PostgreSQL 11 assumed" in unknown.message


def test_without_a_catalog_the_lint_reports_conservatively_and_says_so():
    result = lint.lint_text("0002_x.sql", "ALTER TABLE items ALTER COLUMN sku TYPE text;")
    (found,) = result.findings
    assert found.rule_id == "column-type-rewrite" and found.severity == "FAIL"
    assert "the current type is not known (no catalog snapshot of the target" in found.message


def test_constant_default_rewrites_before_pg11():
    result = lint_one("ALTER TABLE items ADD COLUMN n int DEFAULT 0;", major=10)
    assert ids(result) == ["volatile-default"]
    assert "before PostgreSQL 11" in result.findings[0].message


def test_enum_value_in_a_transaction_fails_before_pg12():
    result = lint_one("ALTER TYPE order_status ADD VALUE 'refunded';", major=11)
    assert ids(result) == ["concurrently-in-transaction"]
    assert (
        lint_one("ALTER TYPE order_status RENAME VALUE 'paid' TO 'settled';", major=11).findings
        == []
    )


def test_primary_key_using_index_on_a_nullable_column_scans_for_not_null():
    extra = "CREATE UNIQUE INDEX items_stock_key ON items (stock);\n"
    sql = "ALTER TABLE items ADD CONSTRAINT items_stock_pk PRIMARY KEY USING INDEX items_stock_key;"
    result = lint_one(sql, extra=extra)
    assert ids(result) == ["set-not-null"]
    assert "stock may be NULL" in result.findings[0].message


def test_concurrent_statements_in_a_no_transaction_file_pass():
    sql = (
        "-- releaseops:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON items (stock);"
    )
    assert lint_one(sql).findings == []


def test_advice_never_fails():
    sql = "CREATE TABLE tags (id serial PRIMARY KEY, seen timestamp);"
    result = lint_one(sql)
    assert not result.failures()
    assert ids(result, "ADVICE") == ["prefer-identity", "prefer-bigint-key", "prefer-timestamptz"]


# --- suppressions ------------------------------------------------------------------------------


def test_allow_above_a_statement_suppresses_only_that_rule_there():
    sql = (
        "SELECT 1;\n-- releaseops:allow index-not-concurrent items holds 40 rows\n"
        "CREATE INDEX i ON items (stock);\n"
        "CREATE INDEX j ON items (created_at);\n"
    )
    result = lint_one(sql)
    assert [(f.line, f.rule_id) for f in result.failures()] == [(4, "index-not-concurrent")]
    (allowed,) = result.allowed
    assert (allowed.line, allowed.severity, allowed.allowed) == (
        3,
        "ALLOWED",
        "items holds 40 rows",
    )


def test_allow_in_the_header_covers_the_file():
    sql = (
        "-- releaseops:allow index-not-concurrent built in the maintenance window\n"
        "CREATE INDEX i ON items (stock);\nCREATE INDEX j ON items (created_at);\n"
    )
    result = lint_one(sql)
    assert result.findings == [] and len(result.allowed) == 2


def test_destructive_annotation_allows_destructive_rules_but_not_lock_hazards():
    sql = "-- releaseops:destructive stock moves to warehouses\n"
    sql += "ALTER TABLE items DROP COLUMN stock;\nCREATE INDEX i ON items (sku);\n"
    result = lint_one(sql)
    assert ids(result) == ["index-not-concurrent"]
    assert [f.rule for f in result.allowed] == ["destructive"]


@pytest.mark.parametrize(
    ("comment", "problem"),
    [
        ("-- releaseops:allow index-not-concurrent", "needs a rule id and a reason"),
        (
            "-- releaseops:allow index-not-concurent small table",
            "unknown rule 'index-not-concurent'",
        ),
        ("-- releaseops:no-transaction", "is read only from the file's header"),
        ("-- releaseops:destructive", "needs a reason"),
    ],
)
def test_malformed_annotation_below_the_header_fails(comment, problem):
    result = lint_one(f"SELECT 1;\n{comment}\nCREATE INDEX i ON items (stock);\n")
    directive = [f for f in result.findings if f.rule == "directive"]
    assert directive and problem in directive[0].message
    assert directive[0].line == 2


def test_an_error_level_rule_cannot_be_allowed():
    sql = "-- releaseops:allow concurrently-in-transaction trust me\n"
    sql += "CREATE INDEX CONCURRENTLY i ON items (stock);\n"
    assert ids(lint_one(sql)) == ["concurrently-in-transaction"]


# --- the directory, as the gate reads it ----------------------------------------------------


def test_a_clean_directory_passes_with_a_summary(tmp_path):
    report = lint.lint(make_dir(tmp_path, {"0002_topic.sql": "ALTER TABLE questions ADD t int;\n"}))
    assert report.ok
    assert report.lines()[-1] == "2 migration file(s) linted: 0 FAIL, 0 WARN"


def test_without_pending_files_a_lock_hazard_on_an_earlier_files_table_warns(tmp_path):
    directory = make_dir(tmp_path, {"0002_idx.sql": "CREATE INDEX t ON questions (topic);\n"})
    report = lint.lint(directory)
    assert report.ok and rules(report, "WARN") == [("0002_idx.sql", "index-not-concurrent")]
    assert "without the database the lint cannot tell" in report.findings[0].message
    applied = lint.lint(directory, pending=["0002_idx.sql"])
    assert rules(applied) == [("0002_idx.sql", "index-not-concurrent")]
    released_together = lint.lint(directory, pending=["0001_base.sql", "0002_idx.sql"])
    assert released_together.findings == []


def test_a_snapshot_catalog_decides_what_exists(tmp_path):
    directory = make_dir(tmp_path, {"0002_idx.sql": "CREATE INDEX t ON items (stock);\n"})
    report = lint.lint(directory, pending=["0002_idx.sql"], catalog=existing_catalog())
    assert rules(report) == [("0002_idx.sql", "index-not-concurrent")]


def test_applied_files_report_only_what_makes_the_runner_refuse(tmp_path):
    directory = make_dir(tmp_path, {"0002_drop.sql": "DROP TABLE questions;\n"})
    report = lint.lint(directory, pending=[])
    assert report.findings == []


@pytest.mark.parametrize(
    ("name", "sql", "message"),
    [
        ("0002_drop.sql", "DROP TABLE questions;\n", "DROP TABLE questions"),
        ("0002_drop_col.sql", "ALTER TABLE questions DROP COLUMN topic;\n", "DROP COLUMN"),
        ("0002_drop_schema.sql", "DROP SCHEMA old CASCADE;\n", "DROP SCHEMA old"),
        ("0002_truncate.sql", "TRUNCATE questions;\n", "TRUNCATE questions"),
        ("0002_rename.sql", "ALTER TABLE questions RENAME COLUMN topic TO t;\n", "RENAME"),
        ("0002_delete.sql", "DELETE FROM questions;\n", "DELETE FROM questions without WHERE"),
        (
            "0002_update.sql",
            "UPDATE questions SET topic = 'x';\n",
            "UPDATE questions without WHERE",
        ),
    ],
)
def test_destructive_statement_without_annotation_fails(tmp_path, name, sql, message):
    report = lint.lint(make_dir(tmp_path, {name: "SELECT 1;\n" + sql}))
    (found,) = report.failures()
    assert (found.file, found.line, found.rule) == (name, 2, "destructive")
    assert found.message.startswith(message)
    assert "-- releaseops:destructive <reason>" in found.message


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
        pytest.param(
            "-- releaseops:allow client-breaking unused since 2024\nDROP TABLE questions;\n",
            id="allow-rule-id",
        ),
        pytest.param(
            "-- releaseops:no-transaction\nDROP INDEX CONCURRENTLY questions_topic;\n",
            id="concurrent-drop-index",
        ),
    ],
)
def test_annotated_or_safe_destructive_statements_pass(tmp_path, sql):
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
    assert [(f.line, f.allowed) for f in report.allowed] == [(4, "dropping the scratch table")]


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
            [("0002_cic.sql", "concurrently-in-transaction")],
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
    (found,) = report.failures()
    assert found.line == 3
    assert 'syntax error at or near "CREAT"' in found.message


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


def test_report_as_dict_carries_rule_ids_levels_and_allowed_findings(tmp_path):
    sql = "-- releaseops:destructive gone\nDROP TABLE questions;\nTRUNCATE questions;\n"
    report = lint.lint(make_dir(tmp_path, {"0002_x.sql": sql}))
    data = report.as_dict()
    assert data["counts"] == {"FAIL": 0, "WARN": 0, "ADVICE": 0, "ALLOWED": 2}
    assert {f["rule_id"] for f in data["allowed"]} == {"client-breaking", "data-destructive"}
    assert {f["level"] for f in data["allowed"]} == {"DESTRUCTIVE"}


SPLIT = {
    "0002_add_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
    "0003_level_index.sql": "-- releaseops:allow index-not-concurrent tiny table\n"
    "CREATE INDEX questions_level ON questions (level);\n",
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
        "0003_level_check.sql": "ALTER TABLE questions ADD CONSTRAINT lv CHECK (level > 0) "
        "NOT VALID;\n",
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


def test_same_unit_change_and_index_pass_when_the_index_is_allowed(tmp_path):
    files = {
        "0002_level.sql": "ALTER TABLE questions ADD COLUMN level int;\n"
        "-- releaseops:allow index-not-concurrent tiny table\n"
        "CREATE INDEX questions_level ON questions (level);\n"
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert report.ok, report.lines()


def test_crlf_files_lint_like_lf_files(tmp_path):
    sql = "SELECT 1;\r\nDROP TABLE questions;\r\n"
    (found,) = lint.lint(make_dir(tmp_path, {"0002_drop.sql": sql.encode()})).failures()
    assert found.line == 2


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
        "0003_topic_index.sql": "-- releaseops:allow index-not-concurrent tiny table\n"
        "CREATE INDEX questions_topic ON questions (lower(topic));\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert rules(report) == []


def test_index_before_the_change_is_not_a_split(tmp_path):
    files = {
        "0002_topic_index.sql": "-- releaseops:allow index-not-concurrent tiny table\n"
        "CREATE INDEX questions_topic ON questions (topic);\n",
        "0003_topic_check.sql": "ALTER TABLE questions ADD COLUMN level int;\n",
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
        "0003_level_rule.sql": "-- releaseops:allow index-not-concurrent tiny table\n"
        "-- releaseops:allow unique-without-index tiny table\n"
        "-- releaseops:allow constraint-not-valid-missing tiny table\n" + statement + "\n",
    }
    report = lint.lint(make_dir(tmp_path, files), pending=list(files))
    assert rules(report) == [("0003_level_rule.sql", "split-unit")]


def test_stray_backup_copy_is_a_warning(tmp_path):
    report = lint.lint(make_dir(tmp_path, {"0001_base.sql.orig": "SELECT 1;\n"}))
    assert report.ok
    assert rules(report, "WARN") == [("0001_base.sql.orig", "naming")]
