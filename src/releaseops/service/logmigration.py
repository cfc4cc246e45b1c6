"""Migration trouble in a log line: a mismatch, version or checksum problem (a No-Go condition).

Recognised in any JSON line, whatever its keys, and in plain text:

- a `migration_check` event whose state is not clean (or that was logged at an error level);
- an `error_code` naming migrations or a schema/checksum mismatch (`MIGRATION_MISMATCH`);
- a message that says so in words ("migration mismatch", "checksum mismatch",
  "0002 was edited after it was applied"), with or without a level;
- at an error level only, the looser words of older loggers ("schema_migrations query error").
"""

from __future__ import annotations

import re
from typing import Any

from releaseops.service.logline import excerpt

CLEAN_STATES = frozenset({"clean", "ok"})
# Every rule below needs one of these words: a line without them reports no migration trouble.
HINT = re.compile(rb"(?i)migrat|mismatch")

_ERROR_LEVELS = {"ERROR", "CRITICAL", "FATAL"}
_LEVEL_KEYS = ("level", "levelname", "severity", "log.level")
_MESSAGE_KEYS = ("message", "msg", "text", "error", "detail", "event")
_ERROR_CODE = re.compile(r"(?i)migration|schema_?mismatch|checksum_?mismatch")
# Words that report a mismatch on their own, without a level.
_STRONG = re.compile(
    r"(?i)\bmigrations? mismatch|\bchecksum mismatch|\bschema_migrations\b.*\bmismatch"
    r"|\bmismatch(?:ed)? migrations?\b|\bmigrations?\b.*\bwas edited after it was applied"
    r"|\bmigrations?\b.*\bchecksum (?:differs|does not match|changed)"
)
_NEGATED = re.compile(r"(?i)\b(?:no|0|zero|without|nothing)\s+(?:\w+\s+)?mismatch")
# Looser words, trusted only at an error level ("checksum" alone is too common to count).
_WEAK = re.compile(r"(?i)mismatch|schema_migrations.*(?:error|mismatch)|migrations?.*checksum")
# Level markers in plain text: "ERROR" as an uppercase word (logging's %(levelname)s,
# gunicorn's "[ERROR]") or a logfmt-style "level=error". A lowercase "error" in prose is not one.
_TEXT_LEVEL_UPPER = re.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b")
_TEXT_LEVEL_KV = re.compile(r"(?i)\blevel(?:name)?\s*[=:]\s*\"?(?:error|critical|fatal)\b")
_TEXT_STATE = re.compile(r"(?i)\bmigration_check\b.*?\bstate\s*[=:]\s*\"?([A-Za-z_-]+)")


def may_mention(block: bytes) -> bool:
    """The block-level HINT: False when no line of `block` can report migration trouble."""
    lowered = block.lower()
    return b"migrat" in lowered or b"mismatch" in lowered


def is_clean_state(state: object) -> bool:
    """True for a migration_check state that reports nothing wrong."""
    return str(state).lower() in CLEAN_STATES


def json_reason(data: dict[str, Any]) -> str | None:
    """Why the JSON line `data` reports migration trouble, or None when it does not."""
    level = next((str(data[k]).upper() for k in _LEVEL_KEYS if k in data), "")
    is_error = level in _ERROR_LEVELS
    if data.get("event") == "migration_check":
        state = data.get("state")
        if state is not None and not is_clean_state(state):
            return f"migration check reported state {state!r}"
        if is_error:
            return f"migration check logged at level {level}: {excerpt(_message(data), 120)}"
        return None
    code = data.get("error_code")
    if isinstance(code, str) and _ERROR_CODE.search(code):
        return f"error_code {code!r} reports migration trouble"
    text = _message(data)
    # A plain logger may put the whole "migration_check state=..." into its message.
    state = _TEXT_STATE.search(text)
    if state and not is_clean_state(state.group(1)):
        return f"migration check reported state {state.group(1)!r}"
    if _says_mismatch(text):
        return f"migration mismatch logged: {excerpt(text, 120)}"
    if is_error and _WEAK.search(text):
        return f"migration error logged at level {level}: {excerpt(text, 120)}"
    return None


def text_reason(raw: str) -> str | None:
    """Why the plain-text line `raw` reports migration trouble, or None when it does not."""
    state = _TEXT_STATE.search(raw)
    if state and not is_clean_state(state.group(1)):
        return f"migration check reported state {state.group(1)!r}"
    if _says_mismatch(raw):
        return f"migration mismatch logged: {excerpt(raw, 120)}"
    is_error = bool(_TEXT_LEVEL_UPPER.search(raw) or _TEXT_LEVEL_KV.search(raw))
    if is_error and _WEAK.search(raw) and not _NEGATED.search(raw):
        return f"migration error logged: {excerpt(raw, 120)}"
    return None


def _says_mismatch(text: str) -> bool:
    return bool(_STRONG.search(text)) and not _NEGATED.search(text)


def _message(data: dict[str, Any]) -> str:
    return " ".join(str(data[k]) for k in _MESSAGE_KEYS if k in data)
