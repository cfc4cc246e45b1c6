"""Broken variants of the reference service, served with `python -m exambank.serve --app ...`.

Each factory builds the real service and breaks exactly one behaviour a check guards, the way
a real release could: a write route that forgets the freeze, a /health that stopped reporting
its migration state.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request

from exambank import create_app, read_only

UNGUARDED_ENDPOINT = "questions.update_question"


def unguarded_update_route() -> Flask:
    """The service with one write route (PUT/PATCH a question) outside the write freeze."""
    app = create_app()
    funcs = app.before_request_funcs[None]
    index = funcs.index(read_only._refuse_writes)

    def refuse_writes_except_one() -> None:
        if request.endpoint != UNGUARDED_ENDPOINT:
            read_only._refuse_writes()

    funcs[index] = refuse_writes_except_one
    return app


def health_without_migrations() -> Flask:
    """The service whose /health no longer reports its migration state."""
    app = create_app()

    @app.after_request
    def drop_migrations(response: Response) -> Response:
        if request.path == "/health" and response.is_json:
            body = response.get_json()
            body.pop("migrations", None)
            response.set_data(json.dumps(body))
        return response

    return app
