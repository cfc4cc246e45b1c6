"""/manage: a small server-rendered page that lists questions and creates, edits and deletes them.

Browsers send no bearer header, so every form carries the API token as its field `token`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from exambank import auth, request_log, store, validation
from exambank.errors import ApiError

bp = Blueprint("manage", __name__, url_prefix="/manage")

LATEST = 50
EDITABLE = ("subject", "stem", "choices", "answer", "tags")


def _page(
    status: int = 200, errors: dict[str, str] | None = None, editing: int | None = None
) -> ResponseReturnValue:
    """The page; after a refused post it shows the errors and keeps what was typed."""
    total = store.count()
    questions = store.page(LATEST, max(total - LATEST, 0))
    html = render_template(
        "manage.html",
        questions=list(reversed(questions)),
        total=total,
        errors=errors or {},
        editing=editing,
        form=request.form if request.method == "POST" else {},
        read_only=current_app.config["DB_READ_ONLY"],
    )
    return html, status


def _check_token() -> None:
    """401 unless the form carries a valid API token."""
    token = request.form.get("token", "")
    if not token:
        raise ApiError(401, "AUTH_REQUIRED", "enter the API token")
    if not auth.token_is_valid(token):
        raise ApiError(401, "AUTH_INVALID", "the API token is not valid")


def _form_values() -> dict[str, Any]:
    """The question fields the form posted: subject and stem always, the others when sent."""
    form = request.form
    data: dict[str, Any] = {"subject": form.get("subject", ""), "stem": form.get("stem", "")}
    if "choices" in form:
        data["choices"] = [c.strip() for c in form["choices"].splitlines() if c.strip()]
    if "tags" in form:
        data["tags"] = [t.strip() for t in form["tags"].split(",") if t.strip()]
    if "answer" in form:
        # An emptied answer box clears the answer.
        data["answer"] = form["answer"] if form["answer"].strip() else None
    return data


def _not_found(question_id: int) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"question {question_id} does not exist")


@bp.get("")
def index() -> ResponseReturnValue:
    """The page: latest questions, each with its edit and delete controls, and the creation form."""
    return _page()


@bp.post("")
def create() -> ResponseReturnValue:
    """Create from the form; 303 back to the page, or the page with the field errors (400)."""
    _check_token()
    values, errors = validation.question(_form_values(), partial=False)
    if errors:
        request_log.set_error_code("VALIDATION_ERROR")
        return _page(400, errors)
    store.create(values)
    return redirect(url_for("manage.index"), code=303)


@bp.post("/<id:question_id>")
def update(question_id: int) -> ResponseReturnValue:
    """Save a row's edit form; choices, answer and tags keep their value when not sent."""
    _check_token()
    current = store.get(question_id)
    if current is None:
        raise _not_found(question_id)
    # Validate the question as it would be saved: an answer must fit the choices it keeps.
    kept = {name: current[name] for name in EDITABLE}
    values, errors = validation.question(kept | _form_values(), partial=False)
    if errors:
        request_log.set_error_code("VALIDATION_ERROR")
        return _page(400, errors, editing=question_id)
    if store.update(question_id, values) is None:
        raise _not_found(question_id)
    return redirect(url_for("manage.index"), code=303)


@bp.post("/<id:question_id>/delete")
def delete(question_id: int) -> ResponseReturnValue:
    """Delete a row's question; 303 back to the page, 404 when it does not exist."""
    _check_token()
    if not store.delete(question_id):
        raise _not_found(question_id)
    return redirect(url_for("manage.index"), code=303)
