"""The request log standard, in-process: one conforming JSON line per request, whatever happened."""

from __future__ import annotations

import json
import logging
import sys

import pytest
import requests

from exambank import request_log
from tests.service.conftest import (
    TOKEN,
    Server,
    parse_log,
    request_line_problems,
    service_env,
)


def request_lines(caplog):
    fmt = request_log.formatter()
    return [json.loads(fmt.format(r)) for r in caplog.records if r.name == "exambank.request"]


@pytest.mark.parametrize(
    ("path", "status", "code", "route"),
    [
        ("/health", 200, None, "/health"),
        (
            "/api/manage/questions/1",
            401,
            "AUTH_REQUIRED",
            "/api/manage/questions/<id:question_id>",
        ),
        ("/api/retrieval/search", 400, "VALIDATION_ERROR", "/api/retrieval/search"),
        ("/missing", 404, "NOT_FOUND", "/missing"),
    ],
)
def test_each_request_writes_one_conforming_line(client, caplog, path, status, code, route):
    caplog.set_level(logging.INFO)
    response = client.get(path, headers={"X-Request-ID": "req-42"})
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "req-42"
    (line,) = request_lines(caplog)
    assert request_line_problems(line) == []
    assert (line["request_id"], line["status"], line["error_code"], line["route"]) == (
        "req-42",
        status,
        code,
        route,
    )


def test_unhandled_exception_still_gets_its_line(make_app, caplog):
    app = make_app()

    @app.get("/explode")
    def explode():
        raise ZeroDivisionError("no")

    caplog.set_level(logging.INFO)
    assert app.test_client().get("/explode").status_code == 500
    (line,) = request_lines(caplog)
    assert (line["status"], line["error_code"], line["route"]) == (
        500,
        "INTERNAL_ERROR",
        "/explode",
    )


def test_exception_escaping_flask_is_logged_by_the_middleware(caplog):
    def broken_app(environ, start_response):
        raise RuntimeError("escaped")

    middleware = request_log.RequestLogMiddleware(broken_app)
    caplog.set_level(logging.INFO)
    with pytest.raises(RuntimeError, match="escaped"):
        middleware({"PATH_INFO": "/x", "REQUEST_METHOD": "GET"}, lambda *a: None)
    (line,) = request_lines(caplog)
    assert (line["status"], line["error_code"], line["route"]) == (500, "INTERNAL_ERROR", "/x")


@pytest.mark.parametrize("value", [None, "", "x" * 200, "spaces are not sane", "é-unicode"])
def test_insane_request_ids_are_replaced_by_a_uuid(value):
    replaced = request_log.sane_request_id(value)
    assert replaced != value and len(replaced) == 36


def test_gunicorn_cli_serves_the_factory(service_db, tmp_path):
    """`gunicorn 'exambank:create_app()'` works too (plain gunicorn, our logger class)."""
    argv = [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--no-control-socket",
        "--logger-class", "exambank.serve.JsonLogger", "exambank:create_app()",
    ]  # fmt: skip
    server = Server(service_env(service_db), tmp_path / "gunicorn.log", argv=argv)
    try:
        server.wait_ready()
        assert requests.get(server.base + "/health", timeout=10).json()["status"] == "ok"
    finally:
        server.stop()
    lines = parse_log(server.output())
    assert any(line.get("event") == "migration_check" for line in lines)
    assert TOKEN not in server.output()


def test_unhandled_exception_line_carries_the_request_id(make_app, caplog):
    app = make_app()

    @app.get("/explode")
    def explode():
        raise ZeroDivisionError("no")

    caplog.set_level(logging.INFO)
    app.test_client().get("/explode", headers={"X-Request-ID": "req-boom-1"})
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "unhandled_exception"]
    assert record.levelno == logging.ERROR
    assert json.loads(request_log.formatter().format(record))["request_id"] == "req-boom-1"


def read_only_levels(caplog):
    return {r.levelname for r in caplog.records if r.levelno >= logging.WARNING}


def test_write_freeze_refusals_are_warnings_not_errors(make_app, caplog):
    client = make_app(DB_READ_ONLY=True).test_client()
    caplog.set_level(logging.INFO)
    response = client.post("/api/manage/questions", json={}, headers={"X-Request-ID": "ro-1"})
    assert response.get_json()["error_code"] == "READ_ONLY"
    (line,) = request_lines(caplog)
    assert (line["level"], line["error_code"], line["request_id"]) == (
        "WARNING",
        "READ_ONLY",
        "ro-1",
    )
    assert "ERROR" not in read_only_levels(caplog)


def test_a_read_only_session_refusal_is_a_warning_not_an_error(make_app, caplog):
    app = make_app(DB_READ_ONLY=True)

    @app.get("/sneaky-write")
    def sneaky():  # a GET that writes: the guard lets it through, the session refuses
        from exambank import db

        db.get_db().execute("DELETE FROM classification_suggestions WHERE id = 0")
        return "deleted"

    caplog.set_level(logging.INFO)
    assert app.test_client().get("/sneaky-write").get_json()["error_code"] == "READ_ONLY"
    (line,) = request_lines(caplog)
    assert (line["level"], line["status"]) == ("WARNING", 503)
    assert "ERROR" not in read_only_levels(caplog)


def test_a_database_outage_stays_an_error(make_app, caplog):
    from releaseops.dburl import DatabaseUrl

    dead = DatabaseUrl(dbname="x", host="127.0.0.1", port=1, user="u", password="pw")
    client = make_app(DATABASE_URL=dead, DB_TIMEOUT=1.0).test_client()
    caplog.set_level(logging.INFO)
    response = client.get("/api/retrieval/search?q=x", headers={"X-Request-ID": "down-1"})
    assert response.get_json()["error_code"] == "DB_UNAVAILABLE"
    (line,) = request_lines(caplog)
    assert (line["level"], line["error_code"]) == ("ERROR", "DB_UNAVAILABLE")
    (event,) = [r for r in caplog.records if getattr(r, "event", None) == "database_error"]
    assert (event.levelname, event.request_id) == ("ERROR", "down-1")
