"""GET /openapi.json: an OpenAPI 3 document built from the app's URL map and openapi_routes.

Every rule of the URL map (but `static`) appears with each of its methods besides HEAD and
OPTIONS. Each operation lists every status it can answer, `security` (bearer for the routes
behind the API token), `x-write` (true for POST/PUT/PATCH/DELETE: the routes a write freeze
must refuse) and, on writes, `x-harmless-probe`: a request that changes nothing even when
the write is accepted, `{"path": ..., "json" | "files" | "data": {}}` (the keyword arguments
of `requests.request`), aimed at id 0 and carrying an empty body that fails validation.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.routing import Rule

from exambank import auth
from exambank.openapi_routes import OPERATIONS, Body, Operation, Reply
from exambank.openapi_schemas import SCHEMAS
from exambank.store import MAX_ID

bp = Blueprint("openapi", __name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PARAMETER_SCHEMAS = {
    "id": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    "int": {"type": "integer", "minimum": 0},
}
_MEDIA_TYPES = {"json": "application/json", "multipart": "multipart/form-data"}
_MEDIA_TYPES["form"] = "application/x-www-form-urlencoded"
_PROBE_BODIES = {"json": "json", "multipart": "files", "form": "data"}
_ERROR_BODY = {"schema": {"$ref": "#/components/schemas/Error"}}


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a rule and its path parameters."""
    parameters = [
        {
            "name": m["name"],
            "in": "path",
            "required": True,
            "schema": _PARAMETER_SCHEMAS.get(m["converter"] or "", {"type": "string"}),
        }
        for m in _VARIABLE.finditer(rule.rule)
    ]
    return _VARIABLE.sub(r"{\g<name>}", rule.rule), parameters


def requires_token(app: Flask, endpoint: str) -> bool:
    """Whether the endpoint's blueprint runs the bearer-token check."""
    blueprint = endpoint.rpartition(".")[0]
    return auth.require_token in app.before_request_funcs.get(blueprint, [])


def _error_codes(op: Operation, *, token: bool, write: bool, path_ids: bool) -> dict[int, set[str]]:
    """Every error code the operation can answer, by status."""
    codes: dict[int, set[str]] = defaultdict(set)
    codes[400].add("INVALID_ENCODING")
    codes[413].add("PAYLOAD_TOO_LARGE")
    codes[500].add("INTERNAL_ERROR")
    if op.database:
        codes[503].add("DB_UNAVAILABLE")
    if write:
        codes[503].add("READ_ONLY")
    if token:
        codes[401].update(("AUTH_REQUIRED", "AUTH_INVALID"))
    if path_ids:
        codes[404].add("NOT_FOUND")
    if op.body is not None and op.body.kind == "json":
        codes[400].update(("INVALID_JSON", "VALIDATION_ERROR"))
        codes[415].add("UNSUPPORTED_MEDIA_TYPE")
    for status, more in op.errors.items():
        codes[status].update(more)
    return codes


def _content(reply: Reply) -> dict[str, Any]:
    if not reply.media_type:
        return {}
    schema = {"$ref": f"#/components/schemas/{reply.schema}"} if reply.schema else {}
    return {reply.media_type: {"schema": schema or {"type": "string"}}}


def _responses(op: Operation, codes: dict[int, set[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, reply in op.replies.items():
        out[str(status)] = {"description": reply.description, "content": _content(reply)}
    for status, names in codes.items():
        entry = out.setdefault(str(status), {"description": "", "content": {}})
        errors = f"error_code {', '.join(sorted(names))}"
        entry["description"] = "; ".join(filter(None, (entry["description"], errors)))
        entry["content"].setdefault("application/json", _ERROR_BODY)
    for entry in out.values():
        if not entry["content"]:
            del entry["content"]
    return dict(sorted(out.items()))


def _request_body(body: Body) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{body.schema}"}}
    if body.part_types:
        media["encoding"] = {part: {"contentType": t} for part, t in body.part_types.items()}
    return {"required": True, "content": {_MEDIA_TYPES[body.kind]: media}}


def harmless_probe(path: str, body: Body | None) -> dict[str, Any]:
    """A request to `path` (ids set to 0) with an empty body of the operation's kind."""
    probe: dict[str, Any] = {"path": re.sub(r"\{\w+\}", "0", path)}
    if body is not None:
        probe[_PROBE_BODIES[body.kind]] = {}
    return probe


def _fallback(app: Flask, rule: Rule) -> Operation:
    """An operation without entry in OPERATIONS: its view's docstring, 200."""
    doc = (app.view_functions[rule.endpoint].__doc__ or rule.endpoint).strip()
    return Operation(doc.splitlines()[0], {200: Reply("OK", media_type="")})


def operation(app: Flask, rule: Rule, method: str) -> dict[str, Any]:
    """The OpenAPI operation object of one rule and method."""
    op = OPERATIONS.get((rule.endpoint, method)) or _fallback(app, rule)
    path, parameters = _path(rule)
    token, write = requires_token(app, rule.endpoint), method in WRITE_METHODS
    codes = _error_codes(op, token=token, write=write, path_ids=bool(parameters))
    out: dict[str, Any] = {
        "operationId": f"{method.lower()}_{rule.endpoint.replace('.', '_')}",
        "summary": op.summary,
        "x-write": write,
        "security": [{"bearerAuth": []}] if token else [],
        "responses": _responses(op, codes),
    }
    query = [
        {"name": q.name, "in": "query", "required": q.required, "schema": q.schema}
        | {"description": q.description}
        for q in op.query
    ]
    if parameters or query:
        out["parameters"] = parameters + query
    if op.body is not None:
        out["requestBody"] = _request_body(op.body)
    if write:
        out["x-harmless-probe"] = harmless_probe(path, op.body)
    return out


def operations(app: Flask) -> list[tuple[Rule, str]]:
    """(rule, method) for every documented operation of the URL map."""
    return sorted(
        (
            (rule, method)
            for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"
            for method in (rule.methods or set()) - IMPLICIT_METHODS
        ),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def undocumented(app: Flask) -> list[str]:
    """Operations of the URL map that have no entry in OPERATIONS ("METHOD endpoint")."""
    return [f"{m} {r.endpoint}" for r, m in operations(app) if (r.endpoint, m) not in OPERATIONS]


def document(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI document of `app`."""
    paths: dict[str, dict[str, Any]] = {}
    for rule, method in operations(app):
        paths.setdefault(_path(rule)[0], {})[method.lower()] = operation(app, rule, method)
    return {
        "openapi": "3.0.3",
        "info": {"title": "exambank", "version": str(app.config["SERVICE_VERSION"])},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def document_view() -> ResponseReturnValue:
    """The OpenAPI document of the running service."""
    return jsonify(document(current_app))
