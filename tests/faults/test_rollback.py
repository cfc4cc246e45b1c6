"""Each rollback check goes red, alone, when its fault is injected.

An env target restarts its service through RESTART_COMMAND. For a staged target that command
is a tiny script asking the `deployment` fixture (a thread of this test process, which owns the
staged service) to restart the service with the flags the command was given, on the code of the
release the database is at: the release while its migration is applied, the previous release
after the restore. A fault in the deployment (a restart that drops a flag) is injected there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from releaseops import migrations
from releaseops.runbook.deployment import FREEZE_FLAGS

FREEZE = "rollback.writes_blocked_and_risky_behaviour_frozen"
LIBPQ = "rollback.libpq_url_converted"
SELECT = "rollback.restore_target_dump_selected_and_verified"
RESTORE = "rollback.database_restored"
MIGRATIONS = "rollback.migration_state_matches_dump"
FTS = "rollback.fts_resynced"
SMOKE = "rollback.smoke_passes_with_writes_still_blocked"
REOPEN = "rollback.writes_not_reopened_without_go_decision"

RESTART_SCRIPT = '''\
"""Ask the staged deployment to restart the service with this environment's flags."""
import json, os, sys, time
from pathlib import Path

inbox = Path(sys.argv[1])
flags = {k: os.environ[k] for k in ("DB_READ_ONLY", "AI_AUTO_APPLY", "RETRIEVAL_MODE")
         if k in os.environ}
request = inbox / f"{os.getpid()}.request"
request.with_suffix(".tmp").write_text(json.dumps(flags))
request.with_suffix(".tmp").rename(request)
done = request.with_suffix(".done")
deadline = time.monotonic() + 120
while not done.exists():
    if time.monotonic() > deadline:
        sys.exit("the staged deployment did not answer")
    time.sleep(0.05)
