"""Rules across the files of a directory: names, numbering, and split migration units."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from releaseops.migrations.files import NAME_RULE, NAME_RULE_TEXT, version_key
from releaseops.migrations.findings import Finding, finding
from releaseops.migrations.rules import TableUse


def _misnamed(path: Path) -> Finding | None:
    if path.suffix.lower() == ".sql":
        message = f"does not follow {NAME_RULE_TEXT}; the runner refuses the directory"
        return finding(path.name, None, "naming", message)
    if ".sql" in path.name.lower():
        message = "not a .sql file, so the runner ignores it; move it out of the directory"
        return Finding(path.name, None, "naming", "WARN", message, "naming", "WARN")
    return None


def _numbering(by_version: dict[int, list[str]]) -> list[Finding]:
    findings: list[Finding] = []
    for version, names in sorted(by_version.items()):
        if len(names) > 1:
            message = f"version {version:04d} is used {len(names)} times; renumber all but one"
            findings.append(finding(", ".join(names), None, "duplicate-version", message))
    numbers = sorted(by_version)
    for before, after in zip(numbers, numbers[1:], strict=False):
        if after - before > 1:
            message = f"versions {before + 1:04d}..{after - 1:04d} are skipped"
            findings.append(finding(by_version[after][0], None, "numbering-gap", message))
    return findings


def naming(directory: Path) -> tuple[list[Path], list[Finding]]:
    """Files that follow the naming rule (in version order), and naming/numbering findings."""
    findings: list[Finding] = []
    good: list[tuple[str, Path]] = []
    by_version: dict[int, list[str]] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        match = NAME_RULE.match(path.name)
        if match:
            good.append((match.group("version"), path))
            by_version.setdefault(int(match.group("version")), []).append(path.name)
        elif (found := _misnamed(path)) is not None:
            findings.append(found)
    findings.extend(_numbering(by_version))
    in_order = [path for _, path in sorted(good, key=lambda item: version_key(item[0]))]
    return in_order, findings


def related(uses: dict[str, list[TableUse]], pending: Collection[str]) -> list[Finding]:
    """split-unit: an index or constraint on columns an earlier file of the release changed."""
    findings: list[Finding] = []
    release = [name for name in uses if name in pending]
    for position, name in enumerate(release):
        for use in uses[name]:
            if not use.indexed or use.exempt:
                continue
            earlier = [
                other
                for other in release[:position]
                if any(u.table == use.table and u.changed & use.indexed for u in uses[other])
            ]
            if earlier:
                columns = ", ".join(sorted(use.indexed))
                message = (
                    f"{use.what} on {use.table} ({columns}) belongs with the change in "
                    f"{', '.join(earlier)} of the same release; keep related index/constraint "
                    f"changes in the same migration unit (checklist section 7)"
                )
                findings.append(finding(name, use.line, "split-unit", message))
    return findings
