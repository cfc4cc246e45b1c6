"""No secret reaches the terminal or any file of a run, even when checks fail on URLs.

The staged target's secrets are known here: the database password, the API token and
SECRET_KEY. Each test forces failures whose messages naturally carry them, then reads the
terminal output and every byte of every file the run and the target left behind.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from releaseops.rehearsal.cluster import free_port

EXTERNAL = re.compile(
    r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?!data:|#)[^\"'>\s]+"
)


def secrets_of(staged) -> dict[str, str]:
    target = staged.target
    assert target.db.password, "the staged database has no password to leak"
    return {
        "database password": target.db.password,
        "API token": target.token,
        "SECRET_KEY": target.secret_key,
    }


def leaks(staged, run, root: Path) -> list[str]:
    """Where each secret shows up: the terminal, or a file under `root`."""
    found: list[str] = []
    for name, value in secrets_of(staged).items():
        if value in run.stdout or value in run.stderr:
            found.append(f"{name} in the terminal output")
        for path in root.rglob("*"):
            if path.is_file() and value.encode() in path.read_bytes():
                found.append(f"{name} in {path.relative_to(root)}")
    return found


def assert_self_contained(run) -> None:
    report = run.folder / "report.html"
    assert report.is_file(), sorted(p.name for p in run.folder.iterdir())
    assert not (run.folder / "assets").exists(), "report.html needs an assets folder"
    external = EXTERNAL.findall(report.read_text())
    assert not external, f"report.html loads other files: {external[:5]}"


def wrong_port_url(staged, scheme: str, dbname: str) -> str:
    db = staged.db
    return f"{scheme}://{db.user}:{db.password}@{db.host}:{free_port()}/{dbname}"


@pytest.mark.staged(serve=False)
def test_drill_failing_on_urls_with_the_real_password_leaks_no_secret(staged, tmp_path):
    staged.target.ensure_backup()
    drill = f"{staged.db.dbname}_drill"
    staged.overrides["DRILL_DATABASE_URL"] = wrong_port_url(staged, "postgresql+psycopg", drill)
    staged.overrides["POSTGRES_ADMIN_URL"] = wrong_port_url(staged, "postgresql", "postgres")
    run = staged.run("drill", *staged.drill_execute())
    assert run.decision == "NO-GO" and run.failed, run.describe()
    assert any("***" in run.message(c) for c in run.failed), run.describe()
    assert leaks(staged, run, tmp_path) == []
    assert_self_contained(run)


@pytest.mark.staged("deployed")
def test_restart_command_printing_the_environment_leaks_no_secret(staged, tmp_path):
    staged.target.ensure_deployed()
    # A restart command that fails and dumps its environment on stderr: the failure message
    # quotes that stderr.
    staged.overrides["RESTART_COMMAND"] = (
        'echo "cannot restart: DATABASE_URL=$DATABASE_URL SECRET_KEY=$SECRET_KEY '
        'API_TOKENS=$API_TOKENS" >&2; exit 1'
    )
    run = staged.run("rollback", *staged.execute())
    freeze = "rollback.writes_blocked_and_risky_behaviour_frozen"
    assert freeze in run.failed, run.describe()
    assert "cannot restart" in run.message(freeze)
    assert leaks(staged, run, tmp_path) == []
    assert_self_contained(run)


@pytest.mark.staged("rolled back")
def test_rollback_evidence_with_a_failing_check_leaks_no_secret(staged, tmp_path):
    staged.target.ensure_rolled_back()
    staged.edit_record(rollback__status="in progress")
    run = staged.run("postrollback")
    assert run.decision == "NO-GO", run.describe()
    assert leaks(staged, run, tmp_path) == []
    assert_self_contained(run)


class ProcessListSampler:
    """Reads every process's arguments (what `ps` shows any local user) while a run goes on."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.samples = 0
        self.seen: set[str] = set()
        self.found: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ProcessListSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.samples += 1
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                self.seen.add(argv[:120])
                self.found += [
                    f"{n} in: {argv[:200]}" for n, v in self.secrets.items() if v in argv
                ]


def test_no_process_of_a_gate_and_drill_run_shows_a_password_in_its_arguments(staged):
    # Every checklist command, pg tool and restart of predeploy and the drill runs while the
    # process list is sampled: the password reaches children only through their environment.
    with ProcessListSampler(secrets_of(staged)) as sampler:
        gate = staged.run("predeploy")
        drill = staged.run("drill", *staged.drill_execute())
    assert gate.decision == "GO", gate.describe()
    assert drill.decision == "GO", drill.describe()
    assert sampler.samples > 50
    assert any("backup_postgres.py" in argv for argv in sampler.seen)  # the sampler saw them
    assert any("pg_restore" in argv for argv in sampler.seen)
    assert sampler.found == []
