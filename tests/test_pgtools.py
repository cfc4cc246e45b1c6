"""Locating PostgreSQL client tools, reading versions, running them without secrets in argv."""

import os
import stat

import pytest

from releaseops import pg
from releaseops.errors import ToolFailed, ToolNotFound, ToolVersionTooOld


def fake_tool(directory, name, version="9.6.0", body=""):
    path = directory / name
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo "{name} (PostgreSQL) '
        f'{version}"; exit 0; fi\n{body}\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize("name", pg.TOOLS)
def test_each_client_tool_is_found_with_its_major_version(name):
    tool = pg.find(name)
    assert tool.path.is_file()
    assert tool.major >= 12
    assert tool.version.startswith(str(tool.major))


def test_pg_bindir_comes_first(tmp_path):
    fake_tool(tmp_path, "pg_dump", "9.6.0")
    tool = pg.find("pg_dump", {**os.environ, "PG_BINDIR": str(tmp_path)})
    assert (tool.path, tool.major, tool.version) == (tmp_path / "pg_dump", 9, "9.6.0")


def test_missing_tool_names_where_it_looked(tmp_path):
    environ = {"PATH": str(tmp_path), "RELEASEOPS_PG_ROOT": str(tmp_path)}
    with pytest.raises(ToolNotFound, match=r"pg_restore not found .*PATH.*PG_BINDIR"):
        pg.find("pg_restore", environ)


def test_tool_older_than_server_is_refused(tmp_path):
    tool = pg.find(
        "pg_dump", {**os.environ, "PG_BINDIR": str(fake_tool(tmp_path, "pg_dump").parent)}
    )
    with pytest.raises(ToolVersionTooOld, match="is PostgreSQL 9, but the server is 15"):
        pg.require_at_least(tool, 15)
    pg.require_at_least(tool, 9)


def test_garbage_version_output_is_a_clear_failure(tmp_path):
    path = tmp_path / "psql"
    path.write_text("#!/bin/sh\necho hello\n")
    path.chmod(0o755)
    with pytest.raises(ToolFailed, match="unexpected --version output"):
        pg.find("psql", {**os.environ, "PG_BINDIR": str(tmp_path)})


def test_psql_runs_against_the_cluster_without_password_in_argv(pg_cluster):
    url = pg_cluster.url
    assert url.password
    tool = pg.find("psql")
    argv = pg.build_argv(tool, ["-c", "select 1"], url)
    assert all(url.password not in arg for arg in argv)
    assert pg.psql(url, "select 40 + 2").strip() == "42"


def test_server_major_version_is_read(pg_cluster):
    assert pg.server_major(pg_cluster.url) == pg.find("psql").major


def test_failing_tool_carries_tool_exit_code_and_masked_stderr(pg_cluster):
    with pytest.raises(ToolFailed, match=r"psql exited with code \d+: .*no_such_table") as info:
        pg.psql(pg_cluster.url, "select * from no_such_table")
    assert info.value.returncode != 0
    assert pg_cluster.url.password not in str(info.value)
    assert all(pg_cluster.url.password not in arg for arg in info.value.argv)


def test_wrong_password_error_does_not_echo_it(pg_cluster):
    wrong = pg_cluster.url.__class__(**{**pg_cluster.url.__dict__, "password": "WrongPass123"})
    with pytest.raises(ToolFailed, match="password authentication failed") as info:
        pg.psql(wrong, "select 1")
    assert "WrongPass123" not in str(info.value)


def test_stray_pg_environment_does_not_leak_into_the_child(pg_cluster, monkeypatch):
    monkeypatch.setenv("PGDATABASE", "some_other_db")
    monkeypatch.setenv("PGSERVICE", "nonexistent-service")
    assert pg.psql(pg_cluster.url, "select current_database()").strip() == "postgres"
