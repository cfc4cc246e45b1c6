"""Which pending statements contract the schema, and which of them an error message names.

A release that is still running reads and writes the schema it was built for. A statement
that drops, renames, retypes or moves something, or adds a rule old writes may break (NOT
NULL, a constraint), can break it: the *contract* half of expand/contract, which belongs in a
later release. When the previous release fails against the migrated schema, `suspects()` names
the contracting statements whose identifiers the failure's messages quote (`column "stem" does
not exist`), else every contracting statement as a candidate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from releaseops.migrations.files import MigrationFile

# (what the statement does, pattern on its upper-cased text without comments)
_CHANGES = (
    ("renames", re.compile(r"\bRENAME\b")),
    ("drops", re.compile(r"\bDROP\b(?!\s+NOT\s+NULL)")),
    ("changes the type of", re.compile(r"\bALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b")),
    ("moves", re.compile(r"\bSET\s+SCHEMA\b")),
    ("makes NOT NULL", re.compile(r"\bSET\s+NOT\s+NULL\b")),
    (
        "adds a constraint to",
        re.compile(r"\bADD\s+(?:CONSTRAINT|CHECK|UNIQUE|PRIMARY\s+KEY|FOREIGN\s+KEY|EXCLUDE)\b"),
    ),
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
# Words of the statements' grammar, never the name of what they change.
_GRAMMAR = (
    "add alter cascade check column constraint data default drop exists foreign if index key "
    "not null on only primary references rename restrict schema set table to type unique "
    "using valid view"
)
_KEYWORDS = frozenset(_GRAMMAR.split())
_WORD = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')
# PostgreSQL quotes the identifiers of its messages: column "stem" does not exist, relation
# "questions" does not exist, record "new" has no field "stem", null value in column "x" ...
_QUOTED = re.compile(
    r"\b(?:column|relation|field|constraint|table|function|type|index|sequence|view|schema)\s+"
    r'"([^"]+)"',
    re.IGNORECASE,
)
_QUALIFIED = re.compile(r"\bcolumn\s+([A-Za-z_][\w.]*)\s+does not exist", re.IGNORECASE)


@dataclass(frozen=True)
class Suspect:
    """A pending statement that contracts the schema, and the names an error quoted of it."""

    file: str
    line: int
    statement: str
    change: str
    named: tuple[str, ...] = ()

    def describe(self) -> str:
        """`0005_x.sql line 1: ALTER TABLE ... (renames; the error names "stem")`."""
        head = " ".join(self.statement.split())[:120]
        named = ", ".join(f'"{name}"' for name in self.named)
        why = f"{self.change}; the error names {named}" if named else self.change
        return f"{self.file} line {self.line}: {head} ({why})"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "file": self.file,
            "line": self.line,
            "statement": self.statement,
            "change": self.change,
            "named": list(self.named),
        }


_ADD_COLUMN = re.compile(r"\bADD\s+(?!CONSTRAINT\b)(?:COLUMN\s+)?[^,]*")
_NOT_NULL = re.compile(r"\bNOT\s+NULL\b")


def change_of(sql: str) -> str | None:
    """What a statement does that can break the code already running, or None."""
    text = " ".join(_COMMENTS.sub(" ", sql).upper().split())
    found = next((what for what, pattern in _CHANGES if pattern.search(text)), None)
    if found is None and text.startswith("ALTER TABLE"):
        for added in _ADD_COLUMN.finditer(text):
            if _NOT_NULL.search(added.group()) and "DEFAULT" not in added.group():
                return "adds a NOT NULL column without a default to"
    return found


def identifiers(sql: str) -> set[str]:
    """Every identifier-like word of a statement, lower-cased (quoted ones as written)."""
    found = set()
    for quoted, bare in _WORD.findall(_COMMENTS.sub(" ", sql)):
        if quoted:
            found.add(quoted.replace('""', '"'))
        elif bare.lower() not in _KEYWORDS:
            found.add(bare.lower())
    return found


def quoted_names(text: str) -> set[str]:
    """The identifiers PostgreSQL's messages in `text` quote (JSON-escaped quotes too)."""
    text = text.replace('\\"', '"')
    names = {m.group(1) for m in _QUOTED.finditer(text)}
    names |= {m.group(1) for m in _QUALIFIED.finditer(text)}
    parts = {part for name in names for part in name.split(".")}
    return {name.lower() for name in names | parts if name}


def contracting(files: Iterable[MigrationFile]) -> list[Suspect]:
    """Every statement of `files` that contracts the schema, in file order."""
    found = []
    for migration in files:
        for stmt in migration.statements():
            change = change_of(stmt.sql)
            if change is not None:
                found.append(Suspect(migration.name, stmt.line, stmt.sql, change))
    return found


def suspects(files: Iterable[MigrationFile], failure: str) -> list[Suspect]:
    """The contracting statements the `failure` text names; else all of them, as candidates."""
    candidates = contracting(files)
    names = quoted_names(failure)
    named = []
    for candidate in candidates:
        hits = tuple(sorted(names & identifiers(candidate.statement)))
        if hits:
            named.append(Suspect(**{**candidate.__dict__, "named": hits}))
    return named or candidates
