"""What a verdict verified: target kind, masked database, server identity, release, phases, commit.

A verdict without its subject can be replayed against the wrong system; every artifact of a
run (terminal line, report header, checklist.md, evidence.json, JUnit properties) names it.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KIND_LABELS = {"embedded": "embedded rehearsal", "env": "env target"}


@dataclass
class Subject:
    """The facts a verdict is about; unknown ones stay None and read as "unknown"."""

    kind: str | None = None
    database: str | None = None
    system_identifier: str | None = None
    server_version: str | None = None
    release_id: str | None = None
    phases: tuple[str, ...] = ()
    commit: str | None = None

    @property
    def label(self) -> str:
        """`embedded rehearsal` or `env target` (an embedded GO is a rehearsal, never a release)."""
        return KIND_LABELS.get(self.kind or "", "no target")

    @property
    def server(self) -> str:
        """`<system_identifier> (PostgreSQL <version>)`, or what is known of it."""
        if self.system_identifier is None and self.server_version is None:
            return "unknown"
        version = f"PostgreSQL {self.server_version}" if self.server_version else "version unknown"
        return f"{self.system_identifier or 'identifier unknown'} ({version})"

    def line(self) -> str:
        """One line naming everything the verdict covers."""
        return (
            f"target {self.label} · database {self.database or 'unknown'} · server {self.server}"
            f" · release {self.release_id or 'unknown'} · phases {', '.join(self.phases) or '-'}"
            f" · commit {self.commit or 'unknown'}"
        )

    def properties(self) -> dict[str, str]:
        """Flat name -> text pairs (JUnit properties, the HTML environment table)."""
        return {
            "releaseops.target": self.label,
            "releaseops.database": self.database or "unknown",
            "releaseops.server": self.server,
            "releaseops.release": self.release_id or "unknown",
            "releaseops.phases": ",".join(self.phases),
            "releaseops.commit": self.commit or "unknown",
        }

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence.json."""
        return {**asdict(self), "phases": list(self.phases), "label": self.label}


def commit_of(repo_root: Path) -> str | None:
    """The checked-out commit of the checks (`<sha>` or `<sha>-dirty`); None outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "checks", "src"],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha or None
