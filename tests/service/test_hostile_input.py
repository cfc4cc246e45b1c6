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


def nested(depth: int) -> bytes:
    return b'{"subject": ' + b"[" * depth + b"]" * depth + b', "stem": "x"}'


JSON_ROUTES = [("POST", "/api/manage/questions"), ("POST", "/api/ai/classify")]


@pytest.mark.parametrize("depth", [40, 100_000])
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_deeply_nested_json_is_400_invalid_json(api, method, path, depth):
    response = api.open(
        path, method=method, data=nested(depth), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "INVALID_JSON"
    assert "deeper than" in response.get_json()["message"]


SURROGATE_BODIES = [
    ("POST", "/api/manage/questions", b'{"subject": "bio\\ud800", "stem": "x"}', "subject"),
    (
        "POST",
        "/api/manage/questions",
        b'{"subject": "b", "stem": "x", "tags": ["\\udfff"]}',
        "tags",
    ),
    ("POST", "/api/manage/questions", b'{"\\ud800": 1, "subject": "b", "stem": "x"}', "\\ud800"),
    ("PATCH", "/api/manage/questions/1", b'{"stem": "lone \\udc00 low surrogate"}', "stem"),
    ("POST", "/api/ai/classify", b'{"question_id": 1, "note": "\\ud83d"}', "note"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), SURROGATE_BODIES, ids=[b[3] for b in SURROGATE_BODIES]
)
def test_lone_surrogate_in_json_is_refused_at_validation(api, method, path, body, field):
    response = api.open(
        path, method=method, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    data = response.get_json()
    assert data["error_code"] == "VALIDATION_ERROR"
    assert "lone surrogate" in data["details"][field]


def test_a_valid_surrogate_pair_is_ordinary_text(api, app):
    body = b'{"subject": "emoji", "stem": "What does \\ud83d\\ude00 mean?"}'
    response = api.post(
        "/api/manage/questions", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.get_json()["stem"] == "What does \U0001f600 mean?"
    assert api.delete(f"/api/manage/questions/{response.get_json()['id']}").status_code == 204


ARABIC_12 = "\u0661\u0662"


def question_12(url):
    with url.connect() as conn:
        return conn.execute("SELECT q::text FROM questions q WHERE id = 12").fetchone()


ID_ROUTES = [
    ("GET", "/api/manage/questions/{}"),
    ("PUT", "/api/manage/questions/{}"),
    ("PATCH", "/api/manage/questions/{}"),
    ("DELETE", "/api/manage/questions/{}"),
    ("GET", "/api/ai/classify/{}/preview"),
]


@pytest.mark.parametrize("digits", [ARABIC_12, "\uff11\uff12", "\u00b9\u00b2", "1" * 20, "-12"])
@pytest.mark.parametrize(("method", "template"), ID_ROUTES)
def test_ids_that_are_not_ascii_digits_are_404(api, service_db, method, template, digits):
    before = question_12(service_db)
    response = api.open(template.format(digits), method=method, json={"stem": "changed"})
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "NOT_FOUND"
    assert question_12(service_db) == before


def test_no_route_uses_the_unicode_digit_int_converter(app):
    from werkzeug.routing import IntegerConverter

    from exambank.converters import AsciiIdConverter

    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            assert not isinstance(converter, IntegerConverter) or isinstance(
                converter, AsciiIdConverter
            ), f"{rule.rule}: <{name}> uses werkzeug's int converter, use <id:{name}>"


@pytest.mark.parametrize("value", ["\u00b2", "\u0661", "9" * 5000, "1.0", "-1"])
@pytest.mark.parametrize(
    ("path", "name", "params"),
    [("/api/manage/questions", "per_page", {}), ("/api/retrieval/search", "k", {"q": "x"})],
)
def test_integer_query_arguments_take_ascii_digits_only(api, path, name, params, value):
    response = api.get(path, query_string={**params, name: value})
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "VALIDATION_ERROR"
    assert list(response.get_json()["details"]) == [name]
