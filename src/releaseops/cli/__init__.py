"""Shared pieces of the scripts: argparse parser, --db, error -> one stderr line + exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ReleaseOpsError


def parser(
    doc: str | None, *, db: bool = False, json_output: bool = False, dry_run: bool = False
) -> argparse.ArgumentParser:
    """An argparse parser whose help is the script's docstring, with the common flags."""
    text = (doc or "").strip()
    description, _, epilog = text.partition("\n\n")
    p = argparse.ArgumentParser(
        description=description,
        epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if db:
        p.add_argument(
            "--db",
            metavar="URL",
            type=db_url,
            default=os.environ.get("DATABASE_URL"),
            help="database URL, SQLAlchemy or libpq style (default: $DATABASE_URL)",
        )
    if json_output:
        p.add_argument("--json", action="store_true", help="print one JSON document for machines")
    if dry_run:
        p.add_argument("--dry-run", action="store_true", help="show what would run; change nothing")
    return p


def migrations_dir() -> Path:
    """Default for --dir / --migrations-dir: $MIGRATIONS_DIR, else migrations/postgres."""
    from releaseops.migrations import DEFAULT_DIR

    raw = os.environ.get("MIGRATIONS_DIR")
    return Path(raw) if raw else DEFAULT_DIR


def db_url(text: str) -> DatabaseUrl:
    """Argparse type: parse a database URL, with a masked error on failure."""
    try:
        return dburl.parse(text)
    except ReleaseOpsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def require_db(args: argparse.Namespace, p: argparse.ArgumentParser) -> DatabaseUrl:
    """The parsed --db, or a usage error when neither --db nor DATABASE_URL was given."""
    value = args.db
    if value is None:
        p.error("no database: pass --db URL or set DATABASE_URL")
    if isinstance(value, str):  # default taken from the environment, not yet parsed
        try:
            value = dburl.parse(value)
        except ReleaseOpsError as exc:
            p.error(str(exc))
    assert isinstance(value, DatabaseUrl)
    return value


def fail(exc: ReleaseOpsError) -> int:
    """Print one masked line to stderr and return the error's exit code."""
    print(f"error: {dburl.mask(str(exc))}", file=sys.stderr)
    return exc.exit_code


def print_lines(lines: Iterable[str]) -> None:
    """Print human-readable lines, passwords masked."""
    for line in lines:
        print(dburl.mask(line))


def print_json(data: Any) -> None:
    """Print one JSON document, passwords masked."""
    print(dburl.mask(json.dumps(data, indent=2, sort_keys=True, default=str)))
