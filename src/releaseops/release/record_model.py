"""The release record as data: its fields, placeholder values, waivers, rollout and rollback."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from releaseops.migrations.rehearse_gate import (
    DEFAULT_LOCK_BUDGET_MS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    RehearsalVerdict,
    gate,
)
from releaseops.migrations.rehearse_report import RehearsalReport

ENVIRONMENTS = ("development", "staging", "production")
OWNER_FIELDS = ("release_owner", "rollback_owner", "incident_channel")
PLACEHOLDERS = {"", "TBD", "TBA", "TODO", "FIXME", "XXX", "?", "??", "???", "-", "N/A", "#"}
EXAMPLE = "fixtures/release_record.example.toml"

# The schema: every key a record may hold and its TOML type; load() accepts exactly these.
TOP_FIELDS = {
    "release_id": str,
    "release_owner": str,
    "rollback_owner": str,
    "incident_channel": str,
    "environment": str,
    "staging_verified_at": datetime,
}
TABLES = ("rollout", "rollback", "waiver", "slo", "migration")
ROLLOUT_FIELDS = {"db_read_only": bool, "ai_auto_apply": bool, "retrieval_mode": str}
ROLLBACK_FIELDS = {
    "trigger": str,
    "incident_at": datetime,
    "status": str,
    "backup_file": str,
    "backup_sha256": str,
}
WAIVER_FIELDS = {"check": str, "justification": str, "approved_by": str, "expires": datetime}
# [slo]: field -> (type, lowest, highest, whether the bounds themselves are allowed).
SLO_FIELDS: dict[str, tuple[type, float, float, bool]] = {
    "error_rate_budget": (float, 0.0, 1.0, False),
    "latency_budget_ms": (float, 0.0, float("inf"), True),
    "latency_budget_ratio": (float, 0.0, float("inf"), True),
    "min_requests": (int, 1, float("inf"), True),
    "confidence": (float, 0.5, 1.0, False),
    "min_effect": (float, 0.5, 1.0, True),
    "baseline_minutes": (float, 0.0, float("inf"), False),
    "traffic_requests": (int, 0, float("inf"), True),
    "traffic_seconds": (float, 0.0, float("inf"), True),
}
# [migration]: the rehearsal gate's thresholds, same shape as SLO_FIELDS.
MIGRATION_FIELDS: dict[str, tuple[type, float, float, bool]] = {
    "max_rows": (int, 0, float("inf"), True),
    "max_bytes": (int, 0, float("inf"), True),
    "lock_budget_ms": (float, 0.0, float("inf"), True),
}
_ROLLOUT_ENV = {"db_read_only": "DB_READ_ONLY", "ai_auto_apply": "AI_AUTO_APPLY"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def is_placeholder(value: str | None) -> bool:
    """True for an empty or template value: "", "TBD", "TODO", "?", "<release owner>", ..."""
    text = (value or "").strip()
    if text.upper() in PLACEHOLDERS:
        return True
    return bool(re.fullmatch(r"<[^<>@]*>", text)) or text in ("...", "…")


@dataclass(frozen=True)
class Waiver:
    """An approved exception for one check, void after `expires`."""

    check: str
    justification: str
    approved_by: str
    expires: datetime

    def is_active(self, now: datetime) -> bool:
        """True until `expires`; `now` must carry a timezone."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware, e.g. datetime.now(timezone.utc)")
        return now < self.expires


@dataclass(frozen=True)
class Rollout:
    """The rollout plan's expected flag values."""

    db_read_only: bool
    ai_auto_apply: bool
    retrieval_mode: str

    def as_env(self) -> dict[str, str]:
        """The flags as the service's environment variables ("1"/"0", mode as is)."""
        env = {name: "1" if getattr(self, key) else "0" for key, name in _ROLLOUT_ENV.items()}
        return {**env, "RETRIEVAL_MODE": self.retrieval_mode}

    def mismatches(self, env: Mapping[str, str | None]) -> list[str]:
        """Each flag in `env` that differs from the plan (or is missing), in plain words."""
        problems = []
        for key, name in _ROLLOUT_ENV.items():
            expected, raw = getattr(self, key), env.get(name)
            actual = _env_bool(raw)
            if actual is None or actual != expected:
                shown = "unset" if raw is None else repr(raw)
                problems.append(f"{name} is {shown}, the rollout plan says {int(expected)}")
        mode = env.get("RETRIEVAL_MODE")
        if (mode or "").strip().lower() != self.retrieval_mode.lower():
            shown = "unset" if mode is None else repr(mode)
            problems.append(
                f"RETRIEVAL_MODE is {shown}, the rollout plan says {self.retrieval_mode!r}"
            )
        return problems


def _env_bool(raw: str | None) -> bool | None:
    """An environment flag as a boolean, or None when unset or not a recognised value."""
    if raw is None:
        return None
    text = raw.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


@dataclass(frozen=True)
class Rollback:
    """What happened in a rollback; filled in while it happens."""

    trigger: str | None = None
    incident_at: datetime | None = None
    status: str | None = None
    backup_file: str | None = None
    backup_sha256: str | None = None

    def missing(self) -> list[str]:
        """Names of the facts a completed rollback must record but this one lacks."""
        needed = ("trigger", "incident_at", "status", "backup_file")
        return [
            f"rollback.{name}"
            for name in needed
            if getattr(self, name) is None
            or (isinstance(getattr(self, name), str) and is_placeholder(getattr(self, name)))
        ]


