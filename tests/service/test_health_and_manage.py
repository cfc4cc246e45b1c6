"""GET /health and the /manage page."""

from __future__ import annotations

import uuid

from exambank import db
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
