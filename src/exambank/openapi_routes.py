"""What the URL map cannot say about each operation: summary, bodies, query, statuses.

Keyed by (Flask endpoint, method). openapi.py adds what it can derive from the app itself: the
path and its parameters, the bearer requirement, the write flag, the harmless probe, and the
statuses every route can answer (400 INVALID_ENCODING, 413, 500, 503 ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from exambank.openapi_schemas import NO_NUL_PATTERN, TEXT_PATTERN
from exambank.questions import MAX_PER_PAGE
from exambank.retrieval import MAX_K, MAX_QUERY_CHARS

HTML = "text/html"
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """One documented answer that is not the JSON error body."""

    description: str
    schema: str | None = None
    media_type: str = JSON


@dataclass(frozen=True)
class Body:
    """A request body: its kind (and so its media type) and the schema it must follow."""

    kind: Literal["json", "multipart", "form"]
    schema: str
    part_types: dict[str, str] = field(default_factory=dict)  # multipart part -> media type


@dataclass(frozen=True)
class Query:
    """One query-string parameter."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One route and method: `replies` by status, extra error codes by status."""

    summary: str
    replies: dict[int, Reply]
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    body: Body | None = None
    query: tuple[Query, ...] = ()
    database: bool = True


QUESTION = Reply("the question", "Question")
_PAGE = (
    Query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "page number"),
    Query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "page size"),
    Query("subject", {"type": "string", "maxLength": 100, "pattern": NO_NUL_PATTERN}, "subject"),
)
_SEARCH = (
    Query(
        "q",
        {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": TEXT_PATTERN},
        "the text to search for",
        required=True,
    ),
    Query("k", {"type": "integer", "minimum": 1, "maximum": MAX_K}, "how many results"),
)
_DUPLICATE: dict[int, tuple[str, ...]] = {409: ("DUPLICATE_REF",)}
# The page's forms carry the API token as a field (browsers send no bearer header).
_FORM_TOKEN: dict[int, tuple[str, ...]] = {401: ("AUTH_REQUIRED", "AUTH_INVALID")}
_BACK_TO_PAGE = Reply("done; back to the page", media_type="")
_PAGE_WITH_ERRORS = Reply("the page with the field errors", media_type=HTML)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("health.health", "GET"): Operation(
        "Instance, version, configuration, database, migrations and flags of this process",
        {200: Reply("the service is up", "Health"), 503: Reply("the database is down", "Health")},
    ),
    ("openapi.document_view", "GET"): Operation(
        "This document", {200: Reply("OpenAPI 3 document", "OpenApi")}, database=False
    ),
    ("questions.list_questions", "GET"): Operation(
        "A page of questions",
        {200: Reply("one page", "QuestionPage")},
        {400: ("VALIDATION_ERROR",)},
        query=_PAGE,
    ),
    ("questions.create_question", "POST"): Operation(
        "Create a question",
        {201: Reply("the created question", "Question")},
        _DUPLICATE,
        Body("json", "QuestionInput"),
    ),
    ("questions.get_question", "GET"): Operation("One question", {200: QUESTION}),
    ("questions.update_question", "PUT"): Operation(
        "Replace a question's fields", {200: QUESTION}, _DUPLICATE, Body("json", "QuestionInput")
    ),
    ("questions.update_question", "PATCH"): Operation(
        "Change some fields of a question",
        {200: QUESTION},
        _DUPLICATE,
        Body("json", "QuestionPatch"),
    ),
    ("questions.delete_question", "DELETE"): Operation(
        "Delete a question", {204: Reply("deleted", media_type="")}
    ),
    ("documents.upload_pdf", "POST"): Operation(
        "Store a PDF and index its text",
        {201: Reply("stored", "Document"), 200: Reply("already stored", "Document")},
        {
            400: ("PDF_CORRUPT", "PDF_ENCRYPTED", "VALIDATION_ERROR"),
            413: ("PAYLOAD_TOO_LARGE",),
            415: ("NOT_A_PDF",),
        },
        Body("multipart", "Upload", {"file": "application/pdf"}),
    ),
    ("retrieval.search_view", "GET"): Operation(
        "Ranked questions and documents for a text",
        {200: Reply("the results", "SearchResults")},
        {400: ("VALIDATION_ERROR",), 503: ("FTS_NOT_READY",)},
        query=_SEARCH,
    ),
    ("classify.classify", "POST"): Operation(
        "Classify a question (and apply the label when AI_AUTO_APPLY=1)",
        {200: Reply("the classification", "Classification")},
        {404: ("NOT_FOUND",)},
        Body("json", "ClassifyInput"),
    ),
    ("classify.preview", "GET"): Operation(
        "What classifying would do, writing nothing",
        {200: Reply("the preview", "ClassificationPreview")},
    ),
    ("manage.index", "GET"): Operation(
        "The management page", {200: Reply("HTML page", media_type=HTML)}
    ),
    ("manage.create", "POST"): Operation(
        "Create a question from the page's form (the API token is a form field)",
        {303: Reply("created; back to the page", media_type=""), 400: _PAGE_WITH_ERRORS},
        _FORM_TOKEN,
        Body("form", "ManageForm"),
    ),
    ("manage.update", "POST"): Operation(
        "Save a question's edit form on the page (choices, answer, tags kept when not sent)",
        {303: _BACK_TO_PAGE, 400: _PAGE_WITH_ERRORS},
        _FORM_TOKEN,
        Body("form", "ManageForm"),
    ),
    ("manage.delete", "POST"): Operation(
        "Delete a question from the page",
        {303: _BACK_TO_PAGE},
        _FORM_TOKEN,
        Body("form", "ManageToken"),
    ),
}
