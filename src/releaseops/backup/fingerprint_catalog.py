"""The catalog part of a fingerprint: every user object, keyed by kind and qualified name.

The queries live in `fingerprint_sql`. System schemas and the objects an extension owns are left
out (the extension itself is compared, with its version); so are the functions and casts that
CREATE TYPE makes implicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

from releaseops.backup.fingerprint_sql import (
    CATALOG_QUERIES,
    COLUMNS,
    DEFAULT_ACLS,
    SEQUENCES,
    TABLES,
)

Objects = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class TableRef:
    """A table whose rows a fingerprint hashes: its key, schema, name and size in pages."""

    key: str
    schema: str
    name: str
    pages: int


OWNER_ATTRIBUTES = frozenset({"owner", "acl"})


def read(
    conn: psycopg.Connection[Any], *, owners: bool = False
) -> tuple[Objects, list[tuple[str, str, str]]]:
    """Every user object and its attributes, and the sequences as (key, schema, name).

    Read on `conn`, inside the caller's snapshot and pinned settings.
    """
    compression = "'compression', NULLIF(a.attcompression, '')," if _major(conn) >= 14 else ""
    queries = [*CATALOG_QUERIES, COLUMNS.replace("{compression}", compression)]
    if owners:
        queries.append(DEFAULT_ACLS)
    objects: Objects = {}
    for query in queries:
        rows = conn.execute(query).fetchall()
        for key, attributes in sorted(rows, key=lambda r: (str(r[0]), json.dumps(r[1]))):
            _add(objects, str(key), attributes)
    found = []
    for key, attributes, schema, name in conn.execute(SEQUENCES).fetchall():
        _add(objects, str(key), attributes)
        found.append((str(key), str(schema), str(name)))
    if not owners:
        for attributes in objects.values():
            for name in OWNER_ATTRIBUTES & attributes.keys():
                del attributes[name]
    return objects, sorted(found)


def tables(conn: psycopg.Connection[Any]) -> list[TableRef]:
    """The tables that hold rows (partitions included, partitioned parents not), largest first."""
    rows = conn.execute(TABLES).fetchall()
    refs = [TableRef(str(k), str(s), str(n), int(p)) for k, s, n, p in rows]
    return sorted(refs, key=lambda t: (-t.pages, t.key))


def split_name(text: str) -> list[str]:
    """`schema.name` as PostgreSQL prints it (quoted where needed) split into its parts."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if quoted and char == '"' and text[i + 1 : i + 2] == '"':
            current.append('"')
            i += 1
        elif char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    return [*parts, "".join(current)]


def _add(objects: Objects, key: str, attributes: Any) -> None:
    value = attributes if isinstance(attributes, dict) else {"text": attributes}
    if key in objects:  # two objects print the same name: keep both, distinguishably
        suffix = 2
        while f"{key} #{suffix}" in objects:
            suffix += 1
        key = f"{key} #{suffix}"
    objects[key] = value


def _major(conn: psycopg.Connection[Any]) -> int:
    return conn.info.server_version // 10000
