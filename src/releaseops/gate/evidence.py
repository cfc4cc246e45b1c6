"""Evidence records attached to checks, and the redaction every record passes through."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from releaseops import dburl

Kind = Literal["text", "json", "file"]
MASK = dburl.MASK
MAX_TEXT = 20_000
# Keys whose values are secrets wherever they appear in evidence.
SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|credential|private[_-]?key|authorization)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


@dataclass(frozen=True)
class Record:
    """One piece of evidence: a titled text, JSON value or file reference."""

    kind: Kind
    title: str
    content: Any

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence.json."""
        return {"kind": self.kind, "title": self.title, "content": self.content}

    def as_text(self) -> str:
        """Human-readable rendering for the report row."""
        if self.kind == "json":
            return json.dumps(self.content, indent=2, sort_keys=True, default=str)
        return str(self.content)


class Redactor:
    """Masks known secret values, passwords in URLs, bearer tokens and secret-named keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        """Remember more secret values to mask."""
        self.secrets = sorted(
            {*self.secrets, *(s for s in secrets if s and len(s) >= 4)}, key=len, reverse=True
        )

    def text(self, value: str) -> str:
        """Mask secrets in a string."""
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        value = _BEARER.sub(lambda m: m.group(1) + MASK, value)
        return dburl.mask(value)

    def value(self, value: Any, key: str = "") -> Any:
        """Mask secrets anywhere inside a JSON-like value; secret-named keys lose their value."""
        if key and SECRET_KEY_PATTERN.search(key) and isinstance(value, str | bytes) and value:
            return MASK
        if isinstance(value, dict):
            return {str(k): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Path):
            return self.text(str(value))
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))

    def record(self, record: Record) -> Record:
        """A copy of `record` with every secret masked."""
        return Record(record.kind, self.text(record.title), self.value(record.content))


class Collector:
    """What a check uses to attach evidence: `evidence.text/json/file(...)`."""

    def __init__(self, records: list[Record], redactor: Redactor | None = None) -> None:
        self.records = records
        self.redactor = redactor or Redactor()

    def _add(self, record: Record) -> Record:
        record = self.redactor.record(record)
        self.records.append(record)
        return record

    def text(self, title: str, text: str) -> Record:
        """Attach a text (long texts keep their tail, where errors usually are)."""
        if len(text) > MAX_TEXT:
            text = f"[... {len(text) - MAX_TEXT} characters cut ...]\n" + text[-MAX_TEXT:]
        return self._add(Record("text", title, text))

    def json(self, title: str, value: Any) -> Record:
        """Attach a JSON-able value."""
        return self._add(Record("json", title, json.loads(json.dumps(value, default=str))))

    def file(self, title: str, path: Path, **facts: Any) -> Record:
        """Attach a reference to a file plus facts about it (size, sha256, ...)."""
        return self._add(Record("file", title, {"path": str(path), **facts}))
