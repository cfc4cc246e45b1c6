"""Column types as the lint compares them: canonical names, and which changes skip the rewrite."""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast

# Spellings PostgreSQL accepts for one type, by the name pg_type knows it under.
ALIASES = {
    "int": "int4",
    "integer": "int4",
    "bigint": "int8",
    "smallint": "int2",
    "serial": "int4",
    "serial4": "int4",
    "bigserial": "int8",
    "serial8": "int8",
    "smallserial": "int2",
    "serial2": "int2",
    "real": "float4",
    "float": "float8",
    "double precision": "float8",
    "boolean": "bool",
    "decimal": "numeric",
    "character varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
}
SERIALS = frozenset(
    {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"},
)
INTEGERS = frozenset({"int2", "int4", "int8"})
# Types whose length limit can grow (or be dropped) without touching a row.
_LENGTH_LIMITED = frozenset({"varchar", "varbit"})
# old type -> new types it is binary coercible to (PostgreSQL keeps every row as it is).
_COERCIBLE = {
    "varchar": frozenset({"text"}),
    "text": frozenset({"varchar"}),
    "cidr": frozenset({"inet"}),
}


@dataclass(frozen=True)
class ColumnType:
    """A column's type: the pg_type name (`int4`, `varchar`) and its modifiers (`(50,)`)."""

    name: str
    mods: tuple[int, ...] = ()
    serial: bool = False

    def __str__(self) -> str:
        shown = f"{self.name}({', '.join(map(str, self.mods))})" if self.mods else self.name
        return f"{shown} (serial)" if self.serial else shown


def canonical(name: str) -> str:
    """The pg_type name for a spelling of a type (`integer` -> `int4`)."""
    lowered = name.lower()
    return ALIASES.get(lowered, lowered)


def _mod_values(type_name: ast.TypeName) -> tuple[int, ...] | None:
    """Integer modifiers (`varchar(50)` -> (50,)); None when one is not a plain integer."""
    values: list[int] = []
    for mod in type_name.typmods or ():
        value = getattr(getattr(mod, "val", None), "ival", None)
        if not isinstance(value, int):
            return None
        values.append(value)
    return tuple(values)


def from_ast(type_name: ast.TypeName | None) -> ColumnType | None:
    """The ColumnType a parsed type name denotes; None for what the lint cannot tell (%TYPE)."""
    if type_name is None or type_name.pct_type or not type_name.names:
        return None
    written = str(getattr(type_name.names[-1], "sval", "")).lower()
    mods = _mod_values(type_name)
    if mods is None:
        return None
    name = canonical(written)
    if type_name.arrayBounds:
        name = f"_{name}"
    return ColumnType(name, mods, serial=written in SERIALS)


def from_catalog(typname: str, typmod: int) -> ColumnType:
    """The ColumnType of a pg_attribute row: pg_type.typname and atttypmod."""
    if typmod < 0:
        return ColumnType(typname)
    if typname in ("varchar", "bpchar"):
        return ColumnType(typname, (typmod - 4,))
    if typname == "numeric":
        packed = typmod - 4
        return ColumnType(typname, (packed >> 16, packed & 0xFFFF))
    return ColumnType(typname, (typmod,))


def _wider_or_unlimited(old: ColumnType, new: ColumnType) -> bool:
    if not new.mods:
        return True
    return bool(old.mods) and new.mods[0] >= old.mods[0]


def keeps_rows(old: ColumnType, new: ColumnType) -> bool:
    """True when ALTER COLUMN TYPE old -> new needs no rewrite (catalog-only on PG >= 9.2)."""
    if (old.name, old.mods) == (new.name, new.mods):
        return True
    if old.name == new.name and old.name in _LENGTH_LIMITED:
        return _wider_or_unlimited(old, new)
    if old.name == new.name == "numeric":
        # numeric(p, s) -> numeric(p2 >= p, s), or to unconstrained numeric.
        return not new.mods or (
            len(old.mods) == len(new.mods) == 2
            and new.mods[0] >= old.mods[0]
            and new.mods[1] == old.mods[1]
        )
    if new.name in _COERCIBLE.get(old.name, frozenset()):
        # varchar(n) -> text is free; text -> varchar only without a limit.
        return not new.mods
    return False
