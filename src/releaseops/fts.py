"""Full-text search columns declared in code, synced into PostgreSQL, and checked for staleness.

A spec (`FtsSpec` of `FtsTable`s) names the searchable columns, their weights and the
text-search configuration. `sync()` makes the database match it: a tsvector column, a trigger
function and trigger that keep it current, a GIN index, and a batched backfill of stale rows;
each run that changes something is recorded in the `releaseops_fts_sync` table. `stale_rows()`
and `check()` only read.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg import sql

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import FtsError, FtsSpecInvalid, FtsTableMissing

WEIGHTS = ("A", "B", "C", "D")
METADATA_TABLE = "releaseops_fts_sync"
BATCH_SIZE = 1000
# Bump when the SQL generated for a spec changes, so databases synced by older code show drift.
EXPRESSION_VERSION = 1
_LOCK_KEY = "releaseops.fts.sync"
_MAX_IDENTIFIER = 63


def _derived(name: str) -> str:
    """PostgreSQL truncates identifiers at 63 bytes; do it ourselves so names compare equal."""
    return name.encode()[:_MAX_IDENTIFIER].decode(errors="ignore")


@dataclass(frozen=True)
class FtsTable:
    """One searchable table: column -> weight ('A'..'D'), config and the tsvector column."""

    table: str
    columns: Mapping[str, str]
    config: str = "english"
    vector_column: str = "search_vector"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        names = [self.table, self.vector_column, self.config, *self.columns]
        bad = [n for n in names if not dburl.is_safe_identifier(n)]
        if bad:
            raise FtsSpecInvalid(f"FTS spec for {self.table!r}: unsafe identifier(s) {bad}")
        if not self.columns:
            raise FtsSpecInvalid(f"FTS spec for {self.table}: declare at least one column")
        weights = {c: w for c, w in self.columns.items() if w not in WEIGHTS}
        if weights:
            raise FtsSpecInvalid(
                f"FTS spec for {self.table}: weights must be one of {WEIGHTS}, got {weights}"
            )
        if self.vector_column in self.columns:
            raise FtsSpecInvalid(f"FTS spec for {self.table}: the vector column is also a source")

    @property
    def index_name(self) -> str:
        """Name of the GIN index on the vector column."""
        return _derived(f"{self.table}_{self.vector_column}_idx")

    @property
    def trigger_name(self) -> str:
        """Name of the trigger that keeps the vector column current."""
        return _derived(f"{self.table}_{self.vector_column}_trigger")

    @property
    def function_name(self) -> str:
        """Name of the trigger function."""
        return _derived(f"{self.table}_{self.vector_column}_update")

    def definition(self) -> dict[str, Any]:
        """The declaration as plain data (what the definition hash covers)."""
        return {
            "table": self.table,
            "columns": [[c, w] for c, w in self.columns.items()],
            "config": self.config,
            "vector_column": self.vector_column,
            "expression_version": EXPRESSION_VERSION,
        }

    @property
    def definition_hash(self) -> str:
        """sha256 of the canonical declaration; the metadata table stores it per sync."""
        text = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FtsSpec:
    """Every searchable table of a service, declared once."""

    tables: tuple[FtsTable, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(self.tables))
        names = [t.table for t in self.tables]
        if len(set(names)) != len(names):
            raise FtsSpecInvalid(f"FTS spec declares a table twice: {names}")


@dataclass(frozen=True)
class TableSync:
    """What sync() did to one table."""

    table: str
    actions: list[str]
    rows_updated: int
    batches: int
    seconds: float

    @property
    def changed(self) -> bool:
        """True when anything was created, replaced, enabled or backfilled."""
        return bool(self.actions)


@dataclass(frozen=True)
class SyncReport:
    """The result of sync(): one entry per declared table."""

    tables: list[TableSync]

    @property
    def changed(self) -> bool:
        """True when any table changed."""
        return any(t.changed for t in self.tables)

    def lines(self) -> list[str]:
        """One line per table, then a summary line."""
        out = [
            f"{t.table}: {'; '.join(t.actions)}" if t.changed else f"{t.table}: no changes"
            for t in self.tables
        ]
        total = sum(t.rows_updated for t in self.tables)
        out.append(f"fts sync: {total} rows updated" if self.changed else "fts sync: no changes")
        return out

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "changed": self.changed,
            "tables": [
                {
                    "table": t.table,
                    "changed": t.changed,
                    "actions": t.actions,
                    "rows_updated": t.rows_updated,
                    "batches": t.batches,
                    "seconds": round(t.seconds, 3),
                }
                for t in self.tables
            ],
        }


@dataclass(frozen=True)
class FtsCheck:
    """The result of check(): stale rows and drift per table (read-only)."""

    stale: dict[str, int]
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        """True when no row is stale and the database matches the spec."""
        return not any(self.stale.values()) and not any(self.problems.values())

    def explain(self) -> str:
        """One line per problem, naming the table; a single line when clean."""
        if self.is_clean:
            return f"fts: clean ({', '.join(self.stale)} up to date)"
        lines: list[str] = []
        for table, count in self.stale.items():
            lines.extend(f"{table}: {p}" for p in self.problems.get(table, []))
            if count:
                lines.append(
                    f"{table}: {count} stale row(s); run scripts/init_fts.py --db URL --sync"
                )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {"clean": self.is_clean, "stale": self.stale, "problems": self.problems}


# --- SQL building ------------------------------------------------------------------------------


def _column_types(conn: psycopg.Connection[Any], table: str) -> dict[str, str]:
    """Column name -> formatted type of `table` (empty when the table does not exist)."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
        [sql.Identifier(table).as_string(conn)],
    ).fetchall()
    return {name: typ for name, typ in rows}