answer = done.read_text()
print(answer)
sys.exit(0 if answer.startswith("restarted") else answer)
'''

Tamper = Callable[[int, dict[str, str]], dict[str, str]]


class StagedDeployment:
    """What RESTART_COMMAND reaches on a staged target; `tamper` injects deployment faults."""

    def __init__(self, staged, inbox: Path) -> None:
        self.staged = staged
        self.inbox = inbox
        self.restarts: list[dict[str, str]] = []
        self.tamper: Tamper = lambda _number, flags: flags
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> StagedDeployment:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        while not self._stop.wait(0.05):
            for request in sorted(self.inbox.glob("*.request")):
                answer = self._restart(json.loads(request.read_text()))
                request.with_suffix(".done").write_text(answer)
                request.unlink()

    def _restart(self, flags: dict[str, str]) -> str:
        flags = self.tamper(len(self.restarts), flags)
        self.restarts.append(flags)
        target = self.staged.target
        pending = migrations.status(target.db, target.migrations_dir).pending
        code = target.previous_dir if pending else target.migrations_dir
        try:
            target.restart_service(**{"MIGRATIONS_DIR": str(code), **flags})
        except Exception as exc:  # noqa: BLE001 - reported to the phase as the command's failure
            return f"failed: {exc}"
        return f"restarted with {flags}"


@pytest.fixture
def deployment(staged, tmp_path) -> Iterator[StagedDeployment]:
    inbox = tmp_path / "deployment-inbox"
    inbox.mkdir()
    script = tmp_path / "restart_staged.py"
    script.write_text(RESTART_SCRIPT)
    staged.overrides["RESTART_COMMAND"] = f"python {script} {inbox}"
    with StagedDeployment(staged, inbox) as running:
        yield running


def open_writes_on_restart(number: int) -> Tamper:
    """A deployment whose restart number `number` forgets DB_READ_ONLY=1."""
    return lambda n, flags: {**flags, "DB_READ_ONLY": "0"} if n == number else flags


def make_fts_stale(staged) -> None:
    """Change question text behind the FTS triggers' back."""
    staged.sql(
        "SET session_replication_role = replica; "
        "UPDATE questions SET stem = stem || ' (edited)' WHERE id IN "
        "(SELECT id FROM questions ORDER BY id LIMIT 2)"
    )


def test_rollback_is_green_on_a_deployed_target(staged, deployment):
    staged.target.ensure_deployed()
    run = staged.run("rollback", *staged.execute())
    assert run.decision == "GO", run.describe()
    assert run.returncode == 0
    # Step 1 froze, step 7 ran the previous release again: both with the freeze flags.
    assert deployment.restarts == [FREEZE_FLAGS, FREEZE_FLAGS]


def test_restart_that_leaves_writes_open_turns_freeze_check_red(staged, deployment):
    staged.target.ensure_deployed()
    deployment.tamper = open_writes_on_restart(0)
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {FREEZE}, run.describe()
    assert "DB_READ_ONLY" in run.message(FREEZE)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert run.conditions() == set()


def test_truncated_only_backup_turns_dump_selection_red_and_blocks_the_restore(staged, deployment):
    staged.target.ensure_deployed()
    dump = staged.target.ensure_backup().path
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {SELECT}, run.describe()
    assert "verified" in run.message(SELECT)
    assert run.not_verified == {RESTORE, MIGRATIONS, FTS}
    assert "blocked by" in run.message(RESTORE)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.rollback_candidate" in run.conditions()


def test_restore_without_confirm_db_is_not_verified_and_leaves_the_database_untouched(
    staged, deployment
):
    staged.target.ensure_deployed()
    newest = sorted(staged.target.migrations_dir.glob("*.sql"))[-1].name
    run = staged.run("rollback", "--execute")
    assert run.not_verified == {RESTORE}, run.describe()
    assert "--confirm-db" in run.message(RESTORE)
    # Nothing was restored: the release's migration is still applied, and the verification of
    # step 5 says the database does not hold the dump.
    assert migrations.status(staged.db, staged.target.migrations_dir).pending == []
    assert run.failed == {MIGRATIONS}
    assert "schema_migrations version" in run.message(MIGRATIONS)
    assert newest.split("_")[0] in run.message(MIGRATIONS)
    assert run.decision == "NO-GO" and run.returncode != 0


def test_schema_migrations_differing_from_the_dump_turns_migration_check_red(staged):
    staged.target.ensure_rolled_back()
    staged.sql(
        "INSERT INTO schema_migrations (version, checksum, file_name) "
        "VALUES ('9001', 'f00d', '9001_hotfix_by_hand.sql')"
    )
    run = staged.run("rollback")  # verification only: the restore was done by hand
    assert run.failed == {MIGRATIONS}, run.describe()
    assert "9001" in run.message(MIGRATIONS) and "no such version" in run.message(MIGRATIONS)
    assert run.not_verified == {RESTORE}
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.migration" in run.conditions()


def test_stale_fts_after_the_restore_turns_fts_check_red(staged):
    staged.target.ensure_rolled_back()
    make_fts_stale(staged)
    run = staged.run("rollback")  # verification only: nothing re-syncs FTS
    assert run.failed == {FTS}, run.describe()
    assert "questions" in run.message(FTS) and "stale" in run.message(FTS)
    assert run.not_verified == {RESTORE}
    assert "needs --execute" in run.message(RESTORE)
    assert run.decision == "NO-GO" and run.returncode != 0


def test_restart_after_the_restore_on_the_release_code_turns_smoke_check_red(staged, deployment):
    staged.target.ensure_deployed()
    release_code = str(staged.target.migrations_dir)
    deployment.tamper = lambda n, flags: (
        {**flags, "MIGRATIONS_DIR": release_code, "FAIL_ON_PENDING_MIGRATIONS": "0"}
        if n == 1
        else flags
    )
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {SMOKE}, run.describe()
    assert "disagree on migrations" in run.message(SMOKE)
    assert "'pending': 1" in run.message(SMOKE)
    assert run.not_verified == {REOPEN}
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.smoke" in run.conditions()


def test_restart_after_the_restore_that_reopens_writes_turns_reopen_check_red(staged, deployment):
    staged.target.ensure_deployed()
    deployment.tamper = open_writes_on_restart(1)
    run = staged.run("rollback", *staged.execute())
    assert run.failed == {REOPEN}, run.describe()
    assert "DB_READ_ONLY is already 0" in run.message(REOPEN)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert run.conditions() == set()


def test_database_url_of_an_unsupported_scheme_turns_libpq_conversion_red(staged):
    staged.target.ensure_deployed()
    staged.target.restart("freeze", FREEZE_FLAGS)
    password = staged.db.password
    staged.overrides["DATABASE_URL"] = f"mysql://exam:{password}@127.0.0.1:3306/exam"
    run = staged.run("rollback")
    # Every step that needs the database gets the same conversion error: step 3 cannot name a
    # candidate without it, and steps 4-6 are blocked by step 3. The service steps still pass.
    assert run.failed == {LIBPQ, SELECT}, run.describe()
    assert run.not_verified == {RESTORE, MIGRATIONS, FTS}
    for check in (LIBPQ, SELECT):
        assert "unsupported URL scheme 'mysql'" in run.message(check)
    assert run.decision == "NO-GO" and run.returncode != 0
    assert "nogo.rollback_candidate" in run.conditions()
    assert password not in run.artifacts_text()
