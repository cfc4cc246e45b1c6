"""Ordering and gating of checks: `after` prerequisites, "blocked by <item>" skips."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from releaseops.gate.checklist import ITEMS

AFTER_MARKER = "after"
ITEM_MARKER = "item"
WARNS_MARKER = "warns"


def check_id(item: pytest.Item) -> str:
    """Stable id of a check: <phase>.<function name without test_>[<params>]."""
    name = item.name.removeprefix("test_")
    return f"{item.path.parent.name}.{name}"


def items_of(item: pytest.Item) -> list[str]:
    """The checklist item ids a check verifies (its `item` marker)."""
    marker = item.get_closest_marker(ITEM_MARKER)
    return list(marker.args) if marker else []


def is_check(item: pytest.Item) -> bool:
    """True for a release check: a test that cites a checklist item."""
    return item.get_closest_marker(ITEM_MARKER) is not None


def blocks(item: pytest.Item) -> bool:
    """Blocking unless marked `warns`."""
    return item.get_closest_marker(WARNS_MARKER) is None


def prerequisites(item: pytest.Item) -> list[str]:
    """Checks this one needs to have passed first (`test_x`, or `test_NN_file.py::test_x`)."""
    marker = item.get_closest_marker(AFTER_MARKER)
    return list(marker.args) if marker else []


def prerequisite_key(item: pytest.Item, name: str) -> str:
    """Outcome key of a prerequisite: `test_x` here, or `test_02_y.py::test_x` in the phase."""
    file_name, _, func = name.rpartition("::")
    path = item.path.parent / file_name if file_name else item.path
    return f"{path}::{func}"


def validate(items: Iterable[pytest.Item]) -> None:
    """UsageError for an unknown checklist id or prerequisite, or a prerequisite ordered later.

    A prerequisite in another file must exist there; when that file is not part of this run,
    it does not gate anything (the check is then independent of it).
    """
    items = list(items)
    position = {outcome_key(i): n for n, i in reversed(list(enumerate(items)))}
    for item in items:
        for item_id in items_of(item):
            if item_id not in ITEMS:
                raise pytest.UsageError(f"{item.nodeid}: unknown checklist item {item_id!r}")
        for name in prerequisites(item):
            key = prerequisite_key(item, name)
            path, _, func = key.rpartition("::")
            if key not in position and not _defines(Path(path), func):
                raise pytest.UsageError(
                    f"{item.nodeid}: prerequisite {name!r} is not a test in {Path(path).name}"
                )
            if key in position and position[key] >= items.index(item):
                raise pytest.UsageError(
                    f"{item.nodeid}: prerequisite {name!r} is not ordered before it (a check "
                    f"cannot wait for itself or a later one); fix the order"
                )


def _defines(path: Path, func: str) -> bool:
    return path.is_file() and f"def {func}(" in path.read_text(errors="replace")


def blocked_by(
    item: pytest.Item, outcomes: Mapping[str, str], titles: Mapping[str, str]
) -> tuple[str, str] | None:
    """(the prerequisite's check id, the skip message) when one in this run did not pass."""
    for name in prerequisites(item):
        key = prerequisite_key(item, name)
        if key not in titles:
            continue  # not part of this run
        outcome = outcomes.get(key)
        if outcome != "passed":
            return key_check_id(key), f"blocked by {titles[key]} ({outcome or 'not run'})"
    return None


def key_check_id(key: str) -> str:
    """The check id (`phase.name`) of an outcome key (`<path>::test_name`)."""
    path, _, func = key.rpartition("::")
    return f"{Path(path).parent.name}.{func.removeprefix('test_')}"


def phase_checks(folder: Path) -> list[str]:
    """Every check function (`phase.name`) defined in a phase folder's test files.

    Read from the source, not from this run's collection: a run narrowed by -k, --deselect,
    --lf or a single file still knows what it left out.
    """
    found = []
    for path in sorted(folder.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue  # pytest reports the collection error itself
        found += [
            f"{folder.name}.{node.name.removeprefix('test_')}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
    return found


def title(item: pytest.Item) -> str:
    """First line of a check's docstring (its checklist text), else its name."""
    func = getattr(item, "function", None)
    doc = (getattr(func, "__doc__", None) or item.name).strip().splitlines()
    return doc[0] if doc else item.name


def outcome_key(item: pytest.Item) -> str:
    """The key prerequisites refer to: path and function name (params folded together)."""
    return f"{item.path}::{getattr(item, 'originalname', item.name)}"