def _column_vector(col: sql.Composable, typ: str, weight: str, cfg: sql.Composable) -> sql.Composed:
    """setweight(tsvector of one column, weight), choosing the text form by column type."""
    if typ in ("jsonb", "json"):
        vec = sql.SQL("jsonb_to_tsvector({}, coalesce({}::jsonb, '{{}}'), '[\"string\"]')").format(
            cfg, col
        )
    elif typ.endswith("[]"):
        vec = sql.SQL("to_tsvector({}, coalesce(array_to_string({}, ' '), ''))").format(cfg, col)
    elif typ in ("text", "character varying") or typ.startswith(("character", "varchar")):
        vec = sql.SQL("to_tsvector({}, coalesce({}, ''))").format(cfg, col)
    else:
        vec = sql.SQL("to_tsvector({}, coalesce({}::text, ''))").format(cfg, col)
    return sql.SQL("setweight({}, {})").format(vec, sql.Literal(weight))


def vector_expression(
    table: FtsTable, types: Mapping[str, str], *, row: str | None = None
) -> sql.Composed:
    """The tsvector expression for one row; `row='NEW'` qualifies columns for the trigger."""
    cfg = sql.SQL("{}::regconfig").format(sql.Literal(table.config))
    parts = []
    for column, weight in table.columns.items():
        if column not in types:
            raise FtsTableMissing.for_column(table.table, column)
        ref: sql.Composable = sql.Identifier(column)
        if row is not None:
            ref = sql.SQL("{}.{}").format(sql.SQL(row), ref)
        parts.append(_column_vector(ref, types[column], weight, cfg))
    return sql.SQL(" || ").join(parts)


def _function_body(conn: psycopg.Connection[Any], table: FtsTable, types: Mapping[str, str]) -> str:
    """The plpgsql source of the trigger function (compared with pg_proc.prosrc)."""
    return (
        sql.SQL("\nBEGIN\n    NEW.{} := {};\n    RETURN NEW;\nEND\n")
        .format(sql.Identifier(table.vector_column), vector_expression(table, types, row="NEW"))
        .as_string(conn)
    )


def _stale_condition(table: FtsTable, types: Mapping[str, str]) -> sql.Composed:
    """WHERE clause matching rows whose vector differs from what the spec computes."""
    return sql.SQL("{} IS DISTINCT FROM ({})").format(
        sql.Identifier(table.vector_column), vector_expression(table, types)
    )


# --- inspection (read-only) --------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """What the database currently has for one table."""

    types: dict[str, str]
    function_source: str | None
    trigger_enabled: str | None  # pg_trigger.tgenabled: 'O' on, 'D' disabled, None absent
    index_valid: bool | None
    stored_hash: str | None

    def has_vector(self, table: FtsTable) -> bool:
        return table.vector_column in self.types


def _metadata_exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [METADATA_TABLE]).fetchone()
    return bool(row and row[0])


