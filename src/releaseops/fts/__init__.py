"""Full-text search columns declared in code, synced into PostgreSQL, and checked for staleness.

A spec (`FtsSpec` of `FtsTable`s) names the searchable columns, their weights and the
text-search configuration. `sync()` makes the database match it: a tsvector column, a trigger
function and trigger that keep it current, a GIN index, and a batched backfill of stale rows;
each run that changes something is recorded in the `releaseops_fts_sync` table. `stale_rows()`
and `check()` only read.

This module is the public face; the work lives in `fts_model` (the declaration), `fts_sql` (the
SQL a declaration implies), `fts_inspect` (read-only inspection) and `fts_sync` (the writes).
"""

from __future__ import annotations

from releaseops.fts.inspect import METADATA_TABLE, FtsCheck, check, stale_rows
from releaseops.fts.model import EXPRESSION_VERSION, WEIGHTS, FtsSpec, FtsTable
from releaseops.fts.sql import vector_expression
from releaseops.fts.sync import BATCH_SIZE, SyncReport, TableSync, sync

__all__ = [
    "BATCH_SIZE",
    "EXPRESSION_VERSION",
    "METADATA_TABLE",
    "WEIGHTS",
    "FtsCheck",
    "FtsSpec",
    "FtsTable",
    "SyncReport",
    "TableSync",
    "check",
    "stale_rows",
    "sync",
    "vector_expression",
]
