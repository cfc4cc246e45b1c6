"""/manage: a small server-rendered page that lists questions and creates one from a form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from exambank import auth, request_log, store, validation
from exambank.errors import ApiError

bp = Blueprint("manage", __name__, url_prefix="/manage")

LATEST = 50


def _page(status: int = 200, errors: dict[str, str] | None = None) -> ResponseReturnValue:
    total = store.count()
    questions = store.page(LATEST, max(total - LATEST, 0))
    html = render_template(
        "manage.html",
        questions=list(reversed(questions)),
        total=total,
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
        read_only=current_app.config["DB_READ_ONLY"],
    )
    return html, status


def _form_values() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {"subject": form.get("subject", ""), "stem": form.get("stem", "")}
    choices = [c.strip() for c in form.get("choices", "").splitlines() if c.strip()]
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    data.update(choices=choices, tags=tags)
    if form.get("answer", "").strip():
        data["answer"] = form["answer"]
    return data


@bp.get("")
def index() -> ResponseReturnValue:
    """The page: latest questions and the creation form."""
    return _page()


@bp.post("")
def create() -> ResponseReturnValue:
    """Create from the form (the API token is a form field: browsers send no bearer header)."""
    token = request.form.get("token", "")
    if not token:
        raise ApiError(401, "AUTH_REQUIRED", "enter the API token")
    if not auth.token_is_valid(token):
        raise ApiError(401, "AUTH_INVALID", "the API token is not valid")
    values, errors = validation.question(_form_values(), partial=False)
    if errors:
        request_log.set_error_code("VALIDATION_ERROR")
        return _page(400, errors)
    store.create(values)
    return redirect(url_for("manage.index"), code=303)
