"""The release record: the human facts the checklist asks to confirm or record, as a TOML file.

`load()` validates strictly (unknown keys, wrong types and naive datetimes are errors, so a typo
cannot silently pass); `write()` is a small TOML writer of our own that round-trips with it.
Field by field documentation: docs/release-record.md.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from releaseops.errors import ReleaseRecordInvalid, ReleaseRecordNotFound

ENVIRONMENTS = ("development", "staging", "production")
OWNER_FIELDS = ("release_owner", "rollback_owner", "incident_channel")
PLACEHOLDERS = {"", "TBD", "TBA", "TODO", "FIXME", "XXX", "?", "??", "???", "-", "N/A", "#"}
EXAMPLE = "fixtures/release_record.example.toml"

_TOP = {
    "release_id": str,
    "release_owner": str,
    "rollback_owner": str,
    "incident_channel": str,
    "environment": str,
    "staging_verified_at": datetime,
}
_TABLES = ("rollout", "rollback", "waiver")
_ROLLOUT = {"db_read_only": bool, "ai_auto_apply": bool, "retrieval_mode": str}
_ROLLBACK = {
    "trigger": str,
    "incident_at": datetime,
    "status": str,
    "backup_file": str,
    "backup_sha256": str,
}
_WAIVER = {"check": str, "justification": str, "approved_by": str, "expires": datetime}
_ROLLOUT_ENV = {"db_read_only": "DB_READ_ONLY", "ai_auto_apply": "AI_AUTO_APPLY"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TOML_POS = re.compile(r"line (\d+), column (\d+)")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def is_placeholder(value: str | None) -> bool:
    """True for an empty or template value: "", "TBD", "TODO", "?", "<release owner>", ..."""
    text = (value or "").strip()
    if text.upper() in PLACEHOLDERS:
        return True
    return bool(re.fullmatch(r"<[^<>@]*>", text)) or text in ("...", "…")


@dataclass(frozen=True)
class Waiver:
    """An approved exception for one check, void after `expires`."""

    check: str
    justification: str
    approved_by: str
    expires: datetime

    def is_active(self, now: datetime) -> bool:
        """True until `expires`; `now` must carry a timezone."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware, e.g. datetime.now(timezone.utc)")
        return now < self.expires


@dataclass(frozen=True)
class Rollout:
    """The rollout plan's expected flag values."""

    db_read_only: bool
    ai_auto_apply: bool
    retrieval_mode: str

    def as_env(self) -> dict[str, str]:
        """The flags as the service's environment variables ("1"/"0", mode as is)."""
        env = {name: "1" if getattr(self, key) else "0" for key, name in _ROLLOUT_ENV.items()}
        return {**env, "RETRIEVAL_MODE": self.retrieval_mode}

    def mismatches(self, env: Mapping[str, str | None]) -> list[str]:
        """Each flag in `env` that differs from the plan (or is missing), in plain words."""
        problems = []
        for key, name in _ROLLOUT_ENV.items():
            expected, raw = getattr(self, key), env.get(name)
            actual = _env_bool(raw)
            if actual is None or actual != expected:
                shown = "unset" if raw is None else repr(raw)
                problems.append(f"{name} is {shown}, the rollout plan says {int(expected)}")
        mode = env.get("RETRIEVAL_MODE")
        if (mode or "").strip().lower() != self.retrieval_mode.lower():
            shown = "unset" if mode is None else repr(mode)
            problems.append(
                f"RETRIEVAL_MODE is {shown}, the rollout plan says {self.retrieval_mode!r}"
            )
        return problems


def _env_bool(raw: str | None) -> bool | None:
    if raw is None:
        return None
    text = raw.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


@dataclass(frozen=True)
class Rollback:
    """What happened in a rollback; filled in while it happens."""

    trigger: str | None = None
    incident_at: datetime | None = None
    status: str | None = None
    backup_file: str | None = None
    backup_sha256: str | None = None

    def missing(self) -> list[str]:
        """Names of the facts a completed rollback must record but this one lacks."""
        needed = ("trigger", "incident_at", "status", "backup_file")
        return [
            f"rollback.{name}"
            for name in needed
            if getattr(self, name) is None
            or (isinstance(getattr(self, name), str) and is_placeholder(getattr(self, name)))
        ]


