"""Statement-level hazards: indexes, maintenance commands, drops, renames, data changes."""

from __future__ import annotations

from pglast import ast
from pglast.enums import ObjectType, ReindexObjectType
from pglast.parser import ParseError, scan

from releaseops.migrations.catalog import qualified, qualified_name
from releaseops.migrations.catalog_replay import OTHER_KINDS
from releaseops.migrations.rules_advice import advice_hits
from releaseops.migrations.rules_base import FileState, Hit, has_option, names, written
from releaseops.migrations.rules_columns import alter_table_hits

MAX_IDENTIFIER_BYTES = 63
NO_TRANSACTION_BLOCK = (
    ast.CreatedbStmt,
    ast.DropdbStmt,
    ast.AlterSystemStmt,
    ast.CreateTableSpaceStmt,
    ast.DropTableSpaceStmt,
)
RENAMED = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_COLUMN: "column"}
MOVED = (
    ObjectType.OBJECT_TABLE,
    ObjectType.OBJECT_VIEW,
    ObjectType.OBJECT_MATVIEW,
    ObjectType.OBJECT_SEQUENCE,
)


def _outside_transaction(node: ast.Node | None, state: FileState) -> str | None:
    """The statement kind when PostgreSQL refuses it inside a transaction block, else None."""
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt) and has_option(node.params, "concurrently"):
        return "REINDEX CONCURRENTLY"
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:
        return "VACUUM"
    if isinstance(node, NO_TRANSACTION_BLOCK):
        return type(node).__name__.removesuffix("Stmt")
    if isinstance(node, ast.AlterEnumStmt) and not node.oldVal and state.major < 12:
        return f"ALTER TYPE ... ADD VALUE before PostgreSQL 12{state.version_note()}"
    return None


def _reindex_hits(node: ast.ReindexStmt, state: FileState) -> list[Hit]:
    if has_option(node.params, "concurrently"):
        return []
    target = written(node.relation) if node.relation else str(node.name or "")
    table: str | None = None
    if node.kind == ReindexObjectType.REINDEX_OBJECT_INDEX:
        index = qualified(node.relation)
        table = state.catalog.index_table(index) or index
    elif node.kind == ReindexObjectType.REINDEX_OBJECT_TABLE:
        table = qualified(node.relation)
    message = (
        f"REINDEX {target} rebuilds under SHARE on the table and ACCESS EXCLUSIVE on the index"
    )
    return [Hit("index-not-concurrent", message, table)]


def _drop_index_hits(node: ast.DropStmt, state: FileState) -> list[Hit]:
    if node.concurrent:
        return []
    hits = []
    for shown, obj in zip(names(node.objects), node.objects or (), strict=True):
        index = qualified_name(obj)
        message = (
            f"DROP INDEX {shown} without CONCURRENTLY locks its table against reads and writes"
        )
        hits.append(Hit("index-not-concurrent", message, state.catalog.index_table(index) or index))
    return hits


def _index_hits(node: ast.Node, state: FileState) -> list[Hit]:
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        message = (
            f"CREATE INDEX on {written(node.relation)} holds SHARE (writes wait) for the build"
        )
        return [Hit("index-not-concurrent", message, qualified(node.relation))]
    if isinstance(node, ast.ReindexStmt):
        return _reindex_hits(node, state)
    if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_INDEX:
        return _drop_index_hits(node, state)
    return []


def _drop_hits(node: ast.DropStmt, state: FileState) -> list[Hit]:
    kind = node.removeType
    if kind == ObjectType.OBJECT_TABLE:
        return [
            Hit(
                "client-breaking",
                f"DROP TABLE {shown} loses its data and breaks the release still running",
                qualified_name(obj),
            )
            for shown, obj in zip(names(node.objects), node.objects or (), strict=True)
        ]
    if kind not in OTHER_KINDS:
        return []
    hits = []
    label = kind.name.removeprefix("OBJECT_").replace("MATVIEW", "MATERIALIZED VIEW")
    for shown, obj in zip(names(node.objects), node.objects or (), strict=True):
        key = f"{OTHER_KINDS[kind]}:{qualified_name(obj)}"
        if kind == ObjectType.OBJECT_SCHEMA:
            key = f"schema:{shown}"
        if key in state.created:
            continue
        hits.append(Hit("client-breaking", f"DROP {label} {shown} breaks what still uses it"))
    return hits


