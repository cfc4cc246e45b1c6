"""The `releaseops` command, its subcommands and the scripts/*.py shims that run them.

Every exit code a subcommand's --help documents has a test that produces it; COVERED names
each one, and a test keeps COVERED and the help texts in step.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from releaseops.cli import checklist_map, main, verify

REPO = Path(__file__).resolve().parents[1]
CONSOLE = Path(sys.executable).parent / "releaseops"
SHIMS = {
    "backup": "backup_postgres.py",
    "restore": "restore_postgres.py",
    "migrate": "run_postgres_migrations.py",
    "fts": "init_fts.py",
    "verify": "verify_repo.py",
    "checklist-map": "checklist_map.py",
}
MINE = list(SHIMS)

B, R, M, F = (
    "test_scripts_backup.py",
    "test_scripts_restore.py",
    "test_scripts_migrations.py",
    "test_scripts_fts.py",
)
C = "test_cli.py"
MR = "test_scripts_rehearse.py"
# (command, exit code) -> the test that makes the command exit with that code.
COVERED = {
    ("backup", 0): (
        B,
        "test_checklist_backup_command_writes_into_backups_of_the_current_directory",
    ),
    ("backup", 2): (B, "test_configuration_errors_exit_2_in_one_line"),
    ("backup", 3): (B, "test_backup_against_a_stopped_server_exits_3_as_its_help_says"),
    ("backup", 4): (B, "test_missing_pg_dump_exits_4_naming_the_fix"),
    ("backup", 20): (B, "test_disk_full_while_writing_the_manifest_is_one_line_and_leaves_nothing"),
    ("backup", 21): (B, "test_verify_flag_passes_a_good_dump_and_names_the_failed_check"),
    ("backup", 22): (B, "test_verify_of_a_missing_dump_exits_22_in_one_line"),
    ("backup", 23): (B, "test_rollback_candidate_flag_prints_the_newest_verified_dump"),
    ("backup", 130): (B, "test_interrupted_backup_removes_its_temporary_file"),
    ("backup", 141): (B, "test_closed_stdout_exits_141_after_a_verified_backup"),
    ("restore", 0): (R, "test_restore_needs_the_confirmation_and_then_restores"),
    ("restore", 2): (R, "test_a_missing_dump_flag_is_a_usage_error_in_one_line"),
    ("restore", 3): (R, "test_an_unreachable_target_exits_3"),
    ("restore", 4): (R, "test_missing_pg_restore_exits_4"),
    ("restore", 22): (R, "test_a_dump_that_does_not_exist_exits_22"),
    ("restore", 24): (R, "test_errors_pg_restore_would_ignore_fail_the_restore_with_24"),
    ("restore", 25): (R, "test_restore_needs_the_confirmation_and_then_restores"),
    ("restore", 26): (R, "test_a_truncated_dump_is_refused_with_26_and_the_target_untouched"),
    ("restore", 27): (R, "test_an_archive_too_new_for_this_pg_restore_exits_27"),
    ("restore", 29): (
        R,
        "test_a_dump_of_another_database_is_refused_with_29_and_the_target_untouched",
    ),
    ("restore", 130): (
        R,
        "test_sigterm_during_the_restore_exits_130_saying_the_target_may_be_partly_restored",
    ),
    ("restore", 141): (R, "test_closed_stdout_exits_141_after_a_finished_restore"),
    ("migrate", 0): (M, "test_apply_prints_one_line_per_file_and_exits_zero"),
    ("migrate", 2): (M, "test_a_bad_duration_is_a_configuration_error_in_one_line"),
    ("migrate", 3): (M, "test_a_server_crash_mid_migration_exits_3_and_a_rerun_finishes"),
    ("migrate", 10): (M, "test_bad_file_name_exits_10"),
    ("migrate", 11): (M, "test_edited_applied_file_is_refused_with_exit_11"),
    ("migrate", 12): (M, "test_failed_migration_exits_12_naming_file_and_line"),
    ("migrate", 13): (M, "test_runner_that_cannot_get_the_lock_exits_13_with_a_clear_message"),
    ("migrate", 14): (M, "test_status_exit_code_and_json_tell_the_state"),
    ("migrate", 15): (
        MR,
        "test_bigint_rehearsal_reports_the_rewrite_and_lock_as_json_and_changes_nothing",
    ),
    ("migrate", 16): (
        MR,
        "test_a_statement_that_cannot_run_in_the_rolled_back_transaction_is_not_verified",
    ),
    ("migrate", 22): (MR, "test_a_missing_dump_for_the_drill_copy_exits_22"),
    ("migrate", 23): (MR, "test_no_known_good_dump_recorded_for_the_release_exits_23"),
    ("migrate", 26): (MR, "test_a_dump_that_fails_verification_exits_26"),
    ("migrate", 29): (MR, "test_a_dump_of_another_database_exits_29"),
    ("migrate", 30): (
        "test_restore_marker.py",
        "test_status_of_a_database_left_half_restored_by_a_killed_pg_restore_exits_30",
    ),
    ("migrate", 130): (M, "test_sigterm_mid_migration_exits_130_and_records_nothing"),
    ("migrate", 141): (M, "test_closed_stdout_exits_141_with_every_file_applied"),
    ("fts", 0): (F, "test_the_checklist_command_works_literally"),
    ("fts", 1): (F, "test_check_fails_naming_the_table_and_count_then_sync_fixes_it"),
    ("fts", 2): (F, "test_an_unimportable_spec_is_a_configuration_error"),
    ("fts", 3): (F, "test_a_server_crash_mid_sync_is_one_line_exit_3_and_a_rerun_finishes"),
    ("fts", 8): (F, "test_missing_schema_is_a_clear_error"),
    ("fts", 130): (F, "test_sigterm_mid_sync_exits_130_and_releases_the_sync_lock"),
    ("fts", 141): (F, "test_closed_stdout_exits_141_after_a_finished_sync"),
    ("verify", 0): (C, "test_verify_lints_a_good_directory_with_exit_0"),
    ("verify", 1): (C, "test_verify_fails_a_destructive_file_with_exit_1"),
    ("verify", 2): (C, "test_every_usage_error_is_one_masked_line_with_exit_2"),
    ("verify", 130): (C, "test_verify_interrupted_while_a_server_hangs_exits_130"),
    ("verify", 141): (C, "test_closed_stdout_exits_141_for_each_command"),
    ("checklist-map", 0): (C, "test_checklist_map_of_this_repository_exits_0"),
    ("checklist-map", 1): (
        C,
        "test_checklist_map_of_a_repository_lacking_checks_exits_1",
    ),
    ("checklist-map", 2): (C, "test_checklist_map_outside_a_repository_exits_2"),
    ("checklist-map", 73): (C, "test_checklist_map_that_cannot_be_written_exits_73"),
    ("checklist-map", 130): (C, "test_checklist_map_interrupted_while_reading_a_check_exits_130"),
    ("checklist-map", 141): (C, "test_closed_stdout_exits_141_for_each_command"),
}


def documented_codes(command: str) -> set[int]:
    """The codes listed under 'Exit codes:' in the subcommand's --help text."""
    doc = main._module(command).__doc__ or ""
    block = doc.split("Exit codes:", 1)[1].split("\n\n", 1)[0]
    return {int(code) for code in re.findall(r"^  (\d+) ", block, re.MULTILINE)}


