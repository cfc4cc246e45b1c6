"""What every lint rule works with: the file being read, the catalog before it, and a Hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast

from releaseops.migrations.catalog import Catalog

# Without the server's version the lint assumes the oldest major version whose rules it knows,
# so a version-dependent finding errs on the side of reporting.
ASSUMED_MAJOR = 11


@dataclass(frozen=True)
class Hit:
    """One rule matched: the rule id, what happened, and the table whose state decides.

    `table` is a qualified table name, or None when the hazard holds whatever the table.
    """

    rule: str
    message: str
    table: str | None = None


@dataclass
class FileState:
    """One file being linted: its catalog (the target before each statement) and transaction.

    `locked` holds the tables an earlier statement of the same transaction locked strongly,
    `not_valid` the (table, constraint) pairs added NOT VALID in it, `created` the tables and
    other objects (`view:public.v`) this file created so far.
    """

    catalog: Catalog
    server_major: int | None
    transactional: bool
    locked: set[str] = field(default_factory=set)
    not_valid: set[tuple[str, str]] = field(default_factory=set)
    created: set[str] = field(default_factory=set)

    @property
    def major(self) -> int:
        """The server's major version, or the assumed one."""
        return self.server_major or ASSUMED_MAJOR

    def version_note(self) -> str:
        """A note for version-dependent findings when the version is only assumed."""
        if self.server_major:
            return ""
        return f" (server version unknown: PostgreSQL {ASSUMED_MAJOR} assumed)"

    def unknown_note(self) -> str:
        """A note for findings made without knowing the target's schema."""
        if self.catalog.source == "database":
            return ""
        return " (no catalog snapshot of the target: reported conservatively)"


def written(relation: ast.RangeVar | None) -> str:
    """A table name as the migration wrote it (`questions`, `public.orders`)."""
    if relation is None or not relation.relname:
        return "?"
    return f"{relation.schemaname}.{relation.relname}" if relation.schemaname else relation.relname


def names(objects: Any) -> list[str]:
    """Names of a DROP's objects as written (`public.i`)."""
    found = []
    for obj in objects or ():
        items = obj if isinstance(obj, tuple) else (obj,)
        found.append(".".join(str(getattr(i, "sval", i)) for i in items))
    return found


def has_option(options: Any, name: str) -> bool:
    """True when a DefElem option list (VACUUM, REINDEX) holds `name`."""
    return any(getattr(o, "defname", "") == name for o in options or ())
