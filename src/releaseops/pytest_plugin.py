"""The pytest plugin: options, markers, cluster fixtures (checks machinery grows here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from releaseops.cluster import ContainerCluster, LocalCluster, make_cluster
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DockerUnavailable
from releaseops.scratch import ScratchDatabase

HELP_PG_PROVIDER = (
    "where the throwaway PostgreSQL comes from: 'local' binaries (default), 'container' "
    "(testcontainers; needs a Docker engine) or 'auto' (container when Docker answers)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the releaseops option group."""
    group = parser.getgroup("releaseops")
    group.addoption(
        "--pg-provider", choices=("local", "container", "auto"), default=None, help=HELP_PG_PROVIDER
    )
    parser.addini("releaseops_pg_provider", default="local", help=HELP_PG_PROVIDER)


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster | ContainerCluster]:
    """A throwaway PostgreSQL cluster for the whole session, always torn down."""
    provider = request.config.getoption("pg_provider") or request.config.getini(
        "releaseops_pg_provider"
    )
    cluster = make_cluster(provider)
    try:
        cluster.start()
    except DockerUnavailable as exc:
        pytest.skip(f"not verified: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_db(pg_cluster: LocalCluster | ContainerCluster) -> Iterator[DatabaseUrl]:
    """A new empty database on the session cluster, dropped after the test."""
    with ScratchDatabase(pg_cluster.url) as url:
        yield url
