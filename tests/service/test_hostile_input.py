"""Hostile input gets a clear 4xx JSON error: never a 500, never a stack trace."""

from __future__ import annotations

import pytest

INJECTIONS = [
    "'; DROP TABLE questions; --",
    '" OR 1=1 --',
    "photosynthesis & | ! ( ) :* <->",
    "%' UNION SELECT * FROM pg_shadow --",
    "\\x00\\",
    "-- /* */ ;",
]


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
@pytest.mark.parametrize("q", INJECTIONS)
def test_sql_metacharacters_in_search_are_just_text(make_app, service_db, mode, q):
    client = make_app(RETRIEVAL_MODE=mode).test_client()
    response = client.get("/api/retrieval/search", query_string={"q": q})
    assert response.status_code == 200
    with service_db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM questions").fetchone()[0] > 0


def test_huge_query_string_is_400(client):
    response = client.get("/api/retrieval/search", query_string={"q": "a" * 100_000})
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("raw", [b"q=%ff%fe%fd", b"q=caf%e9", b"q=%00"])
def test_non_utf8_or_nul_query_is_400(client, raw):
    response = client.get("/api/retrieval/search?" + raw.decode())
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "INVALID_ENCODING"


@pytest.mark.parametrize("body", [b"\xff\xfe{not json", b'{"subject": "\xff"}', b"{", b"", b"null"])
def test_broken_or_non_utf8_json_body_is_400(api, body):
    response = api.post(
        "/api/manage/questions", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error_code"] in ("INVALID_JSON", "VALIDATION_ERROR")


def test_wrong_content_type_is_415(api):
    response = api.post("/api/manage/questions", data="subject=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_unknown_url_is_404_json(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "NOT_FOUND"


def test_wrong_method_is_405_json(client):
    response = client.delete("/health")
    assert response.status_code == 405
    assert response.get_json()["error_code"] == "METHOD_NOT_ALLOWED"


def test_unhandled_exception_is_500_json_without_traceback(make_app):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    data = response.get_json()
    assert data["error_code"] == "INTERNAL_ERROR"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/manage/questions/%ff", "/api/manage/questions/1%00"])
def test_odd_path_bytes_are_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
