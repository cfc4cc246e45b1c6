"""Where the checks point: resolved once per session into a frozen Target."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from releaseops import dburl
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ConfigurationError
from releaseops.fts import FtsSpec
from releaseops.fts import spec as fts_spec
from releaseops.release import project

Kind = Literal["embedded", "env"]
TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
# The service's own configuration (what it is started with).
SERVICE_KEYS = (
    "DATABASE_URL",
    "FLASK_CONFIG",
    "SECRET_KEY",
    "API_TOKENS",
    "CHECK_PENDING_MIGRATIONS",
    "FAIL_ON_PENDING_MIGRATIONS",
    "DB_READ_ONLY",
    "AI_AUTO_APPLY",
    "RETRIEVAL_MODE",
)
# Variables of the deployment environment the checks read (DESIGN.md, configuration contract).
ENV_KEYS = (
    *SERVICE_KEYS,
    "API_BASE_URL",
    "API_TOKEN",
    "API_LOG_SOURCE",
    "BACKUP_DIR",
    "RELEASE_RECORD",
    "DRILL_DATABASE_URL",
    "DRILL_DB_NAME",
    "POSTGRES_ADMIN_URL",
    "MIGRATIONS_DIR",
    "RESTART_COMMAND",
    "PATH",
    "PG_BINDIR",
    "RELEASEOPS_PG_ROOT",
    "FTS_SPEC",
    "RETRIEVAL_QUERIES",
)
SECRET_KEYS = ("SECRET_KEY", "API_TOKENS", "API_TOKEN")
# option name -> environment variable; precedence: option, environment, ini, default.
OPTION_ENV = {
    "database_url": "DATABASE_URL",
    "api_base_url": "API_BASE_URL",
    "api_log_source": "API_LOG_SOURCE",
    "backup_dir": "BACKUP_DIR",
    "release_record": "RELEASE_RECORD",
    "drill_database_url": "DRILL_DATABASE_URL",
    "postgres_admin_url": "POSTGRES_ADMIN_URL",
    "migrations_dir": "MIGRATIONS_DIR",
    "fts_spec": "FTS_SPEC",
    "retrieval_queries": "RETRIEVAL_QUERIES",
}


def parse_flag(value: str | None, name: str) -> bool | None:
    """'1'/'0' style flag to bool; None when unset; ConfigurationError for anything else."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a flag: use 1 or 0")


def parse_flag_lenient(value: str | None) -> bool:
    """True for a set, truthy flag ("1", "true", "yes", "on"); False for anything else."""
    return (value or "").strip().lower() in TRUE_VALUES


