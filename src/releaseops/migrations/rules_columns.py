"""ALTER TABLE hazards: NOT NULL, constraints, validation, type changes, drops, rewrites."""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from releaseops.migrations.catalog import Table, qualified
from releaseops.migrations.column_types import from_ast, keeps_rows
from releaseops.migrations.rules_add_column import add_column_hits
from releaseops.migrations.rules_base import FileState, Hit, written

# ALTER TABLE subcommands that take only SHARE UPDATE EXCLUSIVE (reads and writes go on).
LIGHT_CMDS = frozenset(
    {
        AlterTableType.AT_ValidateConstraint,
        AlterTableType.AT_SetStatistics,
        AlterTableType.AT_SetRelOptions,
        AlterTableType.AT_ResetRelOptions,
        AlterTableType.AT_ClusterOn,
        AlterTableType.AT_DropCluster,
    }
)
REWRITE_CMDS = {
    AlterTableType.AT_SetTableSpace: "SET TABLESPACE",
    AlterTableType.AT_SetLogged: "SET LOGGED",
    AlterTableType.AT_SetUnLogged: "SET UNLOGGED",
    AlterTableType.AT_SetAccessMethod: "SET ACCESS METHOD",
}


def _set_not_null(name: str, model: Table | None, shown: str, state: FileState) -> list[Hit]:
    column = model.column(name) if model else None
    if column is not None and column.not_null:
        return []
    proven = model is not None and model.proves_not_null(name)
    if proven and state.major >= 12:
        return []
    why = state.version_note() if proven else ("" if column else state.unknown_note())
    return [
        Hit(
            "set-not-null",
            f"SET NOT NULL on {shown}.{name} scans the whole table under "
            f"ACCESS EXCLUSIVE (no validated CHECK ({name} IS NOT NULL) proves it){why}",
        )
    ]


def _key_using_index(
    con: ast.Constraint, table: str, model: Table | None, state: FileState
) -> list[Hit]:
    index = state.catalog.indexes.get(f"{table.split('.', 1)[0]}.{con.indexname}")
    keys = index.columns if index else None
    known, nullable = False, []
    if model is not None and keys:
        columns = {key: model.column(key) for key in keys}
        known = all(c is not None for c in columns.values())
        nullable = [k for k, c in columns.items() if c is not None and not c.not_null]
    if known and not nullable:
        return []
    which = ", ".join(nullable) if nullable else "its columns"
    note = "" if nullable else state.unknown_note()
    return [
        Hit(
            "set-not-null",
            f"ADD PRIMARY KEY USING INDEX {con.indexname}: {which} may be NULL, so PostgreSQL "
            f"adds NOT NULL and scans the table under ACCESS EXCLUSIVE{note}",
        )
    ]


def _add_constraint(
    con: ast.Constraint, table: str, shown: str, model: Table | None, state: FileState
) -> list[Hit]:
    name = con.conname or "(unnamed)"
    if con.contype in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN):
        if con.skip_validation:
            state.not_valid.add((table, name))
            return []
        if con.contype == ConstrType.CONSTR_FOREIGN:
            lock = f"SHARE ROW EXCLUSIVE on {shown} and {written(con.pktable)}"
        else:
            lock = f"ACCESS EXCLUSIVE on {shown}"
        kind = "FOREIGN KEY" if con.contype == ConstrType.CONSTR_FOREIGN else "CHECK"
        return [
            Hit(
                "constraint-not-valid-missing",
                f"ADD CONSTRAINT {name} {kind} without NOT "
                f"VALID checks every row while holding {lock}",
            )
        ]
    if con.contype == ConstrType.CONSTR_PRIMARY and con.indexname:
        return _key_using_index(con, table, model, state)
    if con.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE) and con.indexname:
        return []
    if con.contype in (
        ConstrType.CONSTR_PRIMARY,
        ConstrType.CONSTR_UNIQUE,
        ConstrType.CONSTR_EXCLUSION,
    ):
        return [
            Hit(
                "unique-without-index",
                f"ADD CONSTRAINT {name} on {shown} builds its index "
                f"under ACCESS EXCLUSIVE (USING INDEX TABLESPACE still builds it)",
            )
        ]
    return []


