"""Proof that a restart happened: a *new* instance of the *intended* version answers.

`/health` answering proves only that something answers. A restart command that did nothing,
or one that brought up the wrong build, leaves a healthy service behind; the instance id (new
on every start) and the schema head the code expects (the newest migration it knows) tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from releaseops.service.http import Convergence, wait_until
from releaseops.service.resource import Health, Service


@dataclass
class RestartProof:
    """What was seen before and after a restart, and what is wrong with it."""

    before: dict[str, Any]
    after: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)

    def explain(self) -> str:
        """The problems, one per clause."""
        return "; ".join(self.problems)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "before": self.before,
            "after": self.after,
            "problems": self.problems,
            "unreported": self.unreported,
        }


def _facts(health: Health | None) -> dict[str, Any]:
    if health is None:
        return {}
    return {
        "status": health.status_code,
        "instance": health.instance_id,
        "started_at": health.started_at,
        "code": health.code_version,
        "schema_head": health.schema_head,
    }


def wait_for_new_instance(
    service: Service, before: Health | None, *, timeout: float
) -> tuple[Health | None, Convergence]:
    """Poll /health until a healthy instance other than `before` answers (or `timeout`)."""
    old = before.instance_id if before is not None else None

    def probe() -> Health | None:
        health = service.health()
        healthy = health.status_code == 200
        return health if healthy and (old is None or health.instance_id != old) else None

    return wait_until(probe, timeout=timeout)


def prove(
    before: Health | None,
    after: Health | None,
    *,
    schema_head: str | None,
    code_version: str | None = None,
    not_before: datetime | None = None,
) -> RestartProof:
    """Compare the instance that answers now with the one before and with the intent.

    `before` is None when the restart was not ours to run (an env target without --execute):
    then the instance must have started after `not_before` (e.g. the newest migration's
    applied_at), which proves it was (re)started on the migrated database.
    """
    proof = RestartProof(_facts(before), _facts(after))
    if after is None or after.status_code != 200:
        proof.problems.append("no healthy instance answers after the restart")
        return proof
    if after.instance_id is None:
        proof.unreported.append("instance.id")
    elif before is not None and after.instance_id == before.instance_id:
        proof.problems.append(
            f"the same instance {after.instance_id} still answers: the restart did not restart "
            f"the service"
        )
    _started_after(proof, after, not_before)
    _version(proof, after, schema_head, code_version)
    return proof


def _started_after(proof: RestartProof, after: Health, not_before: datetime | None) -> None:
    if not_before is None:
        return
    if after.started_at is None:
        proof.unreported.append("instance.started_at")
        return
    started = datetime.fromisoformat(after.started_at)
    if started < not_before:
        proof.problems.append(
            f"the running instance started at {after.started_at}, before "
            f"{not_before.isoformat()}: it was not restarted on the migrated database"
        )


def _version(
    proof: RestartProof, after: Health, schema_head: str | None, code_version: str | None
) -> None:
    if schema_head is not None:
        if after.schema_head is None:
            proof.unreported.append("version.schema_head")
        elif after.schema_head != schema_head:
            proof.problems.append(
                f"the new instance runs code that expects schema {after.schema_head}, not "
                f"{schema_head}: the wrong build was started"
            )
    if code_version is not None and after.code_version != code_version:
        proof.problems.append(
            f"the new instance runs code version {after.code_version!r}, not {code_version!r}"
        )
