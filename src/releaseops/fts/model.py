"""The FTS declaration as data: searchable tables, their weights and config, and derived names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from releaseops import dburl
from releaseops.errors import FtsSpecInvalid

WEIGHTS = ("A", "B", "C", "D")
# Bump when the SQL generated for a spec changes, so databases synced by older code show drift.
EXPRESSION_VERSION = 1
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
