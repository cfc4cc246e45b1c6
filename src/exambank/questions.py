"""The management API: /api/manage/questions CRUD with pagination, behind the bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from exambank import auth, store, validation
from exambank.errors import ApiError, validation_error
from exambank.payload import int_arg, json_body

bp = Blueprint("questions", __name__, url_prefix="/api/manage")
bp.before_request(auth.require_token)

MAX_PER_PAGE = 100


def _not_found(question_id: int) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"question {question_id} does not exist")


def _validated(*, partial: bool, question_id: int | None = None) -> dict[str, Any]:
    values, errors = validation.question(json_body(), partial=partial)
    if errors:
        raise validation_error(errors)
    if "ref" in values and store.ref_exists(values["ref"], other_than=question_id):
        raise ApiError(409, "DUPLICATE_REF", f"ref {values['ref']!r} is already used")
    return values


@bp.get("/questions")
def list_questions() -> ResponseReturnValue:
    """A page of questions: ?page=1&per_page=20&subject=..."""
    page = int_arg("page", 1, 1, 1_000_000)
    per_page = int_arg("per_page", 20, 1, MAX_PER_PAGE)
    subject = request.args.get("subject") or None
    if subject is not None and ("\x00" in subject or len(subject) > 100):
        raise validation_error({"subject": "must be at most 100 characters, no NUL"})
    items = store.page(per_page, (page - 1) * per_page, subject)
    total = store.count(subject)
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


@bp.post("/questions")
def create_question() -> ResponseReturnValue:
    """Create a question; 201 with the row."""
    return jsonify(store.create(_validated(partial=False))), 201


@bp.get("/questions/<id:question_id>")
def get_question(question_id: int) -> ResponseReturnValue:
    """One question or 404."""
    row = store.get(question_id)
    if row is None:
        raise _not_found(question_id)
    return jsonify(row)


@bp.route("/questions/<id:question_id>", methods=["PUT", "PATCH"])
def update_question(question_id: int) -> ResponseReturnValue:
    """PUT replaces the required fields, PATCH changes only what it sends."""
    if store.get(question_id) is None:
        raise _not_found(question_id)
    values = _validated(partial=request.method == "PATCH", question_id=question_id)
    if not values:
        raise validation_error({"body": "send at least one field"})
    row = store.update(question_id, values)
    if row is None:
        raise _not_found(question_id)
    return jsonify(row)


@bp.delete("/questions/<id:question_id>")
def delete_question(question_id: int) -> ResponseReturnValue:
    """Delete; 204, or 404 when absent."""
    if not store.delete(question_id):
        raise _not_found(question_id)
    return "", 204
