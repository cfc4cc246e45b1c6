"""Serving with gunicorn: plain `gunicorn 'exambank:create_app()'` and `exambank.serve --app`.

Plain gunicorn started from the repository root reads gunicorn.conf.py, which gives it the
settings of `python -m exambank.serve`: preloaded app, JSON error log, no access log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests

from tests.service.conftest import REPO, TOKEN, Server, parse_log, service_env

PLAIN_GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "2", "exambank:create_app()"]
SECRET = "test-secret-key-5b1e"


def development_env(url, **extra):
    return service_env(
        url,
        FLASK_CONFIG="development",
        CHECK_PENDING_MIGRATIONS="0",
        FAIL_ON_PENDING_MIGRATIONS="0",
        **extra,
    )


@pytest.fixture(scope="module")
def plain_gunicorn(service_db, tmp_path_factory):
    """Start plain gunicorn, ask /health eight times on fresh connections, stop it."""
    folder = tmp_path_factory.mktemp("gunicorn")
    server = Server(
        development_env(service_db),
        folder / "stdout.log",
        argv=PLAIN_GUNICORN,
        stderr_path=folder / "stderr.log",
    )
    try:
        server.wait_ready()
        answers = [
            requests.get(server.base + "/health", headers={"Connection": "close"}, timeout=10)
            for _ in range(8)
        ]
        requests.get(server.base + "/no/such/page", timeout=10)
    finally:
        server.stop()
    return {
        "pid": server.proc.pid,
        "health": [a.json() for a in answers],
        "stdout": (folder / "stdout.log").read_text(),
        "stderr": (folder / "stderr.log").read_text(),
    }


def test_the_repository_has_a_gunicorn_conf_py():
    assert (REPO / "gunicorn.conf.py").is_file()


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_plain_gunicorn_writes_only_json_lines(plain_gunicorn, stream):
    text = plain_gunicorn[stream]
    lines = parse_log(text)
    assert lines, f"nothing on {stream}"
    assert len(lines) == len([line for line in text.splitlines() if line.strip()])


def test_plain_gunicorn_logs_its_own_lines_as_json_on_stderr(plain_gunicorn):
    loggers = {line["logger"] for line in parse_log(plain_gunicorn["stderr"])}
    assert "gunicorn.error" in loggers


def test_plain_gunicorn_has_no_access_log_only_request_lines(plain_gunicorn):
    lines = parse_log(plain_gunicorn["stdout"]) + parse_log(plain_gunicorn["stderr"])
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]
    requests_seen = [line for line in lines if line["logger"] == "exambank.request"]
    assert {"/health", "/no/such/page"} <= {line["path"] for line in requests_seen}


def test_every_worker_reports_the_instance_the_master_built(plain_gunicorn):
    instances = {json.dumps(h["instance"], sort_keys=True) for h in plain_gunicorn["health"]}
    assert len(instances) == 1
    assert plain_gunicorn["health"][0]["instance"]["pid"] == plain_gunicorn["pid"]


def test_plain_gunicorn_prints_no_secret(plain_gunicorn):
    output = plain_gunicorn["stdout"] + plain_gunicorn["stderr"]
    assert TOKEN not in output and SECRET not in output


WRAPPER = """
import gc

from exambank import create_app


def make():
    app = create_app()

    @app.get("/wrapped")
    def wrapped():
        return {"wrapped": True, "frozen": gc.get_freeze_count()}

    return app
"""


def test_serve_app_option_serves_another_factory_with_json_logs(service_db, tmp_path):
    (tmp_path / "wrapper_factory.py").write_text(textwrap.dedent(WRAPPER))
    env = development_env(service_db, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    argv = [sys.executable, "-m", "exambank.serve", "--workers", "1"]
    server = Server(env, tmp_path / "serve.log", argv=[*argv, "--app", "wrapper_factory:make"])
    try:
        server.wait_ready()
        response = requests.get(server.base + "/wrapped", timeout=10)
        instance = requests.get(server.base + "/health", timeout=10).json()["instance"]
    finally:
        server.stop()
    assert response.status_code == 200 and response.json()["wrapped"] is True
    # What the master built before the fork is frozen in the worker (exambank.serve's
    # pre_fork hook): the worker's collections never walk, and so never copy, those pages.
    assert response.json()["frozen"] > 10_000, response.json()
    assert instance["pid"] == server.proc.pid
    lines = parse_log(server.output())
    assert any(line.get("route") == "/wrapped" for line in lines)


@pytest.mark.parametrize("spec", ["no_such_module_xyz:make", "exambank:no_factory", "exambank"])
def test_serve_app_option_refuses_an_unknown_factory_with_one_json_line(service_db, spec):
    result = subprocess.run(
        [sys.executable, "-m", "exambank.serve", "--app", spec, "--bind", "127.0.0.1:1"],
        env=development_env(service_db),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    (line,) = parse_log(result.stdout + result.stderr)
    assert (line["event"], line["state"]) == ("startup", "config_error")
    assert spec in line["message"]
