"""Database access: one psycopg pool per process, one pooled connection per request.

With DB_READ_ONLY=1 every session starts with default_transaction_read_only=on, so even a
route that forgot the read-only guard cannot write.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import psycopg
from flask import Flask, current_app, g
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from releaseops.dburl import DatabaseUrl

_POOL_KEY = "exambank.pool"


def connect_kwargs(config: dict[str, Any] | Any) -> dict[str, Any]:
    """Connection options every session gets (read-only when DB_READ_ONLY)."""
    options = "-c application_name=exambank"
    if config["DB_READ_ONLY"]:
        options += " -c default_transaction_read_only=on"
    timeout = int(config["DB_TIMEOUT"])
    return {"options": options, "connect_timeout": timeout, "row_factory": dict_row}


def _pool(app: Flask) -> ConnectionPool[Any]:
    """The process's pool, created lazily so that forked gunicorn workers never share one."""
    entry = app.extensions.get(_POOL_KEY)
    if entry is not None and entry[0] == os.getpid():
        return entry[1]  # type: ignore[no-any-return]
    url: DatabaseUrl = app.config["DATABASE_URL"]
    pool: ConnectionPool[Any] = ConnectionPool(
        url.conninfo(),
        min_size=1,
        max_size=int(app.config["DB_POOL_MAX"]),
        kwargs=connect_kwargs(app.config),
        timeout=float(app.config["DB_TIMEOUT"]),
        check=ConnectionPool.check_connection,
        open=False,
        name="exambank",
    )
    pool.open(wait=False)
    app.extensions[_POOL_KEY] = (os.getpid(), pool)
    return pool


def get_db() -> psycopg.Connection[Any]:
    """The request's connection (dict rows), taken from the pool on first use."""
    if "db" not in g:
        g.db = _pool(current_app).getconn()
    return g.db  # type: ignore[no-any-return]


def close_db(exc: BaseException | None = None) -> None:
    """Return the request's connection; the pool rolls back anything left open."""
    conn = g.pop("db", None)
    if conn is None:
        return
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE and not conn.closed:
        # A read left open; rolled back here because the pool would warn on every request.
        with contextlib.suppress(psycopg.Error):  # a broken connection is discarded by the pool
            conn.rollback()
    _pool(current_app).putconn(conn)


def close_pool(app: Flask) -> None:
    """Close this process's pool (tests and shutdown)."""
    entry = app.extensions.pop(_POOL_KEY, None)
    if entry is not None and entry[0] == os.getpid():
        entry[1].close()


def init_app(app: Flask) -> None:
    """Return connections at the end of every request."""
    app.teardown_appcontext(close_db)
