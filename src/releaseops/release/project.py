"""The repository's own defaults: the `[tool.releaseops]` table of its pyproject.toml.

Settings a team writes once for its service (e.g. `fts_spec`, the FTS declaration) live there,
so the checks, the scripts and the `releaseops` command read one value. The environment and
command-line options still win over it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from releaseops.errors import ConfigurationError


def settings(repo_root: Path) -> dict[str, Any]:
    """`[tool.releaseops]` of `repo_root/pyproject.toml`; empty when there is none."""
    path = repo_root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path} cannot be read: {exc}") from None
    table = data.get("tool", {}).get("releaseops", {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"{path}: [tool.releaseops] must be a table")
    return table


def setting(repo_root: Path, name: str) -> str | None:
    """One string setting of `[tool.releaseops]`, or None."""
    value = settings(repo_root).get(name)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"[tool.releaseops] {name} must be a string, not {value!r}")
    return value
