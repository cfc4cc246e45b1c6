"""Reading request input: JSON bodies and integer query arguments, refused cleanly when hostile.

A JSON body is parsed once and then walked iteratively (never recursively), so neither a
deeply nested document nor a string PostgreSQL cannot store (a lone UTF-16 surrogate such as
U+D800, which `json` accepts but UTF-8 cannot encode) can turn into a 500 later.
"""

from __future__ import annotations

from typing import Any

from flask import request

from exambank.errors import ApiError, validation_error

MAX_JSON_DEPTH = 32
# The longest digit string an integer argument may have; Python refuses int() past 4300.
MAX_INT_DIGITS = 19


def _too_deep() -> ApiError:
    return ApiError(
        400, "INVALID_JSON", f"the body nests arrays/objects deeper than {MAX_JSON_DEPTH} levels"
    )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_name(key: str) -> str:
    """A key as it can appear in an error body (lone surrogates escaped, at most 64 chars)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")[:64]


def _check_tree(data: Any) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings UTF-8 cannot encode."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "body")]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, str) and not _encodable(value):
            raise validation_error({field: "must be valid Unicode text (no lone surrogates)"})
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, list):
            stack.extend((item, depth + 1, field) for item in value)
            continue
        for key, item in value.items():
            name = _field_name(key) if depth == 1 else field
            if not _encodable(key):
                raise validation_error({name: "must be a valid Unicode name (no lone surrogates)"})
            stack.append((item, depth + 1, name))


def json_body() -> Any:
    """The request's JSON body; 415 when not JSON, 400 when malformed or hostile."""
    if not request.is_json:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # the parser itself gave up on the nesting
        raise _too_deep() from None
    if data is None:
        raise ApiError(400, "INVALID_JSON", "the body is not valid UTF-8 JSON")
    _check_tree(data)
    return data


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """Query argument `name` as an int in [low, high] (ASCII digits only), else 400."""
    raw = request.args.get(name)
    if raw is None:
        return default
    plain = raw.isascii() and raw.isdigit() and len(raw) <= MAX_INT_DIGITS
    if not plain or not low <= int(raw) <= high:
        raise validation_error({name: f"must be an integer from {low} to {high}"})
    return int(raw)
