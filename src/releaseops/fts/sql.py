"""The SQL an FtsTable implies: its tsvector expression, trigger function body and stale test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from releaseops.errors import FtsTableMissing
from releaseops.fts.model import FtsTable


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


def function_body(conn: psycopg.Connection[Any], table: FtsTable, types: Mapping[str, str]) -> str:
    """The plpgsql source of the trigger function (compared with pg_proc.prosrc)."""
    return (
        sql.SQL("\nBEGIN\n    NEW.{} := {};\n    RETURN NEW;\nEND\n")
        .format(sql.Identifier(table.vector_column), vector_expression(table, types, row="NEW"))
        .as_string(conn)
    )


def stale_condition(table: FtsTable, types: Mapping[str, str]) -> sql.Composed:
    """WHERE clause matching rows whose vector differs from what the spec computes."""
    return sql.SQL("{} IS DISTINCT FROM ({})").format(
        sql.Identifier(table.vector_column), vector_expression(table, types)
    )
