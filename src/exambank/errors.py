"""API errors as JSON bodies `{"error_code", "message", ...}` for every failure, 500 included."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_to_bytes

import psycopg
from flask import Flask, Response, current_app, jsonify, request
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from exambank import request_log

log = logging.getLogger("exambank.errors")

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "AUTH_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    431: "HEADERS_TOO_LARGE",
}


class ApiError(Exception):
    """A failure the API reports on purpose, with its status and stable error code."""

    def __init__(self, status: int, error_code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.extra = extra


class StartupRefused(RuntimeError):
    """The service will not start (the startup migration guard said no)."""


def validation_error(details: dict[str, str]) -> ApiError:
    """400 VALIDATION_ERROR with one message per offending field."""
    fields = ", ".join(sorted(details))
    return ApiError(400, "VALIDATION_ERROR", f"invalid fields: {fields}", details=details)


def error_response(http_status: int, error_code: str, message: str, **extra: Any) -> Response:
    """Build the JSON error body and record the code for the request log line."""
    request_log.set_error_code(error_code)
    response = jsonify({"error_code": error_code, "message": message, **extra})
    response.status_code = http_status
    return response


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.error_code, exc.message, **exc.extra)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_CODES.get(status, f"HTTP_{status}")
    response = error_response(status, code, exc.description or exc.name)
    if status == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def _database_error(exc: Exception) -> Response:
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return error_response(503, "READ_ONLY", "the database session is read-only")
    log.error(
        "database unavailable",
        extra={
            "event": "database_error",
            "error": type(exc).__name__,
            "request_id": request_log.request_id(),
        },
    )
    return error_response(503, "DB_UNAVAILABLE", "the database is unavailable; retry later")


def _unhandled(exc: Exception) -> Response:
    # The traceback goes to the JSON log only, never into the response.
    log.exception(
        "unhandled exception",
        extra={
            "event": "unhandled_exception",
            "path": request.path,
            "request_id": request_log.request_id(),
        },
    )
    return error_response(500, "INTERNAL_ERROR", "internal error; see the service log")


def _reject_bad_encoding() -> None:
    # Werkzeug keeps undecodable %XX escapes as literal text; refuse them instead of guessing.
    try:
        unquote_to_bytes(request.query_string).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "INVALID_ENCODING", "the query string is not valid UTF-8") from None
    if b"%00" in request.query_string:
        raise ApiError(400, "INVALID_ENCODING", "the query string contains a NUL byte")


def _reject_oversized() -> None:
    # Werkzeug enforces MAX_CONTENT_LENGTH only when a view reads the body; decide up front.
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"the request body exceeds {limit} bytes")


def init_app(app: Flask) -> None:
    """Register the JSON error handlers and the request-shape checks."""
    app.before_request(_reject_oversized)
    app.before_request(_reject_bad_encoding)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(psycopg.OperationalError, _database_error)
    app.register_error_handler(psycopg.errors.ReadOnlySqlTransaction, _database_error)
    app.register_error_handler(PoolTimeout, _database_error)
    app.register_error_handler(Exception, _unhandled)
