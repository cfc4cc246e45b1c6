"""Shared pieces of the subcommands: argparse parser, --db, the repository, output, the boundary.

Every subcommand module has the same shape: a docstring that is its --help (ending with its exit
codes and a runnable example), a parser from `parser()`, and `main(argv) -> int` whose body runs
inside `run()`, the boundary that turns expected failures into one stderr line and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from releaseops import dburl
from releaseops.cli import output
from releaseops.cli.boundary import run
from releaseops.cli.output import fail, print_json, print_lines
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ReleaseOpsError

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = [
    "PROG",
    "db_url",
    "fail",
    "migrations_dir",
    "parser",
    "print_json",
    "print_lines",
    "repo_root",
    "require_db",
    "run",
]

USAGE_EXIT = 2
# Set by the `releaseops` dispatcher to "releaseops <command>"; unset, argparse names the script.
PROG: ContextVar[str | None] = ContextVar("releaseops_prog", default=None)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one masked stderr line."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if file is sys.stdout:  # --help: a closed stdout is noted, never a traceback
            output.write(message)
        else:
            super()._print_message(message, file)

    def error(self, message: str) -> NoReturn:
        """Print `<prog>: error: <message> (see ... --help)` as one line and exit 2."""
        text = output.one_line(dburl.mask(_unechoed(message)))
        self.exit(USAGE_EXIT, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _unechoed(message: str) -> str:
    """The 'unrecognized arguments' message of argparse, with only the flags shown.

    Other words may be pieces of a password the shell split at a space, which masking cannot
    recognise, so they are counted, not echoed.
    """
    prefix = "unrecognized arguments: "
    if not message.startswith(prefix):
        return message
    words = message[len(prefix) :].split()
    flags = [w.split("=", 1)[0] + ("=..." if "=" in w else "") for w in words if w[0] == "-"]
    others = len(words) - len(flags)
    if others:
        flags.append(f"{others} other word(s), not shown in case they hold a secret")
    return prefix + ", ".join(flags)


def parser(
    doc: str | None, *, db: bool = False, json_output: bool = False, dry_run: bool = False
) -> argparse.ArgumentParser:
    """An argparse parser whose help is the command's docstring, with the common flags."""
    text = (doc or "").strip()
    description, _, epilog = text.partition("\n\n")
    p = _Parser(
        prog=PROG.get(),
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


def repo_root() -> Path:
    """The repository a command works for.

    Run as `python scripts/<name>.py`: the repository that holds the script. Otherwise the
    nearest directory up from the current one that has a pyproject.toml (else the current one).
    """
    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if (
        script is not None
        and script.suffix == ".py"
        and script.parent.name == "scripts"
        and (script.parent.parent / "pyproject.toml").is_file()
    ):
        return script.parent.parent
    here = Path.cwd().resolve()
    return next((d for d in (here, *here.parents) if (d / "pyproject.toml").is_file()), here)


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
            p.error(f"DATABASE_URL: {exc}")
    assert isinstance(value, DatabaseUrl)
    return value
