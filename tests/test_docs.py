"""Docs and help texts are part of the contract: they exist and match the code."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (REPO / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help_with_a_runnable_example(script):
    proc = subprocess.run(
        [sys.executable, f"scripts/{script}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
    assert re.search(rf"(python )?scripts/{re.escape(script)}", proc.stdout), (
        f"{script} --help shows no runnable example"
    )


def test_dc_wrapper_has_help_without_docker():
    proc = subprocess.run(
        [str(REPO / "scripts" / "dc"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0
    assert "./scripts/dc up -d --build" in proc.stdout


def test_readme_first_screen_gives_the_two_commands():
    first_screen = "\n".join((REPO / "README.md").read_text().splitlines()[:30])
    assert "pytest checks/predeploy" in first_screen
    assert "pytest tests" in first_screen


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    found = re.search(r"^(pytest [^#\n]*?)\s+# the tests$", readme, re.MULTILINE)
    assert found, "the README's first screen names no test command"
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(rf"^run_{re.escape(found.group(1))}$", ci, re.MULTILINE)
    assert 'pytest "$@"' in ci
    # Under CI a gate run must name its target.
    assert re.search(r"^run_pytest checks --target embedded$", ci, re.MULTILINE)


@pytest.mark.parametrize(
    "option",
    [
        "--target",
        "--database-url",
        "--api-base-url",
        "--api-log-source",
        "--backup-dir",
        "--release-record",
        "--drill-database-url",
        "--postgres-admin-url",
        "--migrations-dir",
        "--execute",
        "--confirm-db",
        "--pg-provider",
        "--probe-timeout",
        "--reports-dir",
    ],
)
def test_every_plugin_option_is_documented_in_the_readme(option):
    assert option in (REPO / "README.md").read_text()


def test_every_configuration_variable_is_documented_in_the_readme():
    from releaseops.release.target import ENV_KEYS

    readme = (REPO / "README.md").read_text()
    undocumented = [
        k for k in ENV_KEYS if k not in readme and k not in ("PATH", "RELEASEOPS_PG_ROOT")
    ]
    assert undocumented == []


def exit_codes_in_help(command: str) -> set[int]:
    from releaseops.cli import main

    doc = main._module(command).__doc__ or ""
    block = doc.split("Exit codes:", 1)[1].split("\n\n", 1)[0]
    return {int(code) for code in re.findall(r"^  (\d+) ", block, re.MULTILINE)}


def exit_codes_in_doc(page: str, heading: str) -> set[int]:
    text = (REPO / "docs" / page).read_text()
    section = text.split(f"{heading}\n", 1)[1]
    section = re.split(r"^#", section, maxsplit=1, flags=re.MULTILINE)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}


@pytest.mark.parametrize(
    ("command", "page", "heading"),
    [
        ("backup", "backup-restore.md", "### `releaseops backup` (`scripts/backup_postgres.py`)"),
        (
            "restore",
            "backup-restore.md",
            "### `releaseops restore` (`scripts/restore_postgres.py`)",
        ),
        ("migrate", "migrations.md", "## Commands and exit codes"),
        ("fts", "fts.md", "## Commands"),
        ("logs", "slo.md", "## `releaseops logs`"),
    ],
)
def test_each_commands_exit_code_table_matches_its_help(command, page, heading):
    assert exit_codes_in_doc(page, heading) == exit_codes_in_help(command)


@pytest.mark.parametrize(
    ("script", "command"),
    [
        ("verify_repo.py", "verify"),
        ("backup_postgres.py", "backup"),
        ("restore_postgres.py", "restore"),
        ("run_postgres_migrations.py", "migrate"),
        ("init_fts.py", "fts"),
        ("checklist_map.py", "checklist-map"),
    ],
)
def test_readme_names_the_subcommand_behind_each_script(script, command):
    readme = (REPO / "README.md").read_text()
    assert f"| `scripts/{script}` | `releaseops {command}` |" in readme
