"""Fixtures for the exam-bank service: a migrated, seeded, FTS-synced database and the app."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from exambank import create_app, db, seed
from exambank.search_spec import SPEC
from releaseops import fts, migrations
from releaseops.dburl import DatabaseUrl
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.cluster import free_port
from releaseops.service import http

TOKEN = "test-token-7f3a"
REPO = Path(__file__).resolve().parents[2]
REQUEST_KEYS = ("request_id", "route", "status", "latency", "error_code")


@contextlib.contextmanager
def seeded_database(cluster: Any) -> Iterator[DatabaseUrl]:
    """A scratch database on `cluster`: migrations applied, seed loaded, FTS synced."""
    with ScratchDatabase(cluster.url) as url:
        migrations.apply(url, migrations.DEFAULT_DIR)
        seed.load(url)
        fts.sync(url, SPEC)
        yield url


@pytest.fixture(scope="session")
def service_db(pg_cluster: Any) -> Iterator[DatabaseUrl]:
    """One database for the service tests: migrations applied, seed loaded, FTS synced."""
    with seeded_database(pg_cluster) as url:
        yield url


def base_config(url: DatabaseUrl, **overrides: Any) -> dict[str, Any]:
    """Config for create_app(): our database, our token, guard off unless asked."""
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": url,
        "API_TOKENS": (TOKEN,),
        "DB_READ_ONLY": False,
        "AI_AUTO_APPLY": True,
        "RETRIEVAL_MODE": "bm25",
        "CHECK_PENDING_MIGRATIONS": False,
        "FAIL_ON_PENDING_MIGRATIONS": False,
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_app(service_db: DatabaseUrl) -> Iterator[Any]:
    """Build apps with config overrides; their pools are closed afterwards."""
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(base_config(service_db, **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        db.close_pool(app)


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class Api:
    """The test client with the bearer token added to every request."""

    def __init__(self, client: FlaskClient, token: str = TOKEN) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str) -> Any:
        call = getattr(self.client, method)

        def with_token(*args: Any, **kwargs: Any) -> Any:
            kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
            return call(*args, **kwargs)

        return with_token


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


def request_line_problems(data: dict[str, Any]) -> list[str]:
    """How a request log line breaks the standard (empty when it conforms)."""
    problems = [f"missing {k}" for k in REQUEST_KEYS if k not in data]
    if problems:
        return problems
    if not isinstance(data["status"], int):
        problems.append("status is not an int")
    if not isinstance(data["latency"], (int, float)) or data["latency"] < 0:
        problems.append("latency is not a non-negative number")
    if data["status"] < 400 and data["error_code"] is not None:
        problems.append("error_code set on success")
    if data["status"] >= 400 and not data["error_code"]:
        problems.append("error_code missing on failure")
    if not data["request_id"]:
        problems.append("empty request_id")
    return problems


def parse_log(text: str) -> list[dict[str, Any]]:
    """Every line must be one JSON object; return them all."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        assert isinstance(data, dict), f"line {number} is not a JSON object: {line[:200]}"
        out.append(data)
    return out


class Server:
    """`python -m exambank.serve` in a subprocess, output captured to a file, stopped by pid."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        workers: int = 2,
        argv: list[str] | None = None,
        stderr_path: Path | None = None,
    ) -> None:
        """Start it; stderr goes to `stderr_path` when given, else into `log_path` too."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        if argv is None:
            argv = [sys.executable, "-m", "exambank.serve", "--workers", str(workers)]
        argv = [*argv, "--bind", f"127.0.0.1:{self.port}"]
        self.log_file = log_path.open("wb")
        self.err_file = stderr_path.open("wb") if stderr_path else None
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=self.log_file,
            stderr=self.err_file or subprocess.STDOUT,
            cwd=REPO,
        )

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.output()}")
            if http.answers(self.base + "/health", timeout=1):
                return
            time.sleep(0.1)
        raise AssertionError(f"server not ready after {timeout}s: {self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()
        if self.err_file is not None:
            self.err_file.close()
        return self.proc.returncode

    def output(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")


def service_env(url: DatabaseUrl, **extra: str) -> dict[str, str]:
    """Environment for a served instance: production config, guard on."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "API_TOKENS")}
    env.update(
        DATABASE_URL=url.sqlalchemy(with_password=True),
        FLASK_CONFIG="production",
        SECRET_KEY="test-secret-key-5b1e",
        API_TOKENS=f"other-token,{TOKEN}",
        CHECK_PENDING_MIGRATIONS="1",
        FAIL_ON_PENDING_MIGRATIONS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
