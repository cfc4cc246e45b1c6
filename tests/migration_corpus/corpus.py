"""The corpus files: their header (verdict, rule, setup, prerequisites, expectations) and setup.

The format is described in README.md next to this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

from releaseops.dburl import DatabaseUrl
from releaseops.migrations.trace_records import Observation
from tests.migration_corpus import observe

CORPUS_DIR = Path(__file__).resolve().parent
FILES_DIR = CORPUS_DIR / "files"
SETUPS: dict[str, Path | None] = {"existing": CORPUS_DIR / "setup.sql", "empty": None}

RULES = (
    "volatile-default",
    "stored-generated-column",
    "add-column-not-null-no-default",
    "set-not-null",
    "constraint-not-valid-missing",
    "validate-same-transaction",
    "unique-without-index",
    "index-not-concurrent",
    "rewrite-command",
    "column-type-rewrite",
    "client-breaking",
    "data-destructive",
    "concurrently-in-transaction",
)
ADVISORY_RULES = ("prefer-identity", "prefer-bigint-key", "prefer-timestamptz")

# kind -> number of arguments (0: the rest of the line is one free-text argument)
KINDS = {
    "rewrite": 1,
    "no-rewrite": 1,
    "lock": 2,
    "no-lock": 2,
    "scan": 1,
    "no-scan": 1,
    "error": 1,
    "catalog": 0,
    "notice": 0,
}
FILE_NAME = re.compile(r"^\d{3}_[a-z0-9]+(?:_[a-z0-9]+)*\.sql$")
_KEY = re.compile(r"^--\s*(?P<key>[a-z][a-z-]*)(?:@(?P<stmt>\d+))?:(?P<value>.*)$")
_NO_TRANSACTION = re.compile(r"^--\s*releaseops:no-transaction\s*$")


class CorpusFormatError(ValueError):
    """A corpus file's header breaks the format in README.md."""

    @classmethod
    def at(cls, path: Path, line: int, problem: str) -> CorpusFormatError:
        return cls(f"{path.name} line {line}: {problem} (see tests/migration_corpus/README.md)")


@dataclass(frozen=True)
class Expectation:
    """One `-- observe:` line: what the server must be seen doing."""

    kind: str
    args: tuple[str, ...]
    statement: int | None
    line: int

    def __str__(self) -> str:
        scope = f"@{self.statement}" if self.statement else ""
        return f"observe{scope}: {self.kind} {' '.join(self.args)} (line {self.line})"


@dataclass(frozen=True)
class CorpusFile:
    """One corpus migration with its decided verdict and the observations that prove it."""

    path: Path
    text: str
    verdict: Literal["safe", "dangerous"]
    rule: str | None
    setup: str
    requires: tuple[str, ...]
    expectations: tuple[Expectation, ...]
    transactional: bool

    @property
    def name(self) -> str:
        """The file name, e.g. 001_volatile_default_random.sql."""
        return self.path.name


def _expectation(path: Path, line: int, stmt: str | None, value: str) -> Expectation:
    kind, _, rest = value.strip().partition(" ")
    if kind not in KINDS:
        raise CorpusFormatError.at(
            path, line, f"unknown observation {kind!r}; known: {list(KINDS)}"
        )
    arity = KINDS[kind]
    args = tuple(rest.split()) if arity else (rest.strip(),)
    if (arity and len(args) != arity) or not all(args):
        raise CorpusFormatError.at(path, line, f"{kind} takes {arity or 'one text'} argument(s)")
    return Expectation(kind, args, int(stmt) if stmt else None, line)


def _verdict(path: Path, line: int, value: str) -> tuple[Literal["safe", "dangerous"], str | None]:
    words = value.split()
    if words == ["safe"]:
        return "safe", None
    if len(words) == 2 and words[0] == "dangerous" and words[1] in RULES + ADVISORY_RULES:
        return "dangerous", words[1]
    raise CorpusFormatError.at(
        path, line, f"corpus: wants 'safe' or 'dangerous <rule-id>': {value}"
    )


