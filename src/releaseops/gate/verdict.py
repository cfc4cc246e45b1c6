"""The verdict policy: GO only when every blocking check of a complete run was proven.

The rules, each tested (tests/test_verdict.py, property-based):
- a blocking check that *failed* is a reason, unless an active waiver covers it;
- *not verified* and *blocked* are never GO, and no waiver covers them;
- a check blocked by another one's failure is folded into that root cause's reason, and a root
  cause outside the checks (no target named, target unreachable) is one reason of its own;
- only a *failed* check decides a No-Go condition of checklist section 4: a check that could
  not run says "not verified", it does not claim the backup is corrupt;
- a run is complete only when every check of each phase it touches ran; a partial run is
  NO-GO, or PARTIAL (never GO, still a non-zero exit) when the developer asked for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from releaseops.gate.checklist import ITEMS

Outcome = Literal["passed", "failed", "not verified", "blocked"]
Decision = Literal["GO", "NO-GO", "PARTIAL"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "not verified", "blocked")

# Section 4 of the checklist, made explicit: which checklist items decide each No-Go condition.
NO_GO_MAP: dict[str, tuple[str, ...]] = {
    "nogo.backup": ("pre.backup", "drill.backup", "drill.restore"),
    "nogo.migration": (
        "pre.baseline",
        "deploy.migrate",
        "drill.migrations",
        "drill.schema_migrations",
        "drill.rehearse",
        "drill.previous_release",
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
    "nogo.slo": ("post.slo",),
}


def conditions_for(items: Iterable[str]) -> list[str]:
    """The No-Go conditions that the given checklist items decide."""
    items = list(items)
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
    blocked_by: str | None = None

    @property
    def is_waived(self) -> bool:
        """True for a failure covered by an active waiver; nothing else can be waived."""
        return self.outcome == "failed" and self.waiver is not None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence.json."""
        return asdict(self)


@dataclass(frozen=True)
class RootCause:
    """Something outside the checks that stopped them: no target named, target unreachable."""

    id: str
    message: str


@dataclass(frozen=True)
class Scope:
    """What the run had to cover: the phases it touched and every check function in them."""

    phases: tuple[str, ...] = ()
    expected: tuple[str, ...] = ()
    partial_allowed: bool = False

    def missing(self, results: Iterable[CheckResult]) -> list[str]:
        """Expected checks (`phase.function`) with no result in this run."""
        ran = {function_key(r.check_id) for r in results}
        return sorted(set(self.expected) - ran)


def function_key(check_id: str) -> str:
    """`phase.name[params]` -> `phase.name`: completeness is counted per check function."""
    return check_id.split("[", 1)[0]


@dataclass(frozen=True)
class Reason:
    """Why the verdict is not GO: a check (or root cause), its outcome, the No-Go it decides."""

    check_id: str
    outcome: str
    conditions: tuple[str, ...]
    message: str
    blocked: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for the terminal and the checklist."""
        if self.conditions:
            tag = "No-Go: " + "; ".join(f"{c}: {ITEMS[c].text}" for c in self.conditions)
        elif self.outcome in ("failed",):
            tag = "No-Go: a blocking checklist item failed"
        else:
            tag = "not verified is never GO"
        blocked = ""
        if self.blocked:
            blocked = f" (blocks {len(self.blocked)}: {', '.join(self.blocked)})"
        return f"{self.check_id} {self.outcome}: {self.message}{blocked} [{tag}]"


@dataclass(frozen=True)
class Verdict:
    """The release decision, its reasons, and the counts it was made from."""

    decision: Decision
    reasons: tuple[Reason, ...]
    counts: dict[str, int]
    waived: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def is_go(self) -> bool:
        """True for GO only; PARTIAL and NO-GO both fail the run."""
        return self.decision == "GO"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence.json."""
        return {
            "decision": self.decision,
            "reasons": [
                {
                    **asdict(r),
                    "conditions": list(r.conditions),
                    "blocked": list(r.blocked),
                    "line": r.line(),
                }
                for r in self.reasons
            ],
            "counts": self.counts,
            "waived": list(self.waived),
            "missing": list(self.missing),
        }

    def lines(self, subject: str = "") -> list[str]:
        """The verdict as printed at the end of a run; `subject` names what was verified."""
        head = f"releaseops verdict: {self.decision}" + (f" ({subject})" if subject else "")
        head += "  " + ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return [
            head,
            *(f"  - {r.line()}" for r in self.reasons),
            *(f"  ~ waived: {w}" for w in self.waived),
        ]


