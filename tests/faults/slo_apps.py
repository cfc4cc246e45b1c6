"""The reference service with one route made worse, served with `exambank.serve --app ...`.

What a bad release does to the service-level objectives: one route starts failing 3% of its
requests, or one route becomes 200 ms slower. Both faults sit inside the request log
middleware, so the service logs them as it would log a real regression.
"""

from __future__ import annotations

import itertools
import time

from flask import Flask, Response, jsonify, request

from exambank import create_app, request_log

FAILING_ENDPOINT = "retrieval.search_view"
FAILING_EVERY = 33  # one request in 33: 3.0%
SLOW_ENDPOINT = "questions.list_questions"
SLOW_SECONDS = 0.2


def search_fails_3_percent() -> Flask:
    """The service whose search answers 500 to one request in 33 (each worker counts its own)."""
    app = create_app()
    counter = itertools.count(1)

    @app.before_request
    def fail_some() -> tuple[Response, int] | None:
        if request.endpoint == FAILING_ENDPOINT and next(counter) % FAILING_EVERY == 0:
            request_log.set_error_code("INJECTED_FAULT")
            return jsonify(error="injected fault", error_code="INJECTED_FAULT"), 500
        return None

    return app


def question_list_200ms_slower() -> Flask:
    """The service whose question list answers 200 ms later than it should."""
    app = create_app()

    @app.before_request
    def slow_down() -> None:
        if request.endpoint == SLOW_ENDPOINT:
            time.sleep(SLOW_SECONDS)

    return app
