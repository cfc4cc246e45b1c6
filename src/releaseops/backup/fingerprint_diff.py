"""Compare two fingerprints: every difference names the object and what differs.

`diff(a, b)` returns lines such as `sequence public.questions_id_seq: last_value 1041 vs 1037`,
`trigger questions_fts on public.questions: enabled O vs D` or `table public.t: content differs
(same 12 rows)`. What could not be compared (one side catalog-only, owners missing on one side,
different content digests) is said in `notes`, never silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from releaseops.backup.fingerprint import Fingerprint
from releaseops.backup.fingerprint_catalog import OWNER_ATTRIBUTES

# Attributes that describe data rather than the catalog (left out of catalog-only comparisons).
DATA_ATTRIBUTES = frozenset({"last_value", "is_called"})
DATA_OBJECTS = ("large object ",)
_HASH = re.compile(r"^[0-9a-f]{64}$")
_SHOWN = 160


@dataclass(frozen=True)
class Difference:
    """One difference: the object, the attribute (empty for presence), A's and B's values."""

    object: str
    attribute: str
    a: Any
    b: Any

    def explain(self, a_label: str = "A", b_label: str = "B") -> str:
        """One line in an operator's words."""
        if self.attribute == "":
            where = f"missing from {b_label}" if self.b is None else f"only in {b_label}"
            return f"{self.object}: {where}"
        if self.attribute == "rows":
            return f"{self.object}: {self.a} rows vs {self.b} rows"
        if self.attribute == "content":
            return f"{self.object}: content differs (same {self.a} rows)"
        if self.attribute == "text":
            return f"{self.object}: {_show(self.a, quote=True)} vs {_show(self.b, quote=True)}"
        if _is_hash(self.a) and _is_hash(self.b):
            what = "bytes differ" if self.attribute == "sha256" else f"{self.attribute} differs"
            return f"{self.object}: {what} (sha256 {self.a[:12]} vs {self.b[:12]})"
        return f"{self.object}: {self.attribute} {_show(self.a)} vs {_show(self.b)}"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"object": self.object, "attribute": self.attribute, "a": self.a, "b": self.b}


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and bool(_HASH.match(value))


def _show(value: Any, *, quote: bool = False) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    text = repr(str(value)) if quote else str(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


@dataclass(frozen=True)
class FingerprintDiff:
    """The differences between A and B, and what could not be compared."""

    a_label: str
    b_label: str
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)
    compared: str = ""

    @property
    def is_equal(self) -> bool:
        """True when nothing that was compared differs."""
        return not self.differences

    def lines(self) -> list[str]:
        """One line per difference (or a one-line summary), then the notes."""
        if self.is_equal:
            head = [f"{self.b_label} equals {self.a_label}: {self.compared}"]
        else:
            count = len(self.differences)
            head = [
                f"{count} difference{'s' if count > 1 else ''}, {self.a_label} vs {self.b_label}:",
                *(f"  {d.explain(self.a_label, self.b_label)}" for d in self.differences),
            ]
        return [*head, *(f"note: {n}" for n in self.notes)]

    def explain(self) -> str:
        """lines() as one text."""
        return "\n".join(self.lines())

    def as_dict(self) -> dict[str, Any]:
        """Plain data for --json and evidence."""
        return {
            "a": self.a_label,
            "b": self.b_label,
            "equal": self.is_equal,
            "compared": self.compared,
            "differences": [
                {**d.as_dict(), "text": d.explain(self.a_label, self.b_label)}
                for d in self.differences
            ],
            "notes": self.notes,
        }


def diff(
    a: Fingerprint,
    b: Fingerprint,
    *,
    a_label: str = "A",
    b_label: str = "B",
    catalog_only: bool = False,
    owners: bool = True,
    ignore_attributes: Iterable[str] = (),
    ignore_objects: Callable[[str], bool] | None = None,
) -> FingerprintDiff:
    """Compare A with B: catalog, then (when both have it) data; differences sorted by object."""
    notes: list[str] = []
    catalog_only = catalog_only or _one_side_catalog_only(a, b, a_label, b_label, notes)
    skip = set(ignore_attributes) | _owner_skip(a, b, a_label, b_label, owners=owners, notes=notes)
    if catalog_only:
        skip |= DATA_ATTRIBUTES

    def kept(key: str) -> bool:
        if catalog_only and key.startswith(DATA_OBJECTS):
            return False
        return ignore_objects is None or not ignore_objects(key)

    found = _catalog_differences(a.objects, b.objects, kept, skip)
    if not catalog_only:
        found += _content_differences(a, b, kept, a_label, b_label, notes)
    compared = a.summary() if not catalog_only else f"{len(a.objects)} catalog objects"
    return FingerprintDiff(a_label, b_label, sorted(found, key=_order), notes, compared)


def _order(d: Difference) -> tuple[str, str]:
    return (d.object, d.attribute)


def _one_side_catalog_only(
    a: Fingerprint, b: Fingerprint, a_label: str, b_label: str, notes: list[str]
) -> bool:
    for fp, label in ((a, a_label), (b, b_label)):
        if fp.options.catalog_only:
            notes.append(
                f"data not compared: {label} is a catalog-only fingerprint (no table contents, "
                f"sequence values or large objects)"
            )
            return True
    return False


def _owner_skip(
    a: Fingerprint,
    b: Fingerprint,
    a_label: str,
    b_label: str,
    *,
    owners: bool,
    notes: list[str],
) -> set[str]:
    if not owners:
        return set(OWNER_ATTRIBUTES)
    if a.options.owners != b.options.owners:
        without = b_label if a.options.owners else a_label
        notes.append(f"owners and ACLs not compared: {without} was taken without them")
        return set(OWNER_ATTRIBUTES)
    return set()


def _catalog_differences(
    a: dict[str, dict[str, Any]],
    b: dict[str, dict[str, Any]],
    kept: Callable[[str], bool],
    skip: set[str],
) -> list[Difference]:
    found: list[Difference] = []
    for key in sorted(k for k in a.keys() | b.keys() if kept(k)):
        if key not in b:
            found.append(Difference(key, "", a[key], None))
        elif key not in a:
            found.append(Difference(key, "", None, b[key]))
        else:
            for name in sorted((a[key].keys() | b[key].keys()) - skip):
                if a[key].get(name) != b[key].get(name):
                    found.append(Difference(key, name, a[key].get(name), b[key].get(name)))
    return found


def _content_differences(
    a: Fingerprint,
    b: Fingerprint,
    kept: Callable[[str], bool],
    a_label: str,
    b_label: str,
    notes: list[str],
) -> list[Difference]:
    same_digest = a.options.content == b.options.content
    if not same_digest:
        notes.append(
            f"content digests not compared ({a_label} used {a.options.content}, {b_label} "
            f"{b.options.content}): only row counts were"
        )
    found: list[Difference] = []
    for key in sorted(k for k in a.content.keys() & b.content.keys() if kept(k)):
        x, y = a.content[key], b.content[key]
        if x.rows != y.rows:
            found.append(Difference(key, "rows", x.rows, y.rows))
        elif same_digest and x.digest != y.digest:
            found.append(Difference(key, "content", x.rows, y.rows))
    return found
