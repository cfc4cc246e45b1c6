"""A throwaway PostgreSQL cluster in a testcontainers container, where a Docker engine answers."""

from __future__ import annotations

import os
import secrets
import socket
from types import TracebackType

from releaseops.dburl import DatabaseUrl
from releaseops.errors import DockerUnavailable
from releaseops.rehearsal.cluster import SUPERUSER


class ContainerCluster:
    """A cluster in a testcontainers PostgresContainer; needs a reachable Docker engine."""

    def __init__(self, image: str = "postgres:15-alpine") -> None:
        self.image = image
        self.password = secrets.token_urlsafe(24)
        self.url = DatabaseUrl(
            dbname="postgres", host="127.0.0.1", port=0, user=SUPERUSER, password=self.password
        )
        self._container: object | None = None

    def start(self) -> ContainerCluster:
        """Start the container; DockerUnavailable when no engine answers."""
        from docker.errors import DockerException

        try:  # testcontainers >= 4.9 moved the module and deprecated the old path
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer

        reason = docker_unavailable_reason()
        if reason is not None:
            raise DockerUnavailable(
                f"no Docker engine is reachable ({reason}); use --pg-provider local to run on "
                f"local PostgreSQL binaries"
            )
        try:
            container = PostgresContainer(
                self.image, username=SUPERUSER, password=self.password, dbname="postgres"
            )
        except DockerException as exc:
            raise DockerUnavailable(f"Docker refused the container: {exc}") from None
        container.start()
        self._container = container
        self.url = DatabaseUrl(
            dbname="postgres",
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
            user=SUPERUSER,
            password=self.password,
        )
        return self

    def stop(self) -> None:
        """Stop and remove the container."""
        container, self._container = self._container, None
        if container is not None:
            container.stop()  # type: ignore[attr-defined]

    def __enter__(self) -> ContainerCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def docker_unavailable_reason(environ: dict[str, str] | None = None) -> str | None:
    """None when the Docker engine's socket accepts a connection, else why not."""
    # Probe the socket ourselves: docker-py leaks its socket when the engine is absent.
    host = (environ if environ is not None else os.environ).get(
        "DOCKER_HOST", "unix:///var/run/docker.sock"
    )
    family, address = _docker_address(host)
    if family is None:
        return f"unsupported DOCKER_HOST {host!r}"
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        try:
            sock.connect(address)
        except OSError as exc:
            return f"{host}: {exc.strerror or exc}"
    return None


def _docker_address(host: str) -> tuple[socket.AddressFamily | None, str | tuple[str, int]]:
    if host.startswith("unix://"):
        return socket.AF_UNIX, host[len("unix://") :]
    if host.startswith("tcp://"):
        hostname, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
        if port.isdigit():
            return socket.AF_INET, (hostname, int(port))
    return None, host


def docker_available() -> bool:
    """True when a Docker engine answers a ping."""
    return docker_unavailable_reason() is None
