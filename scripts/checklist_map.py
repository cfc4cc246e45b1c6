"""Print or write docs/checklist-map.md: each checklist item and the checks that verify it.

Exits 1 when an item has no check or a check cites no item (or an unknown one).

Example:  python scripts/checklist_map.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

from releaseops import cli
from releaseops.gate import checkmap

REPO = Path(__file__).resolve().parents[1]
MAP = REPO / "docs" / "checklist-map.md"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--write", action="store_true", help=f"write {MAP.relative_to(REPO)}")
    args = p.parse_args(argv)
    entries = checkmap.scan(REPO / "checks")
    text = checkmap.render(entries)
    if args.write:
        MAP.write_text(text)
    else:
        print(text, end="")
    found = checkmap.problems(entries)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
