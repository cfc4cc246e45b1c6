"""FTS sync (writes): make the database match an FtsSpec, change only what differs, report it."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import FtsError, FtsSpecInvalid
from releaseops.fts.inspect import (
    FIRES_IN_ORDINARY_SESSIONS,
    METADATA_TABLE,
    TableState,
    column_types,
    connect,
    inspect_table,
    metadata_exists,
)
from releaseops.fts.model import FtsSpec, FtsTable
from releaseops.fts.sql import function_body, stale_condition, vector_expression

BATCH_SIZE = 1000
_LOCK_KEY = "releaseops.fts.sync"


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


def _ensure_metadata(conn: psycopg.Connection[Any]) -> None:
    """Create the sync metadata table unless it exists."""
    if metadata_exists(conn):
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


def _sync_structure(conn: psycopg.Connection[Any], table: FtsTable, state: TableState) -> list[str]:
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
    body = function_body(conn, table, state.types)
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
    elif state.trigger_enabled not in FIRES_IN_ORDINARY_SESSIONS:
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
    condition = stale_condition(table, types)
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


def _sync_index(conn: psycopg.Connection[Any], table: FtsTable, state: TableState) -> list[str]:
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
    """Bring one table in line with its declaration and record the run when anything changed."""
    started = time.monotonic()
    state = inspect_table(conn, table)
    actions = _sync_structure(conn, table, state)
    types = column_types(conn, table.table)
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
    with connect(db, autocommit=True) as conn:
        # Concurrent syncs would race on CREATE INDEX CONCURRENTLY and the backfill.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [_LOCK_KEY])
        try:
            _ensure_metadata(conn)
            for table in spec.tables:
                results.append(_sync_table(conn, table, batch_size))
        except psycopg.Error as exc:
            raise FtsError(f"fts sync failed: {dburl.mask(str(exc)).strip()}") from exc
        finally:
            # A lost connection has no lock left to release; unlocking it would raise and hide
            # the error that says what happened.
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_LOCK_KEY])
    return SyncReport(results)
