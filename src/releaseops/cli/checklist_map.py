"""Print or write docs/checklist-map.md: each checklist item and the checks that verify it.

The repository is the one holding scripts/checklist_map.py, or for `releaseops checklist-map`
the nearest pyproject.toml up from the current directory; the checks are its checks/.

Exit codes:
  0   every item has a check and every check cites a known item
  1   an item has no check, or a check cites no item (or an unknown one); the map is still
      printed or written
  2   usage error, or the repository has no checks/ directory
  73  --write could not write docs/checklist-map.md (disk full, read-only, docs is not a
      directory); the old file is left as it was
  130 interrupted (Ctrl-C or SIGTERM); the map file was not changed
  141 stdout was closed early (e.g. | head) and no problem was found

Example:  python scripts/checklist_map.py --write
     or:  releaseops checklist-map --write
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from releaseops import cli
from releaseops.cli import output
from releaseops.errors import ConfigurationError
from releaseops.gate import checkmap

MAP = Path("docs") / "checklist-map.md"
PROBLEMS_EXIT = 1
CANNOT_WRITE_EXIT = 73  # sysexits.h EX_CANTCREAT


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` through a temporary file in the same directory."""
    if not path.parent.exists():
        path.parent.mkdir()
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _body(p: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = p.parse_args(argv)
    root = cli.repo_root()
    if not (root / "checks").is_dir():
        raise ConfigurationError(
            f"{root} has no checks/ directory; run the command inside the repository"
        )
    entries = checkmap.scan(root / "checks")
    text = checkmap.render(entries)
    if args.write:
        try:
            write_atomically(root / MAP, text)
        except OSError as exc:
            output.error(
                f"cannot write {root / MAP}: {exc.strerror or exc}; the previous map is "
                f"unchanged. Free space or make {root / MAP.parent} writable, then run again"
            )
            return CANNOT_WRITE_EXIT
    else:
        output.write(text)
    found = checkmap.problems(entries)
    for problem in found:
        output.error(problem)
    return PROBLEMS_EXIT if found else 0


def main(argv: list[str] | None = None) -> int:
    """`releaseops checklist-map`: print or write the checklist -> checks map."""
    p = cli.parser(__doc__)
    p.add_argument("--write", action="store_true", help=f"write {MAP} instead of printing it")
    return cli.run(lambda: _body(p, argv), interrupted="the map file was not changed")
