"""The exam bank: the reference Flask + PostgreSQL service of the release checklist."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the exam-bank service; `config` overrides every other source."""
    # Imported here so that `import exambank.search_spec` (init_fts.py) stays cheap.
    from exambank import (
        about,
        classify,
        converters,
        db,
        documents,
        errors,
        health,
        manage,
        openapi,
        questions,
        read_only,
        request_log,
        retrieval,
        settings,
        startup,
    )

    app = Flask(__name__)
    app.config.from_mapping(settings.load(os.environ))
    if config is not None:
        app.config.update(config)
    request_log.configure_logging(app.config["LOG_LEVEL"])
    startup.check(app.config)  # raises StartupRefused before anything is served
    about.init_app(app)
    converters.init_app(app)
    db.init_app(app)
    errors.init_app(app)
    request_log.init_app(app)
    read_only.init_app(app)
    blueprints = (health.bp, questions.bp, documents.bp, retrieval.bp, classify.bp, manage.bp)
    for bp in (*blueprints, openapi.bp):
        app.register_blueprint(bp)
    return app
