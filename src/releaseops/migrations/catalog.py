"""What the lint knows about the target's schema: tables, columns, checks, indexes.

A `Catalog` comes from a snapshot of the target database (`Catalog.snapshot`), from replaying
the migrations already applied (`catalog_replay`), or both. Each table records whether it
already exists in the target with rows and traffic (`existing=True`), is new in this release
(`False`), or cannot be told apart without a database (`None`). A table the catalog does not
know is assumed to exist: that is the conservative reading.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast import ast, parse_sql
from pglast.enums import NullTestType
from pglast.parser import ParseError

from releaseops.migrations.column_types import ColumnType, from_catalog

DEFAULT_SCHEMA = "public"


@dataclass
class Column:
    """One column: its type (None when unknown), NOT NULL, and whether it has a default."""

    name: str
    type: ColumnType | None
    not_null: bool = False
    has_default: bool = False


@dataclass
class Check:
    """A CHECK constraint; `not_null_of` is the column when it reads `col IS NOT NULL`."""

    name: str
    not_null_of: str | None
    validated: bool


@dataclass
class Table:
    """One table as the lint sees it."""

    name: str
    columns: dict[str, Column] | None = None
    checks: dict[str, Check] = field(default_factory=dict)
    constraints: set[str] = field(default_factory=set)
    existing: bool | None = True
    rows: int | None = None

    def column(self, name: str) -> Column | None:
        """The column called `name`, or None when it (or the column list) is unknown."""
        return None if self.columns is None else self.columns.get(name)

    def proves_not_null(self, column: str) -> bool:
        """True when a validated CHECK (column IS NOT NULL) exists (PG 12+ then skips the scan)."""
        return any(c.validated and c.not_null_of == column for c in self.checks.values())


@dataclass
class Index:
    """One index: its table and key columns (None when one is an expression)."""

    name: str
    table: str
    columns: tuple[str, ...] | None


@dataclass
class Catalog:
    """Tables and indexes by schema-qualified name, plus where that knowledge came from."""

    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    others: dict[str, bool | None] = field(default_factory=dict)
    source: str = "migrations"
    server_major: int | None = None

    def copy(self) -> Catalog:
        """An independent copy (replaying a file changes the catalog it is given)."""
        return copy.deepcopy(self)

    def table(self, name: str) -> Table | None:
        """The table called `name` (qualified), or None when the catalog does not know it."""
        return self.tables.get(name)

    def existing(self, name: str) -> bool | None:
        """Whether table `name` has rows and traffic: unknown tables are assumed to (True)."""
        known = self.tables.get(name)
        return True if known is None else known.existing

    def index_table(self, index: str) -> str | None:
        """The table an index belongs to, when the catalog knows the index."""
        found = self.indexes.get(index)
        return found.table if found else None

    def index_existing(self, index: str) -> bool | None:
        """Whether an index is on a table with traffic; unknown indexes are assumed to be."""
        found = self.indexes.get(index)
        return True if found is None else self.existing(found.table)


def qualified(relation: ast.RangeVar | None) -> str:
    """`schema.name` of a RangeVar; the schema defaults to public (the usual search_path)."""
    if relation is None or not relation.relname:
        return "?"
    return f"{relation.schemaname or DEFAULT_SCHEMA}.{relation.relname}"


def qualified_name(parts: Any) -> str:
    """`schema.name` of a parsed name list (DROP INDEX public.i, DROP TABLE t)."""
    items = parts if isinstance(parts, tuple) else (parts,)
    names = [str(getattr(item, "sval", item)) for item in items]
    if len(names) == 1:
        names.insert(0, DEFAULT_SCHEMA)
    return ".".join(names[-2:])


def not_null_column(expr: ast.Node | None) -> str | None:
    """The column of a `col IS NOT NULL` check expression, else None."""
    if not isinstance(expr, ast.NullTest) or expr.nulltesttype != NullTestType.IS_NOT_NULL:
        return None
    arg = expr.arg
    if isinstance(arg, ast.ColumnRef) and arg.fields and isinstance(arg.fields[-1], ast.String):
        return str(arg.fields[-1].sval)
    return None


def _check_expression(text: str) -> ast.Node | None:
    try:
        stmt = parse_sql(f"SELECT {text}")[0].stmt
    except ParseError:
        return None
    if isinstance(stmt, ast.SelectStmt) and stmt.targetList:
        target = stmt.targetList[0]
        return target.val if isinstance(target, ast.ResTarget) else None
    return None


_TABLES = """
SELECT c.oid::bigint, n.nspname || '.' || c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
"""
_COLUMNS = """
SELECT a.attrelid::bigint, a.attname, t.typname, a.atttypmod, a.attnotnull, a.atthasdef
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""
_CONSTRAINTS = """
SELECT conrelid::bigint, conname, contype::text, convalidated,
       CASE WHEN contype = 'c' THEN pg_get_expr(conbin, conrelid) END
FROM pg_constraint WHERE conrelid = ANY(%s)
"""
_INDEXES = """
SELECT n.nspname || '.' || c.relname, i.indrelid::bigint,
       CASE WHEN 0 = ANY(i.indkey::int2[]) THEN NULL ELSE ARRAY(
           SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           ORDER BY k.ord) END
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = ANY(%s)
"""


def snapshot(conn: psycopg.Connection[Any]) -> Catalog:
    """Read tables, columns, constraints and indexes of the connected database (read-only)."""
    tables: dict[int, Table] = {}
    for oid, name, reltuples in conn.execute(_TABLES).fetchall():
        rows = int(reltuples) if reltuples is not None and reltuples >= 0 else None
        tables[int(oid)] = Table(name=str(name), columns={}, rows=rows)
    oids = list(tables)
    for oid, column, typname, typmod, not_null, has_default in conn.execute(
        _COLUMNS, [oids]
    ).fetchall():
        columns = tables[int(oid)].columns
        assert columns is not None
        kind = from_catalog(str(typname), int(typmod))
        columns[str(column)] = Column(str(column), kind, bool(not_null), bool(has_default))
    for oid, name, contype, validated, expression in conn.execute(_CONSTRAINTS, [oids]).fetchall():
        table = tables[int(oid)]
        table.constraints.add(str(name))
        if contype == "c":
            column = not_null_column(_check_expression(str(expression)))
            table.checks[str(name)] = Check(str(name), column, bool(validated))
    catalog = Catalog(tables={t.name: t for t in tables.values()}, source="database")
    for name, table_oid, columns in conn.execute(_INDEXES, [oids]).fetchall():
        keys = tuple(str(c) for c in columns) if columns is not None else None
        catalog.indexes[str(name)] = Index(str(name), tables[int(table_oid)].name, keys)
    row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    catalog.server_major = int(row[0]) if row else None
    return catalog