@dataclass(frozen=True)
class Slo:
    """The SLO gate's budgets and minimum counts (the optional [slo] table; docs/slo.md)."""

    error_rate_budget: float = 0.01
    latency_budget_ms: float = 50.0
    latency_budget_ratio: float = 0.5
    min_requests: int = 50
    confidence: float = 0.99
    min_effect: float = 0.64
    baseline_minutes: float = 60.0
    traffic_requests: int = 800
    traffic_seconds: float = 60.0

    def as_dict(self) -> dict[str, float | int]:
        """Every setting, defaults included."""
        return {name: getattr(self, name) for name in SLO_FIELDS}


@dataclass(frozen=True)
class MigrationBudget:
    """The migration rehearsal's gate (the optional [migration] table; docs/migrations.md).

    A statement fails when it rewrites a table over `max_rows` rows or `max_bytes` bytes, or
    holds a SHARE-class or ACCESS EXCLUSIVE lock on such a table for over `lock_budget_ms`.
    """

    max_rows: int = DEFAULT_MAX_ROWS
    max_bytes: int = DEFAULT_MAX_BYTES
    lock_budget_ms: float = DEFAULT_LOCK_BUDGET_MS

    def as_dict(self) -> dict[str, float | int]:
        """Every setting, defaults included."""
        return {name: getattr(self, name) for name in MIGRATION_FIELDS}

    def gate(self, report: RehearsalReport) -> RehearsalVerdict:
        """The rehearsal gate's verdict on `report` with these thresholds."""
        return gate(
            report,
            max_rows=self.max_rows,
            max_bytes=self.max_bytes,
            lock_budget_ms=self.lock_budget_ms,
        )


@dataclass(frozen=True)
class ReleaseRecord:
    """A loaded, validated release record."""

    path: Path
    release_id: str
    release_owner: str
    rollback_owner: str
    incident_channel: str
    environment: str
    staging_verified_at: datetime | None
    rollout: Rollout | None
    rollback: Rollback | None
    waivers: list[Waiver]
    slo: Slo | None = None
    migration: MigrationBudget | None = None

    @property
    def slo_budget(self) -> Slo:
        """The [slo] table, or its defaults when the record has none."""
        return self.slo if self.slo is not None else Slo()

    @property
    def migration_budget(self) -> MigrationBudget:
        """The [migration] table, or its defaults when the record has none."""
        return self.migration if self.migration is not None else MigrationBudget()

    def missing_owners(self) -> list[str]:
        """Names of the owner/channel fields that are empty or placeholders ("TBD", "<...>")."""
        return [name for name in OWNER_FIELDS if is_placeholder(getattr(self, name))]

    def staging_problem(self, now: datetime) -> str | None:
        """Why section 7 (staging first) is not satisfied for production, or None when it is."""
        if self.environment != "production":
            return None
        if self.staging_verified_at is None:
            return (
                f"{self.path}: staging_verified_at is not recorded; a production release must be "
                f"applied and verified in staging first (checklist section 7)"
            )
        if self.staging_verified_at > now:
            return f"{self.path}: staging_verified_at {self.staging_verified_at} is in the future"
        return None

    def as_toml_dict(self) -> dict[str, Any]:
        """The record as `write()` takes it (datetimes kept, unset fields left out)."""
        data: dict[str, Any] = {
            name: getattr(self, name) for name in TOP_FIELDS if getattr(self, name) is not None
        }
        if self.rollout is not None:
            data["rollout"] = {key: getattr(self.rollout, key) for key in ROLLOUT_FIELDS}
        if self.rollback is not None:
            data["rollback"] = {
                key: getattr(self.rollback, key)
                for key in ROLLBACK_FIELDS
                if getattr(self.rollback, key) is not None
            }
        if self.waivers:
            data["waiver"] = [{key: getattr(w, key) for key in WAIVER_FIELDS} for w in self.waivers]
        if self.slo is not None:
            data["slo"] = self.slo.as_dict()
        if self.migration is not None:
            data["migration"] = self.migration.as_dict()
        return data

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (ISO timestamps), for the evidence."""
        toml = _jsonable(self.as_toml_dict())
        data: dict[str, Any] = {"path": str(self.path)}
        data.update({name: toml.get(name) for name in (*TOP_FIELDS, "rollout", "rollback")})
        data["waivers"] = toml.get("waiver", [])
        data["slo"] = self.slo_budget.as_dict()
        data["migration"] = self.migration_budget.as_dict()
        return data


def _jsonable(value: Any) -> Any:
    """`value` with every date, time and datetime inside it turned into ISO text."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value.isoformat() if isinstance(value, date | time) else value


def active_waivers(record: ReleaseRecord, now: datetime) -> dict[str, Waiver]:
    """Check id -> the waiver in force at `now`; expired waivers are void and left out."""
    active: dict[str, Waiver] = {}
    for waiver in record.waivers:
        if waiver.is_active(now):
            held = active.get(waiver.check)
            if held is None or waiver.expires > held.expires:
                active[waiver.check] = waiver
    return active
