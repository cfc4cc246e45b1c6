"""GET /health and the /manage page."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from exambank import about, db, health, settings
from releaseops.dburl import DatabaseUrl
from tests.service.conftest import TOKEN


def test_health_reports_database_migrations_and_flags(make_app):
    app = make_app(AI_AUTO_APPLY=False, RETRIEVAL_MODE="hybrid")
    response = app.test_client().get("/health")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "ok"
    assert data["database"]["reachable"] is True
    assert (data["migrations"]["pending"], data["migrations"]["mismatched"]) == (0, 0)
    assert data["migrations"]["missing"] == 0 and data["migrations"]["applied"] >= 4
    assert data["flags"] == {
        "DB_READ_ONLY": False,
        "AI_AUTO_APPLY": False,
        "RETRIEVAL_MODE": "hybrid",
    }


def test_health_is_503_when_the_database_is_unreachable(make_app, service_db):
    dead = DatabaseUrl(dbname="x", host="127.0.0.1", port=1, user="u", password="pw-never-shown")
    app = make_app(DATABASE_URL=dead, DB_TIMEOUT=1.0)
    response = app.test_client().get("/health")
    assert response.status_code == 503
    data = response.get_json()
    assert data["status"] == "unavailable" and data["database"]["reachable"] is False
    assert data["error_code"] == "DB_UNAVAILABLE"
    assert "pw-never-shown" not in response.get_data(as_text=True)


def test_api_routes_are_503_when_the_database_is_unreachable(make_app):
    dead = DatabaseUrl(dbname="x", host="127.0.0.1", port=1, user="u", password="pw")
    app = make_app(DATABASE_URL=dead, DB_TIMEOUT=1.0)
    response = app.test_client().get("/api/retrieval/search?q=x")
    assert response.status_code == 503
    assert response.get_json()["error_code"] == "DB_UNAVAILABLE"


def test_manage_page_lists_questions(client):
    response = client.get("/manage")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "seed-lit-002" in response.get_data(as_text=True)


def test_manage_form_creates_a_question(client):
    stem = f"Which planet is known as the red planet? {uuid.uuid4().hex[:6]}"
    form = {"subject": "astronomy", "stem": stem, "choices": "Mars\nVenus", "answer": "Mars"}
    response = client.post("/manage", data={**form, "token": TOKEN})
    assert response.status_code == 303
    assert stem in client.get("/manage").get_data(as_text=True)


def test_manage_form_shows_validation_errors(client):
    response = client.post("/manage", data={"subject": "", "stem": "x", "token": TOKEN})
    assert response.status_code == 400
    assert 'id="errors"' in response.get_data(as_text=True)


def test_manage_form_escapes_html(client, app):
    stem = f"<script>alert(1)</script> {uuid.uuid4().hex[:6]}"
    client.post("/manage", data={"subject": "x", "stem": stem, "token": TOKEN})
    page = client.get("/manage").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    with app.app_context():
        db.get_db().execute("DELETE FROM questions WHERE stem = %s", [stem])
        db.get_db().commit()


def test_manage_form_needs_the_token(client):
    response = client.post("/manage", data={"subject": "x", "stem": "y", "token": "wrong"})
    assert response.status_code == 401
    assert response.get_json()["error_code"] == "AUTH_INVALID"
    response = client.post("/manage", data={"subject": "x", "stem": "y"})
    assert response.get_json()["error_code"] == "AUTH_REQUIRED"


def test_health_reports_the_instance_that_answers(make_app):
    app = make_app()
    data = app.test_client().get("/health").get_json()
    instance = data["instance"]
    assert re.fullmatch(r"[0-9a-f]{32}", instance["id"])
    started = datetime.fromisoformat(instance["started_at"])
    assert started.utcoffset() == timedelta(0)
    assert datetime.now(UTC) - started < timedelta(minutes=5)
    assert instance["pid"] == os.getpid()


def test_the_instance_id_is_fixed_per_start_and_new_for_the_next(make_app):
    first = make_app().test_client()
    ids = {first.get("/health").get_json()["instance"]["id"] for _ in range(3)}
    assert len(ids) == 1
    assert make_app().test_client().get("/health").get_json()["instance"]["id"] not in ids


def test_health_reports_the_code_version_and_the_schema_it_expects(make_app):
    data = make_app().test_client().get("/health").get_json()
    assert data["version"] == {"code": settings.package_version(), "schema_head": "0004"}
    assert data["version"]["code"] != "unknown"


def test_service_version_overrides_the_package_version(make_app):
    assert settings.load({"SERVICE_VERSION": " 2024.06.1-rc2 "})["SERVICE_VERSION"] == (
        "2024.06.1-rc2"
    )
    app = make_app(SERVICE_VERSION="build-77")
    assert app.test_client().get("/health").get_json()["version"]["code"] == "build-77"


def test_schema_head_is_the_newest_numbered_migration_file(tmp_path):
    for name in ("0009_b.sql", "0010_c.sql", "0002_a.sql", "README.md", "9999_x.sql.bak"):
        (tmp_path / name).write_text("SELECT 1;")
    assert about.schema_head(tmp_path) == "0010"
    assert about.schema_head(tmp_path / "missing") is None


def test_health_reports_config_without_secret_values(make_app):
    app = make_app(FLASK_CONFIG="production", SECRET_KEY="s3cret-never-shown")
    response = app.test_client().get("/health")
    assert response.get_json()["config"] == {
        "FLASK_CONFIG": "production",
        "secrets_configured": {"SECRET_KEY": True, "API_TOKENS": True},
        "CHECK_PENDING_MIGRATIONS": False,
        "FAIL_ON_PENDING_MIGRATIONS": False,
    }
    body = response.get_data(as_text=True)
    assert "s3cret-never-shown" not in body and TOKEN not in body


def test_missing_secrets_are_reported_as_missing(make_app):
    app = make_app(SECRET_KEY=None, API_TOKENS=())
    config = app.test_client().get("/health").get_json()["config"]
    assert config["secrets_configured"] == {"SECRET_KEY": False, "API_TOKENS": False}


def test_the_write_probe_is_accepted_on_a_writable_session(make_app):
    data = make_app().test_client().get("/health").get_json()
    assert (data["database"]["read_only"], data["database"]["write_probe"]) == (False, "accepted")


def test_the_write_probe_always_rolls_back(app):
    with app.app_context():
        conn = db.get_db()
        assert [health.write_probe(conn) for _ in range(2)] == ["accepted", "accepted"]
        row = conn.execute("SELECT to_regclass('pg_temp.exambank_write_probe') AS t").fetchone()
        assert row["t"] is None


def test_the_write_probe_is_refused_under_the_write_freeze(make_app):
    data = make_app(DB_READ_ONLY=True).test_client().get("/health").get_json()
    assert (data["database"]["read_only"], data["database"]["write_probe"]) == (True, "refused")


class RefusingConnection:
    """A connection whose savepoint fails with `error`."""

    def __init__(self, error):
        self.error = error

    @contextlib.contextmanager
    def transaction(self, force_rollback=False):
        assert force_rollback
        yield

    def execute(self, query):
        raise self.error


def test_the_write_probe_names_any_other_failure():
    denied = psycopg.errors.InsufficientPrivilege("permission denied to create temporary tables")
    assert health.write_probe(RefusingConnection(denied)) == "error: InsufficientPrivilege"
    with pytest.raises(psycopg.OperationalError, match="server closed"):
        health.write_probe(RefusingConnection(psycopg.OperationalError("server closed")))


def test_an_unreachable_database_still_reports_instance_version_and_config(make_app):
    dead = DatabaseUrl(dbname="x", host="127.0.0.1", port=1, user="u", password="pw")
    data = make_app(DATABASE_URL=dead, DB_TIMEOUT=1.0).test_client().get("/health").get_json()
    assert data["status"] == "unavailable"
    assert {"instance", "version", "config", "flags"} <= set(data)
