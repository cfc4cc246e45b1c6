"""Migration files on disk: the naming rule, checksums, header directives, statements."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from releaseops.errors import InvalidMigrationFile


def _default_dir() -> Path:
    """<repo>/migrations/postgres from a source checkout; else relative to the working directory."""
    checkout = Path(__file__).resolve().parents[3] / "migrations" / "postgres"
    return checkout if checkout.is_dir() else Path.cwd() / "migrations" / "postgres"


DEFAULT_DIR = _default_dir()
# NNNN_snake_case_name.sql: at least four digits, then lower-case words joined by "_".
NAME_RULE = re.compile(r"^(?P<version>\d{4,})_(?P<slug>[a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
NAME_RULE_TEXT = "NNNN_snake_case_name.sql (4+ digits, '_', lower-case letters/digits/'_')"
DIRECTIVE = re.compile(r"^--\s*releaseops:(?P<name>[a-z-]+)(?:\s+(?P<arg>.*?))?\s*$")
KNOWN_DIRECTIVES = ("no-transaction", "destructive", "allow", "lock-timeout", "statement-timeout")
_TIMEOUT_VALUE = re.compile(r"^\d+(?:\.\d+)?\s*(?:ms|s|min|h)?$")
_ALLOW_VALUE = re.compile(r"^(?P<rule>[a-z][a-z0-9-]*)\s+(?P<reason>\S.*)$")


def normalise(raw: bytes) -> str:
    """The text a checksum covers: UTF-8, leading BOM dropped, CRLF and CR turned into LF."""
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checksum(raw: bytes) -> str:
    """sha256 (hex) of the normalised content: line endings and a BOM are not edits."""
    return hashlib.sha256(normalise(raw).encode("utf-8", errors="surrogateescape")).hexdigest()


def version_key(version: str) -> tuple[int, str]:
    """Sort key of a version string: numeric when it is digits, so 0010 follows 0009."""
    return (int(version), version) if version.isdigit() else (-1, version)


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a file, with the 1-based line where its first token is."""

    sql: str
    offset: int
    line: int


