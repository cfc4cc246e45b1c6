"""The /manage page's row controls, in-process: edit (POST /manage/<id>), delete (.../delete)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from markupsafe import escape

from exambank import request_log
from tests.service.conftest import TOKEN, Api

EDIT = "/manage/{id}"
DELETE = "/manage/{id}/delete"
ROUTES = {EDIT: "/manage/<id:question_id>", DELETE: "/manage/<id:question_id>/delete"}


@pytest.fixture
def question(client):
    """A question of this test's own, made through the API; deleted afterwards if still there."""
    body = {
        "subject": f"page-{uuid.uuid4().hex[:8]}",
        "stem": "Which gas do plants take in?",
        "choices": ["oxygen", "carbon dioxide"],
        "answer": "carbon dioxide",
        "tags": ["biology", "plants"],
    }
    created = Api(client).post("/api/manage/questions", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    row = created.get_json()
    yield row
    Api(client).delete(f"/api/manage/questions/{row['id']}")


def stored(client, question_id: int):
    response = Api(client).get(f"/api/manage/questions/{question_id}")
    return response.get_json() if response.status_code == 200 else None


def request_lines(caplog):
    fmt = request_log.formatter()
    return [json.loads(fmt.format(r)) for r in caplog.records if r.name == "exambank.request"]


def row_html(page: str, question_id: int) -> str:
    """The markup of the question's table row."""
    start = page.index(f'<tr id="q-{question_id}">')
    return page[start : page.index("</tr>", start)]


def test_each_row_has_an_edit_form_prefilled_with_its_question_and_a_delete_button(
    client, question
):
    row = row_html(client.get("/manage").get_data(as_text=True), question["id"])
    assert f'action="/manage/{question["id"]}"' in row
    assert f'formaction="/manage/{question["id"]}/delete"' in row
    assert f'name="subject" value="{question["subject"]}"' in row
    assert ">Which gas do plants take in?</textarea>" in row
    assert ">oxygen\ncarbon dioxide</textarea>" in row
    assert 'name="answer" value="carbon dioxide"' in row
    assert 'name="tags" value="biology, plants"' in row
    assert 'name="token" type="password"' in row


def test_a_saved_edit_changes_the_question_and_goes_back_to_the_page(client, question):
    form = {
        "subject": question["subject"],
        "stem": "Which gas do plants give off?",
        "choices": "oxygen\ncarbon dioxide\nnitrogen",
        "answer": "oxygen",
        "tags": "biology",
        "token": TOKEN,
    }
    response = client.post(EDIT.format(id=question["id"]), data=form)
    assert (response.status_code, response.headers["Location"]) == (303, "/manage")
    after = stored(client, question["id"])
    assert (after["stem"], after["answer"]) == ("Which gas do plants give off?", "oxygen")
    assert (after["choices"], after["tags"]) == (
        ["oxygen", "carbon dioxide", "nitrogen"],
        ["biology"],
    )
    assert after["ref"] == question["ref"]


def test_an_emptied_answer_is_cleared_and_fields_not_sent_keep_their_value(client, question):
    form = {"subject": question["subject"], "stem": "What do plants take in?", "answer": " "}
    response = client.post(EDIT.format(id=question["id"]), data={**form, "token": TOKEN})
    assert response.status_code == 303
    after = stored(client, question["id"])
    assert (after["stem"], after["answer"]) == ("What do plants take in?", None)
    assert (after["choices"], after["tags"]) == (question["choices"], question["tags"])


def test_a_refused_edit_names_its_fields_keeps_what_was_typed_and_changes_nothing(
    client, question, caplog
):
    caplog.set_level(logging.INFO)
    form = {"subject": question["subject"], "stem": "  ", "answer": "helium", "token": TOKEN}
    response = client.post(EDIT.format(id=question["id"]), data=form)
    page = response.get_data(as_text=True)
    assert (response.status_code, response.mimetype) == (400, "text/html")
    errors = page[page.index('id="errors"') : page.index("</div>")]
    assert f"Question {question['id']} was not saved" in errors
    assert "stem: must be a non-empty string" in errors
    assert "answer: must be one of the choices" in errors  # the choices it keeps
    row = row_html(page, question["id"])
    assert "<details open>" in row and 'name="answer" value="helium"' in row
    create_form = page[page.index('id="create"') : page.index("</form>")]
    assert "helium" not in create_form
    [line] = request_lines(caplog)
    assert (line["route"], line["status"], line["error_code"]) == (
        ROUTES[EDIT],
        400,
        "VALIDATION_ERROR",
    )
    assert stored(client, question["id"]) == question


def test_the_delete_button_removes_the_question_and_goes_back_to_the_page(client, question):
    response = client.post(DELETE.format(id=question["id"]), data={"token": TOKEN})
    assert (response.status_code, response.headers["Location"]) == (303, "/manage")
    assert stored(client, question["id"]) is None
    assert f'id="q-{question["id"]}"' not in client.get("/manage").get_data(as_text=True)


@pytest.mark.parametrize("route", [EDIT, DELETE])
@pytest.mark.parametrize(
    ("token", "code"), [("wrong", "AUTH_INVALID"), (None, "AUTH_REQUIRED")], ids=["wrong", "none"]
)
def test_a_row_control_without_the_right_token_is_401_and_changes_nothing(
    client, question, caplog, route, token, code
):
    caplog.set_level(logging.INFO)
    form = {"subject": "changed", "stem": "changed"} | ({"token": token} if token else {})
    response = client.post(route.format(id=question["id"]), data=form)
    [line] = request_lines(caplog)
    assert (line["route"], line["status"], line["error_code"]) == (ROUTES[route], 401, code)
    assert (response.status_code, response.get_json()["error_code"]) == (401, code)
    assert stored(client, question["id"]) == question


@pytest.mark.parametrize("route", [EDIT, DELETE])
@pytest.mark.parametrize("question_id", ["0", "9223372036854775807"])
def test_a_row_control_for_an_unknown_question_is_404(client, caplog, route, question_id):
    caplog.set_level(logging.INFO)
    form = {"subject": "x", "stem": "y", "token": TOKEN}
    response = client.post(route.format(id=question_id), data=form)
    assert (response.status_code, response.get_json()["error_code"]) == (404, "NOT_FOUND")
    [line] = request_lines(caplog)
    assert (line["route"], line["status"], line["error_code"]) == (ROUTES[route], 404, "NOT_FOUND")


@pytest.mark.parametrize("route", [EDIT, DELETE])
def test_a_row_control_takes_ascii_digit_ids_only(client, route):
    response = client.post(route.format(id="١٢"), data={"token": TOKEN})
    assert (response.status_code, response.get_json()["error_code"]) == (404, "NOT_FOUND")


def test_markup_in_a_question_shows_as_text_in_its_row_and_its_edit_form(client, question):
    stem = '<script>alert(1)</script> "quoted" </textarea><b>bold</b>'
    form = {"subject": '"><img src=x>', "stem": stem, "token": TOKEN}
    assert client.post(EDIT.format(id=question["id"]), data=form).status_code == 303
    row = row_html(client.get("/manage").get_data(as_text=True), question["id"])
    assert "<script>" not in row and "<b>" not in row and "<img" not in row
    assert f"<td>{escape(stem)}</td>" in row
    assert f">{escape(stem)}</textarea>" in row
    assert f'name="subject" value="{escape(form["subject"])}"' in row