def _inspect(conn: psycopg.Connection[Any], table: FtsTable) -> _State:
    types = _column_types(conn, table.table)
    if not types:
        raise FtsTableMissing.for_table(table.table)
    for column in table.columns:
        if column not in types:
            raise FtsTableMissing.for_column(table.table, column)
    regclass = sql.Identifier(table.table).as_string(conn)
    fn = conn.execute(
        "SELECT prosrc FROM pg_proc WHERE proname = %s AND pronamespace = "
        "(SELECT relnamespace FROM pg_class WHERE oid = to_regclass(%s))",
        [table.function_name, regclass],
    ).fetchone()
    trg = conn.execute(
        "SELECT tgenabled FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = %s",
        [regclass, table.trigger_name],
    ).fetchone()
    idx = conn.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) AND c.relname = %s",
        [regclass, table.index_name],
    ).fetchone()
    stored = None
    if _metadata_exists(conn):
        row = conn.execute(
            sql.SQL(
                "SELECT definition_hash FROM {} WHERE table_name = %s ORDER BY id DESC LIMIT 1"
            ).format(sql.Identifier(METADATA_TABLE)),
            [table.table],
        ).fetchone()
        stored = row[0] if row else None
    return _State(
        types=types,
        function_source=fn[0] if fn else None,
        trigger_enabled=str(trg[0]) if trg else None,
        index_valid=bool(idx[0]) if idx else None,
        stored_hash=stored,
    )


def _count_stale(conn: psycopg.Connection[Any], table: FtsTable, state: _State) -> int:
    if not state.has_vector(table):
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.table))
    else:
        query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
            sql.Identifier(table.table), _stale_condition(table, state.types)
        )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def _problems(conn: psycopg.Connection[Any], table: FtsTable, state: _State) -> list[str]:
    """Differences between the database and the spec, in an operator's words."""
    if not state.has_vector(table):
        return [f"column {table.vector_column} is missing (never synced)"]
    found = []
    if state.types[table.vector_column] != "tsvector":
        found.append(f"column {table.vector_column} is {state.types[table.vector_column]}")
    if state.function_source is None:
        found.append(f"trigger function {table.function_name} is missing")
    elif state.function_source != _function_body(conn, table, state.types):
        found.append(f"trigger function {table.function_name} differs from the spec in code")
    if state.trigger_enabled is None:
        found.append(f"trigger {table.trigger_name} is missing")
    elif state.trigger_enabled == "D":
        found.append(f"trigger {table.trigger_name} is disabled")
    if state.index_valid is None:
        found.append(f"index {table.index_name} is missing")
    elif not state.index_valid:
        found.append(f"index {table.index_name} is invalid (interrupted concurrent build)")
    if state.stored_hash is None:
        found.append("no sync recorded in " + METADATA_TABLE)
    elif state.stored_hash != table.definition_hash:
        found.append("definition differs from code (recorded hash does not match the spec)")
    return found


def _connect(db: DatabaseUrl | str, *, autocommit: bool) -> psycopg.Connection[Any]:
    return dburl.parse(db).connect(autocommit=autocommit)


def stale_rows(db: DatabaseUrl | str, spec: FtsSpec) -> dict[str, int]:
    """Per table, how many rows' vectors differ from the spec (all rows when never synced)."""
    with _connect(db, autocommit=False) as conn:
        conn.read_only = True
        return {t.table: _count_stale(conn, t, _inspect(conn, t)) for t in spec.tables}


def check(db: DatabaseUrl | str, spec: FtsSpec) -> FtsCheck:
    """Read-only: stale rows and definition drift per table."""
    stale: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    with _connect(db, autocommit=False) as conn:
        conn.read_only = True
        for table in spec.tables:
            state = _inspect(conn, table)
            stale[table.table] = _count_stale(conn, table, state)
            problems[table.table] = _problems(conn, table, state)
    return FtsCheck(stale=stale, problems=problems)


# --- sync (writes) -----------------------------------------------------------------------------


def _ensure_metadata(conn: psycopg.Connection[Any]) -> None:
    if _metadata_exists(conn):
        return
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} ("
            " id bigserial PRIMARY KEY, table_name text NOT NULL,"
            " definition_hash text NOT NULL, definition jsonb NOT NULL,"
            " actions text[] NOT NULL, rows_updated bigint NOT NULL,"
            " duration_ms double precision NOT NULL,"
            " synced_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(METADATA_TABLE))
    )


