"""The `releaseops` command: one console entry point, one module per subcommand.

Each subcommand module under `releaseops.cli` has a docstring (its help: first line is the
summary `releaseops --help` lists) and `main(argv) -> int`. Exit codes follow one rule across
subcommands: 0 success, 1 "found a difference / defects", 2 usage or configuration error,
3 target unreachable (or the connection was lost), 130 interrupted, 141 stdout closed early;
higher codes are documented in each subcommand's --help. `cli.run` is the boundary that maps
expected failures to one stderr line and these codes.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from releaseops import cli
from releaseops.cli import output

# subcommand -> module under releaseops.cli (imported only when that subcommand runs)
SUBCOMMANDS: dict[str, str] = {
    "backup": "backup",
    "restore": "restore",
    "migrate": "migrate",
    "fts": "fts",
    "verify": "verify",
    "checklist-map": "checklist_map",
    "compare": "compare",
    "fingerprint": "fingerprint",
    "logs": "logs",
}
USAGE_EXIT = 2


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"releaseops.cli.{SUBCOMMANDS[name]}")


def _summary(name: str) -> str:
    doc = (_module(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def usage() -> str:
    """`releaseops --help`: the subcommands, each with its one-line summary."""
    width = max((len(n) for n in SUBCOMMANDS), default=8)
    lines = [
        "usage: releaseops <command> [options]   (releaseops <command> --help for more)",
        "",
        "Release verification as code for Flask + PostgreSQL services.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {_summary(name)}" for name in SUBCOMMANDS),
        "",
        "Exit codes: 0 success, 1 a difference or defects found, 2 usage or configuration "
        "error, 3 target unreachable or connection lost, 130 interrupted (Ctrl-C, SIGTERM), "
        "141 stdout closed early (| head); more per command.",
    ]
    return "\n".join(lines)


def _dispatch(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        output.write(usage() + "\n")
        return 0 if args else USAGE_EXIT
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(
            f"releaseops: unknown command {name!r}; known: {', '.join(SUBCOMMANDS)}",
            file=sys.stderr,
        )
        return USAGE_EXIT
    token = cli.PROG.set(f"releaseops {name}")  # the subcommand's --help and usage errors
    try:
        result: int = _module(name).main(rest)
    finally:
        cli.PROG.reset(token)
    return result


def main(argv: list[str] | None = None) -> int:
    """Dispatch `releaseops <command> ...` to the command's module, at the command boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.run(lambda: _dispatch(args))


if __name__ == "__main__":
    raise SystemExit(main())
