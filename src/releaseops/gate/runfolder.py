"""The evidence folder of one run: evidence.json, checklist.md, per-check files, `latest` link."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from releaseops.backup.safefiles import SafeDir
from releaseops.gate.checklist import ITEMS, SECTIONS
from releaseops.gate.evidence import Redactor
from releaseops.gate.verdict import NO_GO_MAP, CheckResult, Verdict


def new_run_id(label: str, now: datetime | None = None) -> str:
    """<UTC timestamp>-<label>, sortable and unique enough for one machine."""
    now = now or datetime.now(UTC)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40] or "run"
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{safe}"


def create(reports_dir: Path, run_id: str) -> Path:
    """Create reports/<run-id>/ (owner-only) and point reports/latest at it."""
    folder = reports_dir / run_id
    folder.mkdir(parents=True, exist_ok=False)
    folder.chmod(0o700)
    link = reports_dir / "latest"
    tmp = reports_dir / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_id)
    tmp.replace(link)
    return folder


def write_release_facts(folder: Path, facts: dict[str, Any]) -> Path:
    """Add facts to the run's release.json (backup path, sha256, timestamps); returns its path.

    The user's release record is never written: what the checks learn goes to the evidence.
    """
    # Read and written relative to the run folder's descriptor, never through a link.
    with SafeDir.open(folder, check=False) as opened:
        found = opened.read("release.json")
        current = json.loads(found) if found is not None else {}
        current.update(facts)
        text = json.dumps(current, indent=2, sort_keys=True, default=str) + "\n"
        return opened.write_atomically("release.json", text.encode())


def write_summary(folder: Path, summary: dict[str, Any]) -> Path:
    """Write the run's summary.json (what reports/index.html shows of it), atomically."""
    path = folder / "summary.json"
    partial = folder / f".summary.json.{os.getpid()}.partial"
    partial.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(partial, path)
    return path


def _anchor(check_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in check_id)


def write(
    folder: Path,
    results: list[CheckResult],
    verdict: Verdict,
    meta: dict[str, Any],
    redactor: Redactor,
) -> None:
    """Write evidence.json, checklist.md and evidence/<check>.json, all redacted."""
    evidence_dir = folder / "evidence"
    evidence_dir.mkdir(exist_ok=True)
    for result in results:
        data = redactor.value(result.as_dict())
        (evidence_dir / f"{_anchor(result.check_id)}.json").write_text(
            json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
        )
    document = {
        "meta": meta,
        "verdict": verdict.as_dict(),
        "no_go_map": {c: list(items) for c, items in NO_GO_MAP.items()},
        "checks": [r.as_dict() for r in results],
    }
    (folder / "evidence.json").write_text(
        json.dumps(redactor.value(document), indent=2, sort_keys=True, default=str) + "\n"
    )
    (folder / "checklist.md").write_text(redactor.text(checklist(results, verdict, meta)))


def _box(results: Iterable[CheckResult]) -> tuple[str, str]:
    results = list(results)
    if not results:
        return " ", "not checked in this run"
    if all(r.outcome == "passed" for r in results):
        return "x", "passed"
    if any(r.outcome == "failed" and r.waiver is None for r in results):
        return " ", "FAILED"
    if any(r.outcome in ("not verified", "blocked") for r in results):
        return " ", "NOT VERIFIED"
    return "x", "passed with waiver"


def checklist(results: list[CheckResult], verdict: Verdict, meta: dict[str, Any]) -> str:
    """The checklist with its boxes ticked from the results, linking to each check's evidence."""
    target = meta.get("target") or {}
    if not isinstance(target, dict):
        target = {"kind": target}
    subject = meta.get("subject") or {}
    label = subject.get("label", "no target")
    lines = [
        f"# Release checklist — run {meta.get('run_id', '')}",
        "",
        f"Verdict: **{verdict.decision}** ({label}) — finished {meta.get('finished_at', '')}",
        "",
    ]
    if subject:
        lines += [
            "Verified:",
            "",
            f"- target: {label}",
            f"- database: `{subject.get('database') or 'unknown'}`",
            f"- server: {subject.get('system_identifier') or 'unknown'} "
            f"(PostgreSQL {subject.get('server_version') or 'unknown'})",
            f"- release: {subject.get('release_id') or 'unknown'}",
            f"- phases: {', '.join(subject.get('phases') or []) or '-'}",
            f"- commit: {subject.get('commit') or 'unknown'}",
            "",
        ]
    lines += [f"- {r.line()}" for r in verdict.reasons]
    if target:
        lines += ["", "Target settings:", ""]
        lines += [f"- {key}: `{value}`" for key, value in target.items() if value is not None]
    by_item: dict[str, list[CheckResult]] = {}
    for result in results:
        for item_id in result.items:
            by_item.setdefault(item_id, []).append(result)
    for key, title in SECTIONS.items():
        lines += ["", f"## {title}", ""]
        for item in (i for i in ITEMS.values() if i.section == key):
            box, state = _box(by_item.get(item.id, []))
            if item.id in NO_GO_MAP:
                box, state = _no_go_box(item.id, results)
            links = ", ".join(
                f"[{r.check_id}](evidence/{_anchor(r.check_id)}.json)"
                for r in by_item.get(item.id, [])
            )
            lines.append(f"- [{box}] {item.text} — {state}" + (f" ({links})" if links else ""))
    return "\n".join(lines) + "\n"


def _no_go_box(condition: str, results: list[CheckResult]) -> tuple[str, str]:
    """A No-Go line is ticked when its condition is clear: every deciding check passed."""
    deciding = [r for r in results if set(r.items) & set(NO_GO_MAP[condition])]
    box, state = _box(deciding)
    return box, {"passed": "clear", "FAILED": "NO-GO", "NOT VERIFIED": "NOT VERIFIED"}.get(
        state, state
    )