@dataclass(frozen=True)
class Target:
    """Where the checks point. Resolved once per session; never mutated."""

    kind: Kind
    repo_root: Path
    environ: Mapping[str, str] = field(repr=False)
    options: Mapping[str, Any] = field(repr=False)
    execute: bool = False
    confirm_db: str | None = None
    allow_cross_server: bool = False
    probe_timeout: float = 60.0

    def value(self, option: str) -> str | None:
        """An option's value: --option, then its environment variable."""
        given = self.options.get(option)
        if given:
            return str(given)
        env = OPTION_ENV.get(option)
        return self.environ.get(env) or None if env else None

    @property
    def database_url(self) -> DatabaseUrl:
        """The target database; ConfigurationError when none is configured."""
        raw = self.value("database_url")
        if not raw:
            raise ConfigurationError(
                "no target database: set DATABASE_URL or pass --database-url "
                "(or run with --target embedded)"
            )
        return dburl.parse(raw)

    @property
    def admin_url(self) -> DatabaseUrl:
        """POSTGRES_ADMIN_URL, or the target's server with database 'postgres'."""
        raw = self.value("postgres_admin_url")
        return dburl.parse(raw) if raw else self.database_url.with_dbname("postgres")

    @property
    def drill_url(self) -> DatabaseUrl:
        """DRILL_DATABASE_URL, or a sibling named DRILL_DB_NAME (default <db>_restore_drill)."""
        raw = self.value("drill_database_url")
        if raw:
            return dburl.parse(raw)
        source = self.database_url
        return source.with_dbname(
            self.environ.get("DRILL_DB_NAME") or f"{source.dbname}_restore_drill"
        )

    @property
    def api_base_url(self) -> str | None:
        """The service's base URL, without a trailing slash."""
        raw = self.value("api_base_url")
        return raw.rstrip("/") if raw else None

    @property
    def api_token(self) -> str | None:
        """Bearer token for /api/manage: API_TOKEN, else the first of API_TOKENS."""
        token = self.environ.get("API_TOKEN")
        if token:
            return token
        tokens = [t.strip() for t in self.environ.get("API_TOKENS", "").split(",") if t.strip()]
        return tokens[0] if tokens else None

    @property
    def api_log_source(self) -> str | None:
        """Where the service's JSON log is read from (file:PATH or cmd:COMMAND)."""
        return self.value("api_log_source")

    @property
    def backup_dir(self) -> Path:
        """BACKUP_DIR, default backups/ under the repository root."""
        return self._path(self.value("backup_dir") or "backups")

    @property
    def release_record(self) -> Path | None:
        """Path of the release record (TOML), if configured."""
        raw = self.value("release_record")
        return self._path(raw) if raw else None

    @property
    def migrations_dir(self) -> Path:
        """MIGRATIONS_DIR, default migrations/postgres under the repository root."""
        return self._path(self.value("migrations_dir") or "migrations/postgres")

    @property
    def retrieval_queries(self) -> Path:
        """RETRIEVAL_QUERIES: known queries with expected candidates (default fixtures/queries)."""
        return self._path(self.value("retrieval_queries") or "fixtures/queries.toml")

    @property
    def fts_spec(self) -> FtsSpec:
        """The service's FTS declaration: --fts-spec, FTS_SPEC, else [tool.releaseops] fts_spec."""
        ref = self.value("fts_spec") or project.setting(self.repo_root, "fts_spec")
        return fts_spec.load(ref)

    def _path(self, raw: str) -> Path:
        path = Path(raw)
        return path if path.is_absolute() else self.repo_root / path

    def flag(self, name: str) -> bool | None:
        """A deployment flag from the environment (DB_READ_ONLY, AI_AUTO_APPLY, ...)."""
        return parse_flag(self.environ.get(name), name)

    def secrets(self) -> list[str]:
        """Every secret value known to this target, for redaction."""
        values = [self.environ.get(k, "") for k in SECRET_KEYS]
        values += [t.strip() for t in self.environ.get("API_TOKENS", "").split(",")]
        for key in ("DATABASE_URL", "DRILL_DATABASE_URL", "POSTGRES_ADMIN_URL"):
            raw = self.environ.get(key) or self.options.get(OPTION_KEY.get(key, ""))
            if raw:
                try:
                    password = dburl.parse(str(raw)).password
                except ConfigurationError:
                    continue
                except ValueError:
                    continue
                values.append(password or "")
        return [v for v in values if v]

    def child_environ(self, **overrides: str) -> dict[str, str]:
        """Environment for scripts run by checks: this process's, plus the target's."""
        env = dict(os.environ)
        env.update(self.environ)
        if self.value("database_url"):
            env["DATABASE_URL"] = str(self.value("database_url"))
        env.update(overrides)
        return env

    def describe(self) -> dict[str, Any]:
        """What the checks point at, secrets masked; for evidence."""
        facts: dict[str, Any] = {"kind": self.kind, "execute": self.execute}
        for option in OPTION_ENV:
            raw = self.value(option)
            facts[option] = dburl.mask(raw) if raw else None
        return facts


OPTION_KEY = {env: option for option, env in OPTION_ENV.items()}


def resolve(
    options: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    *,
    repo_root: Path,
    kind: Kind | None = None,
) -> Target:
    """Apply the precedence once: options, then environment; embedded when no database is set."""
    environ = dict(os.environ if environ is None else environ)
    if kind is None:
        kind = options.get("target") or (
            "env" if options.get("database_url") or environ.get("DATABASE_URL") else "embedded"
        )
    snapshot = {k: environ[k] for k in ENV_KEYS if k in environ}
    return Target(
        kind=kind,  # type: ignore[arg-type]
        repo_root=repo_root,
        environ=MappingProxyType(snapshot),
        options=MappingProxyType({k: v for k, v in options.items() if v not in (None, "")}),
        execute=bool(options.get("execute")),
        allow_cross_server=bool(options.get("allow_cross_server")),
        confirm_db=options.get("confirm_db") or None,
        probe_timeout=float(options.get("probe_timeout") or 60.0),
    )
