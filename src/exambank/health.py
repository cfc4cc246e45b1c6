"""GET /health: what this process is and what it can do, read from the process itself.

Instance, code version and configuration (about.py), database reachability plus a write probe
through the service's own session, the migration state, the operational flags.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from psycopg_pool import PoolTimeout

from exambank import about, db, settings
from exambank.errors import error_response
from releaseops import migrations
from releaseops.errors import ReleaseOpsError
from releaseops.pg import identity

bp = Blueprint("health", __name__)
log = logging.getLogger("exambank.health")


def write_probe(conn: psycopg.Connection[Any]) -> str:
    """Try a harmless write in a savepoint that is always rolled back.

    "refused" when PostgreSQL refuses it (a read-only session), "accepted" when it went
    through (and was rolled back), "error: <class>" otherwise. A lost connection propagates.
    """
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE TEMP TABLE exambank_write_probe (probe int)")
    except psycopg.errors.ReadOnlySqlTransaction:
        return "refused"
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        return f"error: {type(exc).__name__}"
    return "accepted"


def _database() -> dict[str, Any]:
    conn = db.get_db()
    row = conn.execute(
        "SELECT current_setting('server_version') AS server_version, "
        "current_setting('transaction_read_only') = 'on' AS read_only, "
        "(SELECT system_identifier::text FROM pg_control_system()) AS system_identifier, "
        "current_database() AS name"
    ).fetchone()
    assert row is not None
    return {
        "reachable": True,
        "server_version": row["server_version"],
        # Which server and database this process really uses, as a hash: a release check
        # compares it with the database it gates, without /health naming either.
        "identity": identity.token(row["system_identifier"], row["name"]),
        "read_only": row["read_only"],
        "write_probe": write_probe(conn),
    }


def _migrations() -> dict[str, Any]:
    try:
        # The request's pooled session: a session of its own per /health costs a backend start.
        status = migrations.status_on(db.get_db(), current_app.config["MIGRATIONS_DIR"])
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
    process = {**about.report(current_app), "flags": settings.flags(current_app.config)}
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
            **process,
        )
    return jsonify({"status": "ok", "database": database, "migrations": _migrations(), **process})