def _sync_structure(conn: psycopg.Connection[Any], table: FtsTable, state: _State) -> list[str]:
    """Create or repair column, function and trigger; return what was done."""
    actions: list[str] = []
    name = sql.Identifier(table.table)
    if not state.has_vector(table):
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN {} tsvector").format(
                name, sql.Identifier(table.vector_column)
            )
        )
        actions.append(f"added column {table.vector_column}")
    elif state.types[table.vector_column] != "tsvector":
        raise FtsError(
            f"{table.table}.{table.vector_column} exists with type "
            f"{state.types[table.vector_column]}, not tsvector; rename it or change the spec's "
            f"vector_column"
        )
    body = _function_body(conn, table, state.types)
    if state.function_source != body:
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}"
            ).format(sql.Identifier(table.function_name), sql.Literal(body))
        )
        verb = "created" if state.function_source is None else "replaced"
        actions.append(f"{verb} function {table.function_name}")
    if state.trigger_enabled is None:
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()"
            ).format(sql.Identifier(table.trigger_name), name, sql.Identifier(table.function_name))
        )
        actions.append(f"created trigger {table.trigger_name}")
    elif state.trigger_enabled == "D":
        conn.execute(
            sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(
                name, sql.Identifier(table.trigger_name)
            )
        )
        actions.append(f"enabled trigger {table.trigger_name}")
    return actions


def _backfill(
    conn: psycopg.Connection[Any], table: FtsTable, types: Mapping[str, str], batch_size: int
) -> tuple[int, int]:
    """Update stale rows `batch_size` at a time, each batch its own short transaction."""
    name = sql.Identifier(table.table)
    condition = _stale_condition(table, types)
    update = sql.SQL(
        "UPDATE {t} SET {v} = ({e}) "
        "WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE {c} LIMIT {n}))"
    ).format(
        t=name,
        v=sql.Identifier(table.vector_column),
        e=vector_expression(table, types),
        c=condition,
        n=sql.Literal(batch_size),
    )
    total = batches = 0
    while True:
        count = conn.execute(update).rowcount
        if count <= 0:
            return total, batches
        total += count
        batches += 1


def _sync_index(conn: psycopg.Connection[Any], table: FtsTable, state: _State) -> list[str]:
    """Build the GIN index without blocking writes (CONCURRENTLY needs autocommit)."""
    index = sql.Identifier(table.index_name)
    actions = []
    if state.index_valid is False:
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(index))
        actions.append(f"dropped invalid index {table.index_name}")
    if not state.index_valid:
        conn.execute(
            sql.SQL("CREATE INDEX CONCURRENTLY {} ON {} USING gin ({})").format(
                index, sql.Identifier(table.table), sql.Identifier(table.vector_column)
            )
        )
        actions.append(f"created index {table.index_name}")
    return actions


def _sync_table(conn: psycopg.Connection[Any], table: FtsTable, batch_size: int) -> TableSync:
    started = time.monotonic()
    state = _inspect(conn, table)
    actions = _sync_structure(conn, table, state)
    types = _column_types(conn, table.table)
    rows, batches = _backfill(conn, table, types, batch_size)
    if rows:
        actions.append(f"backfilled {rows} stale row(s) in {batches} batch(es)")
    actions.extend(_sync_index(conn, table, state))
    if state.stored_hash != table.definition_hash and not actions:
        actions.append("recorded definition")
    seconds = time.monotonic() - started
    if actions:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (table_name, definition_hash, definition, actions, rows_updated,"
                " duration_ms) VALUES (%s, %s, %s, %s, %s, %s)"
            ).format(sql.Identifier(METADATA_TABLE)),
            [
                table.table,
                table.definition_hash,
                json.dumps(table.definition()),
                actions,
                rows,
                seconds * 1000,
            ],
        )
    return TableSync(table.table, actions, rows, batches, seconds)


def sync(db: DatabaseUrl | str, spec: FtsSpec, *, batch_size: int = BATCH_SIZE) -> SyncReport:
    """Make the database match `spec`; change only what differs and report it."""
    if batch_size < 1:
        raise FtsSpecInvalid(f"batch_size must be at least 1, got {batch_size}")
    results = []
    with _connect(db, autocommit=True) as conn:
        # Concurrent syncs would race on CREATE INDEX CONCURRENTLY and the backfill.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [_LOCK_KEY])
        try:
            _ensure_metadata(conn)
            for table in spec.tables:
                results.append(_sync_table(conn, table, batch_size))
        except psycopg.Error as exc:
            raise FtsError(f"fts sync failed: {dburl.mask(str(exc)).strip()}") from exc
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_LOCK_KEY])
    return SyncReport(results)
