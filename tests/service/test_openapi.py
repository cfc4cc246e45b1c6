"""GET /openapi.json: every route of the URL map, its statuses, its writes and their probes."""

from __future__ import annotations

import pytest
from psycopg import sql

from exambank import create_app, openapi
from exambank.openapi_routes import OPERATIONS
from tests.service.conftest import Api

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def build_offline_app():
    return create_app({"CHECK_PENDING_MIGRATIONS": False, "FAIL_ON_PENDING_MIGRATIONS": False})


OFFLINE_APP = build_offline_app()
DOCUMENT = openapi.document(OFFLINE_APP)
URL_MAP_OPERATIONS = sorted(
    (method, rule.rule, rule.endpoint) for rule, method in openapi.operations(OFFLINE_APP)
)
DOCUMENTED = sorted(
    (method.upper(), path, op)
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
)
WRITE_PROBES = [(m, p, op["x-harmless-probe"]) for m, p, op in DOCUMENTED if m in WRITES]


def doc_path(rule: str) -> str:
    return openapi._VARIABLE.sub(r"{\g<name>}", rule)


def fingerprint(url):
    """Row count and content digest of every table of the public schema."""
    with url.connect() as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        query = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        return {
            name: conn.execute(sql.SQL(query + "FROM {} t").format(sql.Identifier(name))).fetchone()
            for (name,) in tables
        }


def send_probe(client, method, probe):
    kwargs = {}
    if "json" in probe:
        kwargs["json"] = probe["json"]
    if "files" in probe:
        kwargs.update(data=probe["files"], content_type="multipart/form-data")
    if "data" in probe:
        kwargs["data"] = probe["data"]
    return Api(client).open(probe["path"], method=method, **kwargs)


def test_the_document_is_served_as_openapi_3_json(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["openapi"].startswith("3.")
    assert data["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("method", "rule", "endpoint"),
    URL_MAP_OPERATIONS,
    ids=[f"{m} {r}" for m, r, _ in URL_MAP_OPERATIONS],
)
def test_every_url_map_operation_is_documented(method, rule, endpoint):
    assert method.lower() in DOCUMENT["paths"].get(doc_path(rule), {}), f"{method} {rule}"
    assert (endpoint, method) in OPERATIONS, f"add ({endpoint!r}, {method!r}) to OPERATIONS"


def test_every_documented_operation_is_in_the_url_map():
    routed = {(m, doc_path(r)) for m, r, _ in URL_MAP_OPERATIONS}
    documented = {(m, p) for m, p, _ in DOCUMENTED}
    assert documented == routed
    assert not openapi.undocumented(OFFLINE_APP)


def test_head_options_and_static_are_left_out():
    assert not [m for m, _, _ in DOCUMENTED if m in ("HEAD", "OPTIONS")]
    assert not [p for _, p, _ in DOCUMENTED if p.startswith("/static")]


@pytest.mark.parametrize(
    ("method", "path", "op"), DOCUMENTED, ids=[f"{m} {p}" for m, p, _ in DOCUMENTED]
)
def test_each_operation_says_whether_it_writes_and_how_to_probe_it(method, path, op):
    assert op["x-write"] is (method in WRITES)
    assert ("x-harmless-probe" in op) is (method in WRITES)
    assert "500" in op["responses"] and "400" in op["responses"]
    if method in WRITES:
        assert "READ_ONLY" in op["responses"]["503"]["description"]


@pytest.mark.parametrize(
    ("method", "path", "op"), DOCUMENTED, ids=[f"{m} {p}" for m, p, _ in DOCUMENTED]
)
def test_bearer_security_is_declared_exactly_for_the_token_routes(method, path, op):
    token_route = path.startswith(("/api/manage/", "/api/ai/"))
    assert op["security"] == ([{"bearerAuth": []}] if token_route else [])
    form_token_route = path.startswith("/manage") and method == "POST"
    assert ("401" in op["responses"]) is (token_route or form_token_route)


def test_the_probe_format_is_a_path_and_at_most_one_empty_body():
    for method, path, probe in WRITE_PROBES:
        assert probe["path"].startswith("/") and "{" not in probe["path"], (method, path)
        bodies = set(probe) - {"path"}
        assert bodies <= {"json", "files", "data"} and len(bodies) <= 1, (method, path)
        assert all(probe[b] == {} for b in bodies)


@pytest.mark.parametrize(
    ("method", "path", "probe"), WRITE_PROBES, ids=[f"{m} {p}" for m, p, _ in WRITE_PROBES]
)
def test_a_harmless_probe_changes_nothing_on_a_writable_service(
    client, service_db, method, path, probe
):
    before = fingerprint(service_db)
    response = send_probe(client, method, probe)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert str(response.status_code) in DOCUMENT["paths"][path][method.lower()]["responses"]
    assert fingerprint(service_db) == before


@pytest.mark.parametrize(
    ("method", "path", "probe"), WRITE_PROBES, ids=[f"{m} {p}" for m, p, _ in WRITE_PROBES]
)
def test_a_harmless_probe_is_refused_read_only_under_the_write_freeze(
    make_app, service_db, method, path, probe
):
    before = fingerprint(service_db)
    response = send_probe(make_app(DB_READ_ONLY=True).test_client(), method, probe)
    assert response.status_code == 503
    assert response.get_json()["error_code"] == "READ_ONLY"
    assert fingerprint(service_db) == before


def test_a_route_without_metadata_is_still_documented_and_reported(make_app):
    app = make_app()

    @app.post("/api/manage/extra")
    def extra():
        """An extra write."""
        return "", 204

    op = app.test_client().get("/openapi.json").get_json()["paths"]["/api/manage/extra"]["post"]
    assert (op["summary"], op["x-write"]) == ("An extra write.", True)
    assert op["x-harmless-probe"] == {"path": "/api/manage/extra"}
    assert openapi.undocumented(app) == ["POST extra"]
