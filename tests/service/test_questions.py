"""Questions CRUD on /api/manage/questions: success, validation, auth and not-found paths."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.service.conftest import TOKEN


def new_question(**overrides: Any) -> dict[str, Any]:
    body = {
        "ref": f"t-{uuid.uuid4().hex[:10]}",
        "subject": "chemistry",
        "stem": "Which gas do plants release during photosynthesis?",
        "choices": ["Oxygen", "Nitrogen", "Argon"],
        "answer": "Oxygen",
        "tags": ["gases"],
    }
    body.update(overrides)
    return body


def test_list_is_paginated_and_counts_the_seed(api):
    response = api.get("/api/manage/questions?page=2&per_page=5")
    assert response.status_code == 200
    data = response.get_json()
    assert (data["page"], data["per_page"], len(data["items"])) == (2, 5, 5)
    assert data["total"] >= 34


def test_list_filters_by_subject(api):
    data = api.get("/api/manage/questions?subject=physics&per_page=100").get_json()
    assert {q["subject"] for q in data["items"]} == {"physics"}


@pytest.mark.parametrize("query", ["page=0", "per_page=101", "page=abc", "per_page=-1"])
def test_bad_pagination_is_a_validation_error(api, query):
    response = api.get(f"/api/manage/questions?{query}")
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "VALIDATION_ERROR"


def test_create_then_get_update_patch_delete(api):
    body = new_question()
    created = api.post("/api/manage/questions", json=body)
    assert created.status_code == 201, created.get_json()
    question = created.get_json()
    assert question["ref"] == body["ref"] and question["choices"] == body["choices"]
    url = f"/api/manage/questions/{question['id']}"
    assert api.get(url).get_json()["stem"] == body["stem"]

    replaced = api.put(url, json={"subject": "biology", "stem": "Replaced stem?"})
    assert replaced.status_code == 200
    assert replaced.get_json()["subject"] == "biology"

    patched = api.patch(url, json={"category": "biology"})
    assert patched.get_json()["category_source"] == "manual"
    assert patched.get_json()["stem"] == "Replaced stem?"

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_create_without_ref_gets_a_generated_one(api):
    body = new_question()
    del body["ref"]
    response = api.post("/api/manage/questions", json=body)
    assert response.status_code == 201
    assert response.get_json()["ref"].startswith("q-")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stem": "No subject?"}, "subject"),
        ({"subject": "x"}, "stem"),
        (new_question(stem="   "), "stem"),
        (new_question(choices="Oxygen"), "choices"),
        (new_question(choices=["a", 3]), "choices"),
        (new_question(answer="Helium"), "answer"),
        (new_question(tags=["x" * 51]), "tags"),
        (new_question(ref="bad ref!"), "ref"),
        (new_question(stem="x" * 5001), "stem"),
        (new_question(unknown=1), "unknown"),
        (new_question(stem="nul\x00byte"), "stem"),
    ],
)
def test_invalid_question_gets_field_details(api, body, field):
    response = api.post("/api/manage/questions", json=body)
    assert response.status_code == 400
    data = response.get_json()
    assert data["error_code"] == "VALIDATION_ERROR"
    assert field in data["details"]


def test_body_that_is_not_an_object_is_a_validation_error(api):
    response = api.post("/api/manage/questions", json=["a", "list"])
    assert response.status_code == 400
    assert response.get_json()["details"] == {"body": "must be a JSON object"}


def test_duplicate_ref_is_a_conflict(api):
    response = api.post("/api/manage/questions", json=new_question(ref="seed-bio-001"))
    assert response.status_code == 409
    assert response.get_json()["error_code"] == "DUPLICATE_REF"


def test_empty_patch_is_a_validation_error(api):
    response = api.patch("/api/manage/questions/1", json={})
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("question_id", [987654321, 2**63, 10**30])
def test_unknown_question_is_not_found(api, method, question_id):
    body = {"subject": "x", "stem": "y"} if method in ("put", "patch") else None
    response = getattr(api, method)(f"/api/manage/questions/{question_id}", json=body)
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "AUTH_REQUIRED"),
        ({"Authorization": "Bearer wrong-token"}, "AUTH_INVALID"),
        ({"Authorization": f"Basic {TOKEN}"}, "AUTH_INVALID"),
        ({"Authorization": "Bearer "}, "AUTH_INVALID"),
    ],
)
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/manage/questions"),
        ("post", "/api/manage/questions"),
        ("get", "/api/manage/questions/1"),
        ("delete", "/api/manage/questions/1"),
        ("post", "/api/manage/upload-pdf"),
        ("post", "/api/ai/classify"),
    ],
)
def test_protected_routes_need_a_valid_token(client, headers, code, method, url):
    response = getattr(client, method)(url, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error_code"] == code


def test_the_token_never_appears_in_a_response(client):
    response = client.get("/api/manage/questions", headers={"Authorization": "Bearer nope"})
    assert TOKEN not in response.get_data(as_text=True)