@dataclass(frozen=True)
class ReleaseRecord:
    """A loaded, validated release record."""

    path: Path
    release_id: str
    release_owner: str
    rollback_owner: str
    incident_channel: str
    environment: str
    staging_verified_at: datetime | None
    rollout: Rollout | None
    rollback: Rollback | None
    waivers: list[Waiver]

    def missing_owners(self) -> list[str]:
        """Names of the owner/channel fields that are empty or placeholders ("TBD", "<...>")."""
        return [name for name in OWNER_FIELDS if is_placeholder(getattr(self, name))]

    def staging_problem(self, now: datetime) -> str | None:
        """Why section 7 (staging first) is not satisfied for production, or None when it is."""
        if self.environment != "production":
            return None
        if self.staging_verified_at is None:
            return (
                f"{self.path}: staging_verified_at is not recorded; a production release must be "
                f"applied and verified in staging first (checklist section 7)"
            )
        if self.staging_verified_at > now:
            return f"{self.path}: staging_verified_at {self.staging_verified_at} is in the future"
        return None

    def as_toml_dict(self) -> dict[str, Any]:
        """The record as `write()` takes it (datetimes kept, unset fields left out)."""
        data: dict[str, Any] = {
            name: getattr(self, name) for name in _TOP if getattr(self, name) is not None
        }
        if self.rollout is not None:
            data["rollout"] = {key: getattr(self.rollout, key) for key in _ROLLOUT}
        if self.rollback is not None:
            data["rollback"] = {
                key: getattr(self.rollback, key)
                for key in _ROLLBACK
                if getattr(self.rollback, key) is not None
            }
        if self.waivers:
            data["waiver"] = [{key: getattr(w, key) for key in _WAIVER} for w in self.waivers]
        return data

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (ISO timestamps), for the evidence."""
        toml = _jsonable(self.as_toml_dict())
        data: dict[str, Any] = {"path": str(self.path)}
        data.update({name: toml.get(name) for name in (*_TOP, "rollout", "rollback")})
        data["waivers"] = toml.get("waiver", [])
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value.isoformat() if isinstance(value, date | time) else value


def active_waivers(record: ReleaseRecord, now: datetime) -> dict[str, Waiver]:
    """Check id -> the waiver in force at `now`; expired waivers are void and left out."""
    active: dict[str, Waiver] = {}
    for waiver in record.waivers:
        if waiver.is_active(now):
            held = active.get(waiver.check)
            if held is None or waiver.expires > held.expires:
                active[waiver.check] = waiver
    return active


# --- load ------------------------------------------------------------------------------------


def load(path: Path) -> ReleaseRecord:
    """Read and validate the release record at `path`; every problem is named in one error."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ReleaseRecordNotFound(path) from None
    except IsADirectoryError:
        raise ReleaseRecordInvalid(
            f"release record {path} is a directory; pass the TOML file itself", path=path
        ) from None
    except UnicodeDecodeError as exc:
        raise ReleaseRecordInvalid(
            f"release record {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            f"save it as UTF-8",
            path=path,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        pos = _TOML_POS.search(str(exc))
        line, column = (int(pos.group(1)), int(pos.group(2))) if pos else (None, None)
        raise ReleaseRecordInvalid(
            f"release record {path} is not valid TOML: {exc}. Fix the syntax there; "
            f"compare with {EXAMPLE}",
            path=path,
            line=line,
            column=column,
        ) from None
    return _build(path, raw)


def _build(path: Path, raw: dict[str, Any]) -> ReleaseRecord:
    problems: list[str] = []
    _unknown(raw, (*_TOP, *_TABLES), "", problems)
    top = _fields(raw, _TOP, "", problems)
    for name in ("release_id", "environment"):
        if name not in raw:
            problems.append(f"{name} is required")
    env = top.get("environment")
    if isinstance(env, str) and env not in ENVIRONMENTS:
        problems.append(f"environment must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    if isinstance(top.get("release_id"), str) and is_placeholder(top["release_id"]):
        problems.append(f"release_id must be set, got {top['release_id']!r}")
    rollout = _rollout(raw, problems)
    rollback = _rollback(raw, problems)
    waivers = _waivers(raw, problems)
    if problems:
        raise ReleaseRecordInvalid(
            f"release record {path} is invalid: {'; '.join(problems)}. "
            f"Compare with {EXAMPLE}; docs/release-record.md describes every field.",
            path=path,
            problems=problems,
        )
    return ReleaseRecord(
        path=path,
        release_id=top["release_id"],
        release_owner=top.get("release_owner", ""),
        rollback_owner=top.get("rollback_owner", ""),
        incident_channel=top.get("incident_channel", ""),
        environment=top["environment"],
        staging_verified_at=top.get("staging_verified_at"),
        rollout=rollout,
        rollback=rollback,
        waivers=waivers,
    )


def _unknown(table: dict[str, Any], known: tuple[str, ...], prefix: str, out: list[str]) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {prefix + close[0]!r}?)" if close else ""
            out.append(f"unknown key {prefix + key!r}{hint}; known: {', '.join(known)}")


def _fields(
    table: dict[str, Any], schema: dict[str, type], prefix: str, out: list[str]
) -> dict[str, Any]:
    """The known, well-typed values of `table`; every type problem is appended to `out`."""
    good: dict[str, Any] = {}
    for key, kind in schema.items():
        if key not in table:
            continue
        value, name = table[key], f"{prefix}{key}"
        problem = _type_problem(name, value, kind)
        if problem:
            out.append(problem)
        else:
            good[key] = value
    return good


def _type_problem(name: str, value: Any, kind: type) -> str | None:
    if kind is datetime:
        if not isinstance(value, datetime):
            return (
                f"{name} must be a TOML datetime with a timezone (e.g. 2026-11-28T10:15:00Z), "
                f"got {_shown(value)}"
            )
        if value.tzinfo is None:
            stamp = value.isoformat()
            return f"{name} is {stamp} without a timezone; add one (e.g. {stamp}Z for UTC)"
        return None
    if type(value) is not kind:
        expected = {bool: "a boolean (true or false)", str: "a string"}[kind]
        return f"{name} must be {expected}, got {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    kinds = {
        bool: "boolean",
        str: "string",
        int: "integer",
        float: "float",
        list: "array",
        dict: "table",
        datetime: "datetime",
        date: "date",
        time: "time",
    }
    return f"{value!r} ({kinds.get(type(value), type(value).__name__)})"


