"""The package layout is a contract: import-linter keeps the layers (pyproject.toml) honest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOP_LEVEL = {"__init__.py", "errors.py", "dburl.py", "cli.py"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the tree under `root` (its src/ first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    return subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_tree_keeps_every_import_contract():
    proc = lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "BROKEN" not in proc.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    tools = tmp_path / "src" / "releaseops" / "pg" / "tools.py"
    tools.write_text(tools.read_text() + "\nfrom releaseops.gate import verdict  # noqa\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode != 0
    assert "releaseops.pg is not allowed to import releaseops.gate" in proc.stdout
    assert "releaseops.pg.tools -> releaseops.gate.verdict" in proc.stdout


def test_the_library_has_no_top_level_module_beyond_the_base():
    package = REPO / "src" / "releaseops"
    modules = {p.name for p in package.iterdir() if p.suffix == ".py"}
    assert modules <= TOP_LEVEL, f"move {sorted(modules - TOP_LEVEL)} into a sub-package"
