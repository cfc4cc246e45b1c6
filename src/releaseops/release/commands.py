"""The checklist's canonical operation commands (section 8) and whether each can run here."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

CANONICAL = (
    'python scripts/backup_postgres.py --db "$DATABASE_URL"',
    'python scripts/run_postgres_migrations.py --db "$DATABASE_URL"',
    'python scripts/init_fts.py --db "$DATABASE_URL" --sync',
    "./scripts/dc up -d --build",
)


def problem(repo_root: Path, command: str) -> str | None:
    """Why `command` cannot run from `repo_root` (missing, not executable, no --help), or None."""
    words = shlex.split(command)
    script = repo_root / (words[1] if words[0] == "python" else words[0])
    if not script.is_file():
        return f"{script} does not exist: the checklist command {command!r} cannot run"
    if words[0] == "python":
        argv = [sys.executable, str(script), "--help"]
    elif not os.access(script, os.X_OK):
        return f"{script} is not executable (chmod +x {script.relative_to(repo_root)})"
    else:
        argv = [str(script), "--help"]
    try:
        proc = subprocess.run(
            argv, cwd=repo_root, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{' '.join(argv)} could not run: {exc}"
    if proc.returncode != 0 or not proc.stdout.strip():
        return (
            f"{script.name} --help exited {proc.returncode} with no usage text: "
            f"{proc.stderr.strip()[-300:]}"
        )
    return None