def functions_in(file_name: str) -> set[str]:
    tree = ast.parse((REPO / "tests" / file_name).read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def console(*args: str, cwd: Path = REPO, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE), *args], cwd=cwd, capture_output=True, text=True, timeout=60, **kwargs
    )


# --- the dispatcher ---------------------------------------------------------------------------


def test_releaseops_help_lists_every_subcommand_with_its_summary():
    result = console("--help")
    assert result.returncode == 0
    for name in MINE:
        summary = (main._module(name).__doc__ or "").strip().splitlines()[0]
        assert re.search(rf"^  {re.escape(name)} +{re.escape(summary)}$", result.stdout, re.M)
    assert "130 interrupted" in result.stdout and "141 stdout closed early" in result.stdout


def test_no_command_or_an_unknown_one_is_a_usage_error():
    assert console().returncode == 2
    unknown = console("bakup")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        f"releaseops: unknown command 'bakup'; known: {', '.join(main.SUBCOMMANDS)}\n"
    )


def test_a_subcommand_names_itself_in_its_usage():
    result = console("backup", "--help")
    assert result.stdout.startswith("usage: releaseops backup [-h]")


# --- the shims --------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "script"), SHIMS.items())
def test_each_script_is_a_shim_whose_docstring_is_the_subcommands_help(command, script):
    module = main.SUBCOMMANDS[command]
    tree = ast.parse((REPO / "scripts" / script).read_text())
    assert ast.get_docstring(tree, clean=False) == main._module(command).__doc__
    code = [ast.unparse(node) for node in tree.body[1:]]
    assert code == [f"from releaseops.cli.{module} import main", "raise SystemExit(main())"]


