"""What this process is: its instance, code version, expected schema and configuration.

/health reports these from the running service, so a release check proves which build and which
settings are live instead of trusting the caller's environment. The instance is created once,
in create_app(): gunicorn preloads the app in its master, so every worker reports the same id,
and every start of the service gets a new one.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

_KEY = "exambank.about"
# Migration files are NNNN_name.sql (releaseops' naming rule); the version is the number.
_MIGRATION_FILE = re.compile(r"^(?P<version>\d{4,})_[A-Za-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Instance:
    """One start of the service: a random id, when it started, the process that built the app."""

    id: str
    started_at: str
    pid: int


@dataclass(frozen=True)
class About:
    """Facts fixed when the app was built."""

    instance: Instance
    schema_head: str | None


def schema_head(directory: Path) -> str | None:
    """The newest migration version in `directory` (e.g. "0004"); None when there is none."""
    try:
        names = [p.name for p in directory.iterdir() if p.is_file()]
    except OSError:
        return None
    versions = [m.group("version") for m in map(_MIGRATION_FILE.match, names) if m]
    return max(versions, key=lambda v: (int(v), v), default=None)


def init_app(app: Flask) -> None:
    """Give this start of the service its identity and remember the schema it expects."""
    instance = Instance(
        id=uuid.uuid4().hex,
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        pid=os.getpid(),
    )
    app.extensions[_KEY] = About(instance, schema_head(Path(app.config["MIGRATIONS_DIR"])))


def report(app: Flask) -> dict[str, Any]:
    """The `instance`, `version` and `config` members of /health (never a secret's value)."""
    about: About = app.extensions[_KEY]
    return {
        "instance": asdict(about.instance),
        "version": {"code": app.config["SERVICE_VERSION"], "schema_head": about.schema_head},
        "config": config_summary(app.config),
    }


def config_summary(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a release check must see: which config, whether secrets are set, the guard."""
    return {
        "FLASK_CONFIG": str(config["FLASK_CONFIG"]),
        "secrets_configured": {
            "SECRET_KEY": bool(config.get("SECRET_KEY")),
            "API_TOKENS": bool(config.get("API_TOKENS")),
        },
        "CHECK_PENDING_MIGRATIONS": bool(config["CHECK_PENDING_MIGRATIONS"]),
        "FAIL_ON_PENDING_MIGRATIONS": bool(config["FAIL_ON_PENDING_MIGRATIONS"]),
    }