def _header(text: str) -> list[tuple[int, str]]:
    """The leading comment and blank lines, numbered from 1."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.strip().startswith("--"):
            break
        lines.append((number, line.strip()))
    return lines


def load(path: Path) -> CorpusFile:
    """Read and check one corpus file."""
    if not FILE_NAME.match(path.name):
        raise CorpusFormatError.at(path, 1, "the name must be NNN_short_name.sql")
    text = path.read_text(encoding="utf-8")
    found: dict[str, list[tuple[int, str | None, str]]] = {}
    transactional = True
    for number, line in _header(text):
        transactional = transactional and not _NO_TRANSACTION.match(line)
        match = _KEY.match(line)
        if match and match.group("key") != "releaseops":
            value = (number, match.group("stmt"), match.group("value").strip())
            found.setdefault(match.group("key"), []).append(value)
    return _build(path, text, found, transactional=transactional)


def _build(
    path: Path,
    text: str,
    found: dict[str, list[tuple[int, str | None, str]]],
    *,
    transactional: bool,
) -> CorpusFile:
    unknown = set(found) - {"corpus", "setup", "requires", "observe"}
    if unknown:
        raise CorpusFormatError.at(path, found[min(unknown)][0][0], f"unknown key {min(unknown)}")
    for key in ("corpus", "setup"):
        if len(found.get(key, [])) != 1:
            raise CorpusFormatError.at(path, 1, f"needs exactly one '-- {key}:' line")
    if not found.get("observe"):
        raise CorpusFormatError.at(path, 1, "needs at least one '-- observe:' line")
    (line, _, setup), (vline, _, verdict_text) = found["setup"][0], found["corpus"][0]
    if setup not in SETUPS:
        raise CorpusFormatError.at(path, line, f"unknown setup {setup!r}; known: {list(SETUPS)}")
    verdict, rule = _verdict(path, vline, verdict_text)
    return CorpusFile(
        path=path,
        text=text,
        verdict=verdict,
        rule=rule,
        setup=setup,
        requires=tuple(value for _, _, value in found.get("requires", [])),
        expectations=tuple(_expectation(path, n, s, v) for n, s, v in found["observe"]),
        transactional=transactional,
    )


def discover(directory: Path = FILES_DIR) -> list[CorpusFile]:
    """Every corpus file, in name order."""
    return [load(path) for path in sorted(directory.glob("*.sql"))]


def setup_sql(name: str) -> str | None:
    """The SQL text of setup `name` (None for the empty database)."""
    path = SETUPS[name]
    return path.read_text(encoding="utf-8") if path else None


def prerequisites(corpus_file: CorpusFile, directory: Path = FILES_DIR) -> list[CorpusFile]:
    """The files to apply first, deepest prerequisite first, each once."""
    ordered: list[CorpusFile] = []
    for name in corpus_file.requires:
        required = load(directory / name)
        for item in [*prerequisites(required, directory), required]:
            if item.name not in {f.name for f in ordered}:
                ordered.append(item)
    return ordered


def prepare(url: DatabaseUrl, corpus_file: CorpusFile, *, with_setup: bool = True) -> None:
    """Bring the database at `url` to the state `corpus_file` starts from, unobserved."""
    text = setup_sql(corpus_file.setup) if with_setup else None
    if text:
        observe.run_script(url, text, transactional=True, name=corpus_file.setup)
    for required in prerequisites(corpus_file):
        observe.run_script(url, required.text, transactional=required.transactional)


def needs_own_database(corpus_file: CorpusFile) -> bool:
    """True when the file cannot be rolled back: it commits per statement or builds on others."""
    return not corpus_file.transactional or bool(corpus_file.requires)


@contextmanager
def rehearsing(
    url: DatabaseUrl, corpus_file: CorpusFile, *, commit: bool = True
) -> Iterator[tuple[Observation, psycopg.Connection[Any]]]:
    """Apply `corpus_file` to a prepared database; yield what the server did and the connection.

    With `commit=False` the file's transaction is still open inside the block and is rolled
    back after it, so one prepared database serves many transactional files.
    """
    with observe.observing(
        url,
        corpus_file.text,
        transactional=corpus_file.transactional,
        name=corpus_file.name,
        commit=commit,
    ) as seen:
        yield seen
