"""The release record: the human facts the checklist asks to confirm or record, as a TOML file.

This module loads it: `load()` validates strictly (unknown keys, wrong types and naive datetimes
are errors, so a typo cannot silently pass). The data model lives in `record_model`, and
`write()` (from `tomlwrite`, a small TOML writer of our own) round-trips with `load()`; both are
re-exported here. Field by field documentation: docs/release-record.md.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from releaseops.errors import ReleaseRecordInvalid, ReleaseRecordNotFound
from releaseops.release.record_model import (
    ENVIRONMENTS,
    EXAMPLE,
    MIGRATION_FIELDS,
    OWNER_FIELDS,
    PLACEHOLDERS,
    ROLLBACK_FIELDS,
    ROLLOUT_FIELDS,
    SLO_FIELDS,
    TABLES,
    TOP_FIELDS,
    WAIVER_FIELDS,
    MigrationBudget,
    ReleaseRecord,
    Rollback,
    Rollout,
    Slo,
    Waiver,
    active_waivers,
    is_placeholder,
)
from releaseops.release.tomlwrite import write

__all__ = [
    "ENVIRONMENTS",
    "EXAMPLE",
    "OWNER_FIELDS",
    "MigrationBudget",
    "PLACEHOLDERS",
    "ReleaseRecord",
    "Rollback",
    "Rollout",
    "Slo",
    "Waiver",
    "active_waivers",
    "is_placeholder",
    "load",
    "write",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TOML_POS = re.compile(r"line (\d+), column (\d+)")


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
    """Validate the parsed TOML `raw` into a ReleaseRecord, or raise naming every problem."""
    problems: list[str] = []
    _unknown(raw, (*TOP_FIELDS, *TABLES), "", problems)
    top = _fields(raw, TOP_FIELDS, "", problems)
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
    slo = _slo(raw, problems)
    migration = _migration(raw, problems)
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
        slo=slo,
        migration=migration,
    )


def _unknown(table: dict[str, Any], known: tuple[str, ...], prefix: str, out: list[str]) -> None:
    """Append a problem for each key of `table` not in `known`, suggesting a close match."""
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
    """Why `value` is not of `kind` (datetimes need a timezone), or None when it is."""
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
    if kind is float and type(value) in (int, float):
        return None
    if type(value) is not kind:
        expected = {
            bool: "a boolean (true or false)",
            str: "a string",
            int: "an integer",
            float: "a number",
        }[kind]
        return f"{name} must be {expected}, got {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    """`value` with its TOML type, for a problem message."""
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
    """The sub-table `name` of `raw`, or None when absent or not a table (noted in `out`)."""
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        out.append(f"{name} must be a table ([{name}]), got {_shown(value)}")
        return None
    return value


def _rollout(raw: dict[str, Any], out: list[str]) -> Rollout | None:
    """The [rollout] table as a Rollout; every field is required."""
    table = _table(raw, "rollout", out)
    if table is None:
        return None
    _unknown(table, tuple(ROLLOUT_FIELDS), "rollout.", out)
    good = _fields(table, ROLLOUT_FIELDS, "rollout.", out)
    out.extend(f"rollout.{key} is required" for key in ROLLOUT_FIELDS if key not in table)
    return Rollout(**good) if len(good) == len(ROLLOUT_FIELDS) else None


def _rollback(raw: dict[str, Any], out: list[str]) -> Rollback | None:
    """The [rollback] table as a Rollback; fields are filled in while a rollback happens."""
    table = _table(raw, "rollback", out)
    if table is None:
        return None
    _unknown(table, tuple(ROLLBACK_FIELDS), "rollback.", out)
    good = _fields(table, ROLLBACK_FIELDS, "rollback.", out)
    digest = good.get("backup_sha256")
    if digest is not None and not _SHA256.match(digest):
        out.append(f"rollback.backup_sha256 must be 64 lowercase hex digits, got {digest!r}")
    return Rollback(**good)


def _waivers(raw: dict[str, Any], out: list[str]) -> list[Waiver]:
    """The [[waiver]] tables; a waiver with any problem is left out (and the problem noted)."""
    items = raw.get("waiver", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        out.append(f"waiver must be an array of tables ([[waiver]]), got {_shown(items)}")
        return []
    waivers = []
    for number, item in enumerate(items, start=1):
        prefix, before = f"waiver[{number}].", len(out)
        _unknown(item, tuple(WAIVER_FIELDS), prefix, out)
        good = _fields(item, WAIVER_FIELDS, prefix, out)
        for key in WAIVER_FIELDS:
            if key not in item or (key in good and key != "expires" and is_placeholder(good[key])):
                out.append(
                    f"{prefix}{key} is required: a waiver needs check, justification, "
                    f"approved_by and expires"
                )
        if len(out) == before:
            waivers.append(Waiver(**good))
    return waivers


def _bounded(
    raw: dict[str, Any],
    name: str,
    schema: dict[str, tuple[type, float, float, bool]],
    out: list[str],
) -> dict[str, Any] | None:
    """An optional table of bounded numbers (`[slo]`, `[migration]`): its values, or None.

    None when the table is absent or has a problem (each appended to `out`); floats come out
    as float even when written as integers.
    """
    table = _table(raw, name, out)
    if table is None:
        return None
    before = len(out)
    _unknown(table, tuple(schema), f"{name}.", out)
    types = {key: kind for key, (kind, *_) in schema.items()}
    good = _fields(table, types, f"{name}.", out)
    for key, value in good.items():
        kind, low, high, inclusive = schema[key]
        inside = low <= value <= high if inclusive else low < value < high
        if not (math.isfinite(value) and inside):
            bounds = f"[{low:g}, {high:g}]" if inclusive else f"({low:g}, {high:g})"
            out.append(f"{name}.{key} must lie in {bounds}, got {value!r}")
    if len(out) > before:
        return None
    return {k: float(v) if types[k] is float else v for k, v in good.items()}


def _slo(raw: dict[str, Any], out: list[str]) -> Slo | None:
    """The optional [slo] table as an Slo; absent keys keep their defaults."""
    values = _bounded(raw, "slo", SLO_FIELDS, out)
    return None if values is None else Slo(**values)


def _migration(raw: dict[str, Any], out: list[str]) -> MigrationBudget | None:
    """The optional [migration] table as a MigrationBudget; absent keys keep their defaults."""
    values = _bounded(raw, "migration", MIGRATION_FIELDS, out)
    return None if values is None else MigrationBudget(**values)
