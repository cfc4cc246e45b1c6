"""What a dump will set its sequences to, read from the archive itself.

Sequences are not transactional: pg_dump reads each one's `last_value` at its own moment, not in
the snapshot. So the fingerprint a backup records takes sequence values from the dump's
`SEQUENCE SET` entries (`SELECT pg_catalog.setval('public.s', 1041, true);`), which are exactly
what a restore sets. Those entries live in the table of contents, so reading them is instant.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from releaseops import pg
from releaseops.backup.fingerprint_catalog import split_name

_SETVAL = re.compile(
    r"SELECT pg_catalog\.setval\(E?'(?P<name>(?:[^']|'')*)', (?P<value>-?\d+), "
    r"(?P<called>true|false)\);"
)

SequenceValues = dict[tuple[str, str], dict[str, Any]]


def sequence_values(dump: Path, entries: list[str]) -> SequenceValues:
    """`last_value`/`is_called` per (schema, name) from the dump's SEQUENCE SET entries."""
    wanted = [e for e in entries if " SEQUENCE SET " in e]
    if not wanted:
        return {}
    with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as listing:
        listing.write("\n".join(wanted) + "\n")
        listing.flush()
        proc = pg.run("pg_restore", ["--file=-", f"--use-list={listing.name}", str(dump)])
    return parse_setvals(proc.stdout)


def parse_setvals(script: str) -> SequenceValues:
    """The setval calls of a SQL script, keyed (schema, name)."""
    values: SequenceValues = {}
    for match in _SETVAL.finditer(script):
        parts = split_name(match.group("name").replace("''", "'"))
        if len(parts) == 2:
            values[(parts[0], parts[1])] = {
                "last_value": int(match.group("value")),
                "is_called": match.group("called") == "true",
            }
    return values
