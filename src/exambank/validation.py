"""Validation of question input: one function per field, errors collected per field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LIMITS = {"subject": 100, "stem": 5000, "answer": 1000, "category": 100, "choice": 1000, "tag": 50}
MAX_CHOICES = 10
MAX_TAGS = 20
FIELDS = ("ref", "subject", "stem", "choices", "answer", "tags", "category")
REQUIRED = ("subject", "stem")


def _text(name: str, limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value.strip()

    return check


def _optional(check: Callable[[Any], str]) -> Callable[[Any], str | None]:
    def inner(value: Any) -> str | None:
        return None if value is None else check(value)

    return inner


def _string_list(limit: int, item: Callable[[Any], str]) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("must be a list of strings")
        if len(value) > limit:
            raise ValueError(f"must have at most {limit} items")
        try:
            return [item(v) for v in value]
        except ValueError as exc:
            raise ValueError(f"every item {exc}") from None

    return check


def _ref(value: Any) -> str:
    if not isinstance(value, str) or not REF.fullmatch(value):
        raise ValueError("must be 1-64 letters, digits, '.', '_' or '-'")
    return value


CHECKS: dict[str, Callable[[Any], Any]] = {
    "ref": _ref,
    "subject": _text("subject", LIMITS["subject"]),
    "stem": _text("stem", LIMITS["stem"]),
    "choices": _string_list(MAX_CHOICES, _text("choice", LIMITS["choice"])),
    "answer": _optional(_text("answer", LIMITS["answer"])),
    "tags": _string_list(MAX_TAGS, _text("tag", LIMITS["tag"])),
    "category": _optional(_text("category", LIMITS["category"])),
}


def question(data: Any, *, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated values and per-field errors; `partial` allows missing required fields."""
    if not isinstance(data, Mapping):
        return {}, {"body": "must be a JSON object"}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in CHECKS:
            errors[str(key)[:64]] = "unknown field"
    if not partial:
        errors.update({f: "is required" for f in REQUIRED if f not in data})
    for name, check in CHECKS.items():
        if name in data:
            try:
                values[name] = check(data[name])
            except ValueError as exc:
                errors[name] = str(exc)
    choices = values.get("choices")
    if choices and values.get("answer") is not None and values["answer"] not in choices:
        errors["answer"] = "must be one of the choices"
    return values, errors
