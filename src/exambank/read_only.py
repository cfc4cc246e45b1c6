"""The write freeze: with DB_READ_ONLY=1 every mutating request is refused with 503 READ_ONLY."""

from __future__ import annotations

from flask import Flask, current_app, request

from exambank.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _refuse_writes() -> None:
    # Unknown URLs keep their 404/405: only routed requests are writes worth refusing.
    writes = request.method not in SAFE_METHODS and request.url_rule is not None
    if current_app.config["DB_READ_ONLY"] and writes:
        raise ApiError(
            503,
            "READ_ONLY",
            "the service is in read-only mode (DB_READ_ONLY=1); writes are refused",
        )


def init_app(app: Flask) -> None:
    """Refuse writes before any view runs."""
    app.before_request(_refuse_writes)
