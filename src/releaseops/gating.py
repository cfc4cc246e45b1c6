"""Ordering and gating of checks: `after` prerequisites, "blocked by <item>" skips."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from releaseops.checklist import ITEMS

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
    """Function names this check needs to have passed first (same module)."""
    marker = item.get_closest_marker(AFTER_MARKER)
    return list(marker.args) if marker else []


def validate(items: Iterable[pytest.Item]) -> None:
    """UsageError for an unknown checklist id or prerequisite, or a prerequisite ordered later."""
    items = list(items)
    for item in items:
        for item_id in items_of(item):
            if item_id not in ITEMS:
                raise pytest.UsageError(f"{item.nodeid}: unknown checklist item {item_id!r}")
        for name in prerequisites(item):
            module_items = [i for i in items if i.path == item.path]
            names = [getattr(i, "originalname", i.name) for i in module_items]
            if name not in names:
                raise pytest.UsageError(
                    f"{item.nodeid}: prerequisite {name!r} is not a test in {item.path.name}; "
                    f"known: {', '.join(names)}"
                )
            if names.index(name) > module_items.index(item):
                raise pytest.UsageError(
                    f"{item.nodeid}: prerequisite {name!r} is ordered after it; fix the order"
                )


def blocked_by(item: pytest.Item, outcomes: Mapping[str, str]) -> str | None:
    """The reason to skip `item` when a prerequisite did not pass, else None."""
    for name in prerequisites(item):
        key = f"{item.path}::{name}"
        outcome = outcomes.get(key)
        if outcome != "passed":
            doc = _doc_of(item, name)
            return f"blocked by {doc} ({outcome or 'not run'})"
    return None


def _doc_of(item: pytest.Item, name: str) -> str:
    module = getattr(item, "module", None)
    func = getattr(module, name, None)
    doc = (getattr(func, "__doc__", None) or name).strip().splitlines()[0]
    return doc


def outcome_key(item: pytest.Item) -> str:
    """The key prerequisites refer to: path and function name (params folded together)."""
    return f"{item.path}::{getattr(item, 'originalname', item.name)}"
