"""What the log engine reports: each defect at its line, and the counts of one pass."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from releaseops.service.logline import MIGRATION_KIND


@dataclass(frozen=True)
class Defect:
    """One problem at one line: a stable kind, plain-words detail and the line's excerpt."""

    line: int
    kind: str
    detail: str
    excerpt: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The defect as JSON-ready data (`releaseops logs --json`)."""
        return {"line": self.line, "kind": self.kind, "detail": self.detail}

    def text(self) -> str:
        """`line N: detail`, the way a report shows it."""
        return f"line {self.line}: {self.detail}"


@dataclass
class ScanReport:
    """What one pass found: line counts, the first defects and every kind's count."""

    lines: int = 0
    request_lines: int = 0
    event_lines: int = 0
    bad_lines: int = 0
    defects: list[Defect] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def format_defects(self) -> list[Defect]:
        """The kept defects against the log standard (migration trouble left out)."""
        return [d for d in self.defects if d.kind != MIGRATION_KIND]

    @property
    def migration_defects(self) -> list[Defect]:
        """The kept lines reporting migration trouble."""
        return [d for d in self.defects if d.kind == MIGRATION_KIND]

    @property
    def total_defects(self) -> int:
        """Every defect found, kept or not."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        """Counts and the kept defects, JSON-ready."""
        return {
            "lines": self.lines,
            "request_lines": self.request_lines,
            "event_lines": self.event_lines,
            "bad_lines": self.bad_lines,
            "defect_counts": dict(sorted(self.counts.items())),
            "defects": [d.as_dict() for d in self.defects],
            "defects_not_shown": self.total_defects - len(self.defects),
        }
