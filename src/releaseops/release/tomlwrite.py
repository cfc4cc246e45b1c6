"""A small TOML writer: scalars, tables and arrays of tables, written atomically."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def write(record_dict: Mapping[str, Any], path: Path) -> None:
    """Write `record_dict` as TOML (atomically); None values are left out; tomllib reads it back."""
    text = "".join(_table_text(record_dict, ()))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table_text(table: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    """The lines of one table: its scalars, then its sub-tables, then its arrays of tables."""
    scalars, tables, arrays = [], [], []
    for key, value in table.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            arrays.append((key, value))
        else:
            scalars.append(f"{_key(key)} = {_value(value, (*keys, key))}\n")
    out = scalars
    for key, sub in tables:
        out.extend(["\n" if out else "", f"[{_dotted((*keys, key))}]\n"])
        out.extend(_table_text(sub, (*keys, key)))
    for key, items in arrays:
        for item in items:
            out.extend(["\n" if out else "", f"[[{_dotted((*keys, key))}]]\n"])
            out.extend(_table_text(item, (*keys, key)))
    return out


def _dotted(keys: tuple[str, ...]) -> str:
    """A dotted key path (`rollback.status`), each part quoted when it must be."""
    return ".".join(_key(key) for key in keys)


def _key(key: str) -> str:
    """`key` bare when TOML allows it, else as a quoted string."""
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    """`text` as a TOML basic string, with escapes for quotes and control characters."""
    escapes = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    parts = []
    for char in text:
        if char in escapes:
            parts.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    return '"' + "".join(parts) + '"'


def _value(value: Any, keys: tuple[str, ...]) -> str:
    """One TOML value; `keys` names where it sits, for the error on a type TOML cannot hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{_dotted(keys)}: refusing to write a datetime without timezone")
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item, keys) for item in value) + "]"
    raise TypeError(f"{_dotted(keys)}: cannot write {type(value).__name__} as TOML")


def _number(value: int | float) -> str:
    """An integer or float in TOML syntax (nan and inf included)."""
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)
