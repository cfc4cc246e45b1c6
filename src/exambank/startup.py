"""The startup migration guard: log the migration state; refuse to start when it is not clean."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from exambank.errors import StartupRefused
from releaseops import migrations
from releaseops.errors import ReleaseOpsError
from releaseops.migrations import MigrationStatus

log = logging.getLogger("exambank.startup")

# The worst state names the line; a mismatch outranks everything because data may be wrong.
_ORDER = ("mismatched", "missing", "future", "out_of_order", "pending")
_STATE_NAMES = {"mismatched": "mismatch"}


def _state(status: MigrationStatus) -> str:
    for field in _ORDER:
        if getattr(status, field):
            return _STATE_NAMES.get(field, field)
    return "clean"


def _fields(status: MigrationStatus) -> dict[str, Any]:
    return {f: list(getattr(status, f)) for f in ("applied", *_ORDER)}


def check(config: Mapping[str, Any]) -> None:
    """Run the guard as configured; raise StartupRefused when it must not start."""
    if not (config["CHECK_PENDING_MIGRATIONS"] or config["FAIL_ON_PENDING_MIGRATIONS"]):
        return
    refuse = bool(config["FAIL_ON_PENDING_MIGRATIONS"])
    try:
        status = migrations.status(config["DATABASE_URL"], config["MIGRATIONS_DIR"])
    except ReleaseOpsError as exc:
        log.error(
            f"migration check failed: {exc}",
            extra={"event": "migration_check", "state": "unknown", "refused": refuse},
        )
        if refuse:
            raise StartupRefused(f"cannot verify migrations: {exc}") from exc
        return
    state = _state(status)
    extra = {"event": "migration_check", "state": state, "refused": False, **_fields(status)}
    extra["applied"] = len(status.applied)
    if state == "clean":
        log.info("migrations clean: nothing pending, nothing edited", extra=extra)
        return
    extra["refused"] = refuse
    prefix = "migration mismatch" if state == "mismatch" else f"migrations {state}"
    message = f"{prefix}: {status.explain()}".replace("\n", "; ")
    # A mismatch is always an error: an applied file was edited, whatever the guard's mode.
    level = logging.ERROR if refuse or state == "mismatch" else logging.WARNING
    log.log(level, message, extra=extra)
    if refuse:
        raise StartupRefused(message)