def _maintenance_hits(node: ast.Node) -> list[Hit]:
    if isinstance(node, ast.VacuumStmt) and has_option(node.options, "full"):
        relations = [r.relation for r in node.rels or () if isinstance(r, ast.VacuumRelation)]
        if not relations:
            return [
                Hit(
                    "rewrite-command",
                    "VACUUM FULL rewrites every table of the database under ACCESS EXCLUSIVE",
                )
            ]
        return [
            Hit(
                "rewrite-command",
                f"VACUUM FULL {written(r)} rewrites the table and its "
                f"indexes under ACCESS EXCLUSIVE",
                qualified(r),
            )
            for r in relations
        ]
    if isinstance(node, ast.ClusterStmt):
        table = qualified(node.relation) if node.relation else None
        shown = written(node.relation) if node.relation else "(every clustered table)"
        return [
            Hit(
                "rewrite-command",
                f"CLUSTER {shown} rewrites the table and its indexes under ACCESS EXCLUSIVE",
                table,
            )
        ]
    if isinstance(node, ast.RefreshMatViewStmt) and not node.concurrent:
        return [
            Hit(
                "rewrite-command",
                f"REFRESH MATERIALIZED VIEW {written(node.relation)} "
                f"without CONCURRENTLY blocks its readers while it runs",
                qualified(node.relation),
            )
        ]
    return []


def _data_hits(node: ast.Node) -> list[Hit]:
    if isinstance(node, ast.TruncateStmt):
        return [
            Hit("data-destructive", f"TRUNCATE {written(r)} removes every row", qualified(r))
            for r in node.relations or ()
        ]
    if isinstance(node, ast.DeleteStmt) and node.whereClause is None:
        return [
            Hit(
                "data-destructive",
                f"DELETE FROM {written(node.relation)} without WHERE removes every row",
                qualified(node.relation),
            )
        ]
    if isinstance(node, ast.UpdateStmt) and node.whereClause is None:
        return [
            Hit(
                "data-destructive",
                f"UPDATE {written(node.relation)} without WHERE changes every row",
                qualified(node.relation),
            )
        ]
    return []


def _shape_hits(node: ast.Node) -> list[Hit]:
    if isinstance(node, ast.RenameStmt) and node.renameType in RENAMED:
        old = written(node.relation)
        old = f"{old}.{node.subname}" if node.subname else old
        return [
            Hit(
                "client-breaking",
                f"RENAME {old} to {node.newname} breaks the release still running",
                qualified(node.relation),
            )
        ]
    if isinstance(node, ast.AlterObjectSchemaStmt) and node.objectType in MOVED:
        return [
            Hit(
                "client-breaking",
                f"SET SCHEMA {node.newschema} moves "
                f"{written(node.relation)} away from the release still running",
                qualified(node.relation),
            )
        ]
    return []


def long_identifier(sql: str) -> str | None:
    """The first identifier in `sql` longer than 63 bytes (PostgreSQL silently cuts it)."""
    try:
        tokens = scan(sql)
    except ParseError:
        return None
    for token in tokens:
        if token.name != "IDENT":
            continue
        raw = sql[token.start : token.end + 1]
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()
        if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
            return name
    return None


def statement_hits(node: ast.Node | None, state: FileState, sql: str) -> list[Hit]:
    """Every hazard of one statement; `sql` is its text (for identifier lengths)."""
    if node is None:
        return []
    hits: list[Hit] = []
    if isinstance(node, ast.TransactionStmt):
        hits.append(
            Hit(
                "transaction-control",
                "BEGIN/COMMIT/ROLLBACK inside a migration breaks "
                "the runner's one transaction per file",
            )
        )
    if state.transactional and (kind := _outside_transaction(node, state)):
        hits.append(
            Hit(
                "concurrently-in-transaction",
                f"{kind} cannot run inside a transaction "
                f"block (SQLSTATE 25001): the migration cannot be applied",
            )
        )
    if isinstance(node, ast.AlterTableStmt):
        hits += alter_table_hits(node, state)
    elif isinstance(node, ast.DropStmt):
        hits += _drop_hits(node, state)
    hits += (
        _index_hits(node, state) + _maintenance_hits(node) + _data_hits(node) + _shape_hits(node)
    )
    if (name := long_identifier(sql)) is not None:
        hits.append(
            Hit(
                "client-breaking",
                f"identifier {name!r} is "
                f"{len(name.encode('utf-8'))} bytes: PostgreSQL keeps the first "
                f"{MAX_IDENTIFIER_BYTES}, so the name the code uses does not exist",
            )
        )
    return hits + advice_hits(node)
