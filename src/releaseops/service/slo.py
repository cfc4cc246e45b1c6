"""The SLO gate's windows, read from the service's request log in one streaming pass.

The gate records the baseline window before the deploy, and the comparison window after it.

The baseline is stored next to the release's backups, `<BACKUP_DIR>/releases/<release_id>.
slo-baseline.json`, because the pre-deploy and post-deploy runs are separate processes. The
comparison window starts when the new instance started (`/health` `instance.started_at`), and
never before the baseline's last line, so the two windows never share a request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from releaseops.backup.safefiles import write_below
from releaseops.dburl import mask
from releaseops.errors import SloBaselineInvalid
from releaseops.service import http, logcheck
from releaseops.service.slowindow import RouteSample, Window, parse_time

BASELINE_VERSION = 1


@dataclass(frozen=True)
class Budget:
    """How much worse the release may be, and how much traffic a verdict needs.

    The defaults are those of the release record's optional [slo] table (docs/slo.md).
    """

    error_rate_budget: float = 0.01
    latency_budget_ms: float = 50.0
    latency_budget_ratio: float = 0.5
    min_requests: int = 50
    confidence: float = 0.99
    min_effect: float = 0.64
    baseline_minutes: float = 60.0
    traffic_requests: int = 800
    traffic_seconds: float = 60.0

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Budget:
        """A Budget from the [slo] table's values (unknown keys are ignored here)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the evidence."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class WindowSummary:
    """A window as stored and compared: its bounds, what it saw and each route's sample."""

    start: datetime | None
    end: datetime | None
    first_seen: datetime | None
    last_seen: datetime | None
    untimed: int
    routes: dict[str, RouteSample]

    @classmethod
    def of(cls, window: Window) -> WindowSummary:
        """Freeze what a Window observed."""
        return cls(
            window.start,
            window.end,
            window.first_seen,
            window.last_seen,
            window.untimed,
            window.routes(),
        )

    @property
    def requests(self) -> int:
        """Request lines in the window."""
        return sum(r.requests for r in self.routes.values())

    def too_little(self, budget: Budget, name: str) -> str | None:
        """Why this window cannot support a verdict (too few requests), or None."""
        if self.requests >= budget.min_requests:
            return None
        untimed = f"; {self.untimed} request lines had no timestamp" if self.untimed else ""
        return (
            f"the {name} window holds {self.requests} request lines, fewer than the "
            f"{budget.min_requests} the SLO gate needs (min_requests in the release record's "
            f"[slo] table){untimed}"
        )

    def summary(self) -> dict[str, Any]:
        """Bounds and per-route figures (no samples), for the evidence."""
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "requests": self.requests,
            "untimed_lines": self.untimed,
            "routes": {name: r.summary() for name, r in self.routes.items()},
        }

    def as_dict(self) -> dict[str, Any]:
        """Everything, samples included."""
        data = self.summary()
        data["routes"] = {name: r.as_dict() for name, r in self.routes.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowSummary:
        """The inverse of as_dict()."""
        routes = {str(k): RouteSample.from_dict(v) for k, v in data["routes"].items()}
        return cls(
            parse_time(data.get("start")),
            parse_time(data.get("end")),
            parse_time(data.get("first_seen")),
            parse_time(data.get("last_seen")),
            int(data.get("untimed_lines", 0)),
            routes,
        )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


@dataclass(frozen=True)
class Baseline:
    """The pre-deploy window of a release, with where and when it was taken."""

    release_id: str
    recorded_at: datetime
    source: str
    instance: dict[str, Any]
    window: WindowSummary
    # The load probe's factor while the baseline traffic ran (sloload); None without traffic.
    load: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The stored form (format version, masked source, samples included)."""
        return {
            "format": BASELINE_VERSION,
            "release_id": self.release_id,
            "recorded_at": self.recorded_at.isoformat(),
            "source": mask(self.source),
            "instance": self.instance,
            "load_probe_factor": self.load,
            "window": self.window.as_dict(),
        }

    def summary(self) -> dict[str, Any]:
        """What the evidence shows: the stored form without the latency samples."""
        return {**self.as_dict(), "window": self.window.summary()}


def baseline_path(backup_dir: Path, release_id: str) -> Path:
    """`<backup_dir>/releases/<release_id>.slo-baseline.json` (unsafe characters replaced)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", release_id).lstrip(".") or "release"
    return backup_dir / "releases" / f"{safe}.slo-baseline.json"


def save_baseline(baseline: Baseline, backup_dir: Path) -> Path:
    """Write the baseline next to the release's backups (atomically, owner-only); its path."""
    path = baseline_path(backup_dir, baseline.release_id)
    data = (json.dumps(baseline.as_dict(), indent=1) + "\n").encode()
    # Relative to the checked backup directory's descriptor: never through a planted link.
    return write_below(Path(backup_dir), path.parent.name, path.name, data)


def load_baseline(backup_dir: Path, release_id: str) -> Baseline | None:
    """The stored baseline of `release_id`, None when there is none; SloBaselineInvalid if bad."""
    path = baseline_path(backup_dir, release_id)
    try:
        data = json.loads(path.read_text())
        window = WindowSummary.from_dict(data["window"])
        recorded = parse_time(data["recorded_at"])
        if data.get("format") != BASELINE_VERSION or recorded is None:
            raise ValueError(f"format {data.get('format')!r}, expected {BASELINE_VERSION}")
        load = data.get("load_probe_factor")
        return Baseline(
            str(data["release_id"]),
            recorded,
            str(data["source"]),
            data["instance"],
            window,
            float(load) if load is not None else None,
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SloBaselineInvalid(
            f"SLO baseline {path} cannot be read ({type(exc).__name__}: {exc}). Record it "
            f"again with `pytest checks/predeploy` before the deploy, or delete the file.",
            path=path,
        ) from None


def instance(api_url: str, *, token: str | None = None) -> dict[str, Any]:
    """The running service's `/health` `instance` (id, started_at); {} when it says nothing."""
    with http.session(token, timeout=10) as client:
        try:
            body = client.get(f"{api_url.rstrip('/')}/health").json()
        except (requests.RequestException, ValueError):
            return {}
    found = body.get("instance") if isinstance(body, dict) else None
    return found if isinstance(found, dict) else {}


def read_window(
    source: str, start: datetime | None, end: datetime | None, *, cwd: Path | None = None
) -> tuple[WindowSummary, logcheck.LogReport]:
    """One pass over the log: the window's samples, and the log check of the same pass."""
    window = Window(start, end)
    report = logcheck.check_source(source, cwd=cwd, observers=[window])
    return WindowSummary.of(window), report


def record_baseline(
    source: str,
    release_id: str,
    running: dict[str, Any],
    budget: Budget,
    *,
    cwd: Path | None = None,
    now: datetime | None = None,
    load: float | None = None,
) -> Baseline:
    """The baseline window: the last `baseline_minutes`, from the running instance's start.

    `load` is the load probe's factor over the traffic just sent (sloload), if any.
    """
    now = now or datetime.now(UTC)
    start = now - timedelta(minutes=budget.baseline_minutes)
    started = parse_time(running.get("started_at"))
    if started is not None and started > start:
        start = started
    window, _ = read_window(source, start, None, cwd=cwd)
    return Baseline(release_id, now, source, running, window, load)


def comparison_start(baseline: Baseline, running: dict[str, Any]) -> datetime | None:
    """When the comparison window opens; None when /health does not say when it started.

    It is the running instance's start, and never before the baseline's last line (both are
    read from the service's own clock).
    """
    started = parse_time(running.get("started_at"))
    if started is None:
        return None
    last = baseline.window.last_seen
    return max(started, last + timedelta(microseconds=1)) if last is not None else started
