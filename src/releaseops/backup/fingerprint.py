"""One fingerprint of a database: its catalog and its data, read in one snapshot.

`take(url)` reads everything a restore can lose, in one `REPEATABLE READ READ ONLY` transaction
under pinned settings (UTC, ISO dates, postgres intervals, extra_float_digits 3, hex bytea, an empty
search_path so every name is schema-qualified, row_security off so a policy can never hide rows):

- the catalog (`fingerprint_catalog`): schemas, extensions, relations, columns, indexes,
  constraints, triggers, rules, functions, types, sequences, policies, comments, the long tail;
- the data (`fingerprint_content`): a digest and row count per table, each sequence's
  `last_value`/`is_called`, each large object's sha256.

Owners and ACLs are left out unless `owners=True` (a restore with --no-owner --no-privileges
legitimately differs there); `catalog_only=True` leaves the data out. A fingerprint serialises to
stable, versioned JSON, so it can live in a backup manifest or a file; `fingerprint_diff.diff`
compares two.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from releaseops import dburl
from releaseops.backup import fingerprint_catalog as catalog
from releaseops.backup import fingerprint_content as content
from releaseops.backup.fingerprint_content import CONTENT_MODES, TableContent
from releaseops.dburl import DatabaseUrl
from releaseops.errors import FingerprintError, FingerprintFileInvalid

FORMAT = "releaseops-fingerprint"
VERSION = 1
DEFAULT_WORKERS = 2
# Everything that changes how a value or a name is printed is pinned for the session.
SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
    "lc_monetary": "C",
    "search_path": "",
    "quote_all_identifiers": "off",
    "row_security": "off",
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    "application_name": "releaseops-fingerprint",
}


def session_options() -> str:
    """The libpq `options` value that pins SETTINGS for a connection."""
    return " ".join(f"-c {name}={value}" for name, value in SETTINGS.items())


@dataclass(frozen=True)
class Options:
    """What a fingerprint covers: owners and ACLs, data or catalog only, the content digest."""

    owners: bool = False
    catalog_only: bool = False
    content: str = "sum128"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"owners": self.owners, "catalog_only": self.catalog_only, "content": self.content}


@dataclass(frozen=True)
class Fingerprint:
    """Every object with its attributes, and (unless catalog-only) every table's digest."""

    options: Options
    objects: dict[str, dict[str, Any]]
    content: dict[str, TableContent] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows in every table together."""
        return sum(t.rows for t in self.content.values())

    @property
    def large_objects(self) -> int:
        """How many large objects the fingerprint holds."""
        return sum(1 for key in self.objects if key.startswith("large object "))

    def row_counts(self) -> dict[str, int]:
        """Row count per table keyed `schema.table` (the manifest's row_counts form)."""
        counts: dict[str, int] = {}
        for key, table in self.content.items():
            schema, name = catalog.split_name(key.removeprefix("table "))[-2:]
            counts[f"{schema}.{name}"] = table.rows
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        """One line: what the fingerprint holds."""
        if self.options.catalog_only:
            return f"{len(self.objects)} catalog objects (catalog only)"
        return (
            f"{len(self.objects)} objects, {len(self.content)} tables, {self.rows} rows, "
            f"{self.large_objects} large objects"
        )

    def as_dict(self) -> dict[str, Any]:
        """Stable, versioned plain data (keys sorted when dumped)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "options": self.options.as_dict(),
            "meta": self.meta,
            "objects": self.objects,
            "content": {k: v.as_dict() for k, v in sorted(self.content.items())},
        }

    def dumps(self) -> str:
        """The JSON text, keys sorted, one object per line for readable diffs."""
        return json.dumps(self.as_dict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "the fingerprint") -> Fingerprint:
        """Rebuild from `as_dict()` data; FingerprintFileInvalid names what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise FingerprintFileInvalid.not_a_fingerprint(source)
        if not isinstance(data.get("version"), int) or data["version"] > VERSION:
            raise FingerprintFileInvalid.newer(source, data.get("version"), VERSION)
        try:
            options = Options(**data["options"])
            tables = {
                k: TableContent(int(v["rows"]), str(v["digest"]))
                for k, v in data["content"].items()
            }
            return cls(options, dict(data["objects"]), tables, dict(data.get("meta") or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FingerprintFileInvalid.malformed(source, exc) from None

    def save(self, path: Path) -> Path:
        """Write the JSON next to its final name, then rename (readable by the owner only)."""
        temp = path.with_name(f".{path.name}.partial")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.dumps())
        os.replace(temp, path)
        return path


def load(path: Path) -> Fingerprint:
    """Read a saved fingerprint; FingerprintFileInvalid when the file is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FingerprintFileInvalid(f"cannot read fingerprint file {path}: {exc}") from None
    return Fingerprint.from_dict(data, source=str(path))


def connect(url: DatabaseUrl) -> psycopg.Connection[Any]:
    """A connection under the pinned settings, ready for a REPEATABLE READ READ ONLY read."""
    conn = url.connect(options=session_options())
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def take(
    db: DatabaseUrl | str,
    *,
    owners: bool = False,
    catalog_only: bool = False,
    content_mode: str = "sum128",
    workers: int = DEFAULT_WORKERS,
) -> Fingerprint:
    """Fingerprint `db` in one snapshot; `workers` connections share the table hashing."""
    url = dburl.parse(db)
    options = Options(owners=owners, catalog_only=catalog_only, content=content_mode)
    _check(options, workers)
    with connect(url) as conn:
        try:
            snapshot = None
            if workers > 1 and not catalog_only:
                row = conn.execute("SELECT pg_export_snapshot()").fetchone()
                snapshot = str(row[0]) if row else None
            found = read(conn, url, options, snapshot=snapshot, workers=workers)
        finally:
            conn.rollback()
    return found


def _check(options: Options, workers: int) -> None:
    if options.content not in CONTENT_MODES:
        raise FingerprintError(
            f"unknown content mode {options.content!r}: use one of {', '.join(CONTENT_MODES)}"
        )
    if workers < 1:
        raise FingerprintError(f"workers must be 1 or more, not {workers}")


def read(
    conn: psycopg.Connection[Any],
    url: DatabaseUrl,
    options: Options,
    *,
    snapshot: str | None = None,
    workers: int = 1,
) -> Fingerprint:
    """Fingerprint on `conn`, already in its snapshot under the pinned settings.

    With `snapshot` (an exported snapshot id) and `workers` > 1, extra connections import it
    and share the table hashing.
    """
    try:
        return _read(conn, url, options, snapshot, workers)
    except psycopg.Error as exc:
        raise FingerprintError.reading(url.masked(), dburl.mask(str(exc)).strip()) from exc


def _read(
    conn: psycopg.Connection[Any],
    url: DatabaseUrl,
    options: Options,
    snapshot: str | None,
    workers: int,
) -> Fingerprint:
    objects, sequences = catalog.read(conn, owners=options.owners)
    tables: dict[str, TableContent] = {}
    if not options.catalog_only:
        for key, state in content.sequence_state(conn, sequences).items():
            objects[key].update(state)
        objects.update(content.large_objects(conn, owners=options.owners))
        joined = (lambda: _joined(url, snapshot)) if snapshot else None
        tables = content.table_contents(
            conn, catalog.tables(conn), mode=options.content, workers=workers, connect=joined
        )
    meta = {
        "dbname": url.dbname,
        "server_version": str(conn.info.parameter_status("server_version") or ""),
        "taken_at": datetime.now(UTC).isoformat(),
    }
    return Fingerprint(options, dict(sorted(objects.items())), tables, meta)


def _joined(url: DatabaseUrl, snapshot: str | None) -> psycopg.Connection[Any]:
    """Another connection reading the exported `snapshot`."""
    conn = connect(url)
    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    return conn


def with_sequences(found: Fingerprint, state: dict[tuple[str, str], dict[str, Any]]) -> Fingerprint:
    """`found` with sequence values as a dump sets them (`state` keyed (schema, name))."""
    objects = {k: dict(v) for k, v in found.objects.items()}
    for key, attributes in objects.items():
        if key.startswith("sequence "):
            parts = tuple(catalog.split_name(key.removeprefix("sequence ")))
            if parts in state:
                attributes.update(state[parts])
    meta = {**found.meta, "sequence_values": "as the dump sets them (its SEQUENCE SET entries)"}
    return replace(found, objects=objects, meta=meta)
