"""Read-only FTS inspection: what the database has for each table, stale rows and drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import FtsTableMissing
from releaseops.fts.model import FtsSpec, FtsTable
from releaseops.fts.sql import function_body, stale_condition

METADATA_TABLE = "releaseops_fts_sync"


# pg_trigger.tgenabled: only O (origin/local) and A (always) fire in an ordinary session;
# R fires only under session_replication_role = replica, D never.
FIRES_IN_ORDINARY_SESSIONS = ("O", "A")
TRIGGER_STATES = {
    "O": "enabled",
    "A": "enabled always",
    "R": "replica only",
    "D": "disabled",
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


@dataclass(frozen=True)
class TableState:
    """What the database currently has for one table."""

    types: dict[str, str]
    function_source: str | None
    trigger_enabled: str | None  # pg_trigger.tgenabled (TRIGGER_STATES), None when absent
    index_valid: bool | None
    stored_hash: str | None

    def has_vector(self, table: FtsTable) -> bool:
        """True when the table already has its tsvector column."""
        return table.vector_column in self.types


def connect(db: DatabaseUrl | str, *, autocommit: bool) -> psycopg.Connection[Any]:
    """A connection to `db` (URL in any form dburl.parse accepts)."""
    return dburl.parse(db).connect(autocommit=autocommit)


def column_types(conn: psycopg.Connection[Any], table: str) -> dict[str, str]:
    """Column name -> formatted type of `table` (empty when the table does not exist)."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
        [sql.Identifier(table).as_string(conn)],
    ).fetchall()
    return {name: typ for name, typ in rows}


def metadata_exists(conn: psycopg.Connection[Any]) -> bool:
    """True when the sync metadata table exists."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [METADATA_TABLE]).fetchone()
    return bool(row and row[0])


def inspect_table(conn: psycopg.Connection[Any], table: FtsTable) -> TableState:
    """Read the table's columns, trigger function, trigger, index and last recorded hash."""
    types = column_types(conn, table.table)
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
    if metadata_exists(conn):
        row = conn.execute(
            sql.SQL(
                "SELECT definition_hash FROM {} WHERE table_name = %s ORDER BY id DESC LIMIT 1"
            ).format(sql.Identifier(METADATA_TABLE)),
            [table.table],
        ).fetchone()
        stored = row[0] if row else None
    return TableState(
        types=types,
        function_source=fn[0] if fn else None,
        trigger_enabled=str(trg[0]) if trg else None,
        index_valid=bool(idx[0]) if idx else None,
        stored_hash=stored,
    )


def _count_stale(conn: psycopg.Connection[Any], table: FtsTable, state: TableState) -> int:
    """How many rows' vectors differ from the spec (every row when there is no vector yet)."""
    if not state.has_vector(table):
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.table))
    else:
        query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
            sql.Identifier(table.table), stale_condition(table, state.types)
        )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def _problems(conn: psycopg.Connection[Any], table: FtsTable, state: TableState) -> list[str]:
    """Differences between the database and the spec, in an operator's words."""
    if not state.has_vector(table):
        return [f"column {table.vector_column} is missing (never synced)"]
    found = []
    if state.types[table.vector_column] != "tsvector":
        found.append(f"column {table.vector_column} is {state.types[table.vector_column]}")
    if state.function_source is None:
        found.append(f"trigger function {table.function_name} is missing")
    elif state.function_source != function_body(conn, table, state.types):
        found.append(f"trigger function {table.function_name} differs from the spec in code")
    if state.trigger_enabled is None:
        found.append(f"trigger {table.trigger_name} is missing")
    elif state.trigger_enabled not in FIRES_IN_ORDINARY_SESSIONS:
        meaning = TRIGGER_STATES.get(state.trigger_enabled, "?")
        found.append(
            f"trigger {table.trigger_name} does not fire for ordinary sessions (tgenabled "
            f"{state.trigger_enabled!r}: {meaning}); new and edited rows would not be indexed. "
            f"ALTER TABLE {table.table} ENABLE TRIGGER {table.trigger_name}, or run "
            f"init_fts.py --sync"
        )
    if state.index_valid is None:
        found.append(f"index {table.index_name} is missing")
    elif not state.index_valid:
        found.append(f"index {table.index_name} is invalid (interrupted concurrent build)")
    if state.stored_hash is None:
        found.append("no sync recorded in " + METADATA_TABLE)
    elif state.stored_hash != table.definition_hash:
        found.append("definition differs from code (recorded hash does not match the spec)")
    return found


def stale_rows(db: DatabaseUrl | str, spec: FtsSpec) -> dict[str, int]:
    """Per table, how many rows' vectors differ from the spec (all rows when never synced)."""
    with connect(db, autocommit=False) as conn:
        conn.read_only = True
        return {t.table: _count_stale(conn, t, inspect_table(conn, t)) for t in spec.tables}


def check(db: DatabaseUrl | str, spec: FtsSpec) -> FtsCheck:
    """Read-only: stale rows and definition drift per table."""
    stale: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    with connect(db, autocommit=False) as conn:
        conn.read_only = True
        for table in spec.tables:
            state = inspect_table(conn, table)
            stale[table.table] = _count_stale(conn, table, state)
            problems[table.table] = _problems(conn, table, state)
    return FtsCheck(stale=stale, problems=problems)
