"""The split-unit rule's view of a statement: which columns it changes, indexes or constrains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ObjectType
from pglast.visitors import Visitor

# ALTER TABLE subcommands that are index/constraint work rather than a change of the columns.
INDEX_OR_CONSTRAINT_CMDS = {
    AlterTableType.AT_AddConstraint,
    AlterTableType.AT_AddIndex,
    AlterTableType.AT_AddIndexConstraint,
    AlterTableType.AT_ValidateConstraint,
    AlterTableType.AT_DropConstraint,
}


def table_name(relation: ast.RangeVar | None) -> str:
    """The bare table name of a RangeVar (cross-file rules match on it), `?` when absent."""
    return str(relation.relname) if relation is not None and relation.relname else "?"


class _ColumnNames(Visitor):
    """Collects the column names an index or constraint mentions."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> None:  # noqa: N802
        last = node.fields[-1] if node.fields else None
        if isinstance(last, ast.String):
            self.names.add(str(last.sval))

    def visit_IndexElem(self, ancestors: Any, node: ast.IndexElem) -> None:  # noqa: N802
        if node.name:
            self.names.add(str(node.name))


def columns_of(node: ast.Node | tuple[Any, ...] | None) -> frozenset[str]:
    """Column names mentioned by an index or constraint node (keys, expressions, INCLUDE)."""
    if node is None or isinstance(node, tuple):
        return frozenset()
    collector = _ColumnNames()
    collector(node)
    if isinstance(node, ast.Constraint):
        for attr in (node.keys, node.fk_attrs, node.including):
            collector.names.update(str(getattr(s, "sval", s)) for s in attr or ())
    return frozenset(collector.names)


@dataclass(frozen=True)
class TableUse:
    """One statement's use of a table: the columns it changes, or indexes/constrains."""

    table: str
    line: int
    what: str
    changed: frozenset[str] = frozenset()
    indexed: frozenset[str] = frozenset()
    exempt: bool = False


def _changed_column(cmd: ast.AlterTableCmd) -> str | None:
    if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
        return str(cmd.def_.colname)
    return str(cmd.name) if cmd.name else None


def _alter_uses(node: ast.AlterTableStmt, line: int) -> list[TableUse]:
    table = table_name(node.relation)
    uses: list[TableUse] = []
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        if cmd.subtype in INDEX_OR_CONSTRAINT_CMDS:
            what = f"constraint {getattr(cmd.def_, 'conname', None) or cmd.name or '(unnamed)'}"
            uses.append(TableUse(table, line, what, indexed=columns_of(cmd.def_)))
        elif (column := _changed_column(cmd)) is not None:
            uses.append(TableUse(table, line, "ALTER TABLE", changed=frozenset({column})))
    return uses


def table_uses(
    stmts: tuple[ast.RawStmt, ...], text: str, *, no_transaction: bool
) -> list[TableUse]:
    """Columns each statement alters, indexes or constrains; no-transaction files are exempt.

    CREATE TABLE is not a change here: the rule is about altering a column in one file and
    indexing or constraining it in a later one, where a failure between them leaves half a change.
    """
    uses: list[TableUse] = []
    for raw in stmts:
        node = raw.stmt
        line = text.count("\n", 0, raw.stmt_location or 0) + 1
        if isinstance(node, ast.AlterTableStmt):
            uses.extend(_alter_uses(node, line))
        elif isinstance(node, ast.IndexStmt):
            what = f"index {node.idxname or '(unnamed)'}"
            indexed = columns_of(node)
            uses.append(
                TableUse(
                    table_name(node.relation), line, what, indexed=indexed, exempt=no_transaction
                )
            )
        elif isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_COLUMN:
            changed = frozenset({str(node.subname), str(node.newname)})
            uses.append(TableUse(table_name(node.relation), line, "RENAME COLUMN", changed=changed))
    return uses
