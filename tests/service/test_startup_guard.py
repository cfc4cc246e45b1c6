"""The startup migration guard, in-process and through `python -m exambank.serve`."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import pytest

from exambank import create_app
from exambank.errors import StartupRefused
from releaseops import migrations
from tests.service.conftest import REPO, base_config, parse_log, service_env


@pytest.fixture
def pending_dir(tmp_path):
    """The real migrations plus one the database has not seen."""
    directory = tmp_path / "pending"
    shutil.copytree(migrations.DEFAULT_DIR, directory)
    (directory / "9001_not_yet.sql").write_text("CREATE TABLE not_yet (id int);\n")
    return directory


@pytest.fixture
def edited_dir(tmp_path):
    """The real migrations with an applied file edited afterwards."""
    directory = tmp_path / "edited"
    shutil.copytree(migrations.DEFAULT_DIR, directory)
    first = directory / "0002_documents.sql"
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    return directory


def guard_records(caplog):
    return [r for r in caplog.records if getattr(r, "event", None) == "migration_check"]


def test_clean_database_logs_clean(service_db, caplog):
    caplog.set_level(logging.INFO)
    create_app(base_config(service_db, CHECK_PENDING_MIGRATIONS=True))
    (record,) = guard_records(caplog)
    assert (record.levelname, record.state) == ("INFO", "clean")


def test_check_only_logs_pending_and_starts(service_db, pending_dir, caplog):
    config = base_config(service_db, CHECK_PENDING_MIGRATIONS=True, MIGRATIONS_DIR=pending_dir)
    create_app(config)
    (record,) = guard_records(caplog)
    assert (record.levelname, record.state, record.pending) == (
        "WARNING",
        "pending",
        ["9001_not_yet.sql"],
    )


def test_fail_on_pending_refuses_in_process(service_db, pending_dir):
    config = base_config(service_db, FAIL_ON_PENDING_MIGRATIONS=True, MIGRATIONS_DIR=pending_dir)
    with pytest.raises(StartupRefused, match="9001_not_yet.sql is pending"):
        create_app(config)


def test_edited_migration_is_an_error_even_when_only_checking(service_db, edited_dir, caplog):
    config = base_config(service_db, CHECK_PENDING_MIGRATIONS=True, MIGRATIONS_DIR=edited_dir)
    create_app(config)
    (record,) = guard_records(caplog)
    assert (record.levelname, record.state) == ("ERROR", "mismatch")
    assert "mismatch" in record.getMessage()


def serve_and_wait(env, timeout=30):
    argv = [sys.executable, "-m", "exambank.serve", "--bind", "127.0.0.1:0", "--workers", "1"]
    return subprocess.run(argv, env=env, cwd=REPO, capture_output=True, timeout=timeout)


@pytest.mark.parametrize(
    ("directory", "state", "listed"),
    [("pending_dir", "pending", "pending"), ("edited_dir", "mismatch", "mismatched")],
)
def test_served_instance_refuses_to_start(request, service_db, directory, state, listed):
    path = request.getfixturevalue(directory)
    result = serve_and_wait(service_env(service_db, MIGRATIONS_DIR=str(path)))
    assert result.returncode == 3
    lines = parse_log(result.stdout.decode() + result.stderr.decode())
    (check,) = [line for line in lines if line.get("event") == "migration_check"]
    assert (check["level"], check["state"], check["refused"]) == ("ERROR", state, True)
    assert check[listed], check
    if state == "mismatch":
        assert "mismatch" in check["message"]
        assert check["mismatched"] == ["0002_documents.sql"]
    assert any(line.get("state") == "refused" for line in lines)
    assert "test-secret-key" not in json.dumps(lines)
    assert service_db.password is None or service_db.password not in json.dumps(lines)


def test_served_instance_refuses_bad_configuration(service_db):
    env = service_env(service_db, SECRET_KEY="")
    result = serve_and_wait(env)
    assert result.returncode == 2
    lines = parse_log(result.stdout.decode() + result.stderr.decode())
    assert any("requires SECRET_KEY" in line["message"] for line in lines)
