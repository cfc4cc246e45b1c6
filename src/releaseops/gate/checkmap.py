"""The checklist map: which check verifies which checklist item, read from checks/ by ast."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from releaseops.gate.checklist import ITEMS, SECTIONS


@dataclass(frozen=True)
class CheckEntry:
    """One check function and the checklist items it cites."""

    path: str
    function: str
    items: tuple[str, ...]
    doc: str
    library: tuple[str, ...] = ()

    @property
    def test_id(self) -> str:
        """The pytest node id."""
        return f"{self.path}::{self.function}"


def _item_ids(decorator: ast.expr) -> tuple[str, ...] | None:
    if (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "item"
    ):
        return tuple(
            a.value
            for a in decorator.args
            if isinstance(a, ast.Constant) and isinstance(a.value, str)
        )
    return None


# The plugin's resource fixtures and the library object each one is.
RESOURCES = {
    "service": "releaseops.service.resource.Service",
    "database": "releaseops.release.database.Database",
    "deployment": "releaseops.runbook.deployment.Deployment",
    "release_record": "releaseops.release.record_model.ReleaseRecord",
    "target": "releaseops.release.target.Target",
}
# Fixtures that are the result of a library call.
RESULTS = {"rollback_selection": "releaseops.runbook.custody.select"}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted releaseops name, from the module's imports."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("releaseops"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _library(
    node: ast.FunctionDef, imports: dict[str, str], local: dict[str, ast.FunctionDef]
) -> tuple[str, ...]:
    """The releaseops functions a check calls, itself or through its module's fixtures."""
    params = {a.arg for a in node.args.args}
    through = [local[p] for p in params if p in local and local[p] is not node]
    nested = {name for f in through for name in _library(f, imports, {})}
    found = {RESULTS[p] for p in params if p in RESULTS}
    owners = {**imports, **{p: RESOURCES[p] for p in params if p in RESOURCES}}
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in owners:
                found.add(f"{owners[func.value.id]}.{func.attr}")
        elif isinstance(func, ast.Name) and func.id in imports:
            found.add(imports[func.id])
    return tuple(sorted(found | nested))


def scan(checks_dir: Path) -> list[CheckEntry]:
    """Every `test_*` function under `checks_dir`: marker ids, docstring, library it calls."""
    entries = []
    root = checks_dir.parent
    for path in sorted(checks_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports = _imports(tree)
        local = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                ids = next((i for d in node.decorator_list if (i := _item_ids(d)) is not None), ())
                doc = (ast.get_docstring(node) or "").strip().splitlines()
                entries.append(
                    CheckEntry(
                        str(path.relative_to(root)),
                        node.name,
                        ids,
                        doc[0] if doc else "",
                        _library(node, imports, local),
                    )
                )
    return entries


def problems(entries: list[CheckEntry]) -> list[str]:
    """Checklist items without a check, checks citing no item or an unknown one, no docstring."""
    found = []
    cited = {i for e in entries for i in e.items}
    found += [f"checklist item {i} ({ITEMS[i].text}) has no check" for i in ITEMS if i not in cited]
    for entry in entries:
        if not entry.items:
            found.append(f"{entry.test_id} cites no checklist item (@pytest.mark.item)")
        found += [
            f"{entry.test_id} cites unknown item {i!r}" for i in entry.items if i not in ITEMS
        ]
        if not entry.doc:
            found.append(f"{entry.test_id} has no docstring (the checklist text)")
    return found


def render(entries: list[CheckEntry]) -> str:
    """docs/checklist-map.md: every checklist item with the test ids that verify it."""
    lines = [
        "# Checklist map",
        "",
        "Every item of `docs/release-operations-checklist.md`, the checks that verify it, and",
        "the library functions each check calls (`src/releaseops/...`; its unit tests are in",
        "`tests/test_<module>.py`, the fault that turns the check red in `tests/faults/`).",
        "Generated by `python scripts/checklist_map.py --write`; a test keeps it current.",
        "",
    ]
    for key, title in SECTIONS.items():
        lines += [
            f"## {title}",
            "",
            "| item | checklist text | checks | library |",
            "|---|---|---|---|",
        ]
        for item in (i for i in ITEMS.values() if i.section == key):
            cited = [e for e in entries if item.id in e.items]
            tests = "<br>".join(f"`{e.test_id}`" for e in cited)
            called = {name.removeprefix("releaseops.") for e in cited for name in e.library}
            library = "<br>".join(f"`{name}`" for name in sorted(called))
            text = item.text.replace("|", "\\|")
            lines.append(f"| `{item.id}` | {text} | {tests} | {library} |")
        lines.append("")
    return "\n".join(lines)
