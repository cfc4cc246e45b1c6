"""Running the reference service as a child process (releaseops.service)."""

import os
from collections.abc import Iterator

import pytest
import requests

from releaseops import migrations
from releaseops.errors import ServiceFailedToStart
from releaseops.pg.scratch import ScratchDatabase
from releaseops.rehearsal.process import ServiceProcess


@pytest.fixture
def service_env(pg_cluster) -> Iterator[dict[str, str]]:
    """The environment of a service on a migrated scratch database."""
    with ScratchDatabase(pg_cluster.url) as db:
        migrations.apply(db, migrations.DEFAULT_DIR)
        yield {
            **os.environ,
            "DATABASE_URL": db.sqlalchemy(with_password=True),
            "FLASK_CONFIG": "development",
            "API_TOKENS": "t" * 24,
        }


def test_service_that_cannot_start_reports_its_log_tail(tmp_path):
    env = {**os.environ, "DATABASE_URL": "not a url", "FLASK_CONFIG": "development"}
    service = ServiceProcess(env, tmp_path / "api.log", workers=1)
    with pytest.raises(ServiceFailedToStart, match="exited with code 2 during startup"):
        service.start(timeout=20)
    assert service.pid is None


def test_embedded_service_answers_and_stops(tmp_path, service_env):
    service = ServiceProcess(service_env, tmp_path / "api.log", workers=1).start(timeout=30)
    try:
        assert requests.get(f"{service.base_url}/health", timeout=5).status_code == 200
        pid = service.pid
    finally:
        service.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert service.stop() is None  # idempotent


def test_a_deferred_service_starts_once_on_serve_and_a_stopped_one_stays_stopped(
    tmp_path, service_env
):
    service = ServiceProcess(service_env, tmp_path / "api.log", workers=1)
    assert service.pid is None  # set up, not started
    try:
        pid = service.serve().pid
        assert pid is not None
        assert requests.get(f"{service.base_url}/health", timeout=5).status_code == 200
        assert service.serve().pid == pid  # already started: not started again
    finally:
        service.stop()
    assert service.serve().pid is None  # stopped on purpose: stays stopped

    untouched = ServiceProcess({}, tmp_path / "other.log")
    untouched.stop()  # stopped before it ever started: serve() leaves it so
    assert untouched.serve().pid is None
