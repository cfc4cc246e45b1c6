"""Schemathesis against /openapi.json, in-process (WSGI): no 5xx, every status documented.

One test per operation of the document, a bounded and deterministic run (derandomized,
FUZZ_EXAMPLES generated cases per operation plus schemathesis' coverage cases), against a
database of its own: the generated writes create and delete rows that the other service tests
must not see. The token is sent with every case; schemathesis still drops or alters it on some
cases, which must answer the documented 401.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from exambank import create_app, db, openapi
from tests.service.conftest import TOKEN, base_config, seeded_database

FUZZ_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OFFLINE_APP = create_app({"CHECK_PENDING_MIGRATIONS": False, "FAIL_ON_PENDING_MIGRATIONS": False})
SCHEMA = schemathesis.openapi.from_dict(openapi.document(OFFLINE_APP))


@pytest.fixture(scope="module")
def fuzz_app(pg_cluster):
    with seeded_database(pg_cluster) as url:
        app = create_app(base_config(url))
        yield app
        db.close_pool(app)


@SCHEMA.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_no_5xx_and_only_documented_statuses(case, fuzz_app):
    response = case.call(app=fuzz_app, headers={"Authorization": f"Bearer {TOKEN}"})
    case.validate_response(response, checks=CHECKS)
