"""The request log standard: one JSON line per request, written where nothing can skip it.

Flask's `after_request` does not run for every failure, so the line is written by a WSGI
middleware around the whole app; the app only leaves the rule and the error code in the WSGI
environ for it. Every other log line of the process goes through the same JSON formatter.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("exambank.request")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ROUTE_KEY = "exambank.route"
_ERROR_KEY = "exambank.error_code"
_ID_KEY = "exambank.request_id"
_MARK = "_exambank_json"
# 5xx answers the service gives on purpose (the write freeze): logged as WARNING, not ERROR.
EXPECTED_REFUSALS = frozenset({"READ_ONLY"})

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def formatter() -> JsonFormatter:
    """The one JSON formatter: timestamp, level, logger, message, plus every `extra` key."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
    )


def configure_logging(level: str = "INFO") -> None:
    """Send every log record of the process to stdout as one JSON object per line."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(getattr(h, _MARK, False) for h in root.handlers):
        return
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and handler.stream in (
            sys.stdout,
            sys.stderr,
        ):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    logging.captureWarnings(capture=True)


def sane_request_id(value: str | None) -> str:
    """The client's X-Request-ID when short and plain, else a new UUID."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return str(uuid.uuid4())


def request_id() -> str:
    """The current request's id."""
    return str(g.get("request_id") or request.environ.get(_ID_KEY) or "")


def set_error_code(code: str) -> None:
    """Record the API error code of the current request for its log line."""
    if has_request_context():
        request.environ[_ERROR_KEY] = code


class RequestLogMiddleware:
    """WSGI wrapper that times the request and writes its log line whatever happened inside."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Run the app, then log one line with the status it answered (500 if it raised)."""
        started = time.perf_counter()
        environ[_ID_KEY] = sane_request_id(environ.get("HTTP_X_REQUEST_ID"))
        seen: dict[str, int] = {}

        def recording_start_response(status: str, headers: list[Any], *args: Any) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, environ[_ID_KEY]))
            return start_response(status, headers, *args)

        try:
            return self.app(environ, recording_start_response)
        except BaseException:
            seen["status"] = 500
            environ.setdefault(_ERROR_KEY, "INTERNAL_ERROR")
            raise
        finally:
            _write_line(environ, seen.get("status", 500), started)


def _path(environ: dict[str, Any]) -> str:
    """PATH_INFO as text: WSGI hands it over as latin-1, the client sent UTF-8."""
    raw = str(environ.get("PATH_INFO", ""))
    try:
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # already text (a test environ)
        return raw


def _write_line(environ: dict[str, Any], status: int, started: float) -> None:
    code = environ.get(_ERROR_KEY)
    if code is None and status >= 400:
        code = f"HTTP_{status}"
    level = logging.ERROR if status >= 500 else logging.INFO
    if code in EXPECTED_REFUSALS:
        level = logging.WARNING
    log.log(
        level,
        "request",
        extra={
            "request_id": environ.get(_ID_KEY),
            "method": environ.get("REQUEST_METHOD"),
            "path": _path(environ),
            "route": environ.get(_ROUTE_KEY) or _path(environ),
            "status": status,
            "latency": round((time.perf_counter() - started) * 1000, 3),
            "error_code": code if status >= 400 else None,
        },
    )


def log_rejected(status: int, error_code: str, started: float) -> str:
    """The line for a request the HTTP server refused before the app saw it; returns its id."""
    environ = {_ID_KEY: str(uuid.uuid4()), _ERROR_KEY: error_code, "PATH_INFO": "(unparsed)"}
    _write_line(environ, status, started)
    return str(environ[_ID_KEY])


def _remember_route() -> None:
    g.request_id = request.environ.get(_ID_KEY) or sane_request_id(
        request.headers.get(REQUEST_ID_HEADER)
    )
    if request.url_rule is not None:
        request.environ[_ROUTE_KEY] = request.url_rule.rule


def init_app(app: Flask) -> None:
    """Wrap the app in the logging middleware (which also echoes X-Request-ID)."""
    app.before_request(_remember_route)
    app.wsgi_app = RequestLogMiddleware(app.wsgi_app)  # type: ignore[method-assign]
