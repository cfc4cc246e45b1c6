"""The JSON Schemas of /openapi.json (`components.schemas`): request and response bodies."""

from __future__ import annotations

from typing import Any

from exambank import validation
from exambank.store import MAX_ID

# Text holds something besides whitespace (validation strips it) and no NUL (PostgreSQL refuses it).
TEXT_PATTERN = r"^[^\u0000]*\S[^\u0000]*$"
NO_NUL_PATTERN = r"^[^\u0000]*$"
_TEXT = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}
_NULLABLE_TEXT = {**_TEXT, "nullable": True}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _question_fields() -> dict[str, Any]:
    limits = validation.LIMITS
    text = {name: {**_TEXT, "maxLength": limits[name]} for name in ("subject", "stem")}
    return {
        "ref": {"type": "string", "pattern": validation.REF.pattern},
        **text,
        "choices": {
            "type": "array",
            "maxItems": validation.MAX_CHOICES,
            "items": {**_TEXT, "maxLength": limits["choice"]},
        },
        "answer": {**_NULLABLE_TEXT, "maxLength": limits["answer"]},
        "tags": {
            "type": "array",
            "maxItems": validation.MAX_TAGS,
            "items": {**_TEXT, "maxLength": limits["tag"]},
        },
        "category": {**_NULLABLE_TEXT, "maxLength": limits["category"]},
    }


def _object(properties: dict[str, Any], *required: str, closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


QUESTION = _object(
    {
        "id": _ID,
        **_question_fields(),
        "choices": {"type": "array", "items": {}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "category_source": {"type": "string", "nullable": True, "enum": ["manual", "ai", None]},
        "created_at": _TIMESTAMP,
        "updated_at": _TIMESTAMP,
    },
    "id",
    "ref",
    "subject",
    "stem",
)

SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "error_code",
        "message",
    ),
    "QuestionInput": _object(_question_fields(), *validation.REQUIRED, closed=True),
    "QuestionPatch": _object(_question_fields(), closed=True),
    "Question": QUESTION,
    "QuestionPage": _object(
        {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
        "items",
        "page",
        "per_page",
        "total",
    ),
    "Document": _object(
        {
            "id": _ID,
            "ref": {"type": "string"},
            "filename": {"type": "string"},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "size_bytes": {"type": "integer"},
            "page_count": {"type": "integer"},
            "chars": {"type": "integer"},
            "duplicate": {"type": "boolean"},
            "created_at": _TIMESTAMP,
        },
        "id",
        "ref",
        "sha256",
        "duplicate",
    ),
    "Upload": _object({"file": {"type": "string", "format": "binary"}}, "file"),
    "SearchResults": _object(
        {
            "mode": {"type": "string", "enum": ["bm25", "hybrid"]},
            "query": {"type": "string"},
            "k": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object"}},
        },
        "mode",
        "query",
        "k",
        "results",
    ),
    "ClassifyInput": _object({"question_id": _ID}, "question_id"),
    "Classification": _object(
        {
            "question_id": _ID,
            "label": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "applied": {"type": "boolean"},
            "suggestion_id": {"type": "integer"},
            "auto_apply": {"type": "boolean"},
        },
        "question_id",
        "label",
        "applied",
    ),
    "ClassificationPreview": _object(
        {
            "question_id": _ID,
            "label": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "would_apply": {"type": "boolean"},
            "auto_apply": {"type": "boolean"},
        },
        "question_id",
        "label",
        "would_apply",
    ),
    "ManageForm": _object(
        {
            "token": {"type": "string"},
            "subject": {"type": "string"},
            "stem": {"type": "string"},
            "choices": {"type": "string", "description": "one choice per line"},
            "answer": {"type": "string"},
            "tags": {"type": "string", "description": "comma-separated"},
        },
        "token",
        "subject",
        "stem",
    ),
    "ManageToken": _object({"token": {"type": "string"}}, "token"),
    "Health": _object(
        {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "instance": {"type": "object"},
            "version": {"type": "object"},
            "config": {"type": "object"},
            "database": {"type": "object"},
            "migrations": {"type": "object"},
            "flags": {"type": "object"},
        },
        "status",
        "instance",
        "version",
        "config",
        "database",
        "flags",
    ),
    "OpenApi": {"type": "object"},
}
