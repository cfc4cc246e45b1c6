"""The deployed service as a resource the checks ask (pytest-testinfra's `host.service(...)`).

Everything here is read from the running service: its /health (instance, code version,
configuration, flags, database identity, migration state) and its API description
(/openapi.json: the write routes, each with a request that is harmless if accepted). A value
the service does not report is `None`, and a check that needs it ends *not verified*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from releaseops.service.http import body_excerpt, expect_json, expect_status

WRITE_METHODS = ("post", "put", "patch", "delete")
READ_ONLY_CODE = "READ_ONLY"


@dataclass(frozen=True)
class Health:
    """One answer of GET /health, with typed access to what the checks compare."""

    status_code: int
    body: Mapping[str, Any]

    def _member(self, *path: str) -> Any:
        value: Any = self.body
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return None
            value = value[key]
        return value

    def _text(self, *path: str) -> str | None:
        value = self._member(*path)
        return None if value is None else str(value)

    @property
    def instance_id(self) -> str | None:
        """The id of this start of the service (changes on every restart)."""
        return self._text("instance", "id")

    @property
    def started_at(self) -> str | None:
        """When this instance started (ISO 8601, UTC)."""
        return self._text("instance", "started_at")

    @property
    def code_version(self) -> str | None:
        """The code version the service says it runs."""
        return self._text("version", "code")

    @property
    def schema_head(self) -> str | None:
        """The newest migration the running code expects."""
        return self._text("version", "schema_head")

    @property
    def flask_config(self) -> str | None:
        """FLASK_CONFIG of the running service."""
        return self._text("config", "FLASK_CONFIG")

    def setting(self, name: str) -> Any:
        """A configuration value the service reports (`config.<name>`), else None."""
        return self._member("config", name)

    def flag(self, name: str) -> Any:
        """An operational flag the service reports (`flags.<name>`), else None."""
        return self._member("flags", name)

    @property
    def flags(self) -> dict[str, Any] | None:
        """All operational flags, or None when /health reports none."""
        value = self._member("flags")
        return dict(value) if isinstance(value, Mapping) else None

    @property
    def secrets_configured(self) -> dict[str, bool] | None:
        """Which secrets the service has (never their values)."""
        value = self._member("config", "secrets_configured")
        return dict(value) if isinstance(value, Mapping) else None

    @property
    def database_identity(self) -> str | None:
        """The identity token of the database the service's session uses."""
        return self._text("database", "identity")

    @property
    def session_write_probe(self) -> str | None:
        """What a harmless write through the service's own database session did."""
        return self._text("database", "write_probe")

    @property
    def migrations(self) -> dict[str, Any] | None:
        """The migration state the service reports; None when /health has no such member."""
        value = self._member("migrations")
        return dict(value) if isinstance(value, Mapping) else None


@dataclass(frozen=True)
class WriteOperation:
    """One write route of the API description, with its harmless probe."""

    method: str
    path: str
    probe: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """`POST /api/manage/questions`."""
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class WriteProbe:
    """What a write route answered to its harmless probe."""

    operation: str
    status_code: int
    error_code: str | None
    body: str

    @property
    def refused(self) -> bool:
        """True when the service refused the write as read-only (503 READ_ONLY)."""
        return self.status_code == 503 and self.error_code == READ_ONLY_CODE

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "operation": self.operation,
            "status": self.status_code,
            "error_code": self.error_code,
            "refused": self.refused,
            "body": self.body,
        }


class Service:
    """The service at `base_url`, asked through `session` (which carries the bearer token)."""

    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    def health(self) -> Health:
        """GET /health, whatever its status (a 503 still says what the process is)."""
        response = self.session.get(f"{self.base_url}/health")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return Health(response.status_code, body if isinstance(body, Mapping) else {})

    def api_description(self) -> dict[str, Any]:
        """GET /openapi.json (the routes as the application's URL map builds them)."""
        return expect_json(expect_status(self.session.get(f"{self.base_url}/openapi.json"), 200))

    def write_operations(self) -> list[WriteOperation]:
        """Every write operation of the API description (POST, PUT, PATCH, DELETE)."""
        return write_operations(self.api_description())

    def probe_write(self, operation: WriteOperation) -> WriteProbe:
        """Send the operation's harmless probe; never a request that could change data."""
        probe = dict(operation.probe)
        path = str(probe.pop("path", operation.path))
        response = self.session.request(operation.method.upper(), f"{self.base_url}{path}", **probe)
        try:
            code = response.json().get("error_code")
        except (ValueError, AttributeError):
            code = None
        return WriteProbe(operation.name, response.status_code, code, body_excerpt(response))


def write_operations(description: Mapping[str, Any]) -> list[WriteOperation]:
    """The write operations of an OpenAPI document; each needs an `x-harmless-probe`.

    An operation without a probe gets a conservative one: its path with every parameter set
    to 0 and an empty JSON body, which a working write route rejects before writing.
    """
    found = []
    for path, item in sorted((description.get("paths") or {}).items()):
        for method in WRITE_METHODS:
            operation = item.get(method) if isinstance(item, Mapping) else None
            if not isinstance(operation, Mapping):
                continue
            probe = operation.get("x-harmless-probe") or {"path": _zeroed(path), "json": {}}
            found.append(WriteOperation(method, path, dict(probe)))
    return found


def _zeroed(path: str) -> str:
    """`/items/{id}` -> `/items/0`: an id no row has."""
    parts = []
    for part in path.split("/"):
        parts.append("0" if part.startswith("{") and part.endswith("}") else part)
    return "/".join(parts)
