"""Advice on column definitions: serial, integer keys, timestamp without time zone."""

from __future__ import annotations

from collections.abc import Iterable

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from releaseops.migrations.column_types import from_ast
from releaseops.migrations.rules_base import Hit, written

NARROW_INTEGERS = frozenset({"int2", "int4"})


def _is_key(column: ast.ColumnDef, table_keys: frozenset[str]) -> bool:
    kinds = {c.contype for c in column.constraints or () if isinstance(c, ast.Constraint)}
    inline = kinds & {ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_IDENTITY}
    return bool(inline) or str(column.colname) in table_keys


def _column_advice(column: ast.ColumnDef, where: str, table_keys: frozenset[str]) -> list[Hit]:
    kind = from_ast(column.typeName)
    if kind is None:
        return []
    hits = []
    name = f"{where}.{column.colname}"
    if kind.serial:
        hits.append(
            Hit(
                "prefer-identity",
                f"{name} is a serial column: a sequence plus a "
                f"nextval() default, not an identity column",
            )
        )
    if kind.name in NARROW_INTEGERS and _is_key(column, table_keys):
        hits.append(
            Hit(
                "prefer-bigint-key",
                f"{name} is a {kind.name} key: it runs out at "
                f"{2**15 - 1 if kind.name == 'int2' else 2**31 - 1:,}",
            )
        )
    if kind.name == "timestamp":
        hits.append(
            Hit(
                "prefer-timestamptz",
                f"{name} is timestamp without time zone: values carry no offset",
            )
        )
    return hits


def _primary_keys(elements: Iterable[object]) -> frozenset[str]:
    keys: set[str] = set()
    for element in elements:
        if isinstance(element, ast.Constraint) and element.contype == ConstrType.CONSTR_PRIMARY:
            keys.update(str(getattr(k, "sval", k)) for k in element.keys or ())
    return frozenset(keys)


def advice_hits(node: ast.Node) -> list[Hit]:
    """Advice for the columns a CREATE TABLE or ALTER TABLE defines or retypes."""
    hits: list[Hit] = []
    if isinstance(node, ast.CreateStmt):
        elements = node.tableElts or ()
        keys = _primary_keys(elements)
        for element in elements:
            if isinstance(element, ast.ColumnDef):
                hits += _column_advice(element, written(node.relation), keys)
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd) or not isinstance(cmd.def_, ast.ColumnDef):
                continue
            if cmd.subtype == AlterTableType.AT_AddColumn:
                hits += _column_advice(cmd.def_, written(node.relation), frozenset())
            elif cmd.subtype == AlterTableType.AT_AlterColumnType:
                kind = from_ast(cmd.def_.typeName)
                if kind is not None and kind.name == "timestamp":
                    hits.append(
                        Hit(
                            "prefer-timestamptz",
                            f"{written(node.relation)}.{cmd.name} "
                            f"becomes timestamp without time zone",
                        )
                    )
    return hits
