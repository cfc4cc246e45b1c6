"""A gunicorn sync worker whose own rejections (malformed HTTP, oversized lines) are JSON too.

gunicorn answers requests it cannot parse itself, with an HTML page and no request log line;
this worker answers them with the service's error body and writes the standard log line.
"""

from __future__ import annotations

import json
import time
from typing import Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.sync import SyncWorker

from exambank import request_log

# (exception, status, reason, error_code); the first match wins, the last is the fallback.
_REJECTIONS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (http_errors.LimitRequestLine, 414, "URI Too Long", "URI_TOO_LONG"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE"),
    (http_errors.ExpectationFailed, 417, "Expectation Failed", "EXPECTATION_FAILED"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "NOT_IMPLEMENTED"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "FORBIDDEN"),
    (http_errors.ParseException, 400, "Bad Request", "MALFORMED_REQUEST"),
)
# The app's own faults (bad response headers) and server misconfiguration keep gunicorn's 500.
# (getattr: older gunicorn releases lack some of these classes.)
_NOT_REFUSALS = tuple(
    getattr(http_errors, name)
    for name in ("InvalidResponseHeader", "InvalidResponseHeaderName", "ConfigurationProblem")
    if hasattr(http_errors, name)
)


def rejection(exc: BaseException) -> tuple[int, str, str] | None:
    """Status, reason and error code for a request gunicorn refused; None when not a refusal."""
    if isinstance(exc, _NOT_REFUSALS):
        return None
    for kind, status, reason, code in _REJECTIONS:
        if isinstance(exc, kind):
            return status, reason, code
    return None


class JsonErrorWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker, answering unparseable requests with a JSON error body."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer a refused request as JSON and log it; anything else goes to gunicorn."""
        found = rejection(exc)
        if found is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, code = found
        request_id = request_log.log_rejected(status, code, time.perf_counter())
        message = f"the HTTP request was rejected before reaching the service: {reason.lower()}"
        body = json.dumps({"error_code": code, "message": message}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{request_log.REQUEST_ID_HEADER}: {request_id}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except OSError:
            self.log.debug("could not send the rejection to the client")
