"""Replay DDL onto a Catalog: what one statement creates, changes, renames or drops."""

from __future__ import annotations

from collections.abc import Iterable

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from releaseops.migrations.catalog import (
    Catalog,
    Check,
    Column,
    Index,
    Table,
    not_null_column,
    qualified,
    qualified_name,
)
from releaseops.migrations.column_types import from_ast

OTHER_KINDS = {
    ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_MATVIEW: "view",
    ObjectType.OBJECT_SEQUENCE: "sequence",
    ObjectType.OBJECT_TYPE: "type",
    ObjectType.OBJECT_DOMAIN: "type",
    ObjectType.OBJECT_SCHEMA: "schema",
    ObjectType.OBJECT_EXTENSION: "extension",
}


def _strings(values: Iterable[object] | None) -> tuple[str, ...]:
    return tuple(str(getattr(v, "sval", v)) for v in values or ())


def _schema_of(name: str) -> str:
    return name.split(".", 1)[0]


def _add_check(table: Table, constraint: ast.Constraint, column: str | None = None) -> None:
    name = constraint.conname or f"{table.name.split('.', 1)[1]}_{column or 'check'}_check"
    table.constraints.add(name)
    table.checks[name] = Check(
        name, not_null_column(constraint.raw_expr), validated=not constraint.skip_validation
    )


def _add_key(
    catalog: Catalog, table: Table, constraint: ast.Constraint, keys: tuple[str, ...]
) -> None:
    """PRIMARY KEY / UNIQUE: the index it builds or adopts; a primary key makes keys NOT NULL."""
    bare = table.name.split(".", 1)[1]
    suffix = "pkey" if constraint.contype == ConstrType.CONSTR_PRIMARY else "key"
    name = constraint.conname or "_".join([bare, *([] if suffix == "pkey" else keys), suffix])
    qualified_index = f"{_schema_of(table.name)}.{name}"
    if constraint.indexname:
        adopted = catalog.indexes.pop(f"{_schema_of(table.name)}.{constraint.indexname}", None)
        keys = (adopted.columns or ()) if adopted else keys
    catalog.indexes[qualified_index] = Index(qualified_index, table.name, keys)
    table.constraints.add(name)
    if constraint.contype == ConstrType.CONSTR_PRIMARY:
        for key in keys:
            if (column := table.column(key)) is not None:
                column.not_null = True


def _column(catalog: Catalog, table: Table, definition: ast.ColumnDef) -> Column:
    """Build a Column from its definition; inline keys and checks go onto the table."""
    kind = from_ast(definition.typeName)
    column = Column(str(definition.colname), kind, has_default=bool(kind and kind.serial))
    for constraint in definition.constraints or ():
        if not isinstance(constraint, ast.Constraint):
            continue
        contype = constraint.contype
        if contype in (ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY):
            column.not_null = True
        if contype in (ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY):
            column.has_default = True
        if contype == ConstrType.CONSTR_IDENTITY:
            column.not_null = True
        if contype == ConstrType.CONSTR_CHECK:
            _add_check(table, constraint, column.name)
        if contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
            _add_key(catalog, table, constraint, (column.name,))
    return column


def _create_table(catalog: Catalog, node: ast.CreateStmt, *, existing: bool | None) -> None:
    name = qualified(node.relation)
    if node.if_not_exists and name in catalog.tables:
        return
    table = Table(name, columns={}, existing=existing)
    catalog.tables[name] = table
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            assert table.columns is not None
            table.columns[str(element.colname)] = _column(catalog, table, element)
        elif isinstance(element, ast.Constraint):
            _constraint(catalog, table, element)
        else:  # LIKE other_table: the columns are not known here
            table.columns = None
    if node.inhRelations:
        table.columns = None


def _constraint(catalog: Catalog, table: Table, constraint: ast.Constraint) -> None:
    if constraint.contype == ConstrType.CONSTR_CHECK:
        _add_check(table, constraint)
    elif constraint.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
        _add_key(catalog, table, constraint, _strings(constraint.keys))
    elif constraint.conname:
        table.constraints.add(str(constraint.conname))


def _drop_constraint(catalog: Catalog, table: Table, name: str) -> None:
    table.constraints.discard(name)
    table.checks.pop(name, None)
    catalog.indexes.pop(f"{_schema_of(table.name)}.{name}", None)


def _alter_column(table: Table, cmd: ast.AlterTableCmd) -> None:
    column = table.column(str(cmd.name))
    if column is None:
        return
    if cmd.subtype == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
        column.type = from_ast(cmd.def_.typeName)
    elif cmd.subtype == AlterTableType.AT_SetNotNull:
        column.not_null = True
    elif cmd.subtype == AlterTableType.AT_DropNotNull:
        column.not_null = False
    elif cmd.subtype == AlterTableType.AT_ColumnDefault:
        column.has_default = cmd.def_ is not None


