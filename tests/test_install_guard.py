"""A Python without the project installed gets one line naming what to install, not tracebacks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("root_conftest", REPO / "conftest.py")
assert spec is not None and spec.loader is not None
root_conftest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(root_conftest)

PYPROJECT = """\
[project]
name = "releaseops"
dependencies = ["pytest>=8", "no-such-distribution-xyz[extra]>=1"]

[project.optional-dependencies]
dev = ["another-missing-one"]
"""


def test_missing_requirements_are_named_and_the_dev_extra_only_when_asked(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT)
    assert root_conftest.missing_distributions(pyproject, dev=False) == ["no-such-distribution-xyz"]
    assert root_conftest.missing_distributions(pyproject, dev=True) == [
        "no-such-distribution-xyz",
        "another-missing-one",
    ]


def test_this_venv_has_everything_the_tests_need():
    assert root_conftest.missing_distributions(REPO / "pyproject.toml", dev=True) == []


def test_a_run_without_the_project_stops_in_one_line_naming_the_install(tmp_path):
    # A repository whose pyproject.toml asks for distributions this Python does not have.
    copy = tmp_path / "repo"
    (copy / "tests").mkdir(parents=True)
    (copy / "conftest.py").write_text((REPO / "conftest.py").read_text())
    (copy / "pyproject.toml").write_text(PYPROJECT)
    (copy / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 4, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error) == 1, result.stderr
    assert "lacks no-such-distribution-xyz, another-missing-one" in error[0]
    assert "pip install -e '.[dev]'" in error[0]
    assert "Traceback" not in result.stdout + result.stderr
