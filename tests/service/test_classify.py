"""POST /api/ai/classify: AI_AUTO_APPLY=1 applies the label, 0 only stores the suggestion."""

from __future__ import annotations

import pytest

from exambank import classify, db
from tests.service.conftest import Api


def question_id(app, ref):
    with app.app_context():
        row = db.get_db().execute("SELECT id FROM questions WHERE ref = %s", [ref]).fetchone()
    return row["id"]


def test_auto_apply_on_sets_the_category_from_ai(make_app):
    app = make_app(AI_AUTO_APPLY=True)
    api = Api(app.test_client())
    qid = question_id(app, "seed-chem-002")
    response = api.post("/api/ai/classify", json={"question_id": qid})
    assert response.status_code == 200
    data = response.get_json()
    assert (data["question_id"], data["label"], data["applied"]) == (qid, "chemistry", True)
    assert 0 < data["confidence"] <= 1 and data["suggestion_id"] > 0
    question = api.get(f"/api/manage/questions/{qid}").get_json()
    assert (question["category"], question["category_source"]) == ("chemistry", "ai")


def test_auto_apply_off_only_stores_the_suggestion(make_app):
    app = make_app(AI_AUTO_APPLY=False)
    api = Api(app.test_client())
    qid = question_id(app, "seed-phys-004")
    before = api.get(f"/api/manage/questions/{qid}").get_json()
    data = api.post("/api/ai/classify", json={"question_id": qid}).get_json()
    assert (data["label"], data["applied"]) == ("physics", False)
    after = api.get(f"/api/manage/questions/{qid}").get_json()
    assert (after["category"], after["category_source"]) == (
        before["category"],
        before["category_source"],
    )
    with app.app_context():
        row = (
            db.get_db()
            .execute(
                "SELECT label, applied FROM classification_suggestions WHERE id = %s",
                [data["suggestion_id"]],
            )
            .fetchone()
        )
    assert (row["label"], row["applied"]) == ("physics", False)


def test_classifier_is_deterministic_and_local():
    text = "Which enzyme in the cell copies DNA?"
    assert classify.classify_text(text) == classify.classify_text(text)
    assert classify.classify_text(text)[0] == "biology"
    assert classify.classify_text("zzz qqq") == (classify.UNCLASSIFIED, 0.0)


@pytest.mark.parametrize(
    "body", [{}, {"question_id": "1"}, {"question_id": True}, {"question_id": -3}, [1, 2]]
)
def test_bad_question_id_is_a_validation_error(api, body):
    response = api.post("/api/ai/classify", json=body)
    assert response.status_code == 400
    assert response.get_json()["error_code"] == "VALIDATION_ERROR"


def test_unknown_question_is_not_found(api):
    response = api.post("/api/ai/classify", json={"question_id": 99999999})
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "NOT_FOUND"


@pytest.mark.parametrize("auto_apply", [True, False])
def test_preview_tells_what_classifying_would_do_and_writes_nothing(make_app, auto_apply):
    app = make_app(AI_AUTO_APPLY=auto_apply, DB_READ_ONLY=True)
    api = Api(app.test_client())
    qid = question_id(app, "seed-chem-002")
    response = api.get(f"/api/ai/classify/{qid}/preview")
    assert response.status_code == 200  # a GET: allowed during the write freeze
    data = response.get_json()
    assert (data["label"], data["would_apply"], data["auto_apply"]) == (
        "chemistry",
        auto_apply,
        auto_apply,
    )


def test_preview_of_an_unknown_question_is_404(make_app):
    api = Api(make_app().test_client())
    response = api.get("/api/ai/classify/999999/preview")
    assert (response.status_code, response.get_json()["error_code"]) == (404, "NOT_FOUND")


def test_preview_requires_the_token(make_app):
    response = make_app().test_client().get("/api/ai/classify/1/preview")
    assert (response.status_code, response.get_json()["error_code"]) == (401, "AUTH_REQUIRED")