def _alter_table(catalog: Catalog, node: ast.AlterTableStmt) -> None:
    table = catalog.table(qualified(node.relation))
    if table is None:
        return
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            column = _column(catalog, table, cmd.def_)
            if table.columns is not None:
                table.columns[column.name] = column
        elif cmd.subtype == AlterTableType.AT_DropColumn and table.columns is not None:
            table.columns.pop(str(cmd.name), None)
        elif cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(
            cmd.def_, ast.Constraint
        ):
            _constraint(catalog, table, cmd.def_)
        elif cmd.subtype == AlterTableType.AT_ValidateConstraint:
            if (check := table.checks.get(str(cmd.name))) is not None:
                check.validated = True
        elif cmd.subtype == AlterTableType.AT_DropConstraint:
            _drop_constraint(catalog, table, str(cmd.name))
        else:
            _alter_column(table, cmd)


def _move_table(catalog: Catalog, old: str, new: str) -> None:
    table = catalog.tables.pop(old, None)
    if table is None:
        return
    table.name = new
    catalog.tables[new] = table
    for index_name, index in list(catalog.indexes.items()):
        if index.table == old:
            index.table = new
            if _schema_of(old) != _schema_of(new):
                del catalog.indexes[index_name]
                index.name = f"{_schema_of(new)}.{index_name.split('.', 1)[1]}"
                catalog.indexes[index.name] = index


def _rename(catalog: Catalog, node: ast.RenameStmt) -> None:
    name = qualified(node.relation)
    schema = _schema_of(name)
    if node.renameType == ObjectType.OBJECT_TABLE:
        _move_table(catalog, name, f"{schema}.{node.newname}")
    elif node.renameType == ObjectType.OBJECT_COLUMN:
        table = catalog.table(name)
        column = table.column(str(node.subname)) if table else None
        if table is not None and table.columns is not None and column is not None:
            del table.columns[column.name]
            column.name = str(node.newname)
            table.columns[column.name] = column
    elif node.renameType == ObjectType.OBJECT_INDEX and name in catalog.indexes:
        index = catalog.indexes.pop(name)
        index.name = f"{schema}.{node.newname}"
        catalog.indexes[index.name] = index


def _drop(catalog: Catalog, node: ast.DropStmt) -> None:
    for obj in node.objects or ():
        name = qualified_name(obj)
        if node.removeType == ObjectType.OBJECT_TABLE:
            catalog.tables.pop(name, None)
            for index_name in [i for i, idx in catalog.indexes.items() if idx.table == name]:
                del catalog.indexes[index_name]
        elif node.removeType == ObjectType.OBJECT_INDEX:
            catalog.indexes.pop(name, None)
        elif node.removeType in OTHER_KINDS:
            catalog.others.pop(f"{OTHER_KINDS[node.removeType]}:{name}", None)


def _index(catalog: Catalog, node: ast.IndexStmt) -> None:
    table = qualified(node.relation)
    keys = tuple(str(e.name) for e in node.indexParams or () if isinstance(e, ast.IndexElem))
    expressions = any(isinstance(e, ast.IndexElem) and e.expr for e in node.indexParams or ())
    bare = node.idxname or f"{table.split('.', 1)[1]}_{'_'.join(keys) or 'expr'}_idx"
    name = f"{_schema_of(table)}.{bare}"
    if node.if_not_exists and name in catalog.indexes:
        return
    catalog.indexes[name] = Index(name, table, None if expressions else keys)


def _other(catalog: Catalog, node: ast.Node, *, existing: bool | None) -> None:
    if isinstance(node, ast.ViewStmt):
        catalog.others[f"view:{qualified(node.view)}"] = existing
    elif isinstance(node, ast.CreateSeqStmt):
        catalog.others[f"sequence:{qualified(node.sequence)}"] = existing
    elif isinstance(node, ast.CreateEnumStmt | ast.CreateDomainStmt):
        catalog.others[f"type:{qualified_name(tuple(node.typeName or ()))}"] = existing
    elif isinstance(node, ast.CompositeTypeStmt):
        catalog.others[f"type:{qualified(node.typevar)}"] = existing
    elif isinstance(node, ast.CreateSchemaStmt):
        catalog.others[f"schema:{node.schemaname}"] = existing


def replay(catalog: Catalog, node: ast.Node | None, *, existing: bool | None) -> None:
    """Apply what `node` does to `catalog`; what it creates gets the flag `existing`."""
    if isinstance(node, ast.CreateStmt):
        _create_table(catalog, node, existing=existing)
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        name = qualified(node.into.rel)
        if node.objtype == ObjectType.OBJECT_MATVIEW:
            catalog.others[f"view:{name}"] = existing
        catalog.tables[name] = Table(name, columns=None, existing=existing)
    elif isinstance(node, ast.AlterTableStmt):
        _alter_table(catalog, node)
    elif isinstance(node, ast.AlterObjectSchemaStmt) and node.relation is not None:
        old = qualified(node.relation)
        _move_table(catalog, old, f"{node.newschema}.{old.split('.', 1)[1]}")
    elif isinstance(node, ast.RenameStmt):
        _rename(catalog, node)
    elif isinstance(node, ast.DropStmt):
        _drop(catalog, node)
    elif isinstance(node, ast.IndexStmt):
        _index(catalog, node)
    elif node is not None:
        _other(catalog, node, existing=existing)