def _table(raw: dict[str, Any], name: str, out: list[str]) -> dict[str, Any] | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        out.append(f"{name} must be a table ([{name}]), got {_shown(value)}")
        return None
    return value


def _rollout(raw: dict[str, Any], out: list[str]) -> Rollout | None:
    table = _table(raw, "rollout", out)
    if table is None:
        return None
    _unknown(table, tuple(_ROLLOUT), "rollout.", out)
    good = _fields(table, _ROLLOUT, "rollout.", out)
    out.extend(f"rollout.{key} is required" for key in _ROLLOUT if key not in table)
    return Rollout(**good) if len(good) == len(_ROLLOUT) else None


def _rollback(raw: dict[str, Any], out: list[str]) -> Rollback | None:
    table = _table(raw, "rollback", out)
    if table is None:
        return None
    _unknown(table, tuple(_ROLLBACK), "rollback.", out)
    good = _fields(table, _ROLLBACK, "rollback.", out)
    digest = good.get("backup_sha256")
    if digest is not None and not _SHA256.match(digest):
        out.append(f"rollback.backup_sha256 must be 64 lowercase hex digits, got {digest!r}")
    return Rollback(**good)


def _waivers(raw: dict[str, Any], out: list[str]) -> list[Waiver]:
    items = raw.get("waiver", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        out.append(f"waiver must be an array of tables ([[waiver]]), got {_shown(items)}")
        return []
    waivers = []
    for number, item in enumerate(items, start=1):
        prefix, before = f"waiver[{number}].", len(out)
        _unknown(item, tuple(_WAIVER), prefix, out)
        good = _fields(item, _WAIVER, prefix, out)
        for key in _WAIVER:
            if key not in item or (key in good and key != "expires" and is_placeholder(good[key])):
                out.append(
                    f"{prefix}{key} is required: a waiver needs check, justification, "
                    f"approved_by and expires"
                )
        if len(out) == before:
            waivers.append(Waiver(**good))
    return waivers


# --- write -----------------------------------------------------------------------------------


def write(record_dict: Mapping[str, Any], path: Path) -> None:
    """Write `record_dict` as TOML (atomically); None values are left out; load() reads it back."""
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
    return ".".join(_key(key) for key in keys)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
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
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)
