"""The exam bank's full-text search declaration: the one place its searchable columns live."""

from __future__ import annotations

from releaseops.fts import FtsSpec, FtsTable

QUESTIONS = FtsTable(
    "questions",
    {"stem": "A", "tags": "B", "subject": "B", "choices": "C", "answer": "C", "category": "D"},
)
DOCUMENTS = FtsTable("documents", {"filename": "A", "body": "B"})

SPEC = FtsSpec(tables=(QUESTIONS, DOCUMENTS))
