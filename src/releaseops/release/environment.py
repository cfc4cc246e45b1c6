"""The target environment as the checklist asks to confirm it: URL, config, secrets, flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from releaseops import dburl
from releaseops.errors import ReleaseOpsError
from releaseops.release.target import Target, parse_flag

CONFIGS = ("development", "staging", "production")
FLAG_NAMES = (
    "CHECK_PENDING_MIGRATIONS",
    "FAIL_ON_PENDING_MIGRATIONS",
    "DB_READ_ONLY",
    "AI_AUTO_APPLY",
    "RETRIEVAL_MODE",
)
# Secrets the service needs outside development (DESIGN.md, configuration contract).
REQUIRED_SECRETS = ("SECRET_KEY", "API_TOKENS")


@dataclass
class EnvironmentReport:
    """What was found in the environment, secrets described but never shown."""

    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def is_loaded(self) -> bool:
        """True when nothing is missing or malformed."""
        return not self.problems

    def explain(self) -> str:
        """The problems, one per clause."""
        return "; ".join(self.problems)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {"facts": self.facts, "problems": self.problems}


def loaded(target: Target) -> EnvironmentReport:
    """Check DATABASE_URL (parses, connects), FLASK_CONFIG and the secrets."""
    report = EnvironmentReport()
    try:
        url = target.database_url
        report.facts["DATABASE_URL"] = url.masked()
        with url.connect() as conn:
            conn.execute("SELECT 1")
        report.facts["database reachable"] = True
    except ReleaseOpsError as exc:
        report.problems.append(f"DATABASE_URL: {dburl.mask(str(exc))}")
    config = target.environ.get("FLASK_CONFIG")
    report.facts["FLASK_CONFIG"] = config
    if config not in CONFIGS:
        shown = "unset" if config is None else repr(config)
        report.problems.append(f"FLASK_CONFIG is {shown}; expected one of {', '.join(CONFIGS)}")
    for name in REQUIRED_SECRETS:
        value = target.environ.get(name, "")
        report.facts[name] = f"set ({len(value)} characters)" if value else "unset"
        if not value.strip() and config != "development":
            needed = f"FLASK_CONFIG={config}" if config else "anything but development"
            report.problems.append(f"{name} is not set (required for {needed})")
    return report


def flags(target: Target) -> dict[str, str | None]:
    """The flag variables as set in the target environment."""
    return {name: target.environ.get(name) for name in FLAG_NAMES}


def migration_guard_problems(target: Target) -> list[str]:
    """CHECK_PENDING_MIGRATIONS must be 1; FAIL_ON_PENDING_MIGRATIONS too in production."""
    problems = []
    for name in ("CHECK_PENDING_MIGRATIONS", "FAIL_ON_PENDING_MIGRATIONS"):
        try:
            value = parse_flag(target.environ.get(name), name)
        except ReleaseOpsError as exc:
            problems.append(str(exc))
            continue
        required = name == "CHECK_PENDING_MIGRATIONS" or (
            target.environ.get("FLASK_CONFIG") == "production"
        )
        if required and value is not True:
            shown = "unset" if value is None else "0"
            problems.append(
                f"{name} is {shown}; it must be 1"
                + (" in production" if name.startswith("FAIL") else "")
            )
    return problems