def _validate(name: str, table: str, shown: str, state: FileState) -> list[Hit]:
    if not state.transactional:
        return []
    if (table, name) in state.not_valid:
        why = f"{name} was added NOT VALID earlier in the same transaction"
    elif table in state.locked:
        why = f"an earlier statement of the same transaction holds a strong lock on {shown}"
    else:
        return []
    return [
        Hit(
            "validate-same-transaction",
            f"VALIDATE CONSTRAINT {name} scans {shown} while {why}: NOT VALID bought nothing",
        )
    ]


def _type_change(
    cmd: ast.AlterTableCmd, model: Table | None, shown: str, state: FileState
) -> list[Hit]:
    definition = cmd.def_
    if not isinstance(definition, ast.ColumnDef):
        return []
    where = f"ALTER COLUMN {shown}.{cmd.name} TYPE"
    new = from_ast(definition.typeName)
    column = model.column(str(cmd.name)) if model else None
    old = column.type if column else None
    if definition.raw_default is not None:
        why = "USING computes every row"
    elif definition.collClause is not None:
        why = "a new collation rebuilds the column's indexes"
    elif old is None or new is None:
        why = f"the current type is not known{state.unknown_note()}"
    elif keeps_rows(old, new):
        return []
    else:
        why = f"{old} -> {new} is not binary compatible"
    return [
        Hit(
            "column-type-rewrite",
            f"{where}: {why}, so the table and its indexes are rewritten under ACCESS EXCLUSIVE",
        )
    ]


def _client_breaking(cmd: ast.AlterTableCmd, shown: str) -> list[Hit]:
    if cmd.subtype == AlterTableType.AT_DropColumn:
        what = f"DROP COLUMN {shown}.{cmd.name}"
    elif cmd.subtype == AlterTableType.AT_DropConstraint:
        what = f"DROP CONSTRAINT {cmd.name} on {shown}"
    elif cmd.subtype == AlterTableType.AT_ColumnDefault and cmd.def_ is None:
        what = f"DROP DEFAULT of {shown}.{cmd.name} (inserts that omit it get NULL or fail)"
    elif cmd.subtype == AlterTableType.AT_DropNotNull:
        what = f"DROP NOT NULL of {shown}.{cmd.name} (readers that assume a value get NULL)"
    else:
        return []
    return [Hit("client-breaking", f"{what} changes what the release still running sees")]


def _command(cmd: ast.AlterTableCmd, table: str, shown: str, state: FileState) -> list[Hit]:
    model = state.catalog.table(table)
    subtype = cmd.subtype
    if subtype == AlterTableType.AT_AddColumn:
        return add_column_hits(cmd, shown, state)
    if subtype == AlterTableType.AT_SetNotNull:
        return _set_not_null(str(cmd.name), model, shown, state)
    if subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
        return _add_constraint(cmd.def_, table, shown, model, state)
    if subtype == AlterTableType.AT_ValidateConstraint:
        return _validate(str(cmd.name), table, shown, state)
    if subtype == AlterTableType.AT_AlterColumnType:
        return _type_change(cmd, model, shown, state)
    if subtype in REWRITE_CMDS:
        return [
            Hit(
                "rewrite-command",
                f"ALTER TABLE {shown} {REWRITE_CMDS[subtype]} copies the "
                f"table under ACCESS EXCLUSIVE",
            )
        ]
    return _client_breaking(cmd, shown)


def alter_table_hits(node: ast.AlterTableStmt, state: FileState) -> list[Hit]:
    """Every hazard of one ALTER TABLE, each tied to the altered table."""
    table, shown = qualified(node.relation), written(node.relation)
    hits: list[Hit] = []
    for cmd in node.cmds or ():
        if isinstance(cmd, ast.AlterTableCmd):
            found = _command(cmd, table, shown, state)
            hits.extend(Hit(h.rule, h.message, table) for h in found)
    return hits


def note_locks(node: ast.Node | None, state: FileState) -> None:
    """Remember the tables this statement locks strongly until the transaction ends."""
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        state.locked.add(qualified(node.relation))
    if not isinstance(node, ast.AlterTableStmt):
        return
    cmds = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    if any(c.subtype not in LIGHT_CMDS for c in cmds):
        state.locked.add(qualified(node.relation))
    for cmd in cmds:
        if isinstance(cmd.def_, ast.Constraint) and cmd.def_.pktable is not None:
            state.locked.add(qualified(cmd.def_.pktable))
