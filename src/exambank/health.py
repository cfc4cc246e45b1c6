"""GET /health: database reachability, migration state and the operational flags."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from psycopg_pool import PoolTimeout

from exambank import db, settings
from exambank.errors import error_response
from releaseops import migrations
from releaseops.errors import ReleaseOpsError

bp = Blueprint("health", __name__)
log = logging.getLogger("exambank.health")


def _database() -> dict[str, Any]:
    row = (
        db.get_db()
        .execute(
            "SELECT current_setting('server_version') AS server_version, "
            "current_setting('transaction_read_only') = 'on' AS read_only"
        )
        .fetchone()
    )
    assert row is not None
    return {
        "reachable": True,
        "server_version": row["server_version"],
        "read_only": row["read_only"],
    }


def _migrations() -> dict[str, Any]:
    try:
        config = current_app.config
        status = migrations.status(config["DATABASE_URL"], config["MIGRATIONS_DIR"])
    except ReleaseOpsError as exc:
        return {"error": str(exc), "pending": None, "mismatched": None, "missing": None}
    return {
        "clean": status.is_clean,
        "applied": len(status.applied),
        "pending": len(status.pending),
        "mismatched": len(status.mismatched),
        "missing": len(status.missing),
        "future": len(status.future),
        "out_of_order": len(status.out_of_order),
    }


@bp.get("/health")
def health() -> ResponseReturnValue:
    """200 with the service's state; 503 when the database does not answer."""
    flags = settings.flags(current_app.config)
    try:
        database = _database()
    except (psycopg.OperationalError, PoolTimeout) as exc:
        log.error(
            "health: database unreachable",
            extra={"event": "health", "error": type(exc).__name__},
        )
        return error_response(
            503,
            "DB_UNAVAILABLE",
            "the database is unreachable",
            status="unavailable",
            database={"reachable": False},
            flags=flags,
        )
    return jsonify(
        {"status": "ok", "database": database, "migrations": _migrations(), "flags": flags}
    )
