"""reports/index.html: every run folder, newest first, with the release figures' trends.

Rewritten at the end of every checks run, atomically: a reader sees the old page or the new
one. A folder that is still running, partial, or of an older shape is listed with what it has,
and never stops the page from being written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from releaseops.gate import index_html, runfolder
from releaseops.gate.run_summary import from_evidence, read_json, summarize

RUN_NAME = re.compile(r"^\d{8}T\d{6,9}Z-")
INDEX = "index.html"
MAX_RUNS = 500


def run_folders(reports_dir: Path) -> list[Path]:
    """The run folders of `reports_dir`, newest first (run ids sort by their UTC timestamp)."""
    try:
        entries = list(reports_dir.iterdir())
    except OSError:
        return []
    found = [p for p in entries if RUN_NAME.match(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: p.name, reverse=True)[:MAX_RUNS]


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def update(reports_dir: Path, current: Path | None = None, pending: tuple[str, ...] = ()) -> Path:
    """Store the current run's summary.json, then rewrite reports_dir/index.html.

    `pending` names files of the current run written after this (report.html by pytest-html).
    """
    if current is not None:
        try:
            document = read_json(current / "evidence.json")
        except (OSError, ValueError):
            document = None
        if document is not None:
            summary = from_evidence(current.name, document)
            runfolder.write_summary(current, summary.as_dict())
    runs = [summarize(folder) for folder in run_folders(reports_dir)]
    if current is not None:
        for run in runs:
            if run.run_id == current.name:
                run.files = tuple(sorted({*run.files, *pending}))
    path = reports_dir / INDEX
    write_atomically(path, index_html.render(runs))
    return path
