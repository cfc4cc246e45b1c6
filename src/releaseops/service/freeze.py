"""Proof of the write freeze: every write route refuses, and so does the service's own session.

The routes come from the service's API description (built from its URL map), never from a hand
list, so a route added later is probed too. Each probe is harmless if accepted (an id no row
has, an empty body a working route rejects); the caller compares the database's content before
and after, which shows a route that wrote anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from releaseops.service.resource import Health, Service, WriteProbe

FREEZE_FLAGS = {"DB_READ_ONLY": True, "AI_AUTO_APPLY": False, "RETRIEVAL_MODE": "bm25"}


def env_values(flags: Mapping[str, Any]) -> dict[str, str]:
    """Flag values as the service's environment spells them: "1"/"0", anything else as text."""
    return {k: ("1" if v else "0") if isinstance(v, bool) else str(v) for k, v in flags.items()}


@dataclass
class FreezeProof:
    """What the write probes, the session probe and the flags showed."""

    probes: list[WriteProbe] = field(default_factory=list)
    session: str | None = None
    flags: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)

    @property
    def leaking(self) -> list[str]:
        """Write routes that did not refuse."""
        return [p.operation for p in self.probes if not p.refused]

    def explain(self) -> str:
        """The problems, one per clause."""
        return "; ".join(self.problems)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "write routes": [p.as_dict() for p in self.probes],
            "session write probe": self.session,
            "flags": self.flags,
            "problems": self.problems,
            "unreported": self.unreported,
        }


def prove(
    service: Service, health: Health, expected: Mapping[str, Any] = FREEZE_FLAGS
) -> FreezeProof:
    """Probe every write route and the session; compare the live flags with `expected`."""
    proof = FreezeProof(session=health.session_write_probe, flags=health.flags)
    operations = service.write_operations()
    if not operations:
        proof.unreported.append("any write route in /openapi.json")
    proof.probes = [service.probe_write(op) for op in operations]
    if proof.leaking:
        shown = "; ".join(
            f"{p.operation} -> {p.status_code} {p.error_code or ''}".strip()
            for p in proof.probes
            if not p.refused
        )
        proof.problems.append(f"writes are not blocked on {shown} (expected 503 READ_ONLY)")
    if proof.session is None:
        proof.unreported.append("database.write_probe")
    elif proof.session != "refused":
        proof.problems.append(
            f"a write through the service's own database session was {proof.session}, not "
            f"refused: the session is not read-only"
        )
    _flags(proof, expected)
    return proof


def _flags(proof: FreezeProof, expected: Mapping[str, Any]) -> None:
    if proof.flags is None:
        proof.unreported.append("flags")
        return
    wrong = {k: proof.flags.get(k) for k, v in expected.items() if proof.flags.get(k) != v}
    if wrong:
        # First: the likeliest cause, which a long list of leaking routes must not hide.
        proof.problems.insert(0, f"the service runs with {wrong}; expected {dict(expected)}")
