"""ADD COLUMN hazards: volatile defaults, stored generated columns, NOT NULL, inline keys."""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import ConstrType
from pglast.visitors import Visitor

from releaseops.migrations.column_types import from_ast
from releaseops.migrations.rules_base import FileState, Hit

# Functions a column DEFAULT commonly calls that are not volatile: PostgreSQL 11+ evaluates
# such a default once and stores it as the value of every existing row, without a rewrite.
NOT_VOLATILE = frozenset(
    {
        "now",
        "statement_timestamp",
        "transaction_timestamp",
        "current_setting",
        "lower",
        "upper",
        "btrim",
        "length",
        "concat",
        "format",
        "md5",
        "to_jsonb",
        "jsonb_build_object",
        "jsonb_build_array",
        "json_build_object",
        "array_fill",
        "make_interval",
        "date_trunc",
        "to_timestamp",
        "timezone",
    }
)


class _Calls(Visitor):
    """Collects the functions an expression calls."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:  # noqa: N802
        last = node.funcname[-1] if node.funcname else None
        self.names.append(str(getattr(last, "sval", "?")).lower())


def volatile_call(expr: ast.Node) -> str | None:
    """The first function in `expr` not known to be stable or immutable, e.g. `random()`."""
    calls = _Calls()
    calls(expr)
    return next((f"{name}()" for name in calls.names if name not in NOT_VOLATILE), None)


def _constraints(column: ast.ColumnDef) -> list[ast.Constraint]:
    return [c for c in column.constraints or () if isinstance(c, ast.Constraint)]


def _kinds(column: ast.ColumnDef) -> set[ConstrType]:
    return {c.contype for c in _constraints(column) if c.contype is not None}


REWRITTEN = "the table is rewritten under ACCESS EXCLUSIVE"


def _filled_hits(column: ast.ColumnDef, where: str) -> list[Hit]:
    """A stored generated, serial or identity column: PostgreSQL fills every existing row."""
    kinds, kind = _kinds(column), from_ast(column.typeName)
    if ConstrType.CONSTR_GENERATED in kinds:
        message = (
            f"ADD COLUMN {where} GENERATED ... STORED computes every existing row: {REWRITTEN}"
        )
        return [Hit("stored-generated-column", message)]
    if kind is not None and kind.serial:
        what = "a serial type (its default nextval() is volatile)"
    elif ConstrType.CONSTR_IDENTITY in kinds:
        what = "an identity column"
    else:
        return []
    message = f"ADD COLUMN {where} with {what} gives every existing row its own value: {REWRITTEN}"
    return [Hit("volatile-default", message)]


def _default_hits(column: ast.ColumnDef, where: str, state: FileState) -> list[Hit]:
    """volatile-default and stored-generated-column for one added column."""
    filled = _filled_hits(column, where)
    if filled:
        return filled
    default = next(
        (c.raw_expr for c in _constraints(column) if c.contype == ConstrType.CONSTR_DEFAULT), None
    )
    if default is None or (isinstance(default, ast.A_Const) and default.isnull):
        return []
    if state.major < 11:
        message = f"ADD COLUMN {where} with a DEFAULT: {REWRITTEN} before PostgreSQL 11"
        return [Hit("volatile-default", message + state.version_note())]
    call = volatile_call(default)
    if call is None:
        return []
    message = (
        f"ADD COLUMN {where} DEFAULT calls {call}, which is volatile (or not known to be "
        f"stable): every existing row gets its own value and {REWRITTEN}"
    )
    return [Hit("volatile-default", message)]


def add_column_hits(cmd: ast.AlterTableCmd, shown: str, state: FileState) -> list[Hit]:
    """Volatile or generated values, NOT NULL without default, inline checks and keys."""
    column = cmd.def_
    if not isinstance(column, ast.ColumnDef):
        return []
    where = f"{shown}.{column.colname}"
    hits = _default_hits(column, where, state)
    kinds = _kinds(column)
    fills = {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED}
    serial = bool((kind := from_ast(column.typeName)) and kind.serial)
    if kinds & {ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY} and not (
        kinds & fills or serial
    ):
        hits.append(
            Hit(
                "add-column-not-null-no-default",
                f"ADD COLUMN {where} NOT NULL without "
                f"a default fails (SQLSTATE 23502) on a table with rows, after checking "
                f"every row under ACCESS EXCLUSIVE",
            )
        )
    if kinds & {ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN}:
        hits.append(
            Hit(
                "constraint-not-valid-missing",
                f"ADD COLUMN {where} with an inline CHECK "
                f"or REFERENCES checks every row while the lock is held",
            )
        )
    if kinds & {ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY}:
        hits.append(
            Hit(
                "unique-without-index",
                f"ADD COLUMN {where} UNIQUE/PRIMARY KEY builds its index under ACCESS EXCLUSIVE",
            )
        )
    return hits