def _waiver_line(result: CheckResult) -> str:
    waiver = result.waiver or {}
    return (
        f"{result.check_id} ({waiver.get('justification', '')}, "
        f"approved by {waiver.get('approved_by', '?')})"
    )


def _own_reason(result: CheckResult) -> Reason | None:
    """The reason a single result contributes by itself, or None when it is acceptable."""
    if not result.blocks or result.outcome == "passed" or result.is_waived:
        return None
    message = result.message
    if result.waiver is not None:
        message += " (its waiver is ignored: only a failed check can be waived)"
    conditions = tuple(conditions_for(result.items)) if result.outcome == "failed" else ()
    return Reason(result.check_id, result.outcome, conditions, message)


def _root_cause(result: CheckResult, by_id: dict[str, CheckResult]) -> str:
    """Follow "blocked by" through blocked checks to the check or root cause that started it."""
    cause, seen = str(result.blocked_by), {result.check_id}
    while cause in by_id and by_id[cause].outcome == "blocked" and cause not in seen:
        seen.add(cause)
        cause = str(by_id[cause].blocked_by)
    return cause


def _reasons(results: list[CheckResult], roots: Iterable[RootCause]) -> list[Reason]:
    """One reason per root cause; blocked checks are folded into the reason of their cause."""
    reasons = {root.id: Reason(root.id, "not verified", (), root.message) for root in roots}
    for result in results:
        reason = None if result.outcome == "blocked" else _own_reason(result)
        if reason is not None:
            reasons[result.check_id] = reason
    blocked: dict[str, list[str]] = {}
    by_id = {r.check_id: r for r in results}
    for result in results:
        if result.outcome != "blocked" or not result.blocks:
            continue
        cause = _root_cause(result, by_id)
        if cause in reasons:
            blocked.setdefault(cause, []).append(result.check_id)
        else:  # blocked by a check that passed under a waiver, or that is not in this run
            reasons[result.check_id] = Reason(result.check_id, "blocked", (), result.message)
    return [
        Reason(r.check_id, r.outcome, r.conditions, r.message, tuple(blocked.get(key, ())))
        for key, r in reasons.items()
    ]


def decide(
    results: list[CheckResult], *, scope: Scope | None = None, roots: Iterable[RootCause] = ()
) -> Verdict:
    """GO only when every blocking check of a complete run passed or failed under a waiver."""
    counts: dict[str, int] = {outcome: 0 for outcome in OUTCOMES}
    for result in results:
        counts[result.outcome] += 1
    reasons = _reasons(results, roots)
    if not results and not reasons:
        reasons.append(Reason("(none)", "not verified", (), "no check ran"))
    missing = tuple(scope.missing(results)) if scope is not None else ()
    if missing and not (scope is not None and scope.partial_allowed):
        reasons.append(
            Reason(
                "(incomplete run)",
                "not verified",
                (),
                f"{len(missing)} check(s) of phase(s) {', '.join(scope.phases if scope else ())} "
                f"did not run: {', '.join(missing)}",
            )
        )
    decision: Decision = "NO-GO" if reasons else ("PARTIAL" if missing else "GO")
    waived = tuple(_waiver_line(r) for r in results if r.blocks and r.is_waived)
    return Verdict(decision, tuple(reasons), counts, waived, missing)
