"""Root conftest: the releaseops plugin (pytest11 entry point) provides every fixture.

Run under a Python where the project is not installed (no venv, or one made before a new
dependency), every test module would fail to import with its own traceback. Instead the run
stops before collecting anything, in one line that names what is missing and how to install it.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent
INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]'"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def missing_distributions(pyproject: Path, *, dev: bool) -> list[str]:
    """The project and its pyproject.toml requirements (`dev`: its extra too) not installed."""
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = [project["name"], *project.get("dependencies", [])]
    if dev:
        wanted += project.get("optional-dependencies", {}).get("dev", [])
    missing = []
    for requirement in wanted:
        found = _NAME.match(requirement)
        name = found.group(0) if found else requirement
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def pytest_configure(config: pytest.Config) -> None:
    """Stop at once, in one line, when this Python lacks the project or its dependencies."""
    tests = ROOT / "tests"
    paths = [Path(arg.split("::")[0]).absolute() for arg in config.args]
    dev = any(p == tests or tests in p.parents for p in paths)
    missing = missing_distributions(ROOT / "pyproject.toml", dev=dev)
    if missing:
        raise pytest.UsageError(
            f"{sys.executable} lacks {', '.join(missing)}: install the project first "
            f"(README): {INSTALL}"
        )