@pytest.mark.parametrize(("command", "script"), SHIMS.items())
def test_script_and_subcommand_print_the_same_help(command, script):
    shim = subprocess.run(
        [sys.executable, f"scripts/{script}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    sub = console(command, "--help")
    assert shim.returncode == sub.returncode == 0
    assert "Exit codes:" in sub.stdout
    # argparse wraps the usage lines to the program name's width; compare what follows them
    assert shim.stdout.split("\n\n", 1)[1] == sub.stdout.split("\n\n", 1)[1]


# --- every documented exit code has its test --------------------------------------------------


@pytest.mark.parametrize("command", MINE)
def test_every_documented_exit_code_has_a_test_that_produces_it(command):
    documented = documented_codes(command)
    covered = {code for (name, code) in COVERED if name == command}
    assert documented == covered, f"--help lists {sorted(documented)}, tests {sorted(covered)}"
    for code in sorted(documented):
        file_name, test = COVERED[(command, code)]
        assert test in functions_in(file_name), (
            f"{command} exit {code}: {file_name}::{test} is gone"
        )


# --- one line, exit 2, for usage errors; 141 for a closed stdout ------------------------------


@pytest.mark.parametrize("command", MINE)
def test_every_usage_error_is_one_masked_line_with_exit_2(command):
    required = {"restore": ["--dump", "x.dump"], "fts": ["--check"]}.get(command, [])
    url = "postgresql://ops:hunter2@db.example/exam"
    result = console(command, *required, "--no-such-flag", url)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"releaseops {command}: error: unrecognized arguments: --no-such-flag, 1 other word(s), "
        f"not shown in case they hold a secret (see releaseops {command} --help)"
    )
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(("command", "script"), SHIMS.items())
def test_closed_stdout_exits_141_for_each_command(command, script):
    args = [sys.executable, f"scripts/{script}", "--help"]
    if command == "verify":
        args[-1] = "--migrations-dir=migrations/postgres"  # the lint's report, not the help
    if command == "checklist-map":
        args.pop()  # prints the map
    proc = subprocess.Popen(
        args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141, err
    assert err == (
        "error: stdout was closed before all output was written (broken pipe); the command's "
        "work itself was done\n"
    )


# --- verify -----------------------------------------------------------------------------------


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_questions.sql").write_text("CREATE TABLE questions (id int);\n")
    return directory


def test_verify_lints_a_good_directory_with_exit_0(mig_dir, capsys):
    assert verify.main(["--migrations-dir", str(mig_dir)]) == 0
    assert "1 migration file(s) linted: 0 FAIL, 0 WARN" in capsys.readouterr().out


def test_verify_fails_a_destructive_file_with_exit_1(mig_dir, capsys):
    (mig_dir / "0002_drop.sql").write_text("DROP TABLE questions;\n")
    assert verify.main(["--migrations-dir", str(mig_dir)]) == 1
    assert "0002_drop.sql:1 FAIL destructive" in capsys.readouterr().out


@contextlib.contextmanager
def reader_blocked_on(fifo: Path) -> Iterator[None]:
    """Wait until a process opened `fifo` for reading; keep it waiting for data in the block."""
    deadline = time.monotonic() + 30
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:  # ENXIO: nobody has it open for reading yet
            assert exc.errno == errno.ENXIO and time.monotonic() < deadline
            time.sleep(0.05)
    try:
        yield
    finally:
        os.close(fd)


def interrupt_when_reading(args: list[str], fifo: Path, cwd: Path) -> tuple[int, str]:
    """Start the command, SIGTERM it while it waits on `fifo`; its exit code and stderr."""
    os.mkfifo(fifo)
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with reader_blocked_on(fifo):
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    return proc.returncode, err.decode()


def test_verify_interrupted_while_a_server_hangs_exits_130(mig_dir):
    with socket.create_server(("127.0.0.1", 0)) as hung:  # accepts, then never answers
        port = hung.getsockname()[1]
        proc = subprocess.Popen(
            [str(CONSOLE), "verify", "--ops-preflight", "--migrations-dir", str(mig_dir)],
            cwd=REPO,
            env={**os.environ, "DATABASE_URL": f"postgresql://ops:pw@127.0.0.1:{port}/exam"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        hung.settimeout(60)
        client, _ = hung.accept()
        with client:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "error: interrupted; nothing was changed\n"


# --- checklist-map ----------------------------------------------------------------------------


def test_checklist_map_of_this_repository_exits_0(monkeypatch, capsys):
    monkeypatch.chdir(REPO / "docs")  # found by walking up to the pyproject.toml
    assert checklist_map.main([]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Checklist map\n") and err == ""
    assert "`checks/predeploy/test_05_backup.py::test_backup_created`" in out


@pytest.fixture
def other_repo(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'service'\n")
    (tmp_path / "checks").mkdir()
    return tmp_path


def test_checklist_map_of_a_repository_lacking_checks_exits_1(other_repo):
    result = console("checklist-map", "--write", cwd=other_repo)
    assert result.returncode == 1
    assert "error: checklist item pre.owners" in result.stderr
    assert (other_repo / "docs" / "checklist-map.md").read_text().startswith("# Checklist map")


def test_checklist_map_outside_a_repository_exits_2(tmp_path):
    result = console("checklist-map", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {tmp_path} has no checks/ directory; run the command inside the repository\n"
    )


def test_checklist_map_that_cannot_be_written_exits_73(other_repo):
    (other_repo / "docs").write_text("a file where the docs directory should be\n")
    result = console("checklist-map", "--write", cwd=other_repo)
    assert result.returncode == 73
    target = other_repo / "docs" / "checklist-map.md"
    assert result.stderr == (
        f"error: cannot write {target}: Not a directory; the previous map is unchanged. "
        f"Free space or make {other_repo / 'docs'} writable, then run again\n"
    )


def test_checklist_map_interrupted_while_reading_a_check_exits_130(other_repo):
    code, err = interrupt_when_reading(
        [str(CONSOLE), "checklist-map", "--write"], other_repo / "checks" / "test_x.py", other_repo
    )
    assert code == 130
    assert err == "error: interrupted; the map file was not changed\n"
    assert not (other_repo / "docs").exists()