@dataclass(frozen=True)
class MigrationFile:
    """One migration file: name, version, normalised text, checksum and header directives."""

    path: Path
    version: str
    text: str
    checksum: str
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file name, e.g. 0002_questions.sql."""
        return self.path.name

    @property
    def transactional(self) -> bool:
        """False when the header says `-- releaseops:no-transaction`."""
        return "no-transaction" not in self.directives

    def statements(self) -> list[Statement]:
        """The file's statements, split by PostgreSQL's own parser (pglast)."""
        return split_statements(self.text, self.name)


def header_lines(text: str) -> list[tuple[int, str]]:
    """The leading comment/blank lines of `text` as (line number, stripped text)."""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break
        lines.append((number, stripped))
    return lines


def directive_problem(key: str, arg: str) -> str | None:
    """What is wrong with directive `key` and its argument, or None when it is well formed."""
    if key not in KNOWN_DIRECTIVES:
        return f"unknown directive 'releaseops:{key}'; known: {', '.join(KNOWN_DIRECTIVES)}"
    if key.endswith("-timeout") and not _TIMEOUT_VALUE.match(arg):
        return f"releaseops:{key} needs a duration such as 5s or 2min, got {arg!r}"
    if key == "destructive" and not arg:
        return (
            "releaseops:destructive needs a reason, "
            "e.g. '-- releaseops:destructive column unused since 2024-03'"
        )
    if key == "allow" and not _ALLOW_VALUE.match(arg):
        return (
            "releaseops:allow needs a rule id and a reason, e.g. "
            "'-- releaseops:allow index-not-concurrent the table holds 40 rows'"
        )
    return None


def parse_directives(text: str, name: str = "<text>") -> dict[str, str]:
    """Directives in the file's header comments: `-- releaseops:NAME [ARGUMENT]`.

    `allow` may appear several times; the lint reads each one with `annotations()`, so the
    returned mapping keeps only the last.
    """
    found: dict[str, str] = {}
    for number, line in header_lines(text):
        match = DIRECTIVE.match(line)
        if not match:
            continue
        key, arg = match.group("name"), (match.group("arg") or "").strip()
        problem = directive_problem(key, arg)
        if problem is not None:
            raise InvalidMigrationFile(f"{name} line {number}: {problem}")
        found[key] = arg
    return found


@dataclass(frozen=True)
class Annotation:
    """A suppression: `-- releaseops:allow <rule> <reason>`, or `destructive` (rule None)."""

    rule: str | None
    reason: str
    line: int


def suppressions(text: str, start: int = 0, stop: int | None = None) -> list[Annotation]:
    """The well-formed suppressions among the comment lines of text[start:stop]."""
    found: list[Annotation] = []
    first_line = line_of(text, start)
    for number, raw in enumerate(text[start:stop].split("\n"), start=first_line):
        match = DIRECTIVE.match(raw.strip())
        if not match or match.group("name") not in ("allow", "destructive"):
            continue
        arg = (match.group("arg") or "").strip()
        if directive_problem(match.group("name"), arg) is not None:
            continue
        if match.group("name") == "destructive":
            found.append(Annotation(None, arg, number))
        elif allowed := _ALLOW_VALUE.match(arg):
            found.append(Annotation(allowed.group("rule"), allowed.group("reason"), number))
    return found


def line_of(text: str, offset: int) -> int:
    """1-based line number of character `offset` in `text`."""
    return text.count("\n", 0, offset) + 1


def split_statements(text: str, name: str = "<text>") -> list[Statement]:
    """Split `text` into statements with pglast; InvalidMigrationFile names the bad line."""
    # Imported when a file is first split: reading files and checksums (the service's startup
    # guard, its /health) needs no parser, and pglast cost 20 ms of every start.
    from pglast.parser import ParseError, parse_sql

    try:
        raw = parse_sql(text)
    except ParseError as exc:
        message, position = exc.args[0], exc.args[1] if len(exc.args) > 1 else None
        where = f" line {line_of(text, int(position))}" if isinstance(position, int) else ""
        raise InvalidMigrationFile(f"{name}{where}: cannot be parsed: {message}") from None
    statements: list[Statement] = []
    for stmt in raw:
        start = stmt.stmt_location or 0
        end = start + stmt.stmt_len if stmt.stmt_len else len(text)
        sql = text[start:end].strip()
        if sql:
            lead = len(text[start:end]) - len(text[start:end].lstrip())
            statements.append(
                Statement(sql=sql, offset=start + lead, line=line_of(text, start + lead))
            )
    return statements


def read(path: Path) -> MigrationFile:
    """Read one file that follows the naming rule."""
    match = NAME_RULE.match(path.name)
    if not match:
        raise InvalidMigrationFile(
            f"{path.name} does not follow the naming rule {NAME_RULE_TEXT}; rename it", path=path
        )
    raw = path.read_bytes()
    text = normalise(raw)
    return MigrationFile(
        path=path,
        version=match.group("version"),
        text=text,
        checksum=checksum(raw),
        directives=parse_directives(text, path.name),
    )


def discover(directory: Path) -> list[MigrationFile]:
    """Every *.sql file of `directory`, in version order; bad names and duplicates raise."""
    if not directory.is_dir():
        raise InvalidMigrationFile(
            f"migrations directory {directory} does not exist; pass the directory that holds "
            f"the NNNN_name.sql files",
            path=directory,
        )
    files = [read(p) for p in sorted(directory.glob("*.sql")) if p.is_file()]
    seen: dict[int, MigrationFile] = {}
    for migration in files:
        number = int(migration.version)
        if number in seen:
            raise InvalidMigrationFile(
                f"version {migration.version} is used twice: {seen[number].name} and "
                f"{migration.name}; give one of them the next free number",
                path=migration.path,
            )
        seen[number] = migration
    return sorted(files, key=lambda m: version_key(m.version))
