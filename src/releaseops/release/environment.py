"""The target environment as the running service reports it, against the release record.

The checklist asks to "confirm" the environment, its migration guard and its write-safety
flags. A variable in the checker's own environment proves nothing about the service, so every
comparison here takes the service's own /health: which database its session uses, which
FLASK_CONFIG and secrets it runs with, which flags are live. What the service does not report
is listed as *unreported*, and the check ends not verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from releaseops.pg.identity import ServerIdentity
from releaseops.release.record import ReleaseRecord
from releaseops.service import freeze
from releaseops.service.resource import Health

# Secrets the service needs outside development (DESIGN.md, configuration contract).
REQUIRED_SECRETS = ("SECRET_KEY", "API_TOKENS")
GUARD_FLAGS = ("CHECK_PENDING_MIGRATIONS", "FAIL_ON_PENDING_MIGRATIONS")
STRICT_ENVIRONMENTS = ("staging", "production")


@dataclass
class EnvironmentReport:
    """What the service reported, what is wrong with it, and what it did not report."""

    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)

    @property
    def is_proven(self) -> bool:
        """True when everything was reported and nothing is wrong."""
        return not (self.problems or self.unreported)

    def explain(self) -> str:
        """The problems, one per clause."""
        return "; ".join(self.problems)

    def not_verified(self) -> str:
        """Why the item cannot be decided (what the service did not report)."""
        return "not verified: /health does not report " + ", ".join(self.unreported)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {"facts": self.facts, "problems": self.problems, "unreported": self.unreported}


def loaded(health: Health, server: ServerIdentity, record: ReleaseRecord) -> EnvironmentReport:
    """DATABASE_URL, FLASK_CONFIG and secrets, as the running service really has them."""
    report = EnvironmentReport()
    _database(report, health, server)
    config = health.flask_config
    report.facts["FLASK_CONFIG"] = config
    if config is None:
        report.unreported.append("config.FLASK_CONFIG")
    elif config != record.environment:
        report.problems.append(
            f"the service runs with FLASK_CONFIG={config}, but {record.path} releases to "
            f"{record.environment}: start it with FLASK_CONFIG={record.environment}"
        )
    _secrets(report, health, record.environment)
    return report


def _database(report: EnvironmentReport, health: Health, server: ServerIdentity) -> None:
    report.facts["database (gate)"] = {"url": server.url, "identity": server.token}
    report.facts["database (service)"] = health.database_identity
    if health.database_identity is None or server.token is None:
        report.unreported.append("database.identity")
    elif health.database_identity != server.token:
        report.problems.append(
            f"the service's database session is not {server.url} (server "
            f"{server.system_identifier}, database {server.dbname}): its DATABASE_URL points "
            f"elsewhere, or the gate's does"
        )


def _secrets(report: EnvironmentReport, health: Health, environment: str) -> None:
    configured = health.secrets_configured
    report.facts["secrets configured"] = configured
    if configured is None:
        report.unreported.append("config.secrets_configured")
        return
    if environment == "development":
        return
    for name in REQUIRED_SECRETS:
        if configured.get(name) is not True:
            report.problems.append(f"the service runs without {name} (required for {environment})")


def migration_guard(health: Health, record: ReleaseRecord) -> EnvironmentReport:
    """CHECK_PENDING_MIGRATIONS on; FAIL_ON_PENDING_MIGRATIONS on for staging and production."""
    report = EnvironmentReport()
    for name in GUARD_FLAGS:
        value = health.setting(name)
        report.facts[name] = value
        required = name == "CHECK_PENDING_MIGRATIONS" or record.environment in STRICT_ENVIRONMENTS
        if value is None:
            report.unreported.append(f"config.{name}")
        elif required and value is not True:
            where = "" if name.startswith("CHECK") else f" for a {record.environment} release"
            report.problems.append(f"the service runs with {name}=0; it must be 1{where}")
    return report


def write_flags(health: Health, record: ReleaseRecord) -> EnvironmentReport:
    """The live write-safety flags against the rollout plan of the release record."""
    report = EnvironmentReport()
    flags = health.flags
    report.facts["flags (service)"] = flags
    if record.rollout is None:
        report.problems.append(
            f"{record.path} has no [rollout] table: record the planned DB_READ_ONLY, "
            f"AI_AUTO_APPLY and RETRIEVAL_MODE"
        )
        return report
    report.facts["plan"] = record.rollout.as_env()
    if flags is None:
        report.unreported.append("flags")
        return report
    report.problems += [
        problem.replace(" is ", " is live as ", 1)
        for problem in record.rollout.mismatches(as_environment(flags))
    ]
    return report


def as_environment(flags: Mapping[str, Any]) -> dict[str, str | None]:
    """Reported flag values in the variables' own spelling ("1"/"0", the mode as is)."""
    return dict(freeze.env_values(flags))
