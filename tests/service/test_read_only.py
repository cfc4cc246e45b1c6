"""DB_READ_ONLY=1: every mutating route answers 503 READ_ONLY and nothing changes."""

from __future__ import annotations

import re

import psycopg
import pytest

from exambank import create_app, db
from tests.service.conftest import Api, base_config

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SNAPSHOT_SQL = """
SELECT (SELECT count(*) FROM questions) AS questions,
       (SELECT max(updated_at) FROM questions) AS last_update,
       (SELECT md5(string_agg(q::text, '' ORDER BY id)) FROM questions q) AS content,
       (SELECT count(*) FROM documents) AS documents,
       (SELECT count(*) FROM classification_suggestions) AS suggestions
"""


def mutating_routes():
    """(method, rule) for every mutating method of every rule in the app's URL map."""
    app = create_app({"CHECK_PENDING_MIGRATIONS": False, "FAIL_ON_PENDING_MIGRATIONS": False})
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods & MUTATING
    )


ROUTES = mutating_routes()


def snapshot(url):
    with url.connect() as conn:
        return conn.execute(SNAPSHOT_SQL).fetchone()


@pytest.fixture
def read_only_app(service_db):
    app = create_app(base_config(service_db, DB_READ_ONLY=True))
    yield app
    db.close_pool(app)


def test_the_url_map_has_the_expected_writes():
    assert len(ROUTES) >= 7, ROUTES


@pytest.mark.parametrize(("method", "rule"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_mutating_route_is_refused_and_changes_nothing(read_only_app, service_db, method, rule):
    url = re.sub(r"<(?:\w+:)?\w+>", "1", rule)
    before = snapshot(service_db)
    body = {"question_id": 1, "subject": "x", "stem": "y"}
    response = Api(read_only_app.test_client()).open(url, method=method, json=body)
    assert response.status_code == 503
    assert response.get_json()["error_code"] == "READ_ONLY"
    assert snapshot(service_db) == before


def test_reads_still_work_in_read_only_mode(read_only_app):
    client = read_only_app.test_client()
    assert client.get("/api/retrieval/search?q=photosynthesis").status_code == 200
    health = client.get("/health").get_json()
    assert health["flags"]["DB_READ_ONLY"] is True
    assert health["database"]["read_only"] is True


def test_a_direct_write_through_the_app_session_fails(read_only_app, service_db):
    before = snapshot(service_db)
    with read_only_app.app_context():
        conn = db.get_db()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="read-only transaction"):
            conn.execute("UPDATE questions SET stem = 'overwritten' WHERE id = 1")
        conn.rollback()
    assert snapshot(service_db) == before


def test_a_route_that_forgets_the_guard_still_cannot_write(service_db):
    app = create_app(base_config(service_db, DB_READ_ONLY=True))

    @app.get("/sneaky-write")
    def sneaky():  # a GET that writes: the guard lets it through, the session does not
        db.get_db().execute("DELETE FROM classification_suggestions")
        return "deleted"

    before = snapshot(service_db)
    response = app.test_client().get("/sneaky-write")
    db.close_pool(app)
    assert response.status_code == 503
    assert response.get_json()["error_code"] == "READ_ONLY"
    assert snapshot(service_db) == before
