"""SQL for questions: the only module that reads or writes the questions table."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from exambank.db import get_db

COLUMNS = (
    "id, ref, subject, stem, choices, answer, tags, category, category_source, "
    "created_at, updated_at"
)
MAX_ID = 2**63 - 1


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """A question row as the API returns it."""
    out = dict(row)
    for key in ("created_at", "updated_at"):
        if out.get(key) is not None:
            out[key] = out[key].isoformat()
    return out


def count(subject: str | None = None) -> int:
    """How many questions (of one subject)."""
    row = (
        get_db()
        .execute(
            "SELECT count(*) AS n FROM questions WHERE %(s)s::text IS NULL OR subject = %(s)s",
            {"s": subject},
        )
        .fetchone()
    )
    return int(row["n"]) if row else 0


def page(limit: int, offset: int, subject: str | None = None) -> list[dict[str, Any]]:
    """One page of questions, oldest first."""
    rows = (
        get_db()
        .execute(
            f"SELECT {COLUMNS} FROM questions WHERE %(s)s::text IS NULL OR subject = %(s)s "
            "ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
            {"s": subject, "limit": limit, "offset": offset},
        )
        .fetchall()
    )
    return [as_json(r) for r in rows]


def get(question_id: int) -> dict[str, Any] | None:
    """One question, or None."""
    if not 0 < question_id <= MAX_ID:
        return None
    row = (
        get_db().execute(f"SELECT {COLUMNS} FROM questions WHERE id = %s", [question_id]).fetchone()
    )
    return as_json(row) if row else None


def ref_exists(ref: str, *, other_than: int | None = None) -> bool:
    """Whether another question already uses `ref`."""
    row = (
        get_db()
        .execute(
            "SELECT 1 FROM questions WHERE ref = %s AND id IS DISTINCT FROM %s", [ref, other_than]
        )
        .fetchone()
    )
    return row is not None


def _params(values: dict[str, Any]) -> dict[str, Any]:
    params = dict(values)
    if "choices" in params:
        params["choices"] = Jsonb(params["choices"])
    if "category" in params:
        params["category_source"] = "manual" if params["category"] is not None else None
    return params


def create(values: dict[str, Any]) -> dict[str, Any]:
    """Insert a question (ref generated when absent) and commit."""
    params = _params({"choices": [], "tags": [], **values})
    params.setdefault("ref", f"q-{uuid.uuid4().hex[:12]}")
    names = list(params)
    query = sql.SQL("INSERT INTO questions ({}) VALUES ({}) RETURNING {}").format(
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(map(sql.Placeholder, names)),
        sql.SQL(COLUMNS),
    )
    conn = get_db()
    row = conn.execute(query, params).fetchone()
    conn.commit()
    assert row is not None
    return as_json(row)


def update(question_id: int, values: dict[str, Any]) -> dict[str, Any] | None:
    """Update the given fields and commit; None when the question does not exist."""
    if not 0 < question_id <= MAX_ID:
        return None
    params = _params(values)
    sets: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(n), sql.Placeholder(n)) for n in params
    ]
    sets.append(sql.SQL("updated_at = now()"))
    query = sql.SQL("UPDATE questions SET {} WHERE id = {} RETURNING {}").format(
        sql.SQL(", ").join(sets), sql.Placeholder("_id"), sql.SQL(COLUMNS)
    )
    conn = get_db()
    row = conn.execute(query, {**params, "_id": question_id}).fetchone()
    conn.commit()
    return as_json(row) if row else None


def delete(question_id: int) -> bool:
    """Delete and commit; False when the question does not exist."""
    if not 0 < question_id <= MAX_ID:
        return False
    conn = get_db()
    deleted = conn.execute("DELETE FROM questions WHERE id = %s", [question_id]).rowcount
    conn.commit()
    return deleted > 0
