"""Service configuration: environment variables resolved once into Flask config keys."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from releaseops import dburl
from releaseops.errors import ConfigurationError, ReleaseOpsError

CONFIGS = ("development", "staging", "production")
RETRIEVAL_MODES = ("bm25", "hybrid")
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations" / "postgres"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_DATABASE_URL = "postgresql://localhost/exambank"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# Per FLASK_CONFIG defaults; every key can still be set through its environment variable.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "development": {"CHECK_PENDING_MIGRATIONS": True, "FAIL_ON_PENDING_MIGRATIONS": False},
    "staging": {"CHECK_PENDING_MIGRATIONS": True, "FAIL_ON_PENDING_MIGRATIONS": True},
    "production": {"CHECK_PENDING_MIGRATIONS": True, "FAIL_ON_PENDING_MIGRATIONS": True},
}


def flag(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off; anything else is an error."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean; use 1 or 0")


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, got {value}")
    return value


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _tokens(environ: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(t.strip() for t in environ.get("API_TOKENS", "").split(",") if t.strip())


def _database_url(environ: Mapping[str, str]) -> dburl.DatabaseUrl:
    try:
        return dburl.parse(environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    except ReleaseOpsError as exc:
        raise ConfigurationError(f"DATABASE_URL: {exc}") from None


# The distribution this repository installs, which ships `exambank`.
DISTRIBUTION = "releaseops"


@functools.cache
def package_version() -> str:
    """The installed version of the distribution that ships `exambank`, or "unknown".

    Our own distribution is asked first: a scan of every installed distribution
    (`packages_distributions`) costs a quarter of a second of every service start.
    """
    if _ships_exambank(DISTRIBUTION):
        return metadata.version(DISTRIBUTION)
    for name in metadata.packages_distributions().get("exambank", []):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _ships_exambank(name: str) -> bool:
    try:
        top_level = metadata.distribution(name).read_text("top_level.txt") or ""
    except metadata.PackageNotFoundError:
        return False
    return "exambank" in top_level.split()


def service_version(environ: Mapping[str, str]) -> str:
    """SERVICE_VERSION (the deployed build, e.g. a tag or commit) or the package version."""
    return (environ.get("SERVICE_VERSION") or "").strip() or package_version()


def load(environ: Mapping[str, str]) -> dict[str, Any]:
    """Resolve the environment into config keys; production refuses missing secrets."""
    name = _choice(environ, "FLASK_CONFIG", CONFIGS, "development")
    defaults = _DEFAULTS[name]
    tokens = _tokens(environ)
    secret = environ.get("SECRET_KEY", "")
    if name == "production" and not (secret and tokens):
        missing = [n for n, v in (("SECRET_KEY", secret), ("API_TOKENS", tokens)) if not v]
        raise ConfigurationError(
            f"FLASK_CONFIG=production requires {' and '.join(missing)}; set them in the "
            f"environment (API_TOKENS is a comma-separated list of bearer tokens)"
        )
    max_upload = _positive_int(environ, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)
    return {
        "FLASK_CONFIG": name,
        "SERVICE_VERSION": service_version(environ),
        "SECRET_KEY": secret or None,
        "DATABASE_URL": _database_url(environ),
        "API_TOKENS": tokens,
        "DB_READ_ONLY": flag(environ, "DB_READ_ONLY", default=False),
        "AI_AUTO_APPLY": flag(environ, "AI_AUTO_APPLY", default=True),
        "RETRIEVAL_MODE": _choice(environ, "RETRIEVAL_MODE", RETRIEVAL_MODES, "bm25"),
        "CHECK_PENDING_MIGRATIONS": flag(
            environ, "CHECK_PENDING_MIGRATIONS", default=defaults["CHECK_PENDING_MIGRATIONS"]
        ),
        "FAIL_ON_PENDING_MIGRATIONS": flag(
            environ, "FAIL_ON_PENDING_MIGRATIONS", default=defaults["FAIL_ON_PENDING_MIGRATIONS"]
        ),
        "MIGRATIONS_DIR": Path(environ.get("MIGRATIONS_DIR") or DEFAULT_MIGRATIONS_DIR),
        "MAX_UPLOAD_BYTES": max_upload,
        # Werkzeug answers 413 itself once a body exceeds this; a little room for multipart framing.
        "MAX_CONTENT_LENGTH": max_upload + 64 * 1024,
        "DB_POOL_MAX": _positive_int(environ, "DB_POOL_MAX", 5),
        "DB_TIMEOUT": float(_positive_int(environ, "DB_TIMEOUT", 5)),
        "LOG_LEVEL": _choice(
            environ, "LOG_LEVEL", ("debug", "info", "warning", "error"), "info"
        ).upper(),
    }


def flags(config: Mapping[str, Any]) -> dict[str, Any]:
    """The operational flags as /health reports them."""
    return {
        "DB_READ_ONLY": bool(config["DB_READ_ONLY"]),
        "AI_AUTO_APPLY": bool(config["AI_AUTO_APPLY"]),
        "RETRIEVAL_MODE": str(config["RETRIEVAL_MODE"]),
    }
