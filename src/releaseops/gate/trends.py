"""The figures a release is compared on across runs, read from a run's evidence.json.

- dump size: the pre-deploy backup the release recorded (`release facts` size), else the
  drill's backup;
- restore time: the drill's restore `duration_s`, else the rollback's;
- migration time: the deploy's `run_postgres_migrations.py` output ("done: applied N
  migration(s) in X ms"; "nothing to apply" is 0 ms);
- p95: all requests after the deploy (the SLO latency profile's overall p95).

A figure the run did not measure is None. Reading never fails: an older or partial evidence
shape gives None for what it lacks.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from releaseops.gate import slo_profile
from releaseops.gate.slo_views import PROFILE

PREVIOUS = 5
MIN_PREVIOUS = 3
_APPLIED = re.compile(r"done: applied \d+ migration\(s\) in (\d+(?:\.\d+)?) ms")
_NOTHING = re.compile(r"nothing to apply: ")


@dataclass(frozen=True)
class Metric:
    """A figure tracked across runs; higher is worse. A regression must beat both margins."""

    key: str
    label: str
    unit: str
    ratio: float
    floor: float

    def is_regression(self, value: float | None, previous: Sequence[float]) -> bool:
        """Worse than the median of the last PREVIOUS values by more than ratio and floor."""
        recent = list(previous)[-PREVIOUS:]
        if value is None or len(recent) < MIN_PREVIOUS:
            return False
        median = statistics.median(recent)
        return value > median * (1 + self.ratio) and value - median > self.floor


METRICS = (
    Metric("dump_bytes", "dump size", "bytes", ratio=0.10, floor=1024),
    Metric("restore_s", "restore time", "s", ratio=0.25, floor=0.5),
    Metric("migration_ms", "migration time", "ms", ratio=0.25, floor=250),
    Metric("p95_ms", "p95 after deploy", "ms", ratio=0.25, floor=10),
)


def _records(checks: Any, check_id: str) -> list[dict[str, Any]]:
    """The evidence records of one check (an empty list when the shape is unexpected)."""
    if not isinstance(checks, list):
        return []
    for check in checks:
        if isinstance(check, dict) and check.get("check_id") == check_id:
            evidence = check.get("evidence")
            return (
                [r for r in evidence if isinstance(r, dict)] if isinstance(evidence, list) else []
            )
    return []


def _json_field(checks: Any, check_id: str, title: str, key: str) -> float | None:
    for record in _records(checks, check_id):
        content = record.get("content")
        if record.get("title") == title and isinstance(content, dict):
            value = content.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def _first(values: Iterable[float | None]) -> float | None:
    return next((v for v in values if v is not None), None)


def migration_ms(checks: Any) -> float | None:
    """The deploy's migration time from the runner's last line; None when it did not run."""
    for record in _records(checks, "deploy.migrations_applied"):
        content = record.get("content")
        if record.get("kind") != "text" or not isinstance(content, str):
            continue
        found = _APPLIED.search(content)
        if found:
            return float(found.group(1))
        if _NOTHING.search(content):
            return 0.0
    return None


def p95_ms(checks: Any) -> float | None:
    """The overall p95 of the requests after the deploy (SLO latency profile)."""
    for check_id in ("postdeploy.latency_within_budget", "postdeploy.error_rate_within_budget"):
        for record in _records(checks, check_id):
            if record.get("title") == PROFILE:
                levels = slo_profile.levels_of(record.get("content"), "comparison", None)
                if levels and 95 in levels:
                    return levels[95]
    return None


def metrics(document: Mapping[str, Any]) -> dict[str, float | None]:
    """Every tracked figure of one run's evidence.json (None where not measured)."""
    checks = document.get("checks")
    return {
        "dump_bytes": _first(
            (
                _json_field(
                    checks,
                    "predeploy.backup_path_and_release_timestamp_recorded",
                    "release facts",
                    "size",
                ),
                _json_field(checks, "drill.backup_newest_artifact_listed", "backup", "size"),
            )
        ),
        "restore_s": _first(
            (
                _json_field(
                    checks, "drill.drill_database_recreated_and_restored", "restore", "duration_s"
                ),
                _json_field(checks, "rollback.database_restored", "restore", "duration_s"),
            )
        ),
        "migration_ms": migration_ms(checks),
        "p95_ms": p95_ms(checks),
    }
