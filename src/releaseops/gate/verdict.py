"""GO / NO-GO from check results, each reason mapped to the checklist's No-Go conditions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from releaseops.gate.checklist import ITEMS

Outcome = Literal["passed", "failed", "not verified"]
Decision = Literal["GO", "NO-GO"]

# Section 4 of the checklist, made explicit: which checklist items decide each No-Go condition.
NO_GO_MAP: dict[str, tuple[str, ...]] = {
    "nogo.backup": ("pre.backup", "drill.backup", "drill.restore"),
    "nogo.migration": (
        "pre.baseline",
        "deploy.migrate",
        "drill.migrations",
        "drill.schema_migrations",
        "post.no_mismatch",
        "rb.verify_migrations",
        "rbc.migrations",
    ),
    "nogo.api_start": ("deploy.restart", "deploy.health", "post.health"),
    "nogo.smoke": ("post.crud", "post.retrieval", "post.ai", "rb.smoke", "rbc.smoke"),
    "nogo.rollback_candidate": (
        "nogo.rollback_candidate",
        "pre.record",
        "rb.select_dump",
        "rbc.restored",
    ),
}


def conditions_for(items: list[str]) -> list[str]:
    """The No-Go conditions that the given checklist items decide."""
    return [cond for cond, members in NO_GO_MAP.items() if any(i in members for i in items)]


@dataclass
class CheckResult:
    """The outcome of one check, as the verdict sees it."""

    check_id: str
    nodeid: str
    items: list[str]
    outcome: Outcome
    blocks: bool = True
    message: str = ""
    waiver: dict[str, Any] | None = None
    duration_s: float = 0.0
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence.json."""
        return asdict(self)


@dataclass(frozen=True)
class Reason:
    """Why the verdict is NO-GO: a check, its outcome and the No-Go condition it maps to."""

    check_id: str
    outcome: Outcome
    conditions: tuple[str, ...]
    message: str

    def line(self) -> str:
        """One line for the terminal and the checklist."""
        names = "; ".join(f"{c}: {ITEMS[c].text}" for c in self.conditions) or (
            "a blocking checklist item did not pass"
        )
        return f"{self.check_id} {self.outcome}: {self.message} [No-Go: {names}]"


@dataclass(frozen=True)
class Verdict:
    """The release decision and its reasons."""

    decision: Decision
    reasons: tuple[Reason, ...]
    counts: dict[str, int]
    waived: tuple[str, ...] = ()

    @property
    def is_go(self) -> bool:
        """True for GO."""
        return self.decision == "GO"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence.json."""
        return {
            "decision": self.decision,
            "reasons": [
                {**asdict(r), "conditions": list(r.conditions), "line": r.line()}
                for r in self.reasons
            ],
            "counts": self.counts,
            "waived": list(self.waived),
        }

    def lines(self) -> list[str]:
        """The verdict as printed at the end of a run."""
        head = f"releaseops verdict: {self.decision}  " + ", ".join(
            f"{n} {k}" for k, n in self.counts.items()
        )
        return [
            head,
            *(f"  - {r.line()}" for r in self.reasons),
            *(f"  ~ waived: {w}" for w in self.waived),
        ]


def decide(results: list[CheckResult]) -> Verdict:
    """GO only when every blocking check passed (or failed under an active waiver)."""
    counts = {"passed": 0, "failed": 0, "not verified": 0}
    reasons: list[Reason] = []
    waived: list[str] = []
    for result in results:
        counts[result.outcome] += 1
        if result.outcome == "passed" or not result.blocks:
            continue
        if result.waiver is not None:
            waived.append(
                f"{result.check_id} ({result.waiver.get('justification', '')}, "
                f"approved by {result.waiver.get('approved_by', '?')})"
            )
            continue
        reasons.append(
            Reason(
                result.check_id, result.outcome, tuple(conditions_for(result.items)), result.message
            )
        )
    decision: Decision = "NO-GO" if reasons else "GO"
    if not results:
        decision = "NO-GO"
        reasons.append(Reason("(none)", "not verified", (), "no check ran"))
    return Verdict(decision, tuple(reasons), counts, tuple(waived))
