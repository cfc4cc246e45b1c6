"""One run folder summarised for the index: verdict, subject, the release figures.

From the folder's summary.json (written at the end of the run), else from its evidence.json;
a folder that is still running, partial, or of an older shape is summarised with what it has,
and reading it never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releaseops.gate import trends

SUMMARY_FORMAT = 1


@dataclass
class RunSummary:
    """What the index shows of one run folder."""

    run_id: str
    decision: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    subject: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def series(self) -> str:
        """Runs comparable with each other: the same target kind and database name."""
        label = str(self.subject.get("label") or "no target")
        database = str(self.subject.get("database") or "")
        name = database.rsplit("/", 1)[-1].split("?", 1)[0] if "/" in database else database
        return f"{label} · {name or 'unknown database'}"

    def as_dict(self) -> dict[str, Any]:
        """The stored form (summary.json), without the file listing."""
        return {
            "format": SUMMARY_FORMAT,
            "run_id": self.run_id,
            "decision": self.decision,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counts": self.counts,
            "subject": self.subject,
            "metrics": self.metrics,
        }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def from_evidence(run_id: str, document: Any) -> RunSummary:
    """A run's summary from its evidence.json document (any shape; what is missing is None)."""
    if not isinstance(document, dict):
        return RunSummary(run_id, problem="evidence.json is not a JSON object")
    meta, verdict = _dict(document.get("meta")), _dict(document.get("verdict"))
    counts, subject = _dict(verdict.get("counts")), _dict(meta.get("subject"))
    return RunSummary(
        run_id,
        decision=_text(verdict.get("decision")),
        started_at=_text(meta.get("started_at")),
        finished_at=_text(meta.get("finished_at")),
        counts={str(k): int(v) for k, v in counts.items() if isinstance(v, int)},
        subject=subject,
        metrics=trends.metrics(document),
    )


def _from_summary(data: Any) -> RunSummary | None:
    if not isinstance(data, dict) or data.get("format") != SUMMARY_FORMAT:
        return None
    try:
        return RunSummary(
            str(data["run_id"]),
            decision=_text(data.get("decision")),
            started_at=_text(data.get("started_at")),
            finished_at=_text(data.get("finished_at")),
            counts={str(k): int(v) for k, v in dict(data.get("counts") or {}).items()},
            subject=dict(data.get("subject") or {}),
            metrics={
                m.key: float(v)
                if isinstance(v := data["metrics"].get(m.key), int | float)
                else None
                for m in trends.METRICS
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def summarize(folder: Path) -> RunSummary:
    """One run folder's summary; never raises for a missing or malformed file."""
    try:
        files = tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))
    except OSError:
        files = ()
    summary: RunSummary | None = None
    try:
        summary = _from_summary(read_json(folder / "summary.json"))
    except (OSError, ValueError):
        summary = None
    if summary is None:
        try:
            summary = from_evidence(folder.name, read_json(folder / "evidence.json"))
        except FileNotFoundError:
            summary = RunSummary(folder.name, problem="no evidence.json: running, or interrupted")
        except (OSError, ValueError) as exc:
            summary = RunSummary(folder.name, problem=f"evidence.json unreadable: {exc}")
    summary.run_id = folder.name
    summary.files = files
    return summary


def read_json(path: Path) -> Any:
    """A JSON file's document (OSError, ValueError when missing or malformed)."""
    return json.loads(path.read_text(encoding="utf-8"))
